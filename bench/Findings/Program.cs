using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecMon.Core;
using SecMon.Core.Findings;
using SecMon.Findings.Store;

// Findings store benchmark: ingest N synthetic findings in batches, then time searches that combine free
// text, a time range and a minimum severity (the shape analysts use). Usage:
//   dotnet run -c Release --project bench/Findings -- [--count N] [--batch N] [--searches N] [--data DIR] [--keep] [--ingest-only]
// --devices N instead: the inventory saved at the end of a run (FindingStore.UpsertDevices) for N MQTT devices shaped
// as `secmon devices --json` shows them, into a new store and then merged into it again, with CPU time and bytes
// allocated per device (bench/README.md, "Device inventory").
var count = IntArg("--count", 1_000_000);
var batchSize = IntArg("--batch", 10_000);
var searches = IntArg("--searches", 1_000);
var dataDir = StringArg("--data") ?? Path.Combine(Path.GetTempPath(), "secmon-bench-findings-" + Environment.ProcessId);
var keep = args.Contains("--keep");
var ingestOnly = args.Contains("--ingest-only");

if (Directory.Exists(dataDir) && !keep)
{
    Directory.Delete(dataDir, recursive: true);
}

if (IntArg("--devices", 0) is > 0 and var deviceCount)
{
    return DeviceUpserts(dataDir, deviceCount);
}

var opened = FindingStore.Open(dataDir, new FindingStoreOptions { BatchSize = batchSize });
if (opened.Error is { } error)
{
    Console.Error.WriteLine("secmon-bench: " + error.Message);
    return 1;
}

using var store = opened.Store!;
var gen = new Synthetic(seed: 42);
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {CpuModel()}, .NET {Environment.Version}; load average at start: {LoadAverage()}");
Console.WriteLine($"store: {store.DatabasePath}");

// Ingest: generation is outside the timed region; Write (ECS serialization + SQLite + FTS) is inside.
var writeTime = TimeSpan.Zero;
var writeCpu = TimeSpan.Zero;
var cpuBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
var writtenBefore = BytesWritten();
var wall = Stopwatch.StartNew();
var inserted = 0L;
var batch = new List<Finding>(batchSize);
for (var i = 0; i < count; i += batchSize)
{
    batch.Clear();
    for (var j = i; j < Math.Min(count, i + batchSize); j++)
    {
        batch.Add(gen.Finding(j, count));
    }

    var cpuAtWrite = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    inserted += store.Write(batch);
    writeTime += sw.Elapsed;
    writeCpu += Process.GetCurrentProcess().TotalProcessorTime - cpuAtWrite;
}

wall.Stop();
var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
Console.WriteLine($"ingest: {inserted:N0} findings in {writeTime.TotalSeconds:F2} s of Write ({inserted / writeTime.TotalSeconds:N0} findings/s); " +
    $"wall {wall.Elapsed.TotalSeconds:F2} s incl. generation; batch {batchSize:N0}; " +
    $"process CPU {cpu.TotalSeconds:F1} s ({cpu.TotalMicroseconds / Math.Max(1, inserted):F1} us/finding incl. generation), " +
    $"of which in Write {writeCpu.TotalSeconds:F1} s ({writeCpu.TotalMicroseconds / Math.Max(1, inserted):F1} us/finding, all threads)");

// Bytes the process handed to write()/pwrite() during ingest (WAL frames, checkpoints, FTS5 segment merges): unlike
// the time, this does not move with the other work on the machine, so it shows a change in write amplification.
var written = BytesWritten() - writtenBefore;
Console.WriteLine($"io: {written / 1024.0 / 1024.0:N0} MiB written during ingest ({written / Math.Max(1, inserted):N0} bytes/finding)");

if (ingestOnly)
{
    // For profiling the insert path alone (perf record): no searches, paging or stats afterwards.
    Console.WriteLine($"load average at end: {LoadAverage()}");
    if (!keep)
    {
        store.Dispose();
        Directory.Delete(dataDir, recursive: true);
    }

    return 0;
}

