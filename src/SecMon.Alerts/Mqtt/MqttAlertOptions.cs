using System.Text;

namespace SecMon.Alerts.Mqtt;

/// <summary>
/// MQTT alerts (<c>outputs.mqtt</c>): each finding's ECS document published to a broker. Bound by
/// <see cref="MqttAlertOutputFactory"/>; the password is never printed (<see cref="ToString"/> leaves it out).
/// </summary>
public sealed record MqttAlertOptions
{
    /// <summary>The broker: <c>mqtt://HOST[:PORT]</c> (port 1883 by default) or <c>mqtts://HOST[:PORT]</c> (TLS, 8883).
    /// Required.</summary>
    public required Uri Broker { get; init; }

    /// <summary>Where each finding goes (<see cref="MqttTopicTemplate"/>). Default
    /// <c>secmon/alerts/{severity}/{rule.id}</c>.</summary>
    public MqttTopicTemplate Topic { get; init; } = Parse(MqttTopicTemplate.Default);

    /// <summary>QoS of the publishes: 1 (the default) waits for the broker's PUBACK of every finding before a batch
    /// counts as delivered; 2 adds the PUBREC/PUBREL/PUBCOMP exchange; 0 counts a finding delivered once sent.</summary>
    public int Qos { get; init; } = 1;

    /// <summary>Whether the broker keeps the last finding of each topic for late subscribers. Default false.</summary>
    public bool Retain { get; init; }

    /// <summary>MQTT client identifier. Default <c>secmon-HOSTNAME</c>: stable across restarts, so a persistent session
    /// is found again.</summary>
    public string ClientId { get; init; } = DefaultClientId();

    /// <summary>MQTT protocol: 5 (the default; PUBACK reason codes, content type <c>application/json</c>, session expiry)
    /// or 3.1.1 for older brokers.</summary>
    public string Protocol { get; init; } = "5";

    /// <summary>Start a new session on each connection (MQTT 5 clean start, 3.1.1 clean session). Default false: a
    /// persistent session the broker keeps for <see cref="SessionExpiry"/> after a disconnection.</summary>
    public bool CleanStart { get; init; }

    /// <summary>How long the broker keeps the session after a disconnection (MQTT 5 only). Default 1 hour.</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromHours(1);

    /// <summary>User name; none by default.</summary>
    public string? Username { get; init; }

    /// <summary>Password (from the environment: <c>${NAME}</c> or <c>SECMON_OUTPUTS__MQTT__PASSWORD</c>); none by default.</summary>
    public string? Password { get; init; }

    /// <summary>PEM file of the CA certificates that the broker's certificate must chain to (for a broker with a
    /// certificate from SecMon's CA: the chain <c>secmon ca</c> writes). Default: the system's trusted roots.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM certificate presented to the broker (mutual TLS), such as one SecMon's CA issued; with
    /// <see cref="KeyFile"/>. Default: none.</summary>
    public string? CertFile { get; init; }

    /// <summary>PEM private key (unencrypted PKCS#8, SEC1 or PKCS#1) of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; init; }

    /// <summary>The name the broker's certificate must carry. Default: the host of <see cref="Broker"/>.</summary>
    public string? ServerName { get; init; }

    /// <summary>Findings below this <c>event.severity</c> are not published. Default 0 (all).</summary>
    public int MinSeverity { get; init; }

    /// <summary>Wait after a failed connection before the next attempt; doubled after each further failure, with
    /// jitter. Default 1 second.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between connection attempts. Default 1 minute.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a connection attempt, or the acknowledgements of one batch, may take. Default 10 seconds.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Publishes awaiting their acknowledgement at once (fewer when the broker's MQTT 5 receive maximum is
    /// lower). Default 1000.</summary>
    public int MaxInflight { get; init; } = 1000;

    /// <summary>True for an <c>mqtts://</c> broker.</summary>
    public bool UseTls => string.Equals(Broker.Scheme, "mqtts", StringComparison.OrdinalIgnoreCase);

    /// <summary>The broker's port (1883 or 8883 when the URL names none).</summary>
    public int Port => Broker.IsDefaultPort || Broker.Port < 0 ? (UseTls ? 8883 : 1883) : Broker.Port;

    /// <summary>Every setting except the password (shown as set or not).</summary>
    public override string ToString()
    {
        var s = new StringBuilder();
        s.Append($"mqtt {{ broker = {Broker}, topic = {Topic.Text}, qos = {Qos}, retain = {Retain}, client_id = {ClientId}, ");
        s.Append($"protocol = {Protocol}, clean_start = {CleanStart}, session_expiry = {SessionExpiry}, username = {Username ?? "(none)"}, ");
        s.Append($"password = {(Password is null ? "(none)" : "(set)")}, ca_file = {CaFile}, cert_file = {CertFile}, key_file = {KeyFile}, ");
        s.Append($"min_severity = {MinSeverity}, timeout = {Timeout}, max_inflight = {MaxInflight} }}");
        return s.ToString();
    }

    /// <summary><c>secmon-</c> and this machine's name (letters, digits, '-', '_' and '.' kept).</summary>
    public static string DefaultClientId() =>
        "secmon-" + string.Concat(Environment.MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-'));

    private static MqttTopicTemplate Parse(string text) =>
        MqttTopicTemplate.TryParse(text, out var template, out var error) ? template! : throw new ArgumentException(error, nameof(text));
}
