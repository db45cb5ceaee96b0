using System.Text.Json.Serialization;

namespace SecMon.Core.Devices;

/// <summary>How a device authenticates at one endpoint (a server address and port: <c>10.0.0.1:8883</c>): the posture
/// of its latest session there. For a client the endpoint is the server it connected to; for a server its own listener.</summary>
public sealed record EndpointPosture
{
    /// <summary>The server end, <c>ADDRESS:PORT</c> (<c>[v6]:PORT</c> for IPv6).</summary>
    public required string Endpoint { get; init; }

    /// <summary>The posture of the latest session at this endpoint.</summary>
    public AuthPosture Auth { get; init; }

    /// <summary>Since when the endpoint has had this posture (the start of the first session that showed it), UTC microseconds.</summary>
    public long SinceMicros { get; init; }

    /// <summary>The last traffic seen at this endpoint, UTC microseconds.</summary>
    public long LastSeenMicros { get; init; }

    /// <summary>The start of the latest session at this endpoint that showed a posture, UTC microseconds.</summary>
    public long LatestSessionMicros { get; init; }
}

/// <summary>A change of a device's current posture (<see cref="Device.CurrentAuth"/>): from, to, when, at which endpoint.</summary>
public sealed record PostureChange
{
    /// <summary>The posture before (<see cref="AuthPosture.Unknown"/> for the first one seen).</summary>
    public AuthPosture From { get; init; }

    /// <summary>The posture after.</summary>
    public AuthPosture To { get; init; }

    /// <summary>When: the start of the session that showed the new posture, UTC microseconds.</summary>
    public long AtMicros { get; init; }

    /// <summary>The endpoint of that session (<see cref="EndpointPosture.Endpoint"/>).</summary>
    public string? Endpoint { get; init; }
}

/// <summary>
/// A client certificate a device presented in a TLS handshake. TLS 1.2 shows it in clear (subject, issuer, serial,
/// SHA-256 fingerprint of its DER); TLS 1.3 encrypts it, so there it is only inferred (<see cref="Inferred"/>) from the
/// size of the client's encrypted flight, and its fields are null.
/// </summary>
public sealed record DeviceCertificate
{
    /// <summary>The leaf's subject DN, when read.</summary>
    public string? Subject { get; init; }

    /// <summary>The leaf's issuer DN, when read.</summary>
    public string? Issuer { get; init; }

    /// <summary>The leaf's serial number, upper-case hex, when read.</summary>
    public string? Serial { get; init; }

    /// <summary>SHA-256 of the leaf's DER, lower-case hex, when read.</summary>
    public string? Sha256 { get; init; }

    /// <summary>True when TLS 1.3 hid the certificate and its presence was inferred.</summary>
    public bool Inferred { get; init; }

    /// <summary>The endpoint (server address:port) it was presented to.</summary>
    public string? Endpoint { get; init; }

    /// <summary>First presented, UTC microseconds.</summary>
    public long FirstSeenMicros { get; init; }

    /// <summary>Last presented, UTC microseconds.</summary>
    public long LastSeenMicros { get; init; }

    /// <summary>What identifies it in a device's list: the fingerprint, else issuer and serial, else (inferred) the endpoint.</summary>
    [JsonIgnore]
    public string Key => Sha256 ?? (Serial is not null ? $"{Issuer}|{Serial}" : $"inferred@{Endpoint}");
}

/// <summary>
/// What a server's listener (one port) was seen to accept, from the sessions to it: accepted logins without a
/// credential, accepted logins with a password in clear, established TLS sessions, and those in which the client
/// presented a certificate (a session the server refused is not counted). Counts are sessions.
/// </summary>
public sealed record ListenerPosture
{
    /// <summary>The port.</summary>
    public int Port { get; init; }

    /// <summary>Logins without a credential that it accepted.</summary>
    public long Anonymous { get; init; }

    /// <summary>Logins with a password in clear that it accepted.</summary>
    public long PasswordCleartext { get; init; }

    /// <summary>Established TLS sessions (on a port where the inventory counts TLS).</summary>
    public long Tls { get; init; }

    /// <summary>Of those, the sessions in which the client presented a certificate.</summary>
    public long ClientCertificate { get; init; }

