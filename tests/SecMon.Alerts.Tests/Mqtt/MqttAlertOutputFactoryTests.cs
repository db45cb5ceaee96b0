using SecMon.Alerts.Mqtt;
using SecMon.Core.Configuration;
using SecMon.Core.Findings;
using SecMon.Testing;

namespace SecMon.Alerts.Tests.Mqtt;

public sealed class MqttAlertOutputFactoryTests
{
    private const string Password = "s3cret-Pa55word!";
    private static readonly OutputContext Context = new("/var/lib/secmon", TimeProvider.System);

    private static (IReadOnlyList<IFindingSink> Sinks, ConfigErrors Errors) Create(string yaml, Dictionary<string, string>? env = null)
    {
        var errors = new ConfigErrors();
        return (new MqttAlertOutputFactory().Create(YamlConfig.Outputs(yaml, errors, env), Context), errors);
    }

    [Fact]
    public void Create_NoMqttKey_NoSink()
    {
        var (sinks, errors) = Create("outputs:\n  log:\n");
        Assert.Empty(sinks);
        Assert.Empty(errors.Items);
    }

    [Fact]
    public void Create_UrlOnly_Defaults()
    {
        var (sinks, errors) = Create("outputs:\n  mqtt:\n    url: mqtt://broker.lan\n");

        Assert.Empty(errors.Items);
        var sink = Assert.IsType<MqttAlertSink>(Assert.Single(sinks));
        var o = sink.Options;
        Assert.True(((IFindingSink)sink).NeedsSpool);
        Assert.Equal("mqtt", sink.Name);
        Assert.Equal("broker.lan", o.Broker.Host);
        Assert.Equal(1883, o.Port);
        Assert.False(o.UseTls);
        Assert.Equal(MqttTopicTemplate.Default, o.Topic.Text);
        Assert.Equal(1, o.Qos);
        Assert.False(o.Retain);
        Assert.Equal(MqttAlertOptions.DefaultClientId(), o.ClientId);
        Assert.StartsWith("secmon-", o.ClientId, StringComparison.Ordinal);
        Assert.Equal("5", o.Protocol);
        Assert.False(o.CleanStart);
        Assert.Equal(TimeSpan.FromHours(1), o.SessionExpiry);
        Assert.Null(o.Username);
        Assert.Null(o.Password);
        Assert.Equal(0, o.MinSeverity);
        Assert.Equal(TimeSpan.FromSeconds(1), o.ReconnectDelay);
        Assert.Equal(TimeSpan.FromMinutes(1), o.MaxReconnectDelay);
    }

