using System.Diagnostics;
using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Sources;
using SecMon.Core;

// Times each stage of the capture pipeline on one file, several rounds, and prints packets/s (of wall and of CPU time), allocated bytes per
// packet and GC counts per stage:  dotnet run -c Release --project bench/Capture -- FILE.pcap [ROUNDS]
// --only flows|full runs that stage alone (for perf record); --alloc also prints what the last stage allocated, by type
// (the runtime's allocation ticks: one sample per ~100 KB allocated, so types are weighed, not counted exactly); --gc lists
// every collection of each stage (generation, duration, bytes promoted, bytes marked from each kind of root: the older
// generations' cards are what old objects keep alive); --no-scans leaves the scan detector out.
// The event log writer (EventsBench.cs):  dotnet run -c Release --project bench/Capture -- events FILE.pcap [ROUNDS] [--writer-only | --cold-only]
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: SecMon.Bench FILE.pcap [ROUNDS] [--only flows|full] [--alloc] [--gc] [--no-scans] | SecMon.Bench events FILE.pcap [ROUNDS] [--writer-only | --cold-only]");
    return 64;
}

if (args[0] == "events")
{
    if (args.Length < 2)
    {
        Console.Error.WriteLine("usage: SecMon.Bench events FILE.pcap [ROUNDS] [--writer-only | --cold-only]");
        return 64;
    }

    return EventsBench.Run(args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5,
        writerOnly: args.Contains("--writer-only"), coldOnly: args.Contains("--cold-only"));
}

var path = args[0];
var rounds = args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal)
    ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
var only = Array.IndexOf(args, "--only") is var o && o >= 0 && o + 1 < args.Length ? args[o + 1] : null;
// --no-scans: the capture engine without its scan detector (what the detector costs is the difference).
var options = args.Contains("--no-scans") ? new CaptureOptions { Scans = new SecMon.Capture.Scans.ScanOptions { Enabled = false } } : new CaptureOptions();
using var allocations = args.Contains("--alloc") ? new AllocationSampler() : null;
using var gcLog = args.Contains("--gc") ? GcLog.Current = new GcLog() : null;
for (var round = 1; round <= rounds; round++)
{
    if (only is null)
    {
        Measure("read (libpcap + copy)", path, (files, _) =>
    {
        long n = 0;
        while (files.MoveNext())
        {
            n++;
        }

            return n;
        });
    }

    if (only is null or "flows")
    {
        Measure("read + decode + flows + reassembly", path, (files, stats) =>
        {
            var engine = new CaptureEngine(options, new EventCounter(), new NullDiagnostics(), stats, new SecretHasher(new byte[32]), protocols: new SecMon.Capture.Protocols.ProtocolCatalogue([]));
            engine.Run(files, null, CancellationToken.None);
            return stats.Packets;
        });
    }

    if (only is null or "full")
    {
        allocations?.Clear();
        Measure("read + decode + flows + reassembly + MQTT/TLS", path, (files, stats) =>
        {
            var engine = new CaptureEngine(options, new EventCounter(), new NullDiagnostics(), stats, new SecretHasher(new byte[32]));
            engine.Run(files, null, CancellationToken.None);
            return stats.Packets;
        });
    }
}

allocations?.Print(Console.Out);

return 0;

static void Measure(string stage, string path, Func<CaptureFileSet, CaptureStats, long> run)
{
    var source = PcapFileSource.TryOpen(path, out var error) ?? throw new InvalidOperationException(error);
    using var files = new CaptureFileSet([source]);
    var stats = new CaptureStats();
    var gc0 = GC.CollectionCount(0);
    var gc2 = GC.CollectionCount(2);
    var allocated = GC.GetAllocatedBytesForCurrentThread();
    var paused = GC.GetTotalPauseDuration();
    // CPU time too: on a loaded machine wall time counts the other processes' turns on the core, CPU time does not.
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    var packets = run(files, stats);
    clock.Stop();
    cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
    Console.WriteLine($"{stage,-48} {packets,10:N0} packets {packets / clock.Elapsed.TotalSeconds,12:N0} packets/s  " +
                      $"{packets / Math.Max(cpu.TotalSeconds, 1e-6),12:N0} packets/s of CPU  " +
                      $"{(double)bytes / Math.Max(packets, 1),7:F1} B/packet  gen0 {GC.CollectionCount(0) - gc0} gen2 {GC.CollectionCount(2) - gc2}  " +
                      $"GC pauses {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds:F0} ms");
    GcLog.Current?.PrintAndClear(Console.Out);
}