var reinserted = store.Write([gen.Finding(0, count), gen.Finding(count / 2, count)]);
Console.WriteLine($"idempotence: re-writing 2 stored findings inserted {reinserted}");
var size = new DirectoryInfo(dataDir).EnumerateFiles().Sum(f => f.Length);
Console.WriteLine($"size: {size / 1024.0 / 1024.0:N0} MiB on disk ({size / Math.Max(1, inserted):N0} bytes/finding)");

// Searches: free text + time range (1 to 7 days inside the 30 days) + minimum severity, first page of 50.
var rng = new Random(7);
var times = new List<double>(searches);
var hits = 0L;
for (var i = 0; i < searches; i++)
{
    var q = Synthetic.Query(rng);
    var sw = Stopwatch.StartNew();
    var page = store.Search(q);
    times.Add(sw.Elapsed.TotalMilliseconds);
    hits += page.Items.Count;
}

times.Sort();
Console.WriteLine($"search: {searches:N0} queries (text + time range + severity, limit 50), " +
    $"p50 {Pct(0.50):F2} ms, p95 {Pct(0.95):F2} ms, p99 {Pct(0.99):F2} ms, max {(times.Count == 0 ? 0 : times[^1]):F2} ms; {hits / (double)searches:F1} results/query");

// Paging through one broad query, to show keyset pages cost the same deep in the result set.
var deep = Stopwatch.StartNew();
var cursor = (string?)null;
var pages = 0;
var paged = 0;
do
{
    var page = store.Search(new FindingQuery { MinSeverity = 47, Limit = 500, After = cursor });
    cursor = page.NextCursor;
    pages++;
    paged += page.Items.Count;
}
while (cursor is not null && pages < 200);
Console.WriteLine($"paging: {pages} pages of 500 (severity >= medium) in {deep.Elapsed.TotalMilliseconds:F0} ms ({deep.Elapsed.TotalMilliseconds / pages:F2} ms/page), {paged:N0} findings");

var statsTime = Stopwatch.StartNew();
var stats = store.Stats();
Console.WriteLine($"stats: {stats.Total:N0} findings, {stats.ByRule.Count} rules, in {statsTime.Elapsed.TotalMilliseconds:F0} ms");

Console.WriteLine($"load average at end: {LoadAverage()}");

if (!keep)
{
    store.Dispose();
    Directory.Delete(dataDir, recursive: true);
}

return 0;

double Pct(double p) => times.Count == 0 ? 0 : times[Math.Min(times.Count - 1, (int)Math.Ceiling(p * times.Count) - 1)];

int IntArg(string name, int fallback) =>
    StringArg(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

string? StringArg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

// /proc/self/io "wchar": bytes passed to write-like system calls by this process (proc(5)); 0 where unavailable.
// N devices as the inventory reports an MQTT client after a run: its address, client id, user, topics, one endpoint.
static int DeviceUpserts(string dataDir, int n)
{
    if (Directory.Exists(dataDir))
    {
        Directory.Delete(dataDir, recursive: true);
    }

    var opened = FindingStore.Open(dataDir);
    if (opened.Error is { } error)
    {
        Console.Error.WriteLine("secmon-bench: " + error.Message);
        return 1;
    }

    using var store = opened.Store!;
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {CpuModel()}, .NET {Environment.Version}; load average at start: {LoadAverage()}");
    var start = Time.ToUnixMicros(new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero));
    var devices = new List<SecMon.Core.Devices.Device>(n);
    for (var i = 0; i < n; i++)
    {
        var ip = $"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}";
        devices.Add(new SecMon.Core.Devices.Device
        {
            Id = $"02-00-00-{i >> 16 & 255:X2}-{i >> 8 & 255:X2}-{i & 255:X2}",
            Mac = $"02-00-00-{i >> 16 & 255:X2}-{i >> 8 & 255:X2}-{i & 255:X2}",
            Ips = [ip],
            Usernames = [$"user{i % 50}"],
            Protocols = ["mqtt"],
            Ports = [1883],
            Peers = ["10.0.0.1"],
            Identities = new Dictionary<string, IReadOnlyList<string>> { ["mqtt.client_id"] = [$"sensor-{i}"] },
            Values = new Dictionary<string, IReadOnlyList<string>> { ["mqtt.topic"] = [$"site/{i % 100}/temp", $"site/{i % 100}/status"] },
            Counts = new Dictionary<string, long> { ["mqtt.publish"] = 25 },
            Auth = SecMon.Core.Devices.AuthPosture.PasswordCleartext,
            CurrentAuth = SecMon.Core.Devices.AuthPosture.PasswordCleartext,
            Endpoints = [new SecMon.Core.Devices.EndpointPosture
            {
                Endpoint = "10.0.0.1:1883", Auth = SecMon.Core.Devices.AuthPosture.PasswordCleartext,
                SinceMicros = start + i, LastSeenMicros = start + i + 1_000_000, LatestSessionMicros = start + i,
            }],
            PostureHistory = [new SecMon.Core.Devices.PostureChange
            {
                From = SecMon.Core.Devices.AuthPosture.Unknown, To = SecMon.Core.Devices.AuthPosture.PasswordCleartext,
                AtMicros = start + i, Endpoint = "10.0.0.1:1883",
            }],
            FirstSeenMicros = start + i,
            LastSeenMicros = start + i + 1_000_000,
        });
    }

    foreach (var round in (string[])["new", "merged"])
    {
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var created = store.UpsertDevices(devices);
        sw.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        Console.WriteLine($"devices {round}: {n:N0} upserted ({created:N0} new) in {sw.Elapsed.TotalMilliseconds:F0} ms, " +
            $"CPU {cpu.TotalMilliseconds * 1000 / n:F1} us and {allocated / n:N0} B allocated per device");
    }

    Console.WriteLine($"load average at end: {LoadAverage()}");
    return 0;
}

