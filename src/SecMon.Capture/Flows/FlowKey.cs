using SecMon.Capture.Decoding;

namespace SecMon.Capture.Flows;

/// <summary>
/// The canonical, bidirectional identity of a flow: both directions of a conversation produce the same key.
/// Endpoint A is the lower (address, port) pair, B the higher. The outer VLAN id is part of the key, as in
/// Suricata's default (vlan.use-for-tracking): the same addresses on two VLANs are two networks.
/// </summary>
internal readonly record struct FlowKey
{
    private FlowKey(IpAddress addressA, ushort portA, IpAddress addressB, ushort portB, byte protocol, ushort vlanId)
    {
        AddressA = addressA;
        PortA = portA;
        AddressB = addressB;
        PortB = portB;
        Protocol = protocol;
        VlanId = vlanId;
    }

    /// <summary>The lower endpoint's address.</summary>
    public IpAddress AddressA { get; }

    /// <summary>The lower endpoint's port.</summary>
    public ushort PortA { get; }

    /// <summary>The higher endpoint's address.</summary>
    public IpAddress AddressB { get; }

    /// <summary>The higher endpoint's port.</summary>
    public ushort PortB { get; }

    /// <summary>IP protocol number (6 or 17).</summary>
    public byte Protocol { get; }

    /// <summary>Outer VLAN id, 0 when untagged.</summary>
    public ushort VlanId { get; }

    /// <summary>Builds the key of a packet; <paramref name="sourceIsA"/> tells which canonical endpoint sent it.</summary>
    public static FlowKey Create(IpAddress source, ushort sourcePort, IpAddress destination, ushort destinationPort,
                                 byte protocol, ushort vlanId, out bool sourceIsA)
    {
        var c = source.CompareTo(destination);
        sourceIsA = c < 0 || (c == 0 && sourcePort <= destinationPort);
        return sourceIsA
            ? new FlowKey(source, sourcePort, destination, destinationPort, protocol, vlanId)
            : new FlowKey(destination, destinationPort, source, sourcePort, protocol, vlanId);
    }

    /// <summary>Field-wise equality, written out so the dictionary lookup is a handful of compares.</summary>
    public bool Equals(FlowKey other) =>
        AddressA.Low == other.AddressA.Low && AddressB.Low == other.AddressB.Low &&
        PortA == other.PortA && PortB == other.PortB &&
        AddressA.High == other.AddressA.High && AddressB.High == other.AddressB.High &&
        Protocol == other.Protocol && VlanId == other.VlanId &&
        AddressA.IsV6 == other.AddressA.IsV6 && AddressB.IsV6 == other.AddressB.IsV6;

    /// <summary><see cref="HashCode"/> is seeded randomly per process, so an attacker cannot precompute
    /// colliding tuples to degrade the flow table (hash flooding).</summary>
    public override int GetHashCode() =>
        HashCode.Combine(AddressA.Low, AddressA.High, AddressB.Low, AddressB.High,
                         PortA | (PortB << 16), Protocol | (VlanId << 8) | (AddressA.IsV6 ? 1 << 24 : 0));
}
