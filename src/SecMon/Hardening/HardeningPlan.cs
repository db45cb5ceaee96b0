using SecMon.Core.Devices;

namespace SecMon.Hardening;

/// <summary>What a device needs so that it logs in with a certificate only.</summary>
internal enum DeviceNeed
{
    /// <summary>A client certificate from SecMon's CA (enrol, then connect to the broker's TLS listener with it).</summary>
    ClientCertificate,

    /// <summary>Stop sending the password: it crossed the network in clear and must be treated as known (change it
    /// where it is still used elsewhere).</summary>
    StopCleartextPassword,
}

/// <summary>A device of the plan: who it is, how it logs in at one broker endpoint now, and the certificate name it
/// should get.</summary>
internal sealed record DevicePlan
{
    /// <summary>SecMon's device id (ECS <c>device.id</c>).</summary>
    public required string DeviceId { get; init; }

    /// <summary>The certificate CN the device should get (a valid device name, <see cref="DeviceId.IsValidName"/>).</summary>
    public required string Identity { get; init; }

    /// <summary>Where <see cref="Identity"/> comes from: <c>mqtt.client_id</c> or <c>device.id</c>.</summary>
    public required string IdentitySource { get; init; }

    /// <summary>Why the identity is not the client id, when it is not (several ids, an id that cannot be a CN).</summary>
    public string? IdentityNote { get; init; }

    /// <summary>The broker endpoint.</summary>
    public required BrokerEndpoint Broker { get; init; }

    /// <summary>The posture read for the device (<see cref="HardeningInputs.PostureOf"/>).</summary>
    public required AuthPosture Posture { get; init; }

    /// <summary>MQTT client ids seen.</summary>
    public IReadOnlyList<string> ClientIds { get; init; } = [];

    /// <summary>User names seen (never passwords).</summary>
    public IReadOnlyList<string> Usernames { get; init; } = [];

    /// <summary>The MAC, when seen.</summary>
    public string? Mac { get; init; }

    /// <summary>IP addresses.</summary>
    public IReadOnlyList<string> Ips { get; init; } = [];

    /// <summary>Last seen, µs since the epoch.</summary>
    public long LastSeenMicros { get; init; }

    /// <summary>What it needs.</summary>
    public IReadOnlyList<DeviceNeed> Needs { get; init; } = [];

    /// <summary>The steps, in order, as commands and sentences an operator can follow.</summary>
    public IReadOnlyList<string> Steps { get; init; } = [];
}

/// <summary>One broker endpoint of the plan: what it accepts now and the devices that need work there.</summary>
internal sealed record BrokerPlan
{
    /// <summary>The endpoint.</summary>
    public required BrokerEndpoint Endpoint { get; init; }

    /// <summary>The postures of the sessions seen accepted there (anonymous, password_cleartext, tls, mutual_tls),
    /// weakest first; empty when no client session was seen.</summary>
    public IReadOnlyList<AuthPosture> Accepts { get; init; } = [];

    /// <summary>The devices needing work, by identity.</summary>
    public IReadOnlyList<DevicePlan> Devices { get; init; } = [];

    /// <summary>One sentence: what the endpoint accepts and what is to do.</summary>
    public string Summary => Devices.Count > 0
        ? $"accepts {Describe(Accepts)}: {Devices.Count} device{(Devices.Count == 1 ? "" : "s")} to move to client certificates"
        : Accepts.Count == 0 ? "no client sessions seen"
        : Accepts.All(a => a == AuthPosture.MutualTls) ? "requires client certificates: nothing to do"
        : $"accepts {Describe(Accepts)}; no device needs work";

    private static string Describe(IReadOnlyList<AuthPosture> accepts) => accepts.Count == 0 ? "nothing seen" : string.Join(" and ", accepts.Select(a => a switch
    {
        AuthPosture.Anonymous => "anonymous clients",
        AuthPosture.PasswordCleartext => "passwords in cleartext",
        AuthPosture.Tls => "TLS without client certificates",
        AuthPosture.MutualTls => "client certificates",
        _ => "unknown",
    }));
}

/// <summary>The hardening plan: per broker endpoint, the devices that still log in anonymously or with a cleartext
/// password, and what each needs.</summary>
internal sealed record HardeningPlan
{
    /// <summary>Broker endpoints, ordered by address and port.</summary>
    public IReadOnlyList<BrokerPlan> Brokers { get; init; } = [];

    /// <summary>Devices needing work, over every broker.</summary>
    public int DevicesNeedingWork => Brokers.Sum(b => b.Devices.Count);
}
