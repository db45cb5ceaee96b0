using System.Net;
using System.Security.Cryptography.X509Certificates;
using SecMon.Core.Findings;

namespace SecMon.Alerts.Webhooks;

/// <summary>
/// One webhook endpoint (an item of <c>outputs.webhooks</c>): where findings are POSTed, how they are signed
/// (Standard Webhooks <c>v1</c>, HMAC-SHA256), which findings it wants, and how delivery retries and refuses.
/// </summary>
internal sealed record WebhookOptions
{
    /// <summary>The spec's example schedule (standard-webhooks.md, "Deliverability and reliability"): the delays after
    /// the first try, over about three days.</summary>
    public static readonly IReadOnlyList<TimeSpan> SpecRetrySchedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(14), TimeSpan.FromHours(20), TimeSpan.FromHours(24),
    ];

    /// <summary>The endpoint's name (letters, digits, <c>-</c>, <c>_</c>): the sink is <c>webhook-NAME</c> and its
    /// spool <c>DATA/spool/webhook-NAME/</c>. Required.</summary>
    public required string Name { get; init; }

    /// <summary>The receiver's URL. https, or http only for a host named in <see cref="AllowHttpHosts"/>. Required.</summary>
    public required Uri Url { get; init; }

    /// <summary>Signing secrets, the current one first (<c>secret</c>, then <c>previous_secrets</c> during a key
    /// rotation): each signs every delivery, so the header carries one <c>v1,</c> signature per secret. Required unless
    /// <see cref="SigningKeys"/> is set.</summary>
    public IReadOnlyList<WebhookSecret> Secrets { get; init; } = [];

    /// <summary>Ed25519 signing keys (<c>signing_key</c>, then <c>previous_signing_keys</c>): one asymmetric <c>v1a,</c>
    /// signature each, after the <c>v1,</c> ones. Default none.</summary>
    public IReadOnlyList<WebhookSigningKey> SigningKeys { get; init; } = [];

    /// <summary>Findings below this severity are not sent. Default low (every finding).</summary>
    public Severity MinSeverity { get; init; } = Severity.Low;

    /// <summary>Rule ids or globs (<c>*</c>, <c>?</c>) a finding's rule must match; empty (the default) = every rule.</summary>
    public IReadOnlyList<string> Rules { get; init; } = [];

    /// <summary>Device ids (or globs) a finding's <c>device.id</c> must match; empty (the default) = every device.</summary>
    public IReadOnlyList<string> Devices { get; init; } = [];

    /// <summary>Time for one delivery (connect, send, response). Default 15 seconds (the spec recommends 15 to 30).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Delays between tries after a transient failure (408, 429, 5xx, timeout, connection error), each with
    /// ±20% jitter, at least the receiver's Retry-After; after the last one fails the finding goes to the dead letters.
    /// Default <see cref="SpecRetrySchedule"/> (5s, 5m, 30m, 2h, 5h, 10h, 14h, 20h, 24h: ten tries).</summary>
    public IReadOnlyList<TimeSpan> RetrySchedule { get; init; } = SpecRetrySchedule;

    /// <summary>Deliveries in flight at once (findings of one batch are sent concurrently, so their arrival order is
    /// not guaranteed; 1 keeps it). Default 16.</summary>
    public int MaxInFlight { get; init; } = 16;

    /// <summary>Consecutive failed tries after which the circuit opens: no delivery is tried for
    /// <see cref="CircuitCoolDown"/>, then one probe. Default 5.</summary>
    public int CircuitFailures { get; init; } = 5;

    /// <summary>How long an open circuit waits before its probe. Default 30 seconds.</summary>
    public TimeSpan CircuitCoolDown { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Hosts (as written in URLs) that may be reached over plain http. Default none: https only.</summary>
    public IReadOnlyList<string> AllowHttpHosts { get; init; } = [];

    /// <summary>Addresses or networks (<c>127.0.0.1</c>, <c>fd00::/8</c>) that may be delivered to although they are
    /// loopback, link-local, unspecified, multicast (or private, with <see cref="BlockPrivateAddresses"/>). Default none.</summary>
    public IReadOnlyList<IPNetwork> AllowAddresses { get; init; } = [];

    /// <summary>Also refuse private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) unless allowed.
    /// Default false: SOC tooling usually lives on private networks, and the URL comes from the operator's file.</summary>
    public bool BlockPrivateAddresses { get; init; }

    /// <summary>The CA the receiver's certificate must chain to (<c>ca_certificate</c>: a private PKI, SecMon's own CA;
    /// a bundle may hold an issuing CA beside its root), instead of the system's trust store. Default null: the system's.</summary>
    public X509Certificate2Collection? CaCertificate { get; init; }

    /// <summary>The sink's name: <c>webhook-NAME</c>.</summary>
    public string SinkName => "webhook-" + Name;

    /// <summary>True when <paramref name="finding"/> passes this endpoint's filters.</summary>
    public bool Wants(Finding finding) =>
        finding.Severity >= MinSeverity
        && (Rules.Count == 0 || Rules.Any(r => Glob.Matches(r, finding.RuleId)))
        && (Devices.Count == 0 || (finding.DeviceId is { } d && Devices.Any(p => Glob.Matches(p, d))));
}

/// <summary><c>*</c> (any run) and <c>?</c> (one character) patterns, compared ignoring case.</summary>
internal static class Glob
{
    /// <summary>True when <paramref name="text"/> matches <paramref name="pattern"/> as a whole.</summary>
    public static bool Matches(string pattern, string text)
    {
        // Iterative wildcard match with one backtrack point: linear in practice, no regex built from config.
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(text[t])))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
