using System.Diagnostics;
using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Sources;
using SecMon.Core;
using SecMon.Core.Events;

/// <summary>
/// The event log writer (<c>secmon analyze --events FILE</c>), three ways, round after round:
/// <list type="number">
/// <item>in the pipeline: the capture engine on the file with and without an <see cref="EventJsonWriter"/> beside the
/// event counter (to <see cref="Stream.Null"/> and to a file opened as <c>analyze</c> opens it); the difference is what
/// the event log costs per event where it runs, right after each event is made;</item>
/// <item>the writer alone over every event of the capture, kept in memory in capture order (to Stream.Null and to a
/// file): the strict figure, each event's strings read cold from a heap of a few hundred MB;</item>
/// <item>the writer alone over the first 1,000 events written 400 times (in cache): the writer's own code; and the same
/// events with only their fields read (what any writer of these events pays).</item>
/// </list>
/// </summary>
internal static class EventsBench
{
    private const int WarmWindow = 1_000;
    private const int WarmRepeats = 400;

    public static int Run(string path, int rounds, bool writerOnly, bool coldOnly = false)
    {
        var events = new ListSink();
        RunEngine(path, events);
        var types = events.Events.GroupBy(e => e.Type).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count():N0}");
        Console.WriteLine($"{events.Events.Count:N0} events from {Path.GetFileName(path)}: {string.Join(", ", types)}");
        var file = Path.Combine(Path.GetTempPath(), $"secmon-events-bench-{Environment.ProcessId}.jsonl");
        var warm = events.Events.Take(WarmWindow).ToList();
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                Console.WriteLine($"round {round}:");
                var counted = events.Events.Count;
                if (writerOnly)
                {
                    Measure($"writer alone, {warm.Count:N0} x {WarmRepeats} (cached), Stream.Null", warm.Count * WarmRepeats,
                        () => WriteAll(warm, Stream.Null, WarmRepeats));
                    Measure($"fields read only, no output, {warm.Count:N0} x {WarmRepeats} (cached)", warm.Count * WarmRepeats,
                        () => ReadFields(warm, WarmRepeats));
                    continue;
                }

                if (coldOnly)
                {
                    // Only the strict figure, many rounds in one process (alternate builds with this): each round a new
                    // writer, so whatever it keeps per flow is made again.
                    Measure("writer alone, all events (cold), Stream.Null", counted, () => WriteAll(events.Events, Stream.Null, 1));
                    continue;
                }

                var bare = Measure("pipeline, no event log", counted, () => RunEngine(path, new EventCounter()));
                var toNull = Measure("pipeline + event log to Stream.Null", counted, () =>
                {
                    using var writer = new EventJsonWriter(Stream.Null, ownsStream: false);
                    RunEngine(path, new FanOutSink(new EventCounter(), writer));
                });
                var toFile = Measure("pipeline + event log to a file", counted, () =>
                {
                    using var writer = new EventJsonWriter(OpenFile(file), ownsStream: true);
                    RunEngine(path, new FanOutSink(new EventCounter(), writer));
                });
                Console.WriteLine($"  {"event log in the pipeline, per event",-44} Stream.Null +{toNull - bare,5:F0} ns, file +{toFile - bare,5:F0} ns " +
                                  $"({1e9 / (toNull - bare),12:N0} / {1e9 / (toFile - bare):N0} events/s)");
                Measure("writer alone, all events (cold), Stream.Null", counted, () => WriteAll(events.Events, Stream.Null, 1));
                Measure("writer alone, all events (cold), to a file", counted, () => WriteAll(events.Events, OpenFile(file), 1));
                Measure($"writer alone, {warm.Count:N0} x {WarmRepeats} (cached), Stream.Null", warm.Count * WarmRepeats,
                    () => WriteAll(warm, Stream.Null, WarmRepeats));
                Measure($"fields read only, no output, {warm.Count:N0} x {WarmRepeats} (cached)", warm.Count * WarmRepeats,
                    () => ReadFields(warm, WarmRepeats));
            }

            if (File.Exists(file))
            {
                Console.WriteLine($"event log of the whole capture: {new FileInfo(file).Length / (double)events.Events.Count:F0} bytes per line");
            }
        }
        finally
        {
            File.Delete(file);
        }

        return 0;
    }

    /// <summary>What every writer pays whatever it writes: each field of each event read through its schema.</summary>
    private static void ReadFields(List<ProtocolEvent> events, int repeats)
    {
        var fields = new Dictionary<EventSchema, EventField[]>(ReferenceEqualityComparer.Instance);
        long sum = 0;
        for (var r = 0; r < repeats; r++)
        {
            foreach (var e in events)
            {
                if (!fields.TryGetValue(e.Schema, out var list))
                {
                    list = [.. e.Schema.Fields];
                    fields.Add(e.Schema, list);
                }

                foreach (var f in list)
                {
                    var v = f.Read(e);
                    sum += v.IsMissing ? 1 : v.Number + (v.Text?.Length ?? 0);
                }
            }
        }

        GC.KeepAlive(sum);
    }

    private static FileStream OpenFile(string file) => new(file, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);

    private static void RunEngine(string path, IEventSink sink)
    {
        var source = PcapFileSource.TryOpen(path, out var error) ?? throw new InvalidOperationException(error);
        using var files = new CaptureFileSet([source]);
        var engine = new CaptureEngine(new CaptureOptions(), sink, new NullDiagnostics(), new CaptureStats(), new SecretHasher(new byte[32]));
        engine.Run(files, null, CancellationToken.None);
    }

    private static void WriteAll(List<ProtocolEvent> events, Stream stream, int repeats)
    {
        using var writer = new EventJsonWriter(stream, ownsStream: true);
        for (var r = 0; r < repeats; r++)
        {
            foreach (var e in events)
            {
                writer.Emit(e);
            }
        }
    }

    /// <summary>Runs <paramref name="run"/> once; prints events/s, wall and CPU ns per event; returns wall ns per event.</summary>
    private static double Measure(string label, long count, Action run)
    {
        var gc0 = GC.CollectionCount(0);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        run();
        clock.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        var ns = clock.Elapsed.TotalMilliseconds * 1e6 / count;
        Console.WriteLine($"  {label,-44} {count / clock.Elapsed.TotalSeconds,12:N0} events/s {ns,6:F0} ns/event (CPU {cpu.TotalMilliseconds * 1e6 / count,5:F0} ns)  " +
                          $"{(double)bytes / count,6:F1} B allocated/event  gen0 {GC.CollectionCount(0) - gc0}");
        return ns;
    }

    private sealed class ListSink : IEventSink
    {
        public List<ProtocolEvent> Events { get; } = [];

        public void Emit(ProtocolEvent e) => Events.Add(e);
    }
}
