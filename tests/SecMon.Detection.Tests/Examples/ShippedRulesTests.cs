using SecMon.Core.Findings;
using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Examples;

/// <summary>The shipped packs in rules/ against the MQTT/TLS event catalogue (fake schemas with the real names).</summary>
public sealed class ShippedRulesTests
{
    private static RuleSet Shipped()
    {
        var r = RulePackLoader.Load([RepoPaths.Rules], FakeSchemas.Catalogue);
        Assert.True(r.Success, "shipped packs are invalid:\n" + string.Join("\n", r.Errors));
        return r.RuleSet!;
    }

    [Fact]
    public void Load_ShippedPacks_AreValid()
    {
        var rules = Shipped();

        Assert.Contains(rules.Rules, r => r.Id == "SECMON-MQTT-0001");
        Assert.Contains(rules.Rules, r => r.Id == "SECMON-BASE-0004");
        Assert.All(rules.Rules, r => Assert.True(r.Examples >= 2, $"{r.Id} has {r.Examples} examples"));
    }

    [Fact]
    public void RuleTester_ShippedRules_EveryExamplePasses()
    {
        var results = RuleTester.Run(Shipped());

        var failures = results.Where(r => !r.Passed).Select(r => r.ToString()).ToList();
        Assert.True(failures.Count == 0, "failing examples:\n" + string.Join("\n", failures));
        Assert.True(results.Count >= 40, $"only {results.Count} examples");
    }

    [Fact]
    public void RuleTester_RuleWithoutExamples_Fails()
    {
        var results = RuleTester.Run(Load(OneRule("mqtt.connect", "")));

        var r = Assert.Single(results);
        Assert.False(r.Passed);
        Assert.Contains("has no examples", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void RuleTester_WrongExample_FailsWithWhatHappened()
    {
        var rules = Load(OneRule("mqtt.connect", """
                where: {mqtt.username: null}
                examples:
                  match:
                    - {type: mqtt.connect, mqtt.username: alice}
                  no_match:
                    - {type: mqtt.connect}
            """));

        var results = RuleTester.Run(rules);

        Assert.Equal(2, results.Count);
        var match = Assert.Single(results, r => r.ShouldMatch);
        Assert.False(match.Passed);
        Assert.Equal("expected a finding, got none", match.Detail);
        Assert.Equal(12, match.Line);
        var noMatch = Assert.Single(results, r => !r.ShouldMatch);
        Assert.False(noMatch.Passed);
        Assert.StartsWith("expected no finding, got 1 finding(s)", noMatch.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedRules_TlsSessionsWithClientCertificates_NeverUnauthenticated()
    {
        var engine = new DetectionEngine(Shipped());
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverPort: 8883);

        var findings = Feed(engine,
        [
            TestEvent.Of(FakeSchemas.TlsClientHello, flow, T0, 1, ("tls.version", "1.2"), ("tls.client.server_name", "broker")),
            TestEvent.Of(FakeSchemas.TlsServerHello, flow.Reverse!, T0 + 1, 2, ("tls.version", "1.2")),
            TestEvent.Of(FakeSchemas.TlsCertificateRequest, flow.Reverse!, T0 + 2, 3),
            TestEvent.Of(FakeSchemas.TlsClientCertificate, flow, T0 + 3, 4, ("tls.client.subject", "CN=sensor-1")),
            TestEvent.Of(FakeSchemas.TlsHandshake, flow, T0 + 4, 5, ("tls.version", "1.2"), ("tls.established", true), ("tls.client.certificate_presented", true)),
        ]);

        Assert.DoesNotContain(findings, f => f.RuleId is "SECMON-MQTT-0001" or "SECMON-MQTT-0002" || f.Category.Contains("authentication"));
    }

    [Fact]
    public void ShippedRules_AnonymousSessionAndWildcard_OnePlusOneFindings()
    {
        var engine = new DetectionEngine(Shipped());
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");

        var findings = Feed(engine,
        [
            Connect(flow, T0, 1, clientId: "mosqsub|123"),
            Connack(flow, T0 + 1, 2, accepted: true, code: 0, clientId: "mosqsub|123"),
            Subscribe(flow, T0 + 2, 3, "#"),
        ]);

        var anonymous = Assert.Single(findings, f => f.RuleId == "SECMON-MQTT-0001");
        Assert.Equal("Anonymous MQTT session accepted: client id 'mosqsub|123' from 10.0.0.5 to broker 10.0.0.1:1883 (1 session(s) within 1h)", anonymous.Message);
        Assert.Equal("10.0.0.5", anonymous.DeviceId);
        // The finding is made on the CONNACK (broker to client) and still names the client as its source.
        Assert.Equal(("10.0.0.5", "10.0.0.1", 1883), (anonymous.SourceIp, anonymous.DestinationIp, anonymous.DestinationPort));
        Assert.Equal((MitreAttack.Ics, "T0886", "TA0108"), (anonymous.ThreatFramework, anonymous.ThreatTechniqueId, anonymous.ThreatTacticId));
        Assert.Equal(["start"], anonymous.EventType);
        var wildcard = Assert.Single(findings, f => f.RuleId == "SECMON-MQTT-0006");
        Assert.Equal(Severity.High, wildcard.Severity);
        Assert.Equal(new List<string> { "mosqsub|123" }, wildcard.Evidence["mqtt.client_ids"]);
        Assert.Equal("mosqsub|123", wildcard.Evidence["mqtt.client_id"]);
    }
}
