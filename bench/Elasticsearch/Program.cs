using System.Diagnostics;
using System.Globalization;
using SecMon.Core.Findings;
using SecMon.Findings.Elasticsearch;
using SecMon.Testing.FakeElasticsearch;

// Bulk indexing of findings to the fake Elasticsearch on loopback (bench/README.md "Elasticsearch output").
// The fake runs in a child process (this program with "serve"), so the CPU time measured here is the client's alone:
// the sink writing each finding's ECS document into the _bulk body, the official client's transport (HTTP, gzip when
// on), and reading the bulk response. Usage:
//   dotnet bench/Elasticsearch/bin/Release/net10.0/SecMon.Bench.Elasticsearch.dll [FINDINGS] [BATCH] [compression on|off] [ROUNDS]
if (args.Length > 0 && args[0] == "serve")
{
    using var fake = FakeElasticsearch.Start(RestApiSpec.Shipped ?? throw new InvalidOperationException(RestApiSpec.MissingReason));
    fake.KeepDocuments = false; // ids are kept (409s), documents are parsed and checked against the mappings, not stored
    Console.WriteLine(fake.Url);
    // "cpu" asks for this process's CPU time (the server's cost per finding); end of input ends it.
    while (Console.ReadLine() is { } line)
    {
        if (line == "cpu")
        {
            var me = Process.GetCurrentProcess();
            me.Refresh();
            Console.WriteLine(me.TotalProcessorTime.TotalMilliseconds.ToString(CultureInfo.InvariantCulture));
        }
    }

    Console.Error.WriteLine($"fake: {fake.Requests.Count} requests, {fake.Violations.Count} contract violations");
    return 0;
}

var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
var batch = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
var compression = args.Length <= 2 || args[2] != "off";
var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;

var self = Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal)
    ? new ProcessStartInfo("dotnet", [typeof(Program).Assembly.Location, "serve"])
    : new ProcessStartInfo(Environment.ProcessPath!, ["serve"]);
self.RedirectStandardInput = true;
self.RedirectStandardOutput = true;
using var server = Process.Start(self)!;
var url = new Uri(server.StandardOutput.ReadLine()!);

var findings = Make(count);
Console.WriteLine($"{count:N0} findings, {batch} per _bulk, compression {(compression ? "on" : "off")}, fake at {url} (pid {server.Id})");

// The floor: the ECS documents alone (FindingJson into a reused buffer), what every output pays per finding.
var docs = new System.Buffers.ArrayBufferWriter<byte>(1 << 22);
for (var warm = 0; warm < 2; warm++)
{
    var docCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var docAlloc0 = GC.GetTotalAllocatedBytes(precise: true);
    foreach (var f in findings)
    {
        if (docs.WrittenCount > (1 << 21))
        {
            docs.ResetWrittenCount();
        }

        SecMon.Findings.Ecs.FindingJson.Write(f, docs);
    }

    var docCpu = Process.GetCurrentProcess().TotalProcessorTime - docCpu0;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"documents alone: {docCpu.TotalMicroseconds / findings.Count:F2} us/finding CPU, {(GC.GetTotalAllocatedBytes(precise: true) - docAlloc0) / findings.Count:N0} B allocated/finding"));
}
for (var round = 1; round <= rounds; round++)
{
    var options = new ElasticsearchOptions
    {
        Nodes = [url],
        DataStream = $"logs-secmon.bench{round}-default",
        BatchSize = batch,
        Compression = compression,
    };
    using var sink = new ElasticsearchSink(options);
    sink.Write([findings[0]], CancellationToken.None); // the cluster check and template, outside the timing

    var me = Process.GetCurrentProcess();
    var serverCpu0 = ServerCpu(server);
    var cpu0 = me.TotalProcessorTime;
    var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
    var clock = Stopwatch.StartNew();
    long stored = 0;
    for (var i = 1; i < findings.Count; i += batch)
    {
        var chunk = findings.GetRange(i, Math.Min(batch, findings.Count - i));
        var r = sink.Write(chunk, CancellationToken.None);
        if (!r.Succeeded)
        {
            Console.Error.WriteLine("failed: " + r.Error);
            return 1;
        }

        stored += r.Stored;
    }

    clock.Stop();
    me.Refresh();
    var serverCpu = ServerCpu(server) - serverCpu0;
    var cpu = me.TotalProcessorTime - cpu0;
    var allocated = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
    var n = findings.Count - 1;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"round {round}: {stored:N0} stored in {clock.Elapsed.TotalSeconds:F2} s = {n / clock.Elapsed.TotalSeconds:N0} findings/s; " +
        $"client CPU {cpu.TotalMilliseconds:N0} ms = {cpu.TotalMicroseconds / n:F2} us/finding; {allocated / n:N0} B allocated/finding; " +
        $"fake server CPU {serverCpu * 1000 / n:F2} us/finding"));
}

server.StandardInput.Close();
server.WaitForExit();
return 0;

static double ServerCpu(Process server)
{
    server.StandardInput.WriteLine("cpu");
    server.StandardInput.Flush();
    return double.Parse(server.StandardOutput.ReadLine()!, CultureInfo.InvariantCulture);
}

// Findings shaped as the shipped MQTT rules make them: typed ECS fields and a handful of evidence fields.
static List<Finding> Make(int count)
{
    var list = new List<Finding>(count);
    var t0 = 1_764_000_000_000_000L;
    for (var i = 0; i < count; i++)
    {
        var d = i % 5000;
        list.Add(new Finding
        {
            Id = $"{(ulong)i * 0x9E3779B97F4A7C15UL:x16}{i:x16}",
            TimestampMicros = t0 + (i * 1000L),
            RuleId = "SECMON-MQTT-000" + (1 + (i % 6)),
            RuleName = "MQTT password guessing",
            RuleDescription = "Many CONNECT attempts with different passwords were refused.",
            Ruleset = "mqtt-core",
            RuleVersion = "3",
            Severity = Severity.High,
            Category = ["authentication", "intrusion_detection"],
            EventType = ["start", "info"],
            Message = $"MQTT password guessing against broker 10.0.0.1:1883 by device 10.1.{d / 250}.{d % 250}",
            SourceIp = $"10.1.{d / 250}.{d % 250}",
            SourcePort = 40000 + (i % 20000),
            SourceMac = $"02-00-00-00-{d / 256:X2}-{d % 256:X2}",
            DestinationIp = "10.0.0.1",
            DestinationPort = 1883,
            Transport = "tcp",
            Protocol = "mqtt",
            CommunityId = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            FlowId = $"{i:x16}",
            DeviceId = $"02-00-00-00-{d / 256:X2}-{d % 256:X2}",
            ObserverName = "gw-hall-3",
            ThreatTechniqueId = "T1110.001",
            ThreatTechniqueName = "Password Guessing",
            ThreatTacticName = "Credential Access",
            RelatedIp = [$"10.1.{d / 250}.{d % 250}", "10.0.0.1"],
            RelatedUser = ["admin"],
            EventCount = 12,
            Evidence = new Dictionary<string, object>
            {
                ["mqtt.client_id"] = $"sensor-{d}",
                ["mqtt.username"] = "admin",
                ["mqtt.protocol_level"] = 4L,
                ["mqtt.failed_logins"] = 12L,
                ["mqtt.distinct_passwords"] = 12L,
                ["flow.direction"] = "to_server",
            },
        });
    }

    return list;
}
