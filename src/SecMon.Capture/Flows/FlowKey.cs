using SecMon.Capture.Decoding;

namespace SecMon.Capture.Flows;

/// <summary>
/// The canonical, bidirectional identity of a flow: both directions of a conversation produce the same key.
/// Endpoint A is the lower (address, port) pair, B the higher. The outer VLAN id is part of the key, as in
/// Suricata's default (vlan.use-for-tracking): the same addresses on two VLANs are two networks. A sender whose
/// address is unspecified (0.0.0.0 or ::, a DHCP client before it has a lease: RFC 2131 §4.1) is told apart by its
/// link-layer address (<see cref="Link"/>): every such client sends the same tuple, 0.0.0.0:68 to
/// 255.255.255.255:67, and sharing one flow would give every client the first one's MAC.
/// </summary>
internal readonly record struct FlowKey
{
    private FlowKey(IpAddress addressA, ushort portA, IpAddress addressB, ushort portB, byte protocol, ushort vlanId, ulong link)
    {
        Link = link;
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

    /// <summary>For a sender with an unspecified address, its MAC with bit 48 set (so an all-zero MAC still counts);
    /// 0 otherwise, and when the link layer carried no MAC.</summary>
    public ulong Link { get; }

    /// <summary>The key's parts other than the addresses' words and <see cref="Link"/>, packed in one word: the ports, VLAN
    /// id, protocol and both addresses' families (what <see cref="FromWords"/> reads back).</summary>
    public ulong Rest => ((ulong)PortA << 48) | ((ulong)PortB << 32) | ((ulong)VlanId << 16) | ((ulong)Protocol << 8) |
                         (AddressA.IsV6 ? 2UL : 0) | (AddressB.IsV6 ? 1UL : 0);

    /// <summary>A key from its parts (already canonical: tests).</summary>
    public static FlowKey FromParts(IpAddress addressA, ushort portA, IpAddress addressB, ushort portB, byte protocol, ushort vlanId, ulong link) =>
        new(addressA, portA, addressB, portB, protocol, vlanId, link);

    /// <summary>A key from its words as <see cref="Flow"/> holds them (already canonical).</summary>
    public static FlowKey FromWords(ulong aHigh, ulong aLow, ulong bHigh, ulong bLow, ulong rest, ulong link) =>
        new(new IpAddress(aHigh, aLow, RestAIsV6(rest)), RestPortA(rest), new IpAddress(bHigh, bLow, RestBIsV6(rest)), RestPortB(rest),
            RestProtocol(rest), RestVlanId(rest), link);

    /// <summary>Endpoint A's port in a <see cref="Rest"/> word.</summary>
    public static ushort RestPortA(ulong rest) => (ushort)(rest >> 48);

    /// <summary>Endpoint B's port in a <see cref="Rest"/> word.</summary>
    public static ushort RestPortB(ulong rest) => (ushort)(rest >> 32);

    /// <summary>The VLAN id in a <see cref="Rest"/> word.</summary>
    public static ushort RestVlanId(ulong rest) => (ushort)(rest >> 16);

    /// <summary>The IP protocol in a <see cref="Rest"/> word.</summary>
    public static byte RestProtocol(ulong rest) => (byte)(rest >> 8);

    /// <summary>Whether endpoint A's address is IPv6, in a <see cref="Rest"/> word.</summary>
    public static bool RestAIsV6(ulong rest) => (rest & 2) != 0;

    /// <summary>Whether endpoint B's address is IPv6, in a <see cref="Rest"/> word.</summary>
    public static bool RestBIsV6(ulong rest) => (rest & 1) != 0;

    /// <summary>Builds the key of a packet; <paramref name="sourceIsA"/> tells which canonical endpoint sent it.
    /// <paramref name="sourceMac"/> (0 when the link layer carried none) counts only when the source address is
    /// unspecified.</summary>
    public static FlowKey Create(IpAddress source, ushort sourcePort, IpAddress destination, ushort destinationPort,
                                 byte protocol, ushort vlanId, out bool sourceIsA, ulong sourceMac = 0)
    {
        var c = source.CompareTo(destination);
        sourceIsA = c < 0 || (c == 0 && sourcePort <= destinationPort);
        var link = sourceMac != 0 && (source.Low | source.High) == 0 ? sourceMac | (1UL << 48) : 0;
        return sourceIsA
            ? new FlowKey(source, sourcePort, destination, destinationPort, protocol, vlanId, link)
            : new FlowKey(destination, destinationPort, source, sourcePort, protocol, vlanId, link);
    }

    /// <summary>Field-wise equality, written out so the dictionary lookup is a handful of compares.</summary>
    public bool Equals(FlowKey other) =>
        AddressA.Low == other.AddressA.Low && AddressB.Low == other.AddressB.Low &&
        PortA == other.PortA && PortB == other.PortB &&
        AddressA.High == other.AddressA.High && AddressB.High == other.AddressB.High &&
        Protocol == other.Protocol && VlanId == other.VlanId && Link == other.Link &&
        AddressA.IsV6 == other.AddressA.IsV6 && AddressB.IsV6 == other.AddressB.IsV6;

    /// <summary><see cref="HashCode"/> is seeded randomly per process, so an attacker cannot precompute
    /// colliding tuples to degrade the flow table (hash flooding).</summary>
    public override int GetHashCode() =>
        HashCode.Combine(AddressA.Low, AddressA.High, AddressB.Low, AddressB.High,
                         PortA | (PortB << 16), Protocol | (VlanId << 8) | (AddressA.IsV6 ? 1 << 24 : 0), Link);
}