static long BytesWritten()
{
    try
    {
        var line = File.ReadLines("/proc/self/io").FirstOrDefault(l => l.StartsWith("wchar:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
    }
    catch (IOException)
    {
        return 0;
    }
}

static string LoadAverage()
{
    try
    {
        return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "unknown";
    }
}

static string CpuModel()
{
    try
    {
        return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
    }
    catch (IOException)
    {
        return "unknown CPU";
    }
}

/// <summary>Deterministic synthetic findings: 12 MQTT rules, 5,000 devices, 30 days.</summary>
internal sealed class Synthetic(int seed)
{
    private const int Devices = 5_000;
    private static readonly long Start = Time.ToUnixMicros(new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero));
    private static readonly long Span = TimeSpan.FromDays(30).Ticks / TimeSpan.TicksPerMicrosecond;

    private static readonly (string Id, string Name, Severity Severity, string Verb, string[] Category, string[] Type)[] Rules =
    [
        ("SECMON-MQTT-0001", "MQTT anonymous login accepted", Severity.Medium, "logged in without credentials", ["network", "authentication"], ["connection", "allowed"]),
        ("SECMON-MQTT-0002", "MQTT password guessing", Severity.High, "tried many passwords", ["authentication", "intrusion_detection"], ["denied"]),
        ("SECMON-MQTT-0003", "MQTT login after guessing", Severity.Critical, "logged in after guessing passwords", ["authentication", "intrusion_detection"], ["allowed", "start"]),
        ("SECMON-MQTT-0004", "MQTT credentials in cleartext", Severity.High, "sent a password without TLS", ["network", "authentication"], ["connection", "info"]),
        ("SECMON-MQTT-0005", "MQTT wildcard subscription", Severity.Medium, "subscribed to every topic with #", ["network"], ["access", "info"]),
        ("SECMON-MQTT-0006", "MQTT cleartext session", Severity.Low, "used MQTT without TLS", ["network"], ["connection", "info"]),
        ("SECMON-MQTT-0007", "MQTT client id reuse", Severity.Medium, "reused another device's client id", ["network"], ["connection", "info"]),
        ("SECMON-MQTT-0008", "MQTT publish to system topic", Severity.High, "published to a $SYS topic", ["network", "intrusion_detection"], ["access", "denied"]),
        ("SECMON-MQTT-0009", "MQTT protocol downgrade", Severity.Low, "spoke MQTT 3.1", ["network"], ["protocol", "info"]),
        ("SECMON-MQTT-0010", "MQTT unusual publish rate", Severity.Medium, "published far above its baseline", ["network"], ["info"]),
        ("SECMON-MQTT-0011", "MQTT new peer", Severity.Low, "talked to a new broker", ["network"], ["connection", "info"]),
        ("SECMON-MQTT-0012", "MQTT oversized payload", Severity.Medium, "published an oversized message", ["network"], ["info"]),
    ];

    private static readonly string[] Places = ["kitchen", "garage", "boiler", "line3", "dock", "roof", "lab", "pump", "meter", "door"];
    private static readonly string[] Kinds = ["temp", "humidity", "valve", "relay", "camera", "plug", "lock", "hvac"];
    private static readonly string[] Words = ["anonymous", "guessing", "cleartext", "wildcard", "downgrade", "oversized", "password", "baseline"];

    private readonly int _seed = seed;

    public Finding Finding(int i, int total)
    {
        var rng = new Random(HashCode.Combine(_seed, i));
        var rule = Rules[rng.Next(Rules.Length)];
        var device = rng.Next(Devices);
        var mac = $"02-00-00-{device >> 16 & 0xFF:X2}-{device >> 8 & 0xFF:X2}-{device & 0xFF:X2}";
        var ip = $"10.{device / 250 % 250}.{device % 250}.{1 + device % 7}";
        var clientId = $"{Kinds[device % Kinds.Length]}-{Places[device / Kinds.Length % Places.Length]}-{device}";
        var user = $"user{device % 400}";
        var topic = $"plant/{Places[device % Places.Length]}/{Kinds[device % Kinds.Length]}/{device}";
        var ts = Start + (long)((double)i / total * Span) + rng.Next(1_000_000);
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{rule.Id}|{i}")).AsSpan(0, 16));
        return new Finding
        {
            Id = id,
            TimestampMicros = ts,
            RuleId = rule.Id,
            RuleName = rule.Name,
            RuleDescription = "Synthetic rule for the store benchmark.",
            Ruleset = "mqtt-core",
            RuleVersion = "1",
            Severity = rule.Severity,
            Category = rule.Category,
            EventType = rule.Type,
            Message = $"Device {clientId} ({ip}) {rule.Verb} on broker 10.0.0.1:1883",
            SourceIp = ip,
            SourcePort = 30000 + rng.Next(30000),
            SourceMac = mac,
            DestinationIp = "10.0.0.1",
            DestinationPort = 1883,
            Transport = "tcp",
            Protocol = "mqtt",
            CommunityId = "1:" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(ip)).AsSpan(0, 20)),
            FlowId = id[..16],
            DeviceId = mac,
            ObserverName = "bench",
            ThreatTechniqueId = rule.Severity >= Severity.High ? "T0859" : null,
            ThreatTechniqueName = rule.Severity >= Severity.High ? "Valid Accounts" : null,
            RelatedIp = [ip, "10.0.0.1"],
            RelatedUser = [user],
            Evidence = new Dictionary<string, object>
            {
                ["mqtt.client_id"] = clientId,
                ["mqtt.username"] = user,
                ["mqtt.protocol_level"] = 4L,
                ["mqtt.topic"] = topic,
            },
        };
    }

    public static FindingQuery Query(Random rng)
    {
        var device = rng.Next(Devices);
        var text = rng.Next(3) switch
        {
            0 => Words[rng.Next(Words.Length)],
            1 => $"{Kinds[device % Kinds.Length]}-{Places[device / Kinds.Length % Places.Length]}-{device}",
            _ => $"{Places[rng.Next(Places.Length)]} {Words[rng.Next(Words.Length)]}",
        };
        var days = 1 + rng.Next(7);
        var since = Start + (long)(rng.NextDouble() * (Span - (days * 86_400_000_000L)));
        return new FindingQuery
        {
            Text = text,
            SinceMicros = since,
            UntilMicros = since + (days * 86_400_000_000L),
            MinSeverity = (int)(rng.Next(3) switch { 0 => Severity.Low, 1 => Severity.Medium, _ => Severity.High }),
            Limit = 50,
        };
    }
}
