using SecMon.Core.Findings;
using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Engine;

public sealed class StatefulRuleTests
{
    private const string Guessing = """
            where: {mqtt.connack.accepted: false}
            threshold:
              count: 3
              within: 60s
              by: [destination.ip]
              distinct: session.mqtt.password.hash
        """;

    private static IEnumerable<TestEvent> RefusedLogins(Core.Flows.FlowContext flow, long start, long step, int n, long firstPacket = 1)
    {
        for (var i = 0; i < n; i++)
        {
            var t = start + (i * step);
            yield return Connect(flow, t, firstPacket + (2 * i), user: "admin", passwordHash: "h" + (i % 2));
            yield return Connack(flow, t + 1000, firstPacket + (2 * i) + 1, accepted: false, code: 5, user: "admin");
        }
    }

    [Fact]
    public void Threshold_CountReachedWithinWindow_ReportsOnceWithCountsAndAnchor()
    {
        var rules = Load(OneRule("mqtt.connack", Guessing, message: "{count} refused logins from {destination.ip}, {distinct} passwords"));
        var engine = new DetectionEngine(rules);
        var flow = FakeFlows.Create(clientIp: "10.9.9.9");

        var findings = Feed(engine, RefusedLogins(flow, T0, 10 * Second, 8));

        var f = Assert.Single(findings);
        Assert.Equal(3, f.EventCount);
        Assert.Equal("3 refused logins from 10.9.9.9, 2 passwords", Subject(f));
        Assert.Equal(2L, f.Evidence["secmon.distinct_count"]);
        Assert.Equal("destination.ip=10.9.9.9", f.Evidence["secmon.group"]);
        // Reported when the third refusal arrived; anchored on the first.
        Assert.Equal(T0 + (20 * Second) + 1000, f.TimestampMicros);
        Assert.Equal(Detection.Engine.FindingFactory.FindingId("TEST-0001", flow.FlowId, T0 + 1000, 2), f.Id);
    }

    [Fact]
    public void Threshold_LargeCount_WindowSlidesOverTheLastNEvents()
    {
        // 20 within 60s: ten slow refusals (every 10 s), then one a second. The last 20 first fit in 60 s at the
        // 25th event (t = 105 s), whose oldest is the 6th (t = 50 s): the ring must grow and then slide.
        const string big = """
                where: {mqtt.connack.accepted: false}
                threshold: {count: 20, within: 60s, by: [destination.ip]}
            """;
        var rules = Load(OneRule("mqtt.connack", big, message: "{count} refused"));
        var engine = new DetectionEngine(rules);
        var flow = FakeFlows.Create();
        var times = Enumerable.Range(0, 10).Select(i => i * 10L).Concat(Enumerable.Range(0, 30).Select(i => 91L + i));
        var events = times.Select((s, i) => Connack(flow, T0 + (s * Second), i + 1, accepted: false, code: 5, user: "admin"));

        var findings = Feed(engine, events);

        var f = Assert.Single(findings);
        Assert.Equal(20, f.EventCount);
        Assert.Equal(T0 + (105 * Second), f.TimestampMicros);
        Assert.Equal(Detection.Engine.FindingFactory.FindingId("TEST-0001", flow.FlowId, T0 + (50 * Second), 6), f.Id);
    }

    [Fact]
    public void Threshold_EventExactlyOneWindowOld_IsOutsideTheWindow()
    {
        // 3 within 10s: at 0, 5 and 10 s the first is exactly 10 s old, outside; at 12 s the window (2 s, 12 s]
        // holds 5, 10 and 12: reported then (at 12 s), anchored on the event at 5 s (packet 2).
        const string rule = """
                where: {mqtt.connack.accepted: false}
                threshold: {count: 3, within: 10s, by: [destination.ip]}
            """;
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", rule, message: "{count} refused")));
        var flow = FakeFlows.Create();
        long[] seconds = [0, 5, 10, 12];

        var findings = Feed(engine, seconds.Select((s, i) => Connack(flow, T0 + (s * Second), i + 1, accepted: false, code: 5, user: "admin")));

        var f = Assert.Single(findings);
        Assert.Equal(3, f.EventCount);
        Assert.Equal(T0 + (12 * Second), f.TimestampMicros);
        Assert.Equal(Detection.Engine.FindingFactory.FindingId("TEST-0001", flow.FlowId, T0 + (5 * Second), 2), f.Id);
    }

