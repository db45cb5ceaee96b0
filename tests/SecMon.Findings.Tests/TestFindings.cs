using SecMon.Core;
using SecMon.Core.Findings;

namespace SecMon.Findings.Tests;

/// <summary>Findings for tests: one fully populated sample and generated sets with known properties.</summary>
internal static class TestFindings
{
    /// <summary>2026-11-24T08:00:00Z in microseconds.</summary>
    public static readonly long Base = Time.ToUnixMicros(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));

    /// <summary>A finding with every typed field and evidence of each value type set.</summary>
    public static Finding Full() => new()
    {
        Id = "4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a",
        TimestampMicros = Base + 123_456,
        RuleId = "SECMON-MQTT-0002",
        RuleName = "MQTT password guessing",
        RuleDescription = "Many CONNECT attempts with different passwords were refused.",
        Ruleset = "mqtt-core",
        RuleVersion = "3",
        RuleReference = "https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html#_Toc398718030",
        Severity = Severity.High,
        Category = ["authentication", "intrusion_detection"],
        EventType = ["info"],
        RiskScore = 73,
        RuleCategory = "Password guessing",
        Message = "MQTT password guessing: 12 logins from 10.0.0.17 refused by broker 10.0.0.1:1883 (user 'admin')",
        SourceIp = "10.0.0.17",
        SourcePort = 50123,
        SourceMac = "00-1A-2B-3C-4D-5E",
        DestinationIp = "10.0.0.1",
        DestinationPort = 1883,
        DestinationMac = "00-1A-2B-3C-4D-01",
        Transport = "tcp",
        Protocol = "mqtt",
        CommunityId = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
        FlowId = "9a8b7c6d5e4f3a2b",
        DeviceId = "00-1A-2B-3C-4D-5E",
        DeviceIp = "10.0.0.17",
        DeviceMac = "00-1A-2B-3C-4D-5E",
        UserName = "admin",
        ObserverName = "sensor-a",
        ObserverHostname = "sensor-a.plant.example",
        ObserverId = "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        ObserverVersion = "1.0.0",
        ObserverIps = ["192.0.2.250"],
        SourceFile = "captures/plant.pcap",
        ThreatFramework = MitreAttack.Enterprise,
        ThreatTechniqueId = "T1110.001",
        ThreatTechniqueName = "Password Guessing",
        ThreatParentTechniqueName = "Brute Force",
        ThreatTacticId = "TA0006",
        ThreatTacticName = "Credential Access",
        RelatedIp = ["10.0.0.17", "10.0.0.1"],
        RelatedUser = ["admin"],
        EventCount = 12,
        Evidence = new Dictionary<string, object>
        {
            ["mqtt.client_id"] = "sensor-17",
            ["mqtt.client_ids"] = new[] { "sensor-17", "sensor-17b" },
            ["mqtt.username"] = "admin",
            ["mqtt.protocol_level"] = 4L,
            ["mqtt.clean_start"] = true,
            ["mqtt.connack.return_code"] = 5L,
            ["mqtt.connack.reason"] = "not_authorized",
            ["mqtt.topic_filters"] = new[] { "plant/#", "$SYS/#" },
            ["mqtt.subscription_qos"] = new[] { 0L, 1L },
            ["secmon.distinct_count"] = 12L,
            ["secmon.window"] = "1m",
            ["event.start"] = "2026-11-24T07:59:00.123456Z",
            ["tls.version"] = "1.2",
        },
    };

    /// <summary>A minimal finding (only the required members).</summary>
    public static Finding Minimal() => new()
    {
        Id = "minimal-0001",
        TimestampMicros = Base,
        RuleId = "SECMON-MQTT-0006",
        RuleName = "MQTT cleartext session",
        Severity = Severity.Low,
        Message = "Device 10.0.0.9 used MQTT without TLS",
    };

    private static readonly (string Id, string Name, Severity Severity, string Word)[] Rules =
    [
        ("SECMON-MQTT-0001", "MQTT anonymous login accepted", Severity.Medium, "anonymous"),
        ("SECMON-MQTT-0002", "MQTT password guessing", Severity.High, "guessing"),
        ("SECMON-MQTT-0003", "MQTT login after guessing", Severity.Critical, "success"),
        ("SECMON-MQTT-0006", "MQTT cleartext session", Severity.Low, "cleartext"),
    ];

    /// <summary>
    /// <paramref name="count"/> findings, one second apart from <see cref="Base"/> with every fifth pair sharing a
    /// timestamp (so ties are exercised), cycling through 4 rules and <paramref name="devices"/> devices.
    /// </summary>
    public static List<Finding> Many(int count, int devices = 7)
    {
        var list = new List<Finding>(count);
        for (var i = 0; i < count; i++)
        {
            var rule = Rules[i % Rules.Length];
            var d = i % devices;
            var ts = Base + ((i - (i % 5 == 1 ? 1 : 0)) * 1_000_000L);
            list.Add(new Finding
            {
                Id = $"f{i:D6}",
                TimestampMicros = ts,
                RuleId = rule.Id,
                RuleName = rule.Name,
                Severity = rule.Severity,
                Category = ["network"],
                EventType = ["info"],
                Message = $"Device dev-{d} (10.1.0.{d}) {rule.Word} event number {i}",
                SourceIp = $"10.1.0.{d}",
                SourcePort = 40000 + i,
                DestinationIp = "10.1.0.254",
                DestinationPort = 1883,
                Transport = "tcp",
                Protocol = "mqtt",
                DeviceId = $"02-00-00-00-00-{d:X2}",
                RelatedIp = [$"10.1.0.{d}"],
                Evidence = new Dictionary<string, object>
                {
                    ["mqtt.client_id"] = $"client-{d}",
                    ["mqtt.username"] = $"user{d}",
                    ["mqtt.topic"] = $"plant/line{d}/temp",
                },
            });
        }

        return list;
    }
}

/// <summary>A temporary directory, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("secmon-findings-test-").FullName;
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory is not a test failure.
        }
    }
}
