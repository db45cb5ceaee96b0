// Measures how many protocol events per second the detection engine (all shipped rules) and the device
// inventory handle, on a synthetic MQTT event mix shaped like the bench capture: many clients, each with
// one session (CONNECT, CONNACK), a subscription, then periodic publishes under its own namespace, plus a
// few anonymous and password-guessing clients. Compare with the capture engine's decode-only events/s:
// detection must keep >= 80% of decode-only throughput (issue 4).
using System.Diagnostics;
using System.Globalization;
using SecMon.Core.Events;
using SecMon.Detection;
using SecMon.Detection.Inventory;
using SecMon.Testing;

var eventsWanted = args.Length > 0 && !args[0].StartsWith('-') ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2_000_000;
// --clients N (default 500): the working set; the bench capture has 10,000 clients publishing ~10 times a second
// each (--clients 10000 --gap-us 10), where every event finds its state cold in the caches.
var clientCount = Option("--clients", 500);
var gapMicros = Option("--gap-us", 200);
var rules = RulePackLoader.Load([RepoPaths.Rules], FakeSchemas.Catalogue);
if (!rules.Success)
{
    foreach (var e in rules.Errors)
    {
        Console.Error.WriteLine(e);
    }

    return 66;
}

var events = Generate(eventsWanted, clientCount, gapMicros);
Console.WriteLine($"{events.Count:N0} events, {clientCount:N0} clients, a publish every {gapMicros} µs, {rules.RuleSet!.Rules.Count} rules");

// Warm up (tiered JIT), then measure three times and keep the best.
Run("iterate only (reads each event's type)", events, e => _ = e.Schema.Type.Length, () => { });
for (var round = 0; round < 3; round++)
{
    Run("iterate only (reads each event's type)", events, e => _ = e.Schema.Type.Length, () => { });
    var engine = new DetectionEngine(rules.RuleSet);
    long findings = 0;
    Run("detection (all shipped rules)", events, e => findings += engine.Process(e).Count, () => findings += engine.Complete().Count);
    Console.WriteLine($"    findings: {findings:N0}, groups evicted: {engine.Stats.GroupsEvicted:N0}");
    var inventory = new DeviceInventory();
    Run("device inventory", events, inventory.Observe, () => { });
    Console.WriteLine($"    devices: {inventory.Count:N0}");
}

if (args.Contains("--probe"))
{
    var pub = events.First(e => e.Type == "mqtt.publish");
    Probe("FlowSides.DeviceOf", () => _ = SecMon.Detection.FlowSides.DeviceOf(pub.Flow, SecMon.Detection.Model.DeviceSide.Client));
    Probe("schema field read", () => _ = pub.Schema.Fields[14].Read(pub));
    Probe("TopicPattern", () => _ = SecMon.Detection.Baselines.TopicPattern.Normalise("devices/dev-12/telemetry"));
    var ctx = new SecMon.Detection.Conditions.BindContext(pub.Schema, new Dictionary<string, int>());
    var readers = ctx.Readers([new SecMon.Detection.Model.FieldRef("source.ip", FieldKind.Ip), new SecMon.Detection.Model.FieldRef("mqtt.client_id", FieldKind.Text)]);
    Probe("GroupKey.Read", () => _ = SecMon.Detection.Engine.GroupKey.Read(readers, pub, null));
    var dict = new Dictionary<SecMon.Detection.Engine.GroupKey, object>();
    var key = SecMon.Detection.Engine.GroupKey.Read(readers, pub, null);
    dict[key] = "x";
    Probe("GroupKey lookup", () => _ = dict.TryGetValue(key, out _));
    var model = new SecMon.Detection.Baselines.BaselineModel();
    Probe("IsLearning", () => _ = model.IsLearning(pub.TimestampMicros));
    var nv = model.NewValues("R");
    Probe("NewValues.Learn", () => _ = nv.Learn("02-00-00-00-00-01", "devices/dev-12/telemetry", model));
    var def = rules.RuleSet.Definitions.First(d => d.Id == "SECMON-BASE-0002");
    var where = def.Where.Bind(new SecMon.Detection.Conditions.BindContext(pub.Schema, new Dictionary<string, int>()));
    Probe("where BASE-0002", () => _ = where.Eval(pub, null));
    var topicField = pub.Schema.Fields.First(f => f.Name == "mqtt.topic");
    Probe("read mqtt.topic", () => _ = topicField.Read(pub));
    Probe("read + ToString", () => _ = topicField.Read(pub).ToString());
    Probe("BaselineEntity", () => _ = SecMon.Detection.Detectors.BaselineEntity.Of(def.Baseline!, [], pub, null));
    foreach (var id in new[] { "SECMON-BASE-0002", "SECMON-MQTT-0007", "SECMON-MQTT-0001" })
    {
        var one = new DetectionEngine(rules.RuleSet.Only(rules.RuleSet.Definitions.First(d => d.Id == id)));
        Probe("Process " + id, () => _ = one.Process(pub));
    }
}

if (args.Contains("--alloc"))
{
    // Which types the engine allocates per event (sampled by the runtime's AllocationTick, every ~100 KB).
    using var listener = new AllocationListener();
    var engine = new DetectionEngine(rules.RuleSet);
    foreach (var e in events)
    {
        engine.Process(e);
    }

    foreach (var (type, n) in listener.Counts.OrderByDescending(kv => kv.Value).Take(10))
    {
        Console.WriteLine($"  alloc {type,-70} {n}");
    }

    // And the device inventory's.
    lock (listener.Counts)
    {
        listener.Counts.Clear();
    }

    var inventory = new DeviceInventory();
    foreach (var e in events)
    {
        inventory.Observe(e);
    }

    foreach (var (type, n) in listener.Counts.OrderByDescending(kv => kv.Value).Take(10))
    {
        Console.WriteLine($"  inventory alloc {type,-60} {n}");
    }
}