    private const string PerTopic = """
            threshold: {count: 3, within: 60s, by: [mqtt.topic]}
        """;

    [Fact]
    public void Threshold_OneFlowAlternatingGroups_EachGroupCountedApart()
    {
        // One flow, two groups in turn: the per-flow memory of the last group must not mix them.
        var engine = new DetectionEngine(Load(OneRule("mqtt.publish", PerTopic, message: "{count} on {mqtt.topic}")));
        var flow = FakeFlows.Create();
        string[] topics = ["a", "b", "a", "b", "a"];

        var findings = Feed(engine, topics.Select((t, i) => Publish(flow, T0 + (i * Second), i + 1, t)));

        var f = Assert.Single(findings);
        Assert.Equal("3 on a", Subject(f));
        Assert.Equal(T0 + (4 * Second), f.TimestampMicros);
    }

    [Fact]
    public void Threshold_GroupEvictedWhileAFlowRemembersIt_StartsAgain()
    {
        // Room for one group. Flow 1 counts "a" twice; flow 2's "b" evicts "a"; flow 1's next two "a" count from
        // zero again (1, 2: no report) although flow 1 still holds a handle to the evicted state (which had 2).
        var engine = new DetectionEngine(Load(OneRule("mqtt.publish", PerTopic, message: "x")), new DetectionOptions { MaxGroupsPerRule = 1 });
        var one = FakeFlows.Create();
        var two = FakeFlows.Create();
        (Core.Flows.FlowContext Flow, string Topic)[] sequence = [(one, "a"), (one, "a"), (two, "b"), (one, "a"), (one, "a")];

        var findings = Feed(engine, sequence.Select((x, i) => Publish(x.Flow, T0 + (i * Second), i + 1, x.Topic)));

        Assert.Empty(findings);
        Assert.Equal(2, engine.Stats.GroupsEvicted);
    }

    [Fact]
    public void Threshold_EventsSpreadWiderThanWindow_DoesNotReport()
    {
        var rules = Load(OneRule("mqtt.connack", Guessing, message: "x"));
        var engine = new DetectionEngine(rules);

        var findings = Feed(engine, RefusedLogins(FakeFlows.Create(), T0, 31 * Second, 10));

        Assert.Empty(findings);
    }

    [Fact]
    public void Threshold_AfterQuietWindow_ReportsNewEpisode()
    {
        var rules = Load(OneRule("mqtt.connack", Guessing, message: "x"));
        var engine = new DetectionEngine(rules);
        var flow = FakeFlows.Create();

        var findings = Feed(engine, RefusedLogins(flow, T0, Second, 5).Concat(RefusedLogins(flow, T0 + (200 * Second), Second, 3, firstPacket: 100)));

        Assert.Equal(2, findings.Count);
        Assert.NotEqual(findings[0].Id, findings[1].Id);
    }

    [Fact]
    public void Threshold_GroupsAreSeparate()
    {
        var rules = Load(OneRule("mqtt.connack", Guessing, message: "x"));
        var engine = new DetectionEngine(rules);

        var a = RefusedLogins(FakeFlows.Create(clientIp: "10.0.0.1"), T0, Second, 2);
        var b = RefusedLogins(FakeFlows.Create(clientIp: "10.0.0.2"), T0 + 100, Second, 2, firstPacket: 50);
        var findings = Feed(engine, a.Concat(b).OrderBy(e => e.TimestampMicros));

        Assert.Empty(findings);
    }

