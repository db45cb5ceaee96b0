using SecMon.Capture.Protocols;
using SecMon.Capture.Sources;
using SecMon.Core;
using SecMon.Core.Events;

namespace SecMon.Capture.Tests.Protocols;

/// <summary>Runs a recorded capture through the whole capture engine, as <c>secmon analyze</c> does, and keeps what came out.</summary>
internal static class SampleEngine
{
    /// <summary>The events, counters and diagnostics of <paramref name="pcap"/> dissected by <paramref name="catalogue"/> (the
    /// shipped protocols by default) with <paramref name="hasher"/> (an all-zero key by default); with
    /// <paramref name="complete"/> the open flows are closed at the end, as at the end of a run.</summary>
    public static (List<ProtocolEvent> Events, CaptureStats Stats, List<CaptureDiagnostic> Diagnostics) Run(string pcap,
        ProtocolCatalogue? catalogue = null, SecretHasher? hasher = null, bool complete = true)
    {
        var events = new RecordingEventSink();
        var diagnostics = new RecordingDiagnosticSink();
        var stats = new CaptureStats();
        var engine = new CaptureEngine(new CaptureOptions(), events, diagnostics, stats, hasher ?? new SecretHasher(new byte[32]), catalogue);
        using var files = new CaptureFileSet([PcapFileSource.TryOpen(pcap, out var error) ?? throw new InvalidOperationException(error)]);
        engine.Run(files, null, CancellationToken.None);
        if (complete)
        {
            engine.Complete();
        }

        return (events.Events, stats, diagnostics.Diagnostics);
    }
}