if (args.Contains("--per-rule"))
{
    foreach (var rule in rules.RuleSet.Definitions)
    {
        var single = new DetectionEngine(rules.RuleSet.Only(rule));
        Run("  rule " + rule.Id, events, e => single.Process(e), () => single.Complete());
    }
}

return 0;

static void Probe(string name, Action action)
{
    for (var i = 0; i < 1000; i++)
    {
        action();
    }

    var before = GC.GetAllocatedBytesForCurrentThread();
    var sw = Stopwatch.StartNew();
    for (var i = 0; i < 1_000_000; i++)
    {
        action();
    }

    Console.WriteLine($"  probe {name,-30} {sw.Elapsed.TotalMilliseconds,8:N1} ns/op {(GC.GetAllocatedBytesForCurrentThread() - before) / 1e6,6:N1} B/op");
}

static void Run(string name, List<ProtocolEvent> events, Action<ProtocolEvent> action, Action complete)
{
    var before = GC.GetAllocatedBytesForCurrentThread();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    foreach (var e in events)
    {
        action(e);
    }

    complete();
    sw.Stop();
    // CPU time of the whole process (this thread and the GC's): on a shared machine it moves less than the wall time.
    cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
    Console.WriteLine($"{name,-40} {events.Count / sw.Elapsed.TotalSeconds,14:N0} events/s  {sw.Elapsed.TotalMilliseconds * 1e6 / events.Count,8:N0} ns/event  {cpu.TotalMilliseconds * 1e6 / events.Count,8:N0} ns CPU  {allocated / (double)events.Count,8:N1} B/event");
}

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static List<ProtocolEvent> Generate(int wanted, int clients, int gapMicros)
{
    const long T0 = 1_700_000_000_000_000;
    var list = new List<ProtocolEvent>(wanted);
    var flows = new SecMon.Core.Flows.FlowContext[clients];
    long packet = 0;
    var t = T0;
    for (var c = 0; c < clients; c++)
    {
        var ip = $"10.{c / 250}.{c % 250}.{10 + (c % 7)}";
        flows[c] = FakeFlows.Create(clientIp: ip, serverIp: "10.255.0.1", clientMac: $"02-00-00-00-{c / 256:X2}-{c % 256:X2}", serverMac: "02-00-00-00-FF-01");
        var anonymous = c % 50 == 0;
        list.Add(TestEvent.Of(FakeSchemas.MqttConnect, flows[c], t, ++packet, ("mqtt.client_id", $"dev-{c}"), ("mqtt.username", anonymous ? null : $"user{c}"),
            ("mqtt.password.present", !anonymous), ("mqtt.password.hash", anonymous ? null : "00000000000000ab"), ("mqtt.protocol_level", 4L)));
        list.Add(TestEvent.Of(FakeSchemas.MqttConnack, flows[c].Reverse!, t + 500, ++packet, ("mqtt.connack.accepted", true), ("mqtt.connack.return_code", 0L),
            ("mqtt.client_id", $"dev-{c}"), ("mqtt.username", anonymous ? null : $"user{c}")));
        list.Add(TestEvent.Of(FakeSchemas.MqttSubscribe, flows[c], t + 1000, ++packet, ("mqtt.topic_filters", new[] { $"devices/dev-{c}/cmd" }), ("mqtt.subscription_qos", new long[] { 1 })));
        t += 1000;
    }

    var topics = Enumerable.Range(0, clients).Select(c => $"devices/dev-{c}/telemetry").ToArray();
    var ids = Enumerable.Range(0, clients).Select(c => $"dev-{c}").ToArray();
    var users = Enumerable.Range(0, clients).Select(c => c % 50 == 0 ? null : $"user{c}").ToArray();
    var i = 0;
    while (list.Count < wanted)
    {
        var c = i % clients;
        t += gapMicros; // default 200: 5,000 publishes per second of capture time
        list.Add(TestEvent.Of(FakeSchemas.MqttPublish, flows[c], t, ++packet,
            ("mqtt.topic", topics[c]), ("mqtt.client_id", ids[c]), ("mqtt.username", users[c]), ("mqtt.qos", 0L), ("mqtt.retain", false), ("mqtt.payload.size", 64L)));
        if (i % 10_000 == 0)
        {
            // A guessing client now and then.
            var g = FakeFlows.Create(clientIp: "10.66.0.1", serverIp: "10.255.0.1");
            list.Add(TestEvent.Of(FakeSchemas.MqttConnect, g, t, ++packet, ("mqtt.client_id", "x"), ("mqtt.username", "admin"), ("mqtt.password.present", true), ("mqtt.password.hash", $"{i:x16}")));
            list.Add(TestEvent.Of(FakeSchemas.MqttConnack, g.Reverse!, t + 10, ++packet, ("mqtt.connack.accepted", false), ("mqtt.connack.return_code", 5L), ("mqtt.username", "admin")));
        }

        i++;
    }

    return list;
}

internal sealed class AllocationListener : System.Diagnostics.Tracing.EventListener
{
    public Dictionary<string, int> Counts { get; } = [];

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && e.PayloadNames is { } names)
        {
            var i = names.IndexOf("TypeName");
            var type = i >= 0 ? e.Payload![i]?.ToString() ?? "?" : "?";
            lock (Counts)
            {
                Counts[type] = Counts.GetValueOrDefault(type) + 1;
            }
        }
    }
}
