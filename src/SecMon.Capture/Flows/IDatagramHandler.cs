using SecMon.Core.Flows;

namespace SecMon.Capture.Flows;

/// <summary>
/// Extension point for UDP protocols (CoAP, DNS, mDNS...): receives every UDP payload with its flow direction.
/// UDP flows are tracked and counted today without one; a UDP dissector plugs in here
/// (<see cref="PacketProcessor.DatagramHandler"/>) without touching the packet path.
/// </summary>
internal interface IDatagramHandler
{
    /// <summary>One datagram's payload (valid only during the call) in the direction of <paramref name="flow"/>.</summary>
    void OnDatagram(FlowContext flow, ReadOnlySpan<byte> payload, in PacketMeta meta);
}
