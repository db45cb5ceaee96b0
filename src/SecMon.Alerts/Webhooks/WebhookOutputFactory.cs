using System.Net;
using System.Text.RegularExpressions;
using SecMon.Core;
using SecMon.Core.Configuration;
using SecMon.Core.Findings;

namespace SecMon.Alerts.Webhooks;

/// <summary>
/// <c>outputs.webhooks</c>: a list of endpoints, one sink each (<c>webhook-NAME</c>, spooled in
/// <c>DATA/spool/webhook-NAME/</c>).
/// </summary>
/// <example><code>
/// outputs:
///   webhooks:
///     - name: soc
///       url: https://soc.example.net/hooks/secmon
///       secret: ${SOC_WEBHOOK_SECRET}          # whsec_ + base64 of 24-64 random bytes
///       previous_secrets: [${SOC_WEBHOOK_OLD}]   # during a rotation: both sign
///       signing_key: ${SOC_WEBHOOK_KEY}        # optional: whsk_ Ed25519 key, adds a v1a signature (or alone, without secret)
///       min_severity: high                     # low | medium | high | critical
///       rules: [mqtt.auth.*]                   # ids or globs
///       devices: []                            # device ids or globs
///       timeout: 15s
///       retry_schedule: [5s, 5m, 30m, 2h, 5h, 10h, 14h, 20h, 24h]
///       max_in_flight: 16
///       circuit_breaker: { failures: 5, cool_down: 30s }
///       allow_http_hosts: []                   # hosts that may be reached over plain http
///       allow_addresses: []                    # loopback, link-local ... addresses or networks allowed
///       block_private_addresses: false
/// </code></example>
internal sealed partial class WebhookOutputFactory : IFindingOutputFactory
{
    /// <inheritdoc />
    public string Key => "webhooks";

    /// <inheritdoc />
    public IReadOnlyList<IFindingSink> Create(ConfigSection outputs, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(context);
        var endpoints = Bind(outputs);
        return endpoints is null ? [] : [.. endpoints.Select(o => new WebhookSink(o, context.Time))];
    }

    /// <summary>Binds every endpoint of <c>outputs.webhooks</c>; null when one has an error (all are recorded). Disabled
    /// endpoints are left out.</summary>
    public static IReadOnlyList<WebhookOptions>? Bind(ConfigSection outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var errorsBefore = outputs.Errors.ErrorCount;
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var bound = new List<WebhookOptions>();
        foreach (var section in outputs.Sections("webhooks"))
        {
            if (BindOne(section, names) is { } options)
            {
                bound.Add(options);
            }

            section.Finish();
        }

        return outputs.Errors.ErrorCount > errorsBefore ? null : bound;
    }

