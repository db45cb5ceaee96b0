using SecMon.Core.Events;
using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Conditions;

public sealed class ConditionTests
{
    private static readonly TestEvent PublishEvent = TestEvent.Of(
        FakeSchemas.MqttPublish,
        FakeFlows.Create(clientIp: "10.1.2.3", serverIp: "10.1.0.1", serverPort: 1883),
        T0, 1,
        ("mqtt.topic", "plant/line1/Setpoint"), ("mqtt.client_id", "sensor-7"), ("mqtt.qos", 1L), ("mqtt.retain", true),
        ("mqtt.payload.size", 200L), ("mqtt.username", null));

    private static readonly TestEvent SubscribeEvent = TestEvent.Of(
        FakeSchemas.MqttSubscribe, FakeFlows.Create(), T0, 1,
        ("mqtt.topic_filters", new[] { "plant/+/temp", "$SYS/#" }), ("mqtt.subscription_qos", new long[] { 0, 2 }));

    private static bool Matches(string events, string where, ProtocolEvent e)
    {
        var rules = Load(OneRule(events, "    where: " + where));
        return new DetectionEngine(rules).Process(e).Count > 0;
    }

    [Theory]
    // equality, in-list, shorthand list
    [InlineData("{mqtt.client_id: sensor-7}", true)]
    [InlineData("{mqtt.client_id: sensor-8}", false)]
    [InlineData("{mqtt.client_id: {eq: SENSOR-7}}", false)]
    [InlineData("{mqtt.client_id: {eq: SENSOR-7, ignore_case: true}}", true)]
    [InlineData("{mqtt.client_id: {ne: sensor-8}}", true)]
    [InlineData("{mqtt.client_id: {ne: sensor-7}}", false)]
    [InlineData("{mqtt.client_id: [a, sensor-7]}", true)]
    [InlineData("{mqtt.client_id: {in: [a, b]}}", false)]
    [InlineData("{mqtt.client_id: {not_in: [a, b]}}", true)]
    [InlineData("{mqtt.qos: 1}", true)]
    [InlineData("{mqtt.qos: [0, 2]}", false)]
    [InlineData("{mqtt.retain: true}", true)]
    [InlineData("{mqtt.retain: false}", false)]
    // numeric comparisons
    [InlineData("{mqtt.payload.size: {gt: 199}}", true)]
    [InlineData("{mqtt.payload.size: {gt: 200}}", false)]
    [InlineData("{mqtt.payload.size: {gte: 200}}", true)]
    [InlineData("{mqtt.payload.size: {lt: 200}}", false)]
    [InlineData("{mqtt.payload.size: {lte: 200}}", true)]
    [InlineData("{mqtt.payload.size: {gt: 100, lt: 300}}", true)]
    [InlineData("{mqtt.payload.size: {gt: 100, lt: 150}}", false)]
    [InlineData("{destination.port: 1883}", true)]
    // prefix / suffix / contains / glob / regex
    [InlineData("{mqtt.topic: {prefix: plant/}}", true)]
    [InlineData("{mqtt.topic: {prefix: [office/, factory/]}}", false)]
    [InlineData("{mqtt.topic: {suffix: /Setpoint}}", true)]
    [InlineData("{mqtt.topic: {suffix: /setpoint}}", false)]
    [InlineData("{mqtt.topic: {suffix: /setpoint, ignore_case: true}}", true)]
    [InlineData("{mqtt.topic: {contains: line1}}", true)]
    [InlineData("{mqtt.topic: {contains: line2}}", false)]
    [InlineData("{mqtt.topic: {glob: plant/*/Setpoint}}", true)]
    [InlineData("{mqtt.topic: {glob: plant/*}}", false)]
    [InlineData("{mqtt.topic: {glob: plant/**}}", true)]
    [InlineData("{mqtt.topic: {glob: plant/line?/*}}", true)]
    [InlineData("{mqtt.topic: {regex: '(^|/)(setpoint|cmd)$', ignore_case: true}}", true)]
    [InlineData("{mqtt.topic: {regex: '(^|/)(setpoint|cmd)$'}}", false)]
    [InlineData("{mqtt.topic: {regex: '^(?=plant)'}}", true)]
    // CIDR
    [InlineData("{source.ip: {cidr: 10.1.0.0/16}}", true)]
    [InlineData("{source.ip: {cidr: [192.168.0.0/16, 172.16.0.0/12]}}", false)]
    [InlineData("{source.ip: {cidr: 10.1.2.3}}", true)]
    [InlineData("{source.ip: 10.1.2.3}", true)]
    [InlineData("{destination.ip: {cidr: fd00::/8}}", false)]
    // exists / missing
    [InlineData("{mqtt.username: null}", true)]
    [InlineData("{mqtt.username: {exists: false}}", true)]
    [InlineData("{mqtt.username: {exists: true}}", false)]
    [InlineData("{mqtt.client_id: {exists: true}}", true)]
    [InlineData("{mqtt.username: {ne: alice}}", false)]
    [InlineData("{mqtt.dup: {exists: false}}", true)]
    // and / or / not
    [InlineData("{mqtt.client_id: sensor-7, mqtt.qos: 0}", false)]
    [InlineData("{all: [{mqtt.client_id: sensor-7}, {mqtt.qos: 1}]}", true)]
    [InlineData("{any: [{mqtt.client_id: x}, {mqtt.qos: 1}]}", true)]
    [InlineData("{any: [{mqtt.client_id: x}, {mqtt.qos: 2}]}", false)]
    [InlineData("{not: {mqtt.client_id: x}}", true)]
    [InlineData("{not: {mqtt.username: {exists: true}}}", true)]
    [InlineData("{not: {any: [{mqtt.client_id: x}, {mqtt.qos: 1}]}}", false)]
    // field operands
    [InlineData("{mqtt.topic: {contains: {field: mqtt.client_id}}}", false)]
    [InlineData("{mqtt.topic: {prefix: {field: network.protocol}}}", false)]
    [InlineData("{mqtt.client_id: {ne: {field: mqtt.topic}}}", true)]
    [InlineData("{mqtt.payload.size: {gt: {field: mqtt.qos}}}", true)]
    // common fields
    [InlineData("{network.protocol: mqtt, flow.direction: to_server, network.transport: tcp}", true)]
    public void Where_OnPublish_MatchesAsDocumented(string where, bool expected)
    {
        Assert.Equal(expected, Matches("mqtt.publish", where, PublishEvent));
    }