    [Fact]
    public void Threshold_MinDistinct_RequiresEnoughDistinctValues()
    {
        var body = """
                where: {mqtt.connack.accepted: false}
                threshold: {count: 3, within: 60s, by: [destination.ip], distinct: session.mqtt.password.hash, min_distinct: 3}
            """;
        var rules = Load(OneRule("mqtt.connack", body, message: "x"));
        var engine = new DetectionEngine(rules);

        // Two distinct hashes only (h0, h1): never three distinct passwords.
        var findings = Feed(engine, RefusedLogins(FakeFlows.Create(), T0, Second, 10));

        Assert.Empty(findings);
    }

    [Fact]
    public void Threshold_ManyGroups_StaysWithinBoundAndCountsEvictions()
    {
        var rules = Load(OneRule("mqtt.connack", Guessing, message: "x"));
        var engine = new DetectionEngine(rules, new DetectionOptions { MaxGroupsPerRule = 10 });

        var events = Enumerable.Range(0, 50).SelectMany(i => RefusedLogins(FakeFlows.Create(clientIp: $"10.0.1.{i}"), T0 + i, Second, 1, firstPacket: i * 10));
        Feed(engine, events);

        Assert.Equal(40, engine.Stats.GroupsEvicted);
    }

    private const string GuessThenSuccess = """
            sequence:
              by: [destination.ip, source.ip]
              within: 5m
              steps:
                - name: refused
                  events: [mqtt.connack]
                  where: {mqtt.connack.accepted: false}
                  count: 3
                  distinct: session.mqtt.password.hash
                - name: accepted
                  events: [mqtt.connack]
                  where: {mqtt.connack.accepted: true}
        """;

    private static string SequenceRule() => $"""
        pack: test
        rules:
          - id: TEST-0001
            name: Guess then success
            description: d
            severity: critical
            message: "{'{'}destination.ip{'}'} logged in as {'{'}mqtt.username{'}'} after {'{'}count{'}'} attempts"
        {GuessThenSuccess}
        """;

    [Fact]
    public void Sequence_StepsInOrderWithinWindow_ReportsAnchoredOnFirst()
    {
        var engine = new DetectionEngine(Load(SequenceRule()));
        var flow = FakeFlows.Create(clientIp: "10.6.6.6");
        var events = RefusedLogins(flow, T0, Second, 5).ToList();
        events.Add(Connect(flow, T0 + (10 * Second), 90, user: "admin", passwordHash: "right"));
        events.Add(Connack(flow, T0 + (10 * Second) + 500, 91, accepted: true, code: 0, user: "admin"));

        var findings = Feed(engine, events);

        var f = Assert.Single(findings);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal(6, f.EventCount);
        Assert.Equal("10.6.6.6 logged in as admin after 6 attempts", Subject(f));
        Assert.Equal("refused x5 -> accepted x1", f.Evidence["secmon.sequence"]);
        // h0 and h1 alternate in the refused attempts; the accepted step counts no distinct values.
        Assert.Equal(2L, f.Evidence["secmon.distinct_count"]);
        Assert.Equal(Detection.Engine.FindingFactory.FindingId("TEST-0001", flow.FlowId, T0 + 1000, 2), f.Id);
    }

    [Fact]
    public void Sequence_TooFewFirstSteps_DoesNotReport()
    {
        var engine = new DetectionEngine(Load(SequenceRule()));
        var flow = FakeFlows.Create();
        var events = RefusedLogins(flow, T0, Second, 2).ToList();
        events.Add(Connack(flow, T0 + (10 * Second), 90, accepted: true, code: 0));

        Assert.Empty(Feed(engine, events));
    }

