using SecMon.Core.Findings;

namespace SecMon.Alerts.Tests.Mqtt;

/// <summary>Findings for the MQTT tests: distinct ids, rules and severities cycling, devices by MAC.</summary>
internal static class MqttFindings
{
    private static readonly (string Rule, Severity Severity)[] Rules =
    [
        ("SECMON-MQTT-0001", Severity.Medium),
        ("SECMON-MQTT-0002", Severity.High),
        ("SECMON-MQTT-0003", Severity.Low),
        ("SECMON-MQTT-0004", Severity.Critical),
    ];

    public static Finding[] Many(int count, string prefix = "f")
    {
        var list = new Finding[count];
        for (var i = 0; i < count; i++)
        {
            var (rule, severity) = Rules[i % Rules.Length];
            list[i] = new Finding
            {
                Id = $"{prefix}{i:D6}",
                TimestampMicros = 1_764_000_000_000_000 + i * 1000L,
                RuleId = rule,
                RuleName = "rule " + rule,
                Severity = severity,
                Message = $"device dev-{i % 5} did something ({i})",
                SourceIp = $"10.0.0.{i % 5}",
                DestinationIp = "10.0.0.254",
                DestinationPort = 1883,
                Protocol = "mqtt",
                DeviceId = $"02-00-00-00-00-0{i % 5}",
                ObserverName = "sensor-a",
            };
        }

        return list;
    }
}