    [Fact]
    public void Create_EveryKey_BoundAndPasswordFromTheEnvironment()
    {
        var (sinks, errors) = Create("""
            outputs:
              mqtt:
                url: mqtts://broker.lan
                topic: plant/{observer.name}/{severity}
                qos: 2
                retain: true
                client_id: sensor-a
                protocol: 3.1.1
                clean_start: true
                session_expiry: 10m
                username: secmon
                password: ${MQTT_PASSWORD}
                min_severity: high
                reconnect_delay: 2s
                reconnect_max_delay: 30s
                timeout: 5s
                max_inflight: 100
                tls:
                  ca_file: /etc/secmon/chain.pem
                  cert_file: /etc/secmon/device.crt.pem
                  key_file: /etc/secmon/device.key.pem
                  server_name: broker.internal
            """, new() { ["MQTT_PASSWORD"] = Password });

        Assert.Empty(errors.Items);
        var o = Assert.IsType<MqttAlertSink>(Assert.Single(sinks)).Options;
        Assert.Equal(8883, o.Port);
        Assert.True(o.UseTls);
        Assert.Equal("plant/{observer.name}/{severity}", o.Topic.Text);
        Assert.Equal(2, o.Qos);
        Assert.True(o.Retain);
        Assert.Equal("sensor-a", o.ClientId);
        Assert.Equal("3.1.1", o.Protocol);
        Assert.True(o.CleanStart);
        Assert.Equal(TimeSpan.FromMinutes(10), o.SessionExpiry);
        Assert.Equal("secmon", o.Username);
        Assert.Equal(Password, o.Password);
        Assert.Equal((int)Severity.High, o.MinSeverity);
        Assert.Equal(TimeSpan.FromSeconds(2), o.ReconnectDelay);
        Assert.Equal(TimeSpan.FromSeconds(30), o.MaxReconnectDelay);
        Assert.Equal(TimeSpan.FromSeconds(5), o.Timeout);
        Assert.Equal(100, o.MaxInflight);
        Assert.Equal("/etc/secmon/chain.pem", o.CaFile);
        Assert.Equal("/etc/secmon/device.crt.pem", o.CertFile);
        Assert.Equal("/etc/secmon/device.key.pem", o.KeyFile);
        Assert.Equal("broker.internal", o.ServerName);
        Assert.DoesNotContain(Password, o.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_BadValues_EveryErrorLocatedByLine_PasswordNeverShown()
    {
        var (sinks, errors) = Create($"""
            outputs:
              mqtt:
                url: http://broker.lan
                topic: secmon/#
                qos: 3
                password: {Password}
                protocol: 3.1.1
                min_severity: severe
                timeout: soon
                tls:
                  cert_file: /etc/secmon/device.crt.pem
                  keyfile: /etc/secmon/device.key.pem
                retries: 3
            """);

        Assert.Empty(sinks);
        var lines = errors.Items.Where(e => !e.IsWarning).GroupBy(e => e.Path).ToDictionary(g => g.Key, g => g.First().Location.Line);
        Assert.Equal(3, lines["outputs.mqtt.url"]);
        Assert.Equal(4, lines["outputs.mqtt.topic"]);
        Assert.Equal(5, lines["outputs.mqtt.qos"]);
        Assert.Equal(6, lines["outputs.mqtt.password"]); // a password without a user name in MQTT 3.1.1
        Assert.Equal(8, lines["outputs.mqtt.min_severity"]);
        Assert.Equal(9, lines["outputs.mqtt.timeout"]);
        Assert.Equal(11, lines["outputs.mqtt.tls"]); // cert_file without key_file
        Assert.Equal(12, lines["outputs.mqtt.tls.keyfile"]); // unknown key
        Assert.Equal(13, lines["outputs.mqtt.retries"]);
        Assert.Contains(errors.Items, e => e.IsWarning && e.Path == "outputs.mqtt.password"); // written in the file
        Assert.All(errors.Items, e => Assert.DoesNotContain(Password, e.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void Create_CredentialsInTheUrl_ErrorWithoutThem()
    {
        var (sinks, errors) = Create($"outputs:\n  mqtt:\n    url: mqtt://secmon:{Password}@broker.lan:1883\n");

        Assert.Empty(sinks);
        var error = Assert.Single(errors.Items);
        Assert.Equal("outputs.mqtt.url", error.Path);
        Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_TlsSettingsWithPlainUrl_Error()
    {
        var (sinks, errors) = Create("outputs:\n  mqtt:\n    url: mqtt://broker.lan\n    tls:\n      ca_file: chain.pem\n");
        Assert.Empty(sinks);
        Assert.Contains("mqtts://", Assert.Single(errors.Items).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_RelativeTlsFiles_TakenFromTheConfigurationFilesDirectory()
    {
        var errors = new ConfigErrors();
        var yaml = "outputs:\n  mqtt:\n    url: mqtts://broker.lan\n    tls:\n      ca_file: pki/chain.pem\n      cert_file: /abs/device.crt.pem\n      key_file: device.key.pem\n";
        var sink = (MqttAlertSink)new MqttAlertOutputFactory().Create(YamlConfig.Outputs(yaml, errors, source: "/etc/secmon/secmon.yml"), Context)[0];

        Assert.Empty(errors.Items);
        Assert.Equal("/etc/secmon/pki/chain.pem", sink.Options.CaFile);
        Assert.Equal("/abs/device.crt.pem", sink.Options.CertFile);
        Assert.Equal("/etc/secmon/device.key.pem", sink.Options.KeyFile);
    }

    [Fact]
    public void Create_Disabled_NoSink()
    {
        var (sinks, errors) = Create("outputs:\n  mqtt:\n    enabled: false\n    url: mqtt://broker.lan\n");
        Assert.Empty(sinks);
        Assert.Empty(errors.Items);
    }

    [Fact]
    public void Create_MissingUrl_LocatedError()
    {
        var (sinks, errors) = Create("outputs:\n  mqtt:\n    qos: 1\n");
        Assert.Empty(sinks);
        var error = Assert.Single(errors.Items);
        Assert.Equal("outputs.mqtt.url", error.Path);
        Assert.Equal(3, error.Location.Line);
    }
}