    /// <summary>The protocols of the sessions counted (<c>mqtt</c>, <c>http</c>, <c>tls</c> ...), sorted; empty in an
    /// inventory stored before they were recorded.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>Equal counts and the same protocols (a list compared by its items, not as an object).</summary>
    public bool Equals(ListenerPosture? other) =>
        other is not null && Port == other.Port && Anonymous == other.Anonymous && PasswordCleartext == other.PasswordCleartext &&
        Tls == other.Tls && ClientCertificate == other.ClientCertificate && Protocols.SequenceEqual(other.Protocols, StringComparer.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Port, Anonymous, PasswordCleartext, Tls, ClientCertificate, Protocols.Count);

    /// <summary>One phrase: <c>accepts anonymous clients on 1883</c>, <c>requires client certificates on 8883</c>...;
    /// null when nothing about authentication was seen on it.</summary>
    public string? Describe()
    {
        var parts = new List<string>(3);
        if (Anonymous > 0)
        {
            parts.Add("anonymous clients");
        }

        if (PasswordCleartext > 0)
        {
            parts.Add("passwords in cleartext");
        }

        if (parts.Count > 0)
        {
            return $"accepts {string.Join(" and ", parts)} on {Port}";
        }

        if (Tls > 0)
        {
            return ClientCertificate >= Tls ? $"requires client certificates on {Port}"
                : ClientCertificate > 0 ? $"accepts TLS without client certificates on {Port} (certificates in {ClientCertificate} of {Tls} sessions)"
                : $"TLS without client certificates on {Port}";
        }

        return null;
    }
}

/// <summary>
/// The rules that turn a device's endpoints into its current posture, shared by the inventory and the store (which
/// merges runs): each endpoint keeps the posture of its latest session; an endpoint is left behind when the device
/// started a session of a stronger posture elsewhere after its last traffic there (a device that moved from a password on port
/// 1884 to a client certificate on 8883); the current posture is the weakest of the endpoints not left behind.
/// </summary>
public static class DevicePosture
{
    /// <summary>Most posture changes kept per device (the most recent).</summary>
    public const int MaxHistory = 50;

    /// <summary>Most endpoints kept per device (the most recently seen).</summary>
    public const int MaxEndpoints = 64;

    /// <summary>Most client certificates kept per device (the most recently seen).</summary>
    public const int MaxCertificates = 32;

    /// <summary>Most listeners kept per server.</summary>
    public const int MaxListeners = 64;

    /// <summary>The current posture of <paramref name="endpoints"/> and the endpoint that sets it (the weakest one
    /// still in use); <see cref="AuthPosture.Unknown"/> when none has a posture.</summary>
    public static (AuthPosture Auth, EndpointPosture? Endpoint) Current(IEnumerable<EndpointPosture> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var known = endpoints.Where(e => e.Auth != AuthPosture.Unknown).ToList();
        EndpointPosture? weakest = null;
        foreach (var e in known)
        {
            var leftBehind = known.Any(f => f.Auth > e.Auth && Math.Max(f.SinceMicros, f.LatestSessionMicros) > e.LastSeenMicros);
            if (!leftBehind && (weakest is null || e.Auth < weakest.Auth || (e.Auth == weakest.Auth && e.SinceMicros < weakest.SinceMicros)))
            {
                weakest = e;
            }
        }

        return (weakest?.Auth ?? AuthPosture.Unknown, weakest);
    }

    /// <summary>
    /// Puts changes from several sources (stored runs, this run) in time order and chains them: each change starts
    /// from the posture the one before it ended in, and a change to the posture already held is dropped. The most recent
    /// <see cref="MaxHistory"/> are kept.
    /// </summary>
    public static IReadOnlyList<PostureChange> Chain(IEnumerable<PostureChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var result = new List<PostureChange>();
        var current = AuthPosture.Unknown;
        foreach (var c in changes.OrderBy(c => c.AtMicros))
        {
            if (c.To == current || c.To == AuthPosture.Unknown)
            {
                continue;
            }

            result.Add(c with { From = current });
            current = c.To;
        }

        return result.Count > MaxHistory ? result[^MaxHistory..] : result;
    }

    /// <summary>When the device was hardened: with a current posture of mutual TLS after having used anonymous or
    /// cleartext-password sessions, the time of the change that brought it there; else null.</summary>
    public static long? HardenedSince(AuthPosture weakestEver, AuthPosture current, IReadOnlyList<PostureChange> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (current != AuthPosture.MutualTls || weakestEver is not (AuthPosture.Anonymous or AuthPosture.PasswordCleartext))
        {
            return null;
        }

        for (var i = history.Count - 1; i >= 0; i--)
        {
            if (history[i].To == AuthPosture.MutualTls && history[i].From is not AuthPosture.MutualTls)
            {
                return history[i].AtMicros;
            }
        }

        return null;
    }
}
