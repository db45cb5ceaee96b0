using SecMon.Core.Flows;
using SecMon.Detection.Engine;
using SecMon.Detection.Inventory;
using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Engine;

/// <summary>What the rules and the inventory keep per flow is released when the flow ends, and only the detectors that
/// saw a flow keep anything on it.</summary>
public sealed class FlowEndTests
{
    private const string Guessing = """
            where: {mqtt.connack.accepted: false}
            threshold:
              count: 3
              within: 60s
              by: [destination.ip]
              distinct: session.mqtt.password.hash
        """;

    // Two threshold rules and a baseline-free event rule: a flow of refused logins meets only the first.
    private const string ThreeRules = """
        pack: test
        rules:
          - id: TEST-0001
            name: Guessing
            description: Refused logins.
            severity: medium
            events: [mqtt.connack]
            message: "x"
            where: {mqtt.connack.accepted: false}
            threshold: {count: 3, within: 60s, by: [destination.ip], distinct: session.mqtt.password.hash}
          - id: TEST-0002
            name: Publishing
            description: Many publishes.
            severity: low
            events: [mqtt.publish]
            message: "y"
            threshold: {count: 5, within: 60s, by: [source.ip]}
          - id: TEST-0003
            name: Subscribing
            description: Many subscribes.
            severity: low
            events: [mqtt.subscribe]
            message: "z"
            threshold: {count: 5, within: 60s, by: [source.ip]}
        """;

    private static IEnumerable<TestEvent> RefusedLogins(FlowContext flow, long start, int n, long firstPacket)
    {
        for (var i = 0; i < n; i++)
        {
            var t = start + (i * Second);
            yield return Connect(flow, t, firstPacket + (2 * i), user: "admin", passwordHash: "h" + i);
            yield return Connack(flow, t + 1000, firstPacket + (2 * i) + 1, accepted: false, code: 5, user: "admin");
        }
    }

    private static FlowContext[] Flows(int n) =>
        [.. Enumerable.Range(0, n).Select(i => FakeFlows.Create(clientIp: $"10.0.{i / 200}.{(i % 200) + 1}"))];

    [Fact]
    public void FlowEnded_ManyFlowsOpenedAndEnded_SessionMemoryAndScratchReleased()
    {
        var engine = new DetectionEngine(Load(OneRule("mqtt.connack", Guessing, message: "x")));
        var flows = Flows(300);
        for (var i = 0; i < flows.Length; i++)
        {
            Feed(engine, RefusedLogins(flows[i], T0 + (i * Second), 1, i * 10), complete: false);
        }

        Assert.Equal(300, engine.SessionFlows);
        Assert.All(flows, f => Assert.NotNull(FlowScratch.Peek(f)));

        foreach (var f in flows)
        {
            engine.FlowEnded(f);
        }

        Assert.Equal(0, engine.SessionFlows);
        Assert.All(flows, f =>
        {
            Assert.Null(FlowScratch.Peek(f));
            Assert.Null(FlowScratch.Peek(f.Reverse!));
        });
    }

    [Fact]
    public void FlowEnded_AfterEachFlow_GroupsAcrossFlowsStillCountedTheSame()
    {
        // Three connections of one client, one refused login each: the threshold groups by the client (destination.ip of
        // the refusals), not by flow, so ending each flow after its events changes nothing in the finding.
        var rules = Load(OneRule("mqtt.connack", Guessing, message: "{count} refused, {distinct} passwords"));
        var released = new DetectionEngine(rules);
        var kept = new DetectionEngine(rules);
        var flows = Enumerable.Range(0, 3).Select(_ => FakeFlows.Create(clientIp: "10.9.9.9")).ToArray();
        var found = new List<Core.Findings.Finding>();
        var reference = new List<Core.Findings.Finding>();
        for (var i = 0; i < flows.Length; i++)
        {
            // A distinct password per flow: the distinct count reads the session memory of each flow.
            var events = new[]
            {
                Connect(flows[i], T0 + (i * Second), (i * 2) + 1, user: "admin", passwordHash: "h" + i),
                Connack(flows[i], T0 + (i * Second) + 1000, (i * 2) + 2, accepted: false, code: 5, user: "admin"),
            };
            found.AddRange(Feed(released, events, complete: false));
            reference.AddRange(Feed(kept, events, complete: false));
            released.FlowEnded(flows[i]);
        }

        found.AddRange(released.Complete());
        reference.AddRange(kept.Complete());
        var f = Assert.Single(found);
        Assert.Equal(Subject(Assert.Single(reference)), Subject(f));
        Assert.Equal("3 refused, 3 passwords", Subject(f));
        Assert.Equal(0, released.SessionFlows);
        Assert.Equal(3, kept.SessionFlows);
    }

    [Fact]
    public void Process_FlowSeenByOneOfThreeDetectors_ScratchHoldsOneEntry()
    {
        var engine = new DetectionEngine(Load(ThreeRules));
        var flow = FakeFlows.Create(clientIp: "10.1.0.1");

        Feed(engine, RefusedLogins(flow, T0, 4, 1), complete: false);

        // The refused logins reach the first rule on the to-client context (CONNACK); CONNECT reads only session values.
        Assert.Equal(1, FlowScratch.Peek(flow.Reverse!)!.Count);
        Assert.Equal(0, FlowScratch.Peek(flow)!.Count);
    }

    [Fact]
    public void Inventory_FlowEnded_ManyFlowsOpenedAndEnded_FlowStateReleasedDevicesKept()
    {
        var inventory = new DeviceInventory();
        var flows = Flows(300);
        for (var i = 0; i < flows.Length; i++)
        {
            inventory.Observe(Connect(flows[i], T0 + i, (i * 2) + 1, clientId: $"c{i}"));
            inventory.Observe(Connack(flows[i], T0 + i + 1, (i * 2) + 2, accepted: true, code: 0, clientId: $"c{i}"));
        }

        Assert.Equal((600, 300), inventory.FlowState);

        foreach (var f in flows)
        {
            inventory.FlowEnded(f);
        }

        Assert.Equal((0, 0), inventory.FlowState);
        // What the sessions told stays on the devices: every client logged in anonymously, and the broker saw 300 of them.
        var devices = inventory.Devices;
        Assert.Equal(301, devices.Count);
        Assert.All(devices.Where(d => !d.IsServer), d => Assert.Equal(Core.Devices.AuthPosture.Anonymous, d.Auth));
        var broker = Assert.Single(devices, d => d.IsServer);
        Assert.Equal(300, broker.Listeners.Single().Anonymous);
    }
}
