using SecMon.Capture;
using SecMon.Core.Events;

namespace SecMon.Capture.Tests.Protocols;

/// <summary>Collects events for assertions.</summary>
internal sealed class RecordingEventSink : IEventSink
{
    public List<ProtocolEvent> Events { get; } = [];

    public void Emit(ProtocolEvent e) => Events.Add(e);
}

/// <summary>Collects diagnostics for assertions.</summary>
internal sealed class RecordingDiagnosticSink : IDiagnosticSink
{
    public List<CaptureDiagnostic> Diagnostics { get; } = [];

    public void Report(DiagnosticKind kind, in PacketMeta meta, string message) =>
        Diagnostics.Add(new CaptureDiagnostic(kind, meta.Source, meta.SourcePacketNumber, message));
}
