using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Core.Flows;

namespace SecMon.Capture;

/// <summary>Hosts seen in IP traffic (<see cref="Hosts.HostTracker"/>) and senders off the segment (<see
/// cref="RoutedAddresses"/>): asked on the first packet of each direction of a flow only.</summary>
internal sealed partial class PacketProcessor
{
    private void SeeHost(Flow flow, ref DecodedPacket packet, FlowDirection direction, in PacketMeta meta)
    {
        if ((direction == FlowDirection.ToServer ? flow.PacketsToServer : flow.PacketsToClient) != 0)
        {
            return;
        }

        // The first answer of a side the flow's first packet could not judge (a cloud server's SYN-ACK through the
        // gateway): from here its MAC is no longer taken for its own, on the flow and on both contexts.
        if ((direction == FlowDirection.ToServer ? flow.HasClientMac : flow.HasServerMac) && _routed.SenderIsRouted(ref packet))
        {
            flow.ForgetMac(client: direction == FlowDirection.ToServer);
        }

        _hosts?.OnFirstPacket(flow, direction, meta);
    }
}
