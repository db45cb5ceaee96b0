using System.Diagnostics;
using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Sources;
using SecMon.Core;
using SecMon.Core.Events;

/// <summary>
/// The event log writer alone (<c>secmon analyze --events FILE</c>): the events of a capture are dissected once and
/// kept in memory, then written by <see cref="EventJsonWriter"/> round after round, to <see cref="Stream.Null"/>
/// (the writer's own cost) and to a file as <c>analyze</c> opens it (64 KiB FileStream buffer).
/// </summary>
internal static class EventsBench
{
    public static int Run(string path, int rounds)
    {
        var events = Collect(path);
        var types = events.GroupBy(e => e.Type).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count():N0}");
        Console.WriteLine($"{events.Count:N0} events from {Path.GetFileName(path)}: {string.Join(", ", types)}");
        var file = Path.Combine(Path.GetTempPath(), $"secmon-events-bench-{Environment.ProcessId}.jsonl");
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                Measure($"round {round}: to Stream.Null", events, () => Stream.Null, null);
                Measure($"round {round}: to a file", events,
                    () => new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16), file);
            }
        }
        finally
        {
            File.Delete(file);
        }

        return 0;
    }

    private static List<ProtocolEvent> Collect(string path)
    {
        var source = PcapFileSource.TryOpen(path, out var error) ?? throw new InvalidOperationException(error);
        using var files = new CaptureFileSet([source]);
        var sink = new ListSink();
        var engine = new CaptureEngine(new CaptureOptions(), sink, new NullDiagnostics(), new CaptureStats(), new SecretHasher(new byte[32]));
        engine.Run(files, null, CancellationToken.None);
        return sink.Events;
    }

    private static void Measure(string label, List<ProtocolEvent> events, Func<Stream> open, string? file)
    {
        var gc0 = GC.CollectionCount(0);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        using (var writer = new EventJsonWriter(open(), ownsStream: true))
        {
            foreach (var e in events)
            {
                writer.Emit(e);
            }
        }

        clock.Stop();
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        var size = file is null ? "" : $"  {new FileInfo(file).Length / (double)events.Count,5:F0} B/line";
        Console.WriteLine($"{label,-28} {events.Count / clock.Elapsed.TotalSeconds,12:N0} events/s  " +
                          $"{clock.Elapsed.TotalMilliseconds * 1e6 / events.Count,6:F0} ns/event  " +
                          $"{(double)bytes / events.Count,6:F1} B allocated/event  gen0 {GC.CollectionCount(0) - gc0}{size}");
    }

    private sealed class ListSink : IEventSink
    {
        public List<ProtocolEvent> Events { get; } = [];

        public void Emit(ProtocolEvent e) => Events.Add(e);
    }
}
