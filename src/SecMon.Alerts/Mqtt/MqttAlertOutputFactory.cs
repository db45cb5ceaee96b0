using SecMon.Core.Configuration;
using SecMon.Core.Findings;
using SecMon.Findings;

namespace SecMon.Alerts.Mqtt;

/// <summary>
/// <c>outputs.mqtt</c>: MQTT alerts (<see cref="MqttAlertSink"/>).
/// <code>
/// outputs:
///   mqtt:
///     url: mqtts://broker.lan:8883           # required; mqtt:// (1883) or mqtts:// (TLS, 8883)
///     topic: secmon/alerts/{severity}/{rule.id}
///     qos: 1                                 # 0, 1 (default) or 2
///     retain: false
///     client_id: secmon-sensor-a             # default secmon-HOSTNAME
///     protocol: 5                            # or 3.1.1
///     clean_start: false                     # false (default): a persistent session
///     session_expiry: 1h
///     username: secmon
///     password: ${MQTT_PASSWORD}             # or SECMON_OUTPUTS__MQTT__PASSWORD
///     min_severity: medium                   # low, medium, high, critical or 0..100
///     reconnect_delay: 1s                    # first wait after a failed connection, doubled up to:
///     reconnect_max_delay: 1m
///     timeout: 10s                           # to connect, and for the acknowledgements of a batch
///     max_inflight: 1000
///     tls:
///       ca_file: /etc/secmon/chain.pem       # the broker's certificate must chain to these (relative: from the file's directory)
///       cert_file: /etc/secmon/device.crt.pem  # mutual TLS: a certificate from SecMon's CA
///       key_file: /etc/secmon/device.key.pem
///       server_name: broker.lan              # default: the URL's host
/// </code>
/// </summary>
public sealed class MqttAlertOutputFactory : IFindingOutputFactory
{
    /// <inheritdoc />
    public string Key => "mqtt";

    /// <inheritdoc />
    public IReadOnlyList<IFindingSink> Create(ConfigSection outputs, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(context);
        if (!outputs.Has(Key))
        {
            return [];
        }

        var errors = outputs.Errors.ErrorCount;
        var section = outputs.Section(Key);
        var enabled = section.Bool("enabled", true);
        var options = Bind(section);
        section.Finish();
        return enabled && options is not null && outputs.Errors.ErrorCount == errors ? [new MqttAlertSink(options, context.Time)] : [];
    }

    /// <summary>Binds <c>outputs.mqtt</c>, recording errors in the section; null when the broker URL is unusable.</summary>
    public static MqttAlertOptions? Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var url = section.Url("url", required: true, "mqtt", "mqtts");
        if (url is not null && url.UserInfo.Length > 0)
        {
            // The URL would be printed in errors: credentials have keys of their own (and the environment).
            section.Error("url", "user name or password in the URL: write them as username and password (the password from the environment)");
            url = null;
        }
        else if (url is not null && url.AbsolutePath is not ("/" or "") || url is not null && url.Query.Length > 0)
        {
            section.Error("url", "an MQTT broker URL has no path or query: write mqtt://HOST:PORT or mqtts://HOST:PORT");
            url = null;
        }

        var topicText = section.Text("topic", MqttTopicTemplate.Default)!;
        if (!MqttTopicTemplate.TryParse(topicText, out var topic, out var topicError))
        {
            section.Error("topic", topicError!);
        }

        var minSeverity = 0;
        if (section.Text("min_severity") is { } severityText && !SeverityNames.TryParse(severityText, out minSeverity))
        {
            section.Error("min_severity", $"'{severityText}' is not a severity (low, medium, high, critical, or a number from 0 to 100)");
        }

        var clientId = section.Text("client_id") ?? MqttAlertOptions.DefaultClientId();
        if (clientId.Length == 0 || clientId.Any(char.IsControl) || System.Text.Encoding.UTF8.GetByteCount(clientId) > 65535)
        {
            section.Error("client_id", "a client id is 1 to 65535 bytes of text without control characters");
        }

        var protocol = section.Choice("protocol", "5", "5", "3.1.1");
        var username = section.Text("username");
        var password = section.Secret("password");
        if (password is not null && username is null && protocol == "3.1.1")
        {
            section.Error("password", "MQTT 3.1.1 sends a password only with a user name (MQTT-3.1.2-22): set username too");
        }

        var tls = section.Section("tls");
        var caFile = tls.FilePath("ca_file");
        var certFile = tls.FilePath("cert_file");
        var keyFile = tls.FilePath("key_file");
        var serverName = tls.Text("server_name");
        tls.Finish();
        if ((certFile is null) != (keyFile is null))
        {
            section.Errors.Add(tls.LocationOf(certFile is null ? "key_file" : "cert_file"), tls.Path,
                "mutual TLS needs both cert_file and key_file");
        }

        if (url is not null && !string.Equals(url.Scheme, "mqtts", StringComparison.OrdinalIgnoreCase) && tls.Keys.Any())
        {
            section.Error("url", "tls settings are given but the URL is mqtt://: write mqtts:// to use TLS");
        }

        var defaults = new MqttAlertOptions { Broker = new Uri("mqtt://localhost") };
        var reconnect = section.Duration("reconnect_delay", defaults.ReconnectDelay, min: TimeSpan.FromMilliseconds(10));
        var maxReconnect = section.Duration("reconnect_max_delay", defaults.MaxReconnectDelay, min: TimeSpan.FromMilliseconds(10));
        if (maxReconnect < reconnect)
        {
            section.Error("reconnect_max_delay", "is shorter than reconnect_delay");
        }

        var options = defaults with
        {
            Topic = topic ?? defaults.Topic,
            Qos = section.Number("qos", defaults.Qos, min: 0, max: 2),
            Retain = section.Bool("retain", defaults.Retain),
            ClientId = clientId,
            Protocol = protocol,
            CleanStart = section.Bool("clean_start", defaults.CleanStart),
            SessionExpiry = section.Duration("session_expiry", defaults.SessionExpiry),
            Username = username,
            Password = password,
            CaFile = caFile,
            CertFile = certFile,
            KeyFile = keyFile,
            ServerName = serverName,
            MinSeverity = minSeverity,
            ReconnectDelay = reconnect,
            MaxReconnectDelay = maxReconnect,
            Timeout = section.Duration("timeout", defaults.Timeout, min: TimeSpan.FromMilliseconds(100)),
            MaxInflight = section.Number("max_inflight", defaults.MaxInflight, min: 1, max: 65535),
        };
        return url is null ? null : options with { Broker = url };
    }
}