    [Fact]
    public void Sequence_LastStepAfterWindow_DoesNotReport()
    {
        var engine = new DetectionEngine(Load(SequenceRule()));
        var flow = FakeFlows.Create();
        var events = RefusedLogins(flow, T0, Second, 3).ToList();
        events.Add(Connack(flow, T0 + (301 * Second), 90, accepted: true, code: 0));

        Assert.Empty(Feed(engine, events));
    }

    [Fact]
    public void Sequence_SuccessBeforeGuessing_DoesNotReport()
    {
        var engine = new DetectionEngine(Load(SequenceRule()));
        var flow = FakeFlows.Create();
        var events = new List<TestEvent> { Connack(flow, T0, 1, accepted: true, code: 0) };
        events.AddRange(RefusedLogins(flow, T0 + Second, Second, 3, firstPacket: 2));

        Assert.Empty(Feed(engine, events));
    }

    private const string Anonymous = """
            where: {mqtt.connack.accepted: true, mqtt.username: null}
            aggregate: {by: [destination.ip, source.ip], within: 10m, collect: [mqtt.client_id]}
        """;

    [Fact]
    public void Aggregate_SessionsInWindow_OneFindingWithCountAtWindowClose()
    {
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", Anonymous, message: "anonymous from {destination.ip}")));
        var findings = new List<Finding>();

        for (var i = 0; i < 4; i++)
        {
            var flow = FakeFlows.Create(clientIp: "10.0.0.5");
            findings.AddRange(engine.Process(Connack(flow, T0 + (i * 60 * Second), i, accepted: true, code: 0, clientId: "c" + (i % 2))));
        }

        Assert.Empty(findings);
        // The next event after the window closes the window, before it is itself counted in a new one.
        findings.AddRange(engine.Process(Connack(FakeFlows.Create(clientIp: "10.0.0.5"), T0 + (600 * Second), 9, accepted: true, code: 0)));

        var f = Assert.Single(findings);
        Assert.Equal(4, f.EventCount);
        Assert.Equal(new List<string> { "c0", "c1" }, f.Evidence["mqtt.client_ids"]);
        Assert.Equal("10m", f.Evidence["secmon.window"]);
        Assert.Equal(T0 + (180 * Second), f.TimestampMicros);

        var rest = engine.Complete();
        Assert.Equal(1, Assert.Single(rest).EventCount);
    }

    [Theory]
    [InlineData(new[] { "c0", "c1", "c0" }, "anonymous: c0, c1 (3)")]
    [InlineData(new[] { "c0", "c0" }, "anonymous: c0 (2)")]
    public void Aggregate_MessageNamesEveryCollectedValue(string[] clients, string expected)
    {
        // The message of an aggregate speaks for the whole window, not only for its first event.
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", Anonymous, message: "anonymous: {mqtt.client_id} ({count})")));
        var events = clients.Select((c, i) => Connack(FakeFlows.Create(clientIp: "10.0.0.5"), T0 + (i * Second), i + 1, accepted: true, code: 0, clientId: c));

        var f = Assert.Single(Feed(engine, events));

        Assert.Equal(expected, Subject(f));
    }

    [Fact]
    public void Aggregate_AdvanceTo_ClosesWindowWithoutEvents()
    {
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", Anonymous, message: "x")));
        engine.Process(Connack(FakeFlows.Create(), T0, 1, accepted: true, code: 0));

        Assert.Empty(engine.AdvanceTo(T0 + (599 * Second)));
        Assert.Single(engine.AdvanceTo(T0 + (600 * Second)));
    }

