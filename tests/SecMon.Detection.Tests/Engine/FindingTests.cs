using SecMon.Core.Events;
using SecMon.Core.Findings;
using SecMon.Core.Flows;
using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Engine;

public sealed class FindingTests
{
    private const string Credentials = """
            where: {mqtt.password.present: true}
            device: client
            category: [network, authentication]
            type: [info]
            references: [https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html]
            technique: {id: T0842, name: Network Sniffing, tactic: Discovery}
        """;

    [Fact]
    public void Process_SameEventsTwice_SameFindingIds()
    {
        var rules = Load(OneRule("mqtt.connect", Credentials));
        var flow = FakeFlows.Create();
        var events = new[] { Connect(flow, T0, 7, user: "u", passwordHash: "h") };

        var first = Feed(new DetectionEngine(rules), events);
        var second = Feed(new DetectionEngine(rules), events);

        Assert.Equal(first.Select(f => f.Id), second.Select(f => f.Id));
        Assert.Matches("^[0-9a-f]{32}$", first[0].Id);
    }

    [Fact]
    public void FindingId_IsFirst32HexOfSha256OfRuleFlowTimeAndPacket()
    {
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("R-1\nabc\n12\n34"u8))[..32];

        Assert.Equal(expected, Detection.Engine.FindingFactory.FindingId("R-1", "abc", 12, 34));
        Assert.NotEqual(expected, Detection.Engine.FindingFactory.FindingId("R-1", "abc", 12, 35));
    }

    [Fact]
    public void Create_FillsEcsFieldsFromRuleAndEvent()
    {
        var rules = Load(OneRule("mqtt.connect", Credentials, severity: "high", message: "{mqtt.client_id} sent {mqtt.username}'s password in clear to {destination.ip}"));
        var flow = FakeFlows.Create(clientIp: "10.0.0.7", serverIp: "10.0.0.1", clientMac: "02-00-00-00-00-07");

        var f = Assert.Single(Feed(new DetectionEngine(rules), [Connect(flow, T0, 3, clientId: "meter-7", user: "meter", passwordHash: "abcd")]));

        Assert.Equal("TEST-0001", f.RuleId);
        Assert.Equal("Test rule", f.RuleName);
        Assert.Equal("test", f.Ruleset);
        Assert.Equal("1", f.RuleVersion);
        Assert.Equal("https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html", f.RuleReference);
        Assert.Equal(Severity.High, f.Severity);
        Assert.Equal(["network", "authentication"], f.Category);
        Assert.Equal(["info"], f.EventType);
        Assert.Equal("meter-7 sent meter's password in clear to 10.0.0.1", Subject(f));
        Assert.Equal(("10.0.0.7", "10.0.0.1", 1883), (f.SourceIp, f.DestinationIp, f.DestinationPort));
        Assert.Equal(("tcp", "mqtt", flow.FlowId, flow.CommunityId), (f.Transport, f.Protocol, f.FlowId, f.CommunityId));
        Assert.Equal("02-00-00-00-00-07", f.DeviceId);
        Assert.Equal("test", f.SourceFile); // the capture source of the flow: a file unless LiveCapture
        Assert.Null(f.CaptureInterface);
        Assert.Equal(SensorIdentity.ForThisHost().Name, f.ObserverName);
        Assert.Equal(SensorIdentity.ForThisHost().Id, f.ObserverId);
        Assert.Equal(("T0842", "Network Sniffing", "Discovery"), (f.ThreatTechniqueId, f.ThreatTechniqueName, f.ThreatTacticName));
        Assert.Equal((MitreAttack.Ics, "TA0102"), (f.ThreatFramework, f.ThreatTacticId));
        Assert.Equal(("10.0.0.7", "02-00-00-00-00-07", "meter"), (f.DeviceIp, f.DeviceMac, f.UserName));
        Assert.Equal(73d, f.RiskScore);
        Assert.Equal(["10.0.0.7", "10.0.0.1"], f.RelatedIp);
        Assert.Equal(["meter"], f.RelatedUser);
        Assert.Equal(T0, f.TimestampMicros);
        Assert.Equal(1, f.EventCount);
    }

    [Fact]
    public void Create_EventFromServerToClient_SourceIsStillTheClient()
    {
        // A CONNACK goes from the broker to the client; the finding is about the client's session, and
        // 'findings search --source-ip CLIENT' must find it.
        var rules = Load(OneRule("mqtt.connack", "    where: {mqtt.connack.accepted: true}", message: "{client.ip}:{client.port} to {server.ip}:{server.port}"));
        var flow = FakeFlows.Create(clientIp: "10.0.0.7", serverIp: "10.0.0.1", clientPort: 50000, clientMac: "02-00-00-00-00-07", serverMac: "02-00-00-00-00-01");

        var f = Assert.Single(Feed(new DetectionEngine(rules), [Connack(flow, T0, 2, accepted: true, code: 0)]));

        Assert.Equal(("10.0.0.7", 50000, "02-00-00-00-00-07"), (f.SourceIp, f.SourcePort, f.SourceMac));
        Assert.Equal(("10.0.0.1", 1883, "02-00-00-00-00-01"), (f.DestinationIp, f.DestinationPort, f.DestinationMac));
        Assert.Equal("10.0.0.7:50000 to 10.0.0.1:1883", Subject(f));
    }

    [Fact]
    public void Create_SensorAndLiveCaptureFromOptions_WrittenAsObserverAndInterface()
    {
        var rules = Load(OneRule("mqtt.connect", Credentials));
        var sensor = new SensorIdentity { Name = "plant-7", Hostname = "sensor-host", Id = "abc123", Version = "9.9.9", Ips = ["192.0.2.250"] };
        var options = new DetectionOptions { Sensor = sensor, LiveCapture = true };

        var f = Assert.Single(Feed(new DetectionEngine(rules, options), [Connect(FakeFlows.Create(), T0, 1, user: "u", passwordHash: "h")]));

        Assert.Equal(("plant-7", "sensor-host", "abc123", "9.9.9"), (f.ObserverName, f.ObserverHostname, f.ObserverId, f.ObserverVersion));
        Assert.Equal(["192.0.2.250"], f.ObserverIps);
        Assert.Equal("test", f.CaptureInterface);
        Assert.Null(f.SourceFile);
    }

    [Theory]
    [InlineData("", "medium", 47)]                 // the severity's number
    [InlineData("    risk_score: 30", "medium", 30)] // the rule's own score
    [InlineData("    risk_score: 30\n    escalate: [{where: {mqtt.username: u}, severity: critical}]", "critical", 99)] // raised: never below
    public void Create_RiskScore_FromSeverityOrTheRule(string body, string severity, double expected)
    {
        var rules = Load(OneRule("mqtt.connect", body));

        var f = Assert.Single(Feed(new DetectionEngine(rules), [Connect(FakeFlows.Create(), T0, 1, user: "u")]));

        Assert.Equal(severity, f.Severity.ToString().ToLowerInvariant());
        Assert.Equal(expected, f.RiskScore);
    }

    [Fact]
    public void SensorIdentity_ForThisHost_StableIdFromTheHostName()
    {
        var a = SensorIdentity.ForThisHost();
        var b = SensorIdentity.ForThisHost();

        Assert.Equal(a, b with { Ips = a.Ips });
        Assert.Equal(SensorIdentity.StableId(a.Name), a.Id);
        Assert.Matches("^[0-9a-f]{32}$", a.Id);
        Assert.NotEqual(SensorIdentity.StableId("sensor-a"), SensorIdentity.StableId("sensor-b"));
        Assert.DoesNotContain('+', a.Version!);
        var named = SensorIdentity.ForThisHost("gw-hall-3", null);
        Assert.Equal(("gw-hall-3", a.Hostname, a.Id), (named.Name, named.Hostname, named.Id)); // a rename keeps the id
        Assert.Equal("given-id", SensorIdentity.ForThisHost(null, "given-id").Id);
    }

    [Fact]
    public void Create_EvidenceNeverHoldsPasswordHashLengthOrPayload()
    {
        var rules = Load(OneRule("mqtt.connect", Credentials));
        var f = Assert.Single(Feed(new DetectionEngine(rules), [Connect(FakeFlows.Create(), T0, 1, user: "u", passwordHash: "secret-hash")]));

        Assert.Equal(true, f.Evidence["mqtt.password.present"]);
        Assert.Equal("u", f.Evidence["mqtt.username"]);
        Assert.DoesNotContain("mqtt.password.hash", f.Evidence.Keys);
        Assert.DoesNotContain("mqtt.password.length", f.Evidence.Keys);
        Assert.DoesNotContain(f.Evidence.Values, v => v is string s && s.Contains("secret-hash", StringComparison.Ordinal));
        Assert.DoesNotContain("secret-hash", f.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mqtt.password.hash", false)]
    [InlineData("mqtt.password.length", false)]
    [InlineData("mqtt.password.present", true)]
    [InlineData("mqtt.payload", false)]
    [InlineData("mqtt.payload.size", true)]
    [InlineData("mqtt.will.payload", false)]
    [InlineData("http.request.token", false)]
    [InlineData("mqtt.client_id", true)]
    [InlineData("password", false)]
    [InlineData("present", true)]
    [InlineData("mqtt.passwords", true)]
    [InlineData("mqtt.password.size.hash", false)]
    [InlineData("secret.size", true)]
    [InlineData("", true)]
    public void IsEvidenceSafe_SecretsExcludedHarmlessFactsKept(string field, bool expected)
    {
        Assert.Equal(expected, Detection.Engine.FindingFactory.IsEvidenceSafe(field));
    }

    [Fact]
    public void Create_PublishEvidenceHasSizeButNoPayload()
    {
        var rules = Load(OneRule("mqtt.publish", ""));
        var f = Assert.Single(Feed(new DetectionEngine(rules), [Publish(FakeFlows.Create(), T0, 1, "a/b")]));

        Assert.Equal(12L, f.Evidence["mqtt.payload.size"]);
        Assert.Equal("a/b", f.Evidence["mqtt.topic"]);
    }

    [Fact]
    public void Create_DeviceIsIpWhenMacIsAbsentOrZero()
    {
        var rules = Load(OneRule("mqtt.connect", Credentials));
        var zeroMac = FakeFlows.Create(clientIp: "127.0.0.1", clientMac: "00-00-00-00-00-00");

        var f = Assert.Single(Feed(new DetectionEngine(rules), [Connect(zeroMac, T0, 1, user: "u", passwordHash: "h")]));

        Assert.Equal("127.0.0.1", f.DeviceId);
    }

    [Fact]
    public void Create_RelayedDhcpRequest_TheDeviceIsTheClientThePayloadNames_NotTheRelay()
    {
        // A relay agent forwards the client's request from its own address and MAC (RFC 2131 §4.1, giaddr): the frame
        // names the relay, chaddr the device, as the inventory counts it.
        var rules = Load(OneRule("dhcp.request", "", message: "{device} asked"));
        var relayed = FakeFlows.Create(clientIp: "198.51.100.1", serverIp: "192.0.2.53", serverPort: 67, clientPort: 67,
                                       clientMac: "02-00-00-00-00-FE", serverMac: "02-00-00-00-00-53");
        var fromZero = FakeFlows.Create(clientIp: "0.0.0.0", serverIp: "255.255.255.255", serverPort: 67, clientPort: 68,
                                        clientMac: "02-00-00-00-00-77", serverMac: "FF-FF-FF-FF-FF-FF");
        TestEvent Request(FlowContext flow, long t, string chaddr) => new()
        {
            TestSchema = FakeSchemas.DhcpRequest, Flow = flow, TimestampMicros = t, PacketNumber = t - T0 + 1,
            Values = new Dictionary<string, FieldValue> { ["dhcp.client_mac"] = FieldValue.Of(chaddr) },
        };

        var findings = Feed(new DetectionEngine(rules), [Request(relayed, T0, "02-00-00-00-00-77"), Request(fromZero, T0 + 1, "02-00-00-00-00-77")]);

        Assert.Equal(2, findings.Count);
        var viaRelay = findings[0];
        Assert.Equal(("02-00-00-00-00-77", null, "02-00-00-00-00-77"), (viaRelay.DeviceId, viaRelay.DeviceIp, viaRelay.DeviceMac));
        Assert.Equal(("198.51.100.1", "02-00-00-00-00-FE"), (viaRelay.SourceIp, viaRelay.SourceMac)); // the packet as it was
        Assert.Equal("02-00-00-00-00-77 asked", Subject(viaRelay));
        var direct = findings[1];
        Assert.Equal(("02-00-00-00-00-77", "0.0.0.0", "02-00-00-00-00-77"), (direct.DeviceId, direct.DeviceIp, direct.DeviceMac));
    }

    [Fact]
    public void Create_DeviceServer_IsTheBrokerSideWhicheverDirection()
    {
        var rules = Load(OneRule("mqtt.connack", "    device: server"));
        var flow = FakeFlows.Create(clientIp: "10.0.0.7", serverIp: "10.0.0.1", serverMac: "02-00-00-00-00-01");

        var f = Assert.Single(Feed(new DetectionEngine(rules), [Connack(flow, T0, 1, accepted: true, code: 0)]));

        Assert.Equal(("02-00-00-00-00-01", "10.0.0.1", "02-00-00-00-00-01"), (f.DeviceId, f.DeviceIp, f.DeviceMac));
        Assert.Equal(("10.0.0.7", "10.0.0.1"), (f.SourceIp, f.DestinationIp)); // source is the client, whoever the device is
    }

    [Fact]
    public void Create_MessageValuesAreSanitised()
    {
        var rules = Load(OneRule("mqtt.connect", "", message: "client {mqtt.client_id} user {mqtt.username}"));

        var f = Assert.Single(Feed(new DetectionEngine(rules), [Connect(FakeFlows.Create(), T0, 1, clientId: "evil\n[FAKE] log line\u001b[31m" + new string('x', 300))]));

        Assert.DoesNotContain('\n', f.Message);
        Assert.DoesNotContain('\u001b', f.Message);
        Assert.Contains("user (none)", f.Message, StringComparison.Ordinal);
        Assert.True(f.Message.Length < 200);
    }

    [Theory]
    [InlineData("2001:db8::5", "2001:db8::1", "from 2001:db8::5 to [2001:db8::1]:1883")]
    [InlineData("192.0.2.5", "192.0.2.1", "from 192.0.2.5 to 192.0.2.1:1883")]
    public void Create_MessageIpv6AddressBeforeAPort_Bracketed(string client, string server, string expected)
    {
        var rules = Load(OneRule("mqtt.connect", "", message: "from {source.ip} to {destination.ip}:{destination.port}"));

        var f = Assert.Single(Feed(new DetectionEngine(rules), [Connect(FakeFlows.Create(clientIp: client, serverIp: server), T0, 1)]));

        Assert.Equal(expected, Subject(f));
    }

    [Theory]
    [InlineData("02:00:00:00:00:07", "device 02-00-00-00-00-07 (10.0.0.7)")] // a MAC id: the address follows
    [InlineData(null, "device 10.0.0.7")]                                       // an IP id: said once
    public void Create_DevicePlaceholder_AddressOnlyWhenTheIdIsAMac(string? mac, string expected)
    {
        var rules = Load(OneRule("mqtt.connect", "", message: "device {device}"));

        var f = Assert.Single(Feed(new DetectionEngine(rules), [Connect(FakeFlows.Create(clientIp: "10.0.0.7", clientMac: mac), T0, 1)]));

        Assert.Equal(expected, Subject(f));
    }

    [Fact]
    public void Suppression_ByNetworkTopicAndDevice_DropsMatchesAndCountsThem()
    {
        var yaml = OneRule("mqtt.publish", "") + """

            suppressions:
              - name: lab-network
                reason: lab devices publish anywhere
                where: {source.ip: {cidr: 10.99.0.0/16}}
              - name: diagnostics-topics
                rules: [TEST-0001]
                where: {mqtt.topic: {prefix: diag/}}
              - name: known-gateway
                devices: [02:00:00:00:00:aa, 10.0.0.9]
            """;
        var engine = new DetectionEngine(Load(yaml));

        var findings = Feed(engine,
        [
            Publish(FakeFlows.Create(clientIp: "10.99.1.1"), T0, 1, "a"),
            Publish(FakeFlows.Create(clientIp: "10.0.0.1"), T0 + 1, 2, "diag/x"),
            Publish(FakeFlows.Create(clientIp: "10.0.0.2", clientMac: "02-00-00-00-00-AA"), T0 + 2, 3, "a"),
            Publish(FakeFlows.Create(clientIp: "10.0.0.9"), T0 + 3, 4, "a"),
            Publish(FakeFlows.Create(clientIp: "10.0.0.3"), T0 + 4, 5, "a"),
        ]);

        Assert.Equal("10.0.0.3", Assert.Single(findings).SourceIp);
        Assert.Equal(4, engine.Stats.Suppressed);
        Assert.Equal(1, engine.SuppressionHits["lab-network"]);
        Assert.Equal(1, engine.SuppressionHits["diagnostics-topics"]);
        Assert.Equal(2, engine.SuppressionHits["known-gateway"]);
    }

    [Fact]
    public void Suppression_ForOtherRule_DoesNotApply()
    {
        var yaml = OneRule("mqtt.publish", "") + """

              - id: TEST-0002
                name: Other
                description: d
                severity: low
                events: [mqtt.publish]
                message: other
            suppressions:
              - name: only-other
                rules: [TEST-0002]
                where: {mqtt.topic: a}
            """;
        var findings = Feed(new DetectionEngine(Load(yaml)), [Publish(FakeFlows.Create(), T0, 1, "a")]);

        Assert.Equal("TEST-0001", Assert.Single(findings).RuleId);
    }

    [Fact]
    public void Process_EventTypeNoRuleReads_CountsButDoesNothing()
    {
        var engine = new DetectionEngine(Load(OneRule("mqtt.connect", "")));

        var findings = engine.Process(TestEvent.Of(FakeSchemas.MqttPingreq, FakeFlows.Create(), T0, 1));

        Assert.Empty(findings);
        Assert.Equal(1, engine.Stats.Events);
        Assert.Equal(0, engine.Stats.EventsRead);
    }
}