// The runtime's GC/AllocationTick events (verbose GC keyword): each names the type of the object that crossed ~100 KB of
// allocation since the last tick, so the bytes per type are an estimate weighed by sampling.
internal sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
{
    private readonly Dictionary<string, long> _bytes = [];
    private readonly Lock _lock = new();

    public void Clear()
    {
        lock (_lock)
        {
            _bytes.Clear();
        }
    }

    public void Print(TextWriter output)
    {
        lock (_lock)
        {
            var total = Math.Max(1, _bytes.Values.Sum());
            output.WriteLine("allocated by type in the last stage of the last round (sampled):");
            foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(25))
            {
                output.WriteLine($"  {bytes / 1_000_000.0,8:F1} MB {100.0 * bytes / total,5:F1}%  {type}");
            }
        }
    }

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        var type = eventData.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload![t] as string ?? "?" : "?";
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        var amount = amountIndex >= 0 ? Convert.ToInt64(eventData.Payload![amountIndex], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        lock (_lock)
        {
            _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
        }
    }
}

// --gc: every collection of the stage with its generation, reason, time from start to end (the pause and, for a
// background collection, its concurrent part) and what it promoted, from the runtime's GC events.
internal sealed class GcLog : System.Diagnostics.Tracing.EventListener
{
    private readonly List<string> _lines = [];
    private readonly Dictionary<uint, (DateTime At, uint Depth, uint Reason, uint Type)> _started = [];
    private readonly Lock _lock = new();

    public static GcLog? Current { get; set; }

    public void PrintAndClear(TextWriter output)
    {
        Thread.Sleep(500); // the listener's events arrive on another thread, a little later
        lock (_lock)
        {
            foreach (var line in _lines)
            {
                output.WriteLine(line);
            }

            _lines.Clear();
        }
    }

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, System.Diagnostics.Tracing.EventLevel.Informational, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }
    }

    // GCMarkWithType's root kinds (the runtime's GC_ROOT_KIND).
    private static string MarkRoot(uint type) => type switch
    {
        0 => "stacks",
        1 => "the finalizer queue",
        2 => "handles",
        3 => "older generations (cards)",
        4 => "sized refs",
        5 => "mark overflow",
        6 => "dependent handles",
        _ => $"root kind {type}",
    };

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        uint U(string name) => e.PayloadNames?.IndexOf(name) is >= 0 and var i ? Convert.ToUInt32(e.Payload![i], System.Globalization.CultureInfo.InvariantCulture) : 0;
        ulong L(string name) => e.PayloadNames?.IndexOf(name) is >= 0 and var i ? Convert.ToUInt64(e.Payload![i], System.Globalization.CultureInfo.InvariantCulture) : 0;
        lock (_lock)
        {
            switch (e.EventName)
            {
                case { } n when n.StartsWith("GCStart", StringComparison.Ordinal):
                    _started[U("Count")] = (e.TimeStamp, U("Depth"), U("Reason"), U("Type"));
                    break;
                case { } n when n.StartsWith("GCEnd", StringComparison.Ordinal) && _started.Remove(U("Count"), out var s):
                    _lines.Add($"  gc #{U("Count")} gen{s.Depth} reason {s.Reason} type {s.Type}: {(e.TimeStamp - s.At).TotalMilliseconds,7:F1} ms");
                    break;
                case "GCMarkWithType" when L("Bytes") > 0:
                    _lines.Add($"    marked from {MarkRoot(U("Type"))}: {L("Bytes") / 1e6:F2} MB");
                    break;
                case { } n when n.StartsWith("GCHeapStats", StringComparison.Ordinal):
                    _lines.Add($"    promoted gen0 {L("TotalPromotedSize0") / 1e6:F1} MB gen1 {L("TotalPromotedSize1") / 1e6:F1} MB gen2 {L("TotalPromotedSize2") / 1e6:F1} MB; sizes gen0 {L("GenerationSize0") / 1e6:F1} gen1 {L("GenerationSize1") / 1e6:F1} gen2 {L("GenerationSize2") / 1e6:F1} MB");
                    break;
                default:
                    break;
            }
        }
    }
}

internal sealed class NullDiagnostics : IDiagnosticSink
{
    public void Report(DiagnosticKind kind, in PacketMeta meta, string message)
    {
    }
}
