namespace SecMon.Core.Devices;

/// <summary>How a device was seen to authenticate, weakest first (a device's posture is its weakest session).</summary>
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
/// A device in the inventory, keyed by MAC where the link layer showed one, else by IP. Never holds a
/// password; user names and client ids only.
/// </summary>
public sealed record Device
{
    /// <summary>ECS <c>device.id</c>: the MAC (<c>00-1A-2B-3C-4D-5E</c>) where seen, else the IP.</summary>
    public required string Id { get; init; }

    /// <summary>The MAC address, when seen.</summary>
    public string? Mac { get; init; }

    /// <summary>IP addresses the device used.</summary>
    public IReadOnlyList<string> Ips { get; init; } = [];

    /// <summary>MQTT client ids the device used.</summary>
    public IReadOnlyList<string> ClientIds { get; init; } = [];

    /// <summary>User names the device logged in with (never passwords).</summary>
    public IReadOnlyList<string> Usernames { get; init; } = [];

    /// <summary>Application protocols seen (mqtt, tls...).</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>Server ports the device connected to.</summary>
    public IReadOnlyList<int> Ports { get; init; } = [];

    /// <summary>Peers (IPs) the device talked to.</summary>
    public IReadOnlyList<string> Peers { get; init; } = [];

    /// <summary>Topics (or topic patterns) the device published or subscribed to, bounded in number.</summary>
    public IReadOnlyList<string> Topics { get; init; } = [];

    /// <summary>The weakest authentication observed.</summary>
    public AuthPosture Auth { get; init; }

    /// <summary>First seen, UTC microseconds since the epoch (capture time).</summary>
    public long FirstSeenMicros { get; init; }

    /// <summary>Last seen, UTC microseconds since the epoch (capture time).</summary>
    public long LastSeenMicros { get; init; }

    /// <summary>Messages published.</summary>
    public long Publishes { get; init; }

    /// <summary>Whether this device acts as a server (broker) rather than a client.</summary>
    public bool IsServer { get; init; }
}
