using SecMon.Core.Events;

namespace SecMon.Capture;

/// <summary>Receives protocol events from dissectors, on the capture thread, in capture order.</summary>
internal interface IEventSink
{
    /// <summary>Takes one event; must not throw and must not block for long.</summary>
    void Emit(ProtocolEvent e);
}
