using SecMon.Core.Events;
using SecMon.Core.Findings;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Detection.Tests;

/// <summary>Helpers: load packs from text against the fake catalogue, and feed events.</summary>
internal static class TestRules
{
    /// <summary>2023-11-14T22:13:20Z in µs.</summary>
    public const long T0 = 1_700_000_000_000_000;

    public const long Second = 1_000_000;

    /// <summary>A finding's message after its rule name ("&lt;rule name&gt;: &lt;subject&gt;"), checking that it starts with it.</summary>
    public static string Subject(Finding f)
    {
        var prefix = f.RuleName + ": ";
        Assert.StartsWith(prefix, f.Message, StringComparison.Ordinal);
        return f.Message[prefix.Length..];
    }

    public static RuleSet Load(string yaml)
    {
        var r = RulePackLoader.LoadTexts([("test.yaml", yaml)], FakeSchemas.Catalogue);
        Assert.True(r.Success, "pack did not load:\n" + string.Join("\n", r.Errors));
        return r.RuleSet!;
    }

    public static IReadOnlyList<RuleError> Errors(string yaml)
    {
        var r = RulePackLoader.LoadTexts([("test.yaml", yaml)], FakeSchemas.Catalogue);
        Assert.False(r.Success, "expected load errors");
        return r.Errors;
    }

    /// <summary>A pack with one rule: the standard header plus <paramref name="body"/> (lines indented by 4).</summary>
    public static string OneRule(string events, string body, string severity = "medium", string id = "TEST-0001", string message = "test rule fired for {source.ip}") => $"""
        pack: test
        rules:
          - id: {id}
            name: Test rule
            description: A rule for tests.
            severity: {severity}
            events: [{events}]
            message: "{message}"
        {body}
        """;

    public static List<Finding> Feed(DetectionEngine engine, IEnumerable<ProtocolEvent> events, bool complete = true)
    {
        var findings = new List<Finding>();
        foreach (var e in events)
        {
            findings.AddRange(engine.Process(e));
        }

        if (complete)
        {
            findings.AddRange(engine.Complete());
        }

        return findings;
    }

    public static TestEvent Connect(FlowContext flow, long t, long packet, string? clientId = "sensor-1", string? user = null, string? passwordHash = null) =>
        TestEvent.Of(FakeSchemas.MqttConnect, flow, t, packet,
            ("mqtt.client_id", clientId), ("mqtt.username", user), ("mqtt.password.present", passwordHash is not null),
            ("mqtt.password.hash", passwordHash), ("mqtt.password.length", passwordHash is null ? null : 8L), ("mqtt.protocol_level", 4L));

    public static TestEvent Connack(FlowContext flow, long t, long packet, bool accepted, long code, string? clientId = "sensor-1", string? user = null) =>
        TestEvent.Of(FakeSchemas.MqttConnack, flow.Direction == FlowDirection.ToClient ? flow : flow.Reverse!, t, packet,
            ("mqtt.connack.accepted", accepted), ("mqtt.connack.return_code", code), ("mqtt.client_id", clientId), ("mqtt.username", user), ("mqtt.protocol_level", 4L));

    public static TestEvent Publish(FlowContext flow, long t, long packet, string topic, string? clientId = "sensor-1", bool retain = false, string? user = null) =>
        TestEvent.Of(FakeSchemas.MqttPublish, flow, t, packet,
            ("mqtt.topic", topic), ("mqtt.client_id", clientId), ("mqtt.username", user), ("mqtt.retain", retain), ("mqtt.qos", 0L), ("mqtt.payload.size", 12L));

    public static TestEvent Subscribe(FlowContext flow, long t, long packet, params string[] filters) =>
        TestEvent.Of(FakeSchemas.MqttSubscribe, flow, t, packet,
            ("mqtt.topic_filters", filters), ("mqtt.subscription_qos", filters.Select(_ => 0L).ToArray()), ("mqtt.packet_id", 1L));
}
