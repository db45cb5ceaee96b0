using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture;

/// <summary>Receives protocol events from dissectors, on the capture thread, in capture order.</summary>
internal interface IEventSink
{
    /// <summary>Takes one event; must not throw and must not block for long.</summary>
    void Emit(ProtocolEvent e);

    /// <summary>
    /// The flow of <paramref name="toServer"/> (and its <see cref="FlowContext.Reverse"/>) ended: closed, expired, evicted
    /// or at the end of the input. No event of it follows, so a consumer that keeps state per flow (the rules' session
    /// memory, the inventory's flow devices) forgets it here instead of waiting for its own bound. Called in capture
    /// order with the events, after the flow's last one; must not throw. Default: nothing to forget.
    /// </summary>
    void FlowEnded(FlowContext toServer)
    {
    }
}
