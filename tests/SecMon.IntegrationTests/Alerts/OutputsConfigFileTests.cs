using SecMon.Alerts.Mqtt;
using SecMon.Core.Configuration;
using SecMon.Findings.Log;
using SecMon.Hosting.Configuration;
using SecMon.IntegrationTests.TestSupport;

namespace SecMon.IntegrationTests.Alerts;

/// <summary><c>outputs.mqtt</c> and <c>outputs.log</c> read from a real configuration file through the host's reader and
/// the shipped output catalogue (what <c>--config</c> and <c>secmon config check</c> do).</summary>
public sealed class OutputsConfigFileTests
{
    private const string Password = "mqtt-Pa55word!";

    [Fact]
    public void Load_MqttAndLog_BothOutputsMadeWithPathsFromTheFilesDirectory()
    {
        using var dir = new TempDirectory();
        var file = dir.File("secmon.yml");
        File.WriteAllText(file, """
            outputs:
              mqtt:
                url: mqtts://127.0.0.1:8883
                username: secmon
                password: ${TEST_MQTT_PASSWORD}
                tls: { ca_file: pki/chain.pem }
              log:
                path: logs/findings.jsonl
                rotate_every: 1d
            """);
        var errors = new ConfigErrors();

        var config = SecMonConfig.Load(file, dir.File("data"), errors, out var exit, name => name == "TEST_MQTT_PASSWORD" ? Password : null);

        Assert.True(config is not null, string.Join("\n", errors.Items));
        Assert.Equal(0, exit);
        var mqtt = Assert.Single(config.Outputs.OfType<MqttAlertSink>());
        Assert.Equal(Password, mqtt.Options.Password);
        Assert.Equal(dir.File("pki/chain.pem"), mqtt.Options.CaFile);
        var log = Assert.Single(config.Outputs.OfType<FindingsLogSink>());
        Assert.Equal(dir.File("logs/findings.jsonl"), log.Options.Path);
        Assert.Equal(TimeSpan.FromDays(1), log.Options.RotateEvery);
    }

    [Fact]
    public void Load_BadMqttAndLogValues_EveryErrorWithFileAndLine_PasswordNowhere()
    {
        using var dir = new TempDirectory();
        var file = dir.File("secmon.yml");
        File.WriteAllText(file, $"""
            outputs:
              mqtt:
                url: mqtt://broker.lan
                password: {Password}
                qos: 5
                topic: "secmon/{"{"}nope{"}"}"
              log:
                keep: many
            """);
        var errors = new ConfigErrors();

        var config = SecMonConfig.Load(file, dir.File("data"), errors, out var exit, _ => null);

        Assert.Null(config);
        Assert.Equal(78, exit);
        var text = errors.Items.Select(e => e.ToString()).ToList();
        Assert.Contains(text, t => t.StartsWith($"{file}:5:", StringComparison.Ordinal) && t.Contains("outputs.mqtt.qos", StringComparison.Ordinal));
        Assert.Contains(text, t => t.StartsWith($"{file}:6:", StringComparison.Ordinal) && t.Contains("unknown placeholder {nope}", StringComparison.Ordinal));
        Assert.Contains(text, t => t.StartsWith($"{file}:8:", StringComparison.Ordinal) && t.Contains("outputs.log.keep", StringComparison.Ordinal));
        Assert.Contains(text, t => t.StartsWith($"{file}:4:", StringComparison.Ordinal) && t.Contains("warning", StringComparison.Ordinal));
        Assert.All(text, t => Assert.DoesNotContain(Password, t, StringComparison.Ordinal));
    }
}