    [Theory]
    [InlineData("{mqtt.topic_filters: $SYS/#}", true)]
    [InlineData("{mqtt.topic_filters: \"#\"}", false)]
    [InlineData("{mqtt.topic_filters: {prefix: $SYS/}}", true)]
    [InlineData("{mqtt.topic_filters: {regex: '^(\\+/)*#$'}}", false)]
    [InlineData("{mqtt.topic_filters: {glob: plant/*/temp}}", true)]
    [InlineData("{mqtt.topic_filters: {ne: $SYS/#}}", false)]
    [InlineData("{mqtt.topic_filters: {not_in: [a, b]}}", true)]
    [InlineData("{mqtt.subscription_qos: 2}", true)]
    [InlineData("{mqtt.subscription_qos: {gt: 1}}", true)]
    [InlineData("{mqtt.subscription_qos: {gt: 2}}", false)]
    public void Where_OnLists_MatchesWhenAnyElementDoes(string where, bool expected)
    {
        Assert.Equal(expected, Matches("mqtt.subscribe", where, SubscribeEvent));
    }

    [Fact]
    public void Where_SessionField_ReadsEarlierEventOfSameFlow()
    {
        var rules = Load(OneRule("mqtt.subscribe", "    where: {session.mqtt.username: alice, session.mqtt.client_id: sensor-1}"));
        var engine = new DetectionEngine(rules);
        var flow = FakeFlows.Create();
        var other = FakeFlows.Create();

        var findings = Feed(engine,
        [
            Connect(flow, T0, 1, user: "alice", passwordHash: "h1"),
            Subscribe(other, T0 + Second, 2, "#"),
            Subscribe(flow, T0 + (2 * Second), 3, "#"),
        ]);

        var f = Assert.Single(findings);
        Assert.Equal(flow.FlowId, f.FlowId);
        Assert.Equal("alice", f.Evidence["mqtt.username"]);
        Assert.Equal(["alice"], f.RelatedUser);
    }

    [Fact]
    public void Where_SessionField_LaterEventWithoutTheFieldKeepsIt()
    {
        // The CONNACK does not repeat the user name here: the session is still alice's.
        var rules = Load(OneRule("mqtt.connack", "    where: {session.mqtt.username: alice}"));
        var engine = new DetectionEngine(rules);
        var flow = FakeFlows.Create();

        var findings = Feed(engine, [Connect(flow, T0, 1, user: "alice"), Connack(flow, T0 + 1, 2, accepted: true, code: 0, user: null)]);

        Assert.Single(findings);
    }

    [Fact]
    public void Where_SessionField_AnonymousSessionStaysMissing()
    {
        var rules = Load(OneRule("mqtt.subscribe", "    where: {session.mqtt.username: null, session.mqtt.client_id: {exists: true}}"));
        var engine = new DetectionEngine(rules);

        var findings = Feed(engine,
        [
            Connect(FakeFlows.Create(flowId: "a"), T0, 1, user: "alice"),
            Subscribe(FakeFlows.Create(flowId: "a"), T0 + 1, 2, "#"),
            Connect(FakeFlows.Create(flowId: "b"), T0 + 2, 3, user: null),
            Subscribe(FakeFlows.Create(flowId: "b"), T0 + 3, 4, "#"),
            Subscribe(FakeFlows.Create(flowId: "c"), T0 + 4, 5, "#"),
        ]);

        Assert.Equal("b", Assert.Single(findings).FlowId);
    }

    [Fact]
    public void Where_CatastrophicBacktrackingPattern_RunsInLinearTimeAndMatches()
    {
        // (a+)+$ is the classic exponential pattern for backtracking engines; the linear-time engine handles it.
        var evil = TestEvent.Of(FakeSchemas.MqttPublish, FakeFlows.Create(), T0, 1, ("mqtt.topic", new string('a', 5000) + "!"));

        Assert.False(Matches("mqtt.publish", "{mqtt.topic: {regex: '^(a+)+$'}}", evil));
    }

    [Fact]
    public void SessionMemory_MoreFlowsThanBound_ForgetsLeastRecentlyActive()
    {
        var rules = Load(OneRule("mqtt.subscribe", "    where: {session.mqtt.username: {exists: true}}"));
        var engine = new DetectionEngine(rules, new DetectionOptions { MaxFlows = 4 });
        var flows = Enumerable.Range(0, 6).Select(i => FakeFlows.Create(flowId: $"f{i}")).ToArray();
        var events = flows.Select((f, i) => Connect(f, T0 + i, i, user: "u" + i)).ToList();
        events.Add(Subscribe(flows[0], T0 + 10, 10, "#")); // forgotten: its CONNECT is the oldest
        events.Add(Subscribe(flows[5], T0 + 11, 11, "#")); // remembered

        var findings = Feed(engine, events);

        Assert.Equal("f5", Assert.Single(findings).FlowId);
        Assert.Equal(3, engine.Stats.FlowsEvicted);
    }
}