    [Fact]
    public void Tick_UsesTimeProviderToCloseWindowsWhenQuiet()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Core.Time.FromUnixMicros(T0));
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", Anonymous, message: "x")), timeProvider: clock);
        engine.Process(Connack(FakeFlows.Create(), T0, 1, accepted: true, code: 0));

        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Empty(engine.Tick());
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Single(engine.Tick());
    }

    [Fact]
    public void Aggregate_ManyDistinctValues_KeepsTheFirst32InTheEvidence()
    {
        // One address, 40 client ids in the hour (mosquitto_pub invents one per run): the evidence names the first 32.
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", Anonymous, message: "x")));
        var events = Enumerable.Range(0, 40).Select(i => Connack(FakeFlows.Create(clientIp: "10.0.0.5"), T0 + i, i + 1, accepted: true, code: 0, clientId: $"auto-{i:D2}"));

        var f = Assert.Single(Feed(engine, events));

        Assert.Equal(40, f.EventCount);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => $"auto-{i:D2}"), (List<string>)f.Evidence["mqtt.client_ids"]);
        // The field itself keeps its one type: the subject's client id, a string (a list goes under the plural name).
        Assert.Equal("auto-00", Assert.IsType<string>(f.Evidence["mqtt.client_id"]));
    }

    private const string AnonymousAlertFirst = """
            where: {mqtt.connack.accepted: true, mqtt.username: null}
            aggregate: {by: [destination.ip, source.ip], within: 10m, collect: [mqtt.client_id], alert_first: true}
        """;

    [Fact]
    public void Aggregate_AlertFirst_FirstDetectionAtOnceThenTheSummaryWhenMoreFollowed()
    {
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", AnonymousAlertFirst, message: "anonymous: {mqtt.client_id} ({count})")));

        var first = Assert.Single(engine.Process(Connack(FakeFlows.Create(clientIp: "10.0.0.5"), T0, 1, accepted: true, code: 0, clientId: "c0")));
        Assert.Equal("anonymous: c0 (1)", Subject(first));
        Assert.Equal(1, first.EventCount);
        Assert.Equal(new List<string> { "c0" }, first.Evidence["mqtt.client_ids"]);
        Assert.Empty(engine.Process(Connack(FakeFlows.Create(clientIp: "10.0.0.5"), T0 + Second, 2, accepted: true, code: 0, clientId: "c1")));

        var summary = Assert.Single(engine.Complete());
        Assert.Equal("anonymous: c0, c1 (2)", Subject(summary));
        Assert.NotEqual(first.Id, summary.Id); // two findings, two ids: neither replaces the other
    }

    [Fact]
    public void Aggregate_AlertFirst_NothingMoreInTheWindow_NoSummaryAndTheSameIdsOnTheSameTraffic()
    {
        var flow = FakeFlows.Create(clientIp: "10.0.0.5");
        string[] Run()
        {
            var engine = new DetectionEngine(Load(OneRule("mqtt.connack", AnonymousAlertFirst, message: "x")));
            return [.. Feed(engine, [Connack(flow, T0, 1, accepted: true, code: 0)]).Select(f => f.Id)];
        }

        var once = Run();

        Assert.Single(once);
        Assert.Equal(once, Run());
    }

    [Fact]
    public void Aggregate_DescribeLatest_TheSummaryIsTheLatestEventsWithTheFirstsId()
    {
        // A scan's started event says 20 ports; its ended event, 604: the hour's summary should say 604.
        string Rule(string describe) => OneRule("mqtt.connack", $$"""
                where: {mqtt.connack.accepted: true}
                aggregate: {by: [source.ip], within: 10m, alert_first: true{{describe}}}
            """, message: "{mqtt.client_id} ({count})");
        var flow = FakeFlows.Create(clientIp: "10.0.0.5");
        TestEvent[] events =
        [
            Connack(flow, T0, 1, accepted: true, code: 0, clientId: "started-20"),
            Connack(flow, T0 + Second, 2, accepted: true, code: 0, clientId: "running-300"),
            Connack(flow, T0 + (2 * Second), 3, accepted: true, code: 0, clientId: "ended-604"),
        ];

        var latest = Feed(new DetectionEngine(Load(Rule(", describe: latest"))), events);
        var first = Feed(new DetectionEngine(Load(Rule(""))), events);

        Assert.Equal(["started-20 (1)", "ended-604 (3)"], latest.Select(Subject));
        Assert.Equal(["started-20 (1)", "started-20 (3)"], first.Select(Subject));
        Assert.Equal(first.Select(f => f.Id), latest.Select(f => f.Id)); // anchored on the first event either way
        Assert.Equal(T0 + (2 * Second), latest[1].TimestampMicros);
    }

    [Fact]
    public void Load_AggregateDescribeNeitherFirstNorLatest_ErrorSaysBoth()
    {
        var errors = Errors(OneRule("mqtt.connack", """
                where: {mqtt.connack.accepted: true}
                aggregate: {by: [source.ip], within: 10m, describe: last}
            """));

        Assert.Contains(errors, e => e.Message.Contains("describe is 'first'", StringComparison.Ordinal) && e.Message.Contains("'latest'", StringComparison.Ordinal));
    }

    [Fact]
    public void Threshold_TheSameAddressesOnTwoVlans_TwoGroupsEachNamingItsVlan()
    {
        // Two identical machine cells, 192.0.2.x on VLAN 10 and on VLAN 20: three refused logins in each. One group
        // for both would report the first cell only and hide the second's guessing in its quiet period.
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", """
                where: {mqtt.connack.accepted: false}
                threshold: {count: 3, within: 1m, by: [destination.ip, source.ip]}
            """)));
        var events = new List<TestEvent>();
        foreach (var vlan in new[] { 10, 20 })
        {
            for (var i = 0; i < 3; i++)
            {
                events.Add(Connack(FakeFlows.Create(clientIp: "192.0.2.66", serverIp: "192.0.2.10", vlanId: vlan), T0 + (vlan * Second) + i, vlan + i, accepted: false, code: 5));
            }
        }

        var findings = Feed(engine, events);

        Assert.Equal(["10", "20"], findings.Select(f => (string)f.Evidence["network.vlan.id"]));
        var untagged = Feed(new DetectionEngine(Load(OneRule("mqtt.connack", "    where: {mqtt.connack.accepted: true}"))),
            [Connack(FakeFlows.Create(), T0, 1, accepted: true, code: 0)]);
        Assert.False(Assert.Single(untagged).Evidence.ContainsKey("network.vlan.id"));
    }

    [Fact]
    public void Aggregate_GroupBoundReached_EmitsEvictedGroupEarlyInsteadOfLosingIt()
    {
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", Anonymous, message: "x")), new DetectionOptions { MaxGroupsPerRule = 2 });

        var findings = Feed(engine, Enumerable.Range(0, 5).Select(i => Connack(FakeFlows.Create(clientIp: $"10.0.0.{i}"), T0 + i, i, accepted: true, code: 0)), complete: false);

        Assert.Equal(3, findings.Count);
        Assert.Equal(2, engine.Complete().Count);
    }

    private const string Namespace = """
            where: {flow.direction: to_server}
            namespace: {identity: mqtt.client_id, resource: mqtt.topic, scope: [destination.ip], min_peers: 2}
            escalate:
              - where: {any: [{mqtt.retain: true}, {mqtt.topic: {regex: '(^|/)(cmd|set|setpoint)(/|$)'}}]}
                severity: high
        """;

    [Fact]
    public void Namespace_ClientOutsideOwnNamespaceWhilePeersKeepTo_Reported()
    {
        var engine = new DetectionEngine(Load(OneRule("mqtt.publish", Namespace, message: "{mqtt.client_id} published to {mqtt.topic} ({peers} peers)")));
        var a = FakeFlows.Create(clientIp: "10.0.0.1");
        var b = FakeFlows.Create(clientIp: "10.0.0.2");
        var c = FakeFlows.Create(clientIp: "10.0.0.3");

        var findings = Feed(engine,
        [
            Publish(c, T0, 1, "devices/pump-3/set", clientId: "intruder"), // before any convention: not judged
            Publish(a, T0 + 1, 2, "devices/sensor-a/temp", clientId: "sensor-a"),
            Publish(b, T0 + 2, 3, "devices/sensor-b/temp", clientId: "sensor-b"),
            Publish(a, T0 + 3, 4, "devices/sensor-a/humidity", clientId: "sensor-a"),
            Publish(c, T0 + 4, 5, "devices/sensor-b/temp", clientId: "intruder"),
            Publish(c, T0 + 5, 6, "devices/pump-3/set", clientId: "intruder"),
            Publish(c, T0 + 6, 7, "devices/pump-3/level", clientId: "", retain: false), // empty client id: no namespace
        ]);

        Assert.Equal(2, findings.Count);
        Assert.Equal(Severity.Medium, findings[0].Severity);
        Assert.Equal("intruder published to devices/sensor-b/temp (2 peers)", Subject(findings[0]));
        Assert.Equal(Severity.High, findings[1].Severity);
        Assert.Equal(2L, findings[1].Evidence["secmon.namespace.peers"]);
    }

    [Fact]
    public void Namespace_ScopeEvictedWhileAFlowRemembersItsIdentity_IdentityCountedAgain()
    {
        // Room for one scope (broker). Sensor a keeps to its namespace on broker X; d's broker Y evicts X; a publishes
        // to X again and must be counted in the new scope although its flow noted it in the old one; then an
        // intruder outside its namespace on X has one peer.
        var body = """
                namespace: {identity: mqtt.client_id, resource: mqtt.topic, scope: [destination.ip], min_peers: 1}
            """;
        var engine = new DetectionEngine(Load(OneRule("mqtt.publish", body, message: "{peers} peers")), new DetectionOptions { MaxGroupsPerRule = 1 });
        var a = FakeFlows.Create(clientIp: "10.0.0.1", serverIp: "10.9.9.1");
        var d = FakeFlows.Create(clientIp: "10.0.0.4", serverIp: "10.9.9.2");
        var c = FakeFlows.Create(clientIp: "10.0.0.3", serverIp: "10.9.9.1");

        var findings = Feed(engine,
        [
            Publish(a, T0, 1, "devices/sensor-a/temp", clientId: "sensor-a"),
            Publish(a, T0 + 1, 2, "devices/sensor-a/temp", clientId: "sensor-a"),
            Publish(d, T0 + 2, 3, "devices/dev-d/temp", clientId: "dev-d"),
            Publish(a, T0 + 3, 4, "devices/sensor-a/temp", clientId: "sensor-a"),
            Publish(c, T0 + 4, 5, "devices/pump-3/set", clientId: "intruder"),
        ]);

        Assert.Equal("1 peers", Subject(Assert.Single(findings)));
    }

    [Fact]
    public void Namespace_IdentityMustBeAWholeLevel()
    {
        Assert.True(Detection.Detectors.NamespaceDetector.CarriesIdentity("a/sensor-1/b", "sensor-1"));
        Assert.True(Detection.Detectors.NamespaceDetector.CarriesIdentity("sensor-1", "sensor-1"));
        Assert.False(Detection.Detectors.NamespaceDetector.CarriesIdentity("a/sensor-10/b", "sensor-1"));
        Assert.False(Detection.Detectors.NamespaceDetector.CarriesIdentity("a/b", ""));
    }

    [Fact]
    public void Escalate_RaisesSeverityOnlyWhenConditionHolds()
    {
        var body = """
                escalate:
                  - where: {mqtt.password.present: true}
                    severity: high
            """;
        var engine = new DetectionEngine(Load(OneRule("mqtt.connect", body, severity: "low")));

        var findings = Feed(engine, [Connect(FakeFlows.Create(), T0, 1), Connect(FakeFlows.Create(), T0 + 1, 2, user: "u", passwordHash: "h")]);

        Assert.Equal([Severity.Low, Severity.High], findings.Select(f => f.Severity));
    }
}