    private static WebhookOptions? BindOne(ConfigSection s, HashSet<string> names)
    {
        var enabled = s.Bool("enabled", true);
        var name = s.Text("name", required: true);
        if (name is not null && !NamePattern().IsMatch(name))
        {
            s.Error("name", $"'{name}' is not a usable name: letters, digits, '-' and '_', at most 64");
        }
        else if (name is not null && !names.Add(name))
        {
            s.Error("name", $"another webhook is already named '{name}'");
        }

        var url = s.Url("url", true, "https", "http");
        var allowHttp = s.Strings("allow_http_hosts");
        var allowAddresses = new List<IPNetwork>();
        foreach (var text in s.Strings("allow_addresses"))
        {
            if (IPNetwork.TryParse(text, out var network))
            {
                allowAddresses.Add(network);
            }
            else if (IPAddress.TryParse(text, out var address))
            {
                allowAddresses.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                s.Error("allow_addresses", $"'{text}' is not an address or a network (write e.g. 127.0.0.1, 10.1.0.0/16, ::1)");
            }
        }

        var blockPrivate = s.Bool("block_private_addresses", false);
        if (url is not null)
        {
            // Only the host is named: a URL's path or query may hold a token.
            if (url.Scheme == Uri.UriSchemeHttp && !allowHttp.Contains(url.IdnHost, StringComparer.OrdinalIgnoreCase)
                && !allowHttp.Contains(url.Host, StringComparer.OrdinalIgnoreCase))
            {
                s.Error("url", $"plain http to {url.Host} is refused (findings would cross the network readable): use https, or name the host in allow_http_hosts");
            }

            if (IPAddress.TryParse(url.IdnHost.Trim('[', ']'), out var literal)
                && new WebhookAddressPolicy(allowAddresses, blockPrivate).Refusal(literal) is { } why)
            {
                s.Error("url", $"{literal} is {why}: webhooks are not delivered there unless allow_addresses names it (server-side request forgery guard)");
            }

            if (url.UserInfo.Length > 0)
            {
                s.Error("url", "credentials in the URL are not sent; remove them (the signature authenticates SecMon)");
            }
        }

        var keys = new List<WebhookSigningKey>();
        if (s.Secret("signing_key") is { } keyText)
        {
            if (WebhookSigningKey.TryParse(keyText, out var key, out var problem))
            {
                keys.Add(key!);
            }
            else
            {
                s.Error("signing_key", problem!);
            }
        }

        var previousKeys = s.Strings("previous_signing_keys");
        for (var i = 0; i < previousKeys.Count; i++)
        {
            if (WebhookSigningKey.TryParse(previousKeys[i], out var key, out var problem))
            {
                keys.Add(key!);
            }
            else
            {
                s.Error("previous_signing_keys", $"item {i + 1}: {problem}");
            }
        }

        var secrets = new List<WebhookSecret>();
        if (s.Secret("secret", required: !s.Has("signing_key")) is { } secretText)
        {
            if (WebhookSecret.TryParse(secretText, out var secret, out var problem))
            {
                secrets.Add(secret!);
            }
            else
            {
                s.Error("secret", problem!);
            }
        }

        var previous = s.Strings("previous_secrets");
        for (var i = 0; i < previous.Count; i++)
        {
            if (WebhookSecret.TryParse(previous[i], out var secret, out var problem))
            {
                secrets.Add(secret!);
            }
            else
            {
                s.Error("previous_secrets", $"item {i + 1}: {problem}");
            }
        }

        var severity = s.Choice("min_severity", "low", "low", "medium", "high", "critical") switch
        {
            "critical" => Severity.Critical,
            "high" => Severity.High,
            "medium" => Severity.Medium,
            _ => Severity.Low,
        };
        var rules = s.Strings("rules");
        var devices = s.Strings("devices");
        var timeout = s.Duration("timeout", TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        var schedule = new List<TimeSpan>();
        if (s.Has("retry_schedule"))
        {
            foreach (var text in s.Strings("retry_schedule"))
            {
                if (Durations.TryParse(text, out var delay) && delay >= TimeSpan.Zero)
                {
                    schedule.Add(delay);
                }
                else
                {
                    s.Error("retry_schedule", $"'{text}' is not a duration (write e.g. [5s, 5m, 30m, 2h])");
                }
            }
        }

        var ca = TlsTrust.FromConfig(s, "ca_certificate", "the receiver's CA certificate");
        var maxInFlight = s.Number("max_in_flight", 16, 1, 256);
        var circuit = s.Section("circuit_breaker");
        var failures = circuit.Number("failures", 5, 1, 1_000_000);
        var coolDown = circuit.Duration("cool_down", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10));
        circuit.Finish();
        if (!enabled || name is null || url is null || secrets.Count + keys.Count == 0)
        {
            return null;
        }

        return new WebhookOptions
        {
            Name = name,
            Url = url,
            Secrets = secrets,
            SigningKeys = keys,
            MinSeverity = severity,
            Rules = rules,
            Devices = devices,
            Timeout = timeout,
            RetrySchedule = s.Has("retry_schedule") ? schedule : WebhookOptions.SpecRetrySchedule,
            MaxInFlight = maxInFlight,
            CircuitFailures = failures,
            CircuitCoolDown = coolDown,
            AllowHttpHosts = allowHttp,
            AllowAddresses = allowAddresses,
            BlockPrivateAddresses = blockPrivate,
            CaCertificate = ca,
        };
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();
}
