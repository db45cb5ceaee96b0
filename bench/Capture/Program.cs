using System.Diagnostics;
using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Sources;
using SecMon.Core;

// Times each stage of the capture pipeline on one file, several rounds, and prints packets/s, allocated bytes per
// packet and GC counts per stage:  dotnet run -c Release --project bench/Capture -- FILE.pcap [ROUNDS]
// The event log writer (EventsBench.cs):  dotnet run -c Release --project bench/Capture -- events FILE.pcap [ROUNDS] [--writer-only | --cold-only]
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: SecMon.Bench FILE.pcap [ROUNDS] | SecMon.Bench events FILE.pcap [ROUNDS] [--writer-only | --cold-only]");
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
var rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
for (var round = 1; round <= rounds; round++)
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
    Measure("read + decode + flows + reassembly", path, (files, stats) =>
    {
        var engine = new CaptureEngine(new CaptureOptions(), new EventCounter(), new NullDiagnostics(), stats, new SecretHasher(new byte[32]), protocols: new SecMon.Capture.Protocols.ProtocolCatalogue([]));
        engine.Run(files, null, CancellationToken.None);
        return stats.Packets;
    });
    Measure("read + decode + flows + reassembly + MQTT/TLS", path, (files, stats) =>
    {
        var engine = new CaptureEngine(new CaptureOptions(), new EventCounter(), new NullDiagnostics(), stats, new SecretHasher(new byte[32]));
        engine.Run(files, null, CancellationToken.None);
        return stats.Packets;
    });
}

return 0;

static void Measure(string stage, string path, Func<CaptureFileSet, CaptureStats, long> run)
{
    var source = PcapFileSource.TryOpen(path, out var error) ?? throw new InvalidOperationException(error);
    using var files = new CaptureFileSet([source]);
    var stats = new CaptureStats();
    var gc0 = GC.CollectionCount(0);
    var gc2 = GC.CollectionCount(2);
    var allocated = GC.GetAllocatedBytesForCurrentThread();
    var clock = Stopwatch.StartNew();
    var packets = run(files, stats);
    clock.Stop();
    var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
    Console.WriteLine($"{stage,-48} {packets,10:N0} packets {packets / clock.Elapsed.TotalSeconds,12:N0} packets/s  " +
                      $"{(double)bytes / Math.Max(packets, 1),7:F1} B/packet  gen0 {GC.CollectionCount(0) - gc0} gen2 {GC.CollectionCount(2) - gc2}");
}

internal sealed class NullDiagnostics : IDiagnosticSink
{
    public void Report(DiagnosticKind kind, in PacketMeta meta, string message)
    {
    }
}
