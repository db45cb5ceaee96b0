using SecMon.Capture.Flows;
using SecMon.Core.Flows;

namespace SecMon.Capture;

/// <summary>Hosts seen in IP traffic (<see cref="Hosts.HostTracker"/>): asked on the first packet of each direction of a
/// flow only.</summary>
internal sealed partial class PacketProcessor
{
    private void SeeHost(Flow flow, FlowDirection direction, in PacketMeta meta)
    {
        if (_hosts is not null && (direction == FlowDirection.ToServer ? flow.PacketsToServer : flow.PacketsToClient) == 0)
        {
            _hosts.OnFirstPacket(flow, direction, meta);
        }
    }
}
