using System.Diagnostics;
using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Protocols;
using SecMon.Core;
using SecMon.Core.Events;

namespace SecMon.Hosting;

/// <summary>
/// One analysis run, whatever the source (files or an interface): the engine, the event outputs, counters and
/// the summary. Commands create one, feed it, and ask it for the exit code.
/// </summary>
internal sealed class AnalysisSession : IDisposable
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly EventJsonWriter? _eventWriter;

    /// <summary>Creates the session; <paramref name="eventsOut"/> receives JSON lines when given;
    /// <paramref name="consumers"/> (detection, inventory) see every event after it is written.</summary>
    public AnalysisSession(CaptureOptions options, ProtocolCatalogue protocols, SecretHasher hasher, Stream? eventsOut, params IEventSink[] consumers)
    {
        Diagnostics = new DiagnosticReporter(Console.Error);
        var sinks = new List<IEventSink> { Counter };
        if (eventsOut is not null)
        {
            _eventWriter = new EventJsonWriter(eventsOut, ownsStream: true);
            sinks.Add(_eventWriter);
        }

        sinks.AddRange(consumers);
        Engine = new CaptureEngine(options, new FanOutSink([.. sinks]), Diagnostics, Stats, hasher, protocols);
    }

    /// <summary>Counters.</summary>
    public CaptureStats Stats { get; } = new();

    /// <summary>Events by type.</summary>
    public EventCounter Counter { get; } = new();

    /// <summary>Diagnostics printed and counted.</summary>
    public DiagnosticReporter Diagnostics { get; }

    /// <summary>The engine.</summary>
    public CaptureEngine Engine { get; }

    /// <summary>Elapsed time since the session was created.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Pushes buffered events out (live capture does this every second, so a reader sees them at once).</summary>
    public void FlushEvents() => _eventWriter?.Flush();

    /// <summary>Flushes outputs and prints the summary to stderr. <paramref name="analysedAt"/> (a <see cref="Stopwatch"/>
    /// timestamp; 0: now) ends the time the summary gives: when every finding was stored or in an output's spool, so that
    /// what the network outputs took to deliver them after it is not counted as the analysis's (each output says its own).</summary>
    public void Finish(string what, long analysedAt = 0)
    {
        _eventWriter?.Flush();
        var elapsed = analysedAt > _started ? Stopwatch.GetElapsedTime(_started, analysedAt) : Elapsed;
        RunSummary.Write(Console.Error, what, Stats, Counter, Diagnostics, elapsed);
    }

    /// <summary>Opens the events output: <c>-</c> is stdout, anything else a file (created or truncated).</summary>
    public static Stream OpenEventsOutput(string path) =>
        path == "-"
            ? new BufferedStream(Console.OpenStandardOutput(), 1 << 16)
            : new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);

    /// <summary>All known event types (for rule validation).</summary>
    public static IReadOnlyList<EventSchema> EventSchemas => ProtocolCatalogue.Shipped.EventSchemas;

    /// <inheritdoc />
    public void Dispose() => _eventWriter?.Dispose();
}
