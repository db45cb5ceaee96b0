using System.Collections.ObjectModel;

namespace SecMon.Core.Devices;

/// <summary>How a device was seen to authenticate, weakest first.</summary>
public enum AuthPosture
{
    /// <summary>Not seen authenticating (no session of a dissected protocol yet).</summary>
    Unknown = 0,
    /// <summary>Sessions accepted without any credential.</summary>
    Anonymous = 1,
    /// <summary>User name and password sent without TLS: readable by anyone on the path.</summary>
    PasswordCleartext = 2,
    /// <summary>TLS without a client certificate (the password, if any, is protected in transit).</summary>
    Tls = 3,
    /// <summary>TLS with a client certificate (mutual TLS): the posture SecMon's CA gives devices.</summary>
    MutualTls = 4,
}

/// <summary>
/// A device in the inventory, keyed by MAC where the link layer showed one, else by IP (<see cref="DeviceId"/>). What
/// protocols tell about it comes from the facts their event types declare (<see cref="DeviceFact"/>): identities by
/// kind, user names, values and counts by name, the posture. Never holds a password.
/// </summary>
public sealed record Device
{
    /// <summary>ECS <c>device.id</c> (<see cref="DeviceId"/>): the MAC (<c>00-1A-2B-3C-4D-5E</c>) where seen, else the IP.</summary>
    public required string Id { get; init; }

    /// <summary>The MAC address, when seen.</summary>
    public string? Mac { get; init; }

    /// <summary>IP addresses the device used.</summary>
    public IReadOnlyList<string> Ips { get; init; } = [];

    /// <summary>Names the device went by, per identity kind (<c>mqtt.client_id</c> → its client ids), ordered by kind.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Identities { get; init; } = ReadOnlyDictionary<string, IReadOnlyList<string>>.Empty;

    /// <summary>User names the device logged in with, whatever the protocol (never passwords).</summary>
    public IReadOnlyList<string> Usernames { get; init; } = [];

    /// <summary>Application protocols seen (mqtt, tls...).</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>Server ports of the device's sessions: for a client the ports it connected to, for a server the ports it served.</summary>
    public IReadOnlyList<int> Ports { get; init; } = [];

    /// <summary>Peers (IPs) the device talked to.</summary>
    public IReadOnlyList<string> Peers { get; init; } = [];

    /// <summary>Values the device used, per name (<c>mqtt.topic</c> → topics and topic filters), each list bounded.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Values { get; init; } = ReadOnlyDictionary<string, IReadOnlyList<string>>.Empty;

    /// <summary>Events counted per name (<c>mqtt.publish</c> → messages published).</summary>
    public IReadOnlyDictionary<string, long> Counts { get; init; } = ReadOnlyDictionary<string, long>.Empty;

    /// <summary>The weakest authentication ever observed (a device that moved to mutual TLS keeps its old
    /// <c>password_cleartext</c> here; see <see cref="CurrentAuth"/>).</summary>
    public AuthPosture Auth { get; init; }

    /// <summary>How the device authenticates now: the weakest posture among its endpoints still in use, each endpoint
    /// holding the posture of its latest session (<see cref="DevicePosture.Current"/>).</summary>
    public AuthPosture CurrentAuth { get; init; }

    /// <summary>Per endpoint (server address:port), the posture of the latest session there; most recent last.</summary>
    public IReadOnlyList<EndpointPosture> Endpoints { get; init; } = [];

    /// <summary>Changes of <see cref="CurrentAuth"/>, oldest first, at most <see cref="DevicePosture.MaxHistory"/> (the most recent).</summary>
    public IReadOnlyList<PostureChange> PostureHistory { get; init; } = [];

    /// <summary>Client certificates the device presented (or, TLS 1.3, was inferred to present), at most
    /// <see cref="DevicePosture.MaxCertificates"/>.</summary>
    public IReadOnlyList<DeviceCertificate> Certificates { get; init; } = [];

    /// <summary>For a server: what each of its listeners (ports) was seen to accept, ordered by port.</summary>
    public IReadOnlyList<ListenerPosture> Listeners { get; init; } = [];

    /// <summary>When the device moved from anonymous or cleartext-password sessions to mutual TLS (its current posture):
    /// the time of that change; null otherwise.</summary>
    public long? HardenedSinceMicros => DevicePosture.HardenedSince(Auth, CurrentAuth, PostureHistory);

    /// <summary>First seen, UTC microseconds since the epoch (capture time).</summary>
    public long FirstSeenMicros { get; init; }

    /// <summary>Last seen, UTC microseconds since the epoch (capture time).</summary>
    public long LastSeenMicros { get; init; }

    /// <summary>Whether this device acts as a server (answered a flow) rather than only a client.</summary>
    public bool IsServer { get; init; }

    /// <summary>The identities of <paramref name="kind"/>; empty when none.</summary>
    public IReadOnlyList<string> IdentitiesOf(string kind) => Identities.TryGetValue(kind, out var v) ? v : [];

    /// <summary>The values named <paramref name="name"/>; empty when none.</summary>
    public IReadOnlyList<string> ValuesOf(string name) => Values.TryGetValue(name, out var v) ? v : [];

    /// <summary>The count named <paramref name="name"/>; 0 when none.</summary>
    public long CountOf(string name) => Counts.TryGetValue(name, out var n) ? n : 0;
}
