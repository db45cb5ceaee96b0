using SecMon.Core.Devices;

namespace SecMon.Capture.Decoding;

/// <summary>
/// The headers of one decoded frame, as plain values plus a payload span into the frame (or into the
/// defragmenter's buffer for a reassembled IPv4 datagram). A <c>ref struct</c>: it lives on the stack for the
/// duration of one <c>Process</c> call and never allocates.
/// </summary>
internal ref struct DecodedPacket
{
    /// <summary>Sender MAC, when the link layer carried one (<see cref="HasSourceMac"/>).</summary>
    public MacAddress SourceMac;

    /// <summary>Receiver MAC, when the link layer carried one (<see cref="HasDestinationMac"/>).</summary>
    public MacAddress DestinationMac;

    /// <summary>True when <see cref="SourceMac"/> is set (Ethernet, Linux cooked capture of an Ethernet device).</summary>
    public bool HasSourceMac;

    /// <summary>True when <see cref="DestinationMac"/> is set (Ethernet).</summary>
    public bool HasDestinationMac;

    /// <summary>The outer 802.1Q/802.1ad VLAN id; 0 when untagged (VID 0 is a priority tag, IEEE 802.1Q §9.6).</summary>
    public ushort VlanId;

    /// <summary>True for a Linux cooked capture (SLL, SLL2: <c>tcpdump -i any</c>), whose frames carry the sender's MAC
    /// only and <see cref="CookedType"/>.</summary>
    public bool Cooked;

    /// <summary>How the capturing host saw a cooked frame (the SLL packet type): 0 sent to it, 1 broadcast, 2 multicast,
    /// 3 sent to another host, 4 sent by it.</summary>
    public byte CookedType;

    /// <summary>The capturing host's interface the frame was seen on, when the capture says: a Linux cooked v2 frame's
    /// interface index (<c>tcpdump -i any</c> on a router sees its LAN ports and its uplink in one capture), or in a
    /// pcapng file of several interfaces the packet's interface id + 1 (<see cref="PacketMeta.Interface"/>); 0 otherwise.</summary>
    public uint Interface;

    /// <summary>The link the frame was seen on, as far as the capture tells: its VLAN and the capturing host's interface
    /// (<see cref="Interface"/>). A host is on-link, or beyond a router, per link.</summary>
    public readonly ulong Segment => ((ulong)Interface << 16) | VlanId;

    /// <summary>For <see cref="DecodeResult.NonIp"/> from Ethernet or Linux cooked captures: the innermost EtherType (after
    /// any VLAN tags), with <see cref="Payload"/> the bytes after it and <see cref="MissingPayloadBytes"/> what the
    /// capture cut. 0 otherwise (an 802.3 length field, a loopback family).</summary>
    public ushort EtherType;

    /// <summary>Source address.</summary>
    public IpAddress Source;

    /// <summary>Destination address.</summary>
    public IpAddress Destination;

    /// <summary>IP protocol number of the transport (6 TCP, 17 UDP, ...): the last IPv6 next-header value.</summary>
    public byte Protocol;

    /// <summary>IPv4 TTL or IPv6 hop limit of the (innermost) IP header.</summary>
    public byte Ttl;

    /// <summary>IPv4 identification, or an IPv6 fragment header's identification (0 for other IPv6 packets).</summary>
    public uint FragmentId;

    /// <summary>Byte offset of this fragment's data in the datagram (fragments only).</summary>
    public int FragmentOffset;

    /// <summary>The IPv4 MF flag or the IPv6 fragment header's M flag (fragments only).</summary>
    public bool MoreFragments;

    /// <summary>TCP/UDP source port.</summary>
    public ushort SourcePort;

    /// <summary>TCP/UDP destination port.</summary>
    public ushort DestinationPort;

    /// <summary>TCP control bits.</summary>
    public TcpFlags Flags;

    /// <summary>TCP sequence number.</summary>
    public uint Sequence;

    /// <summary>TCP acknowledgment number (meaningful when <see cref="Flags"/> has ACK).</summary>
    public uint Acknowledgment;

    /// <summary>TCP window (unscaled).</summary>
    public ushort Window;

    /// <summary>The TCP or UDP checksum as sent (not verified: offloading leaves it wrong in captures taken on the
    /// sender); it covers the whole segment, so two packets with the same one are almost surely the same packet.</summary>
    public ushort TransportChecksum;

    /// <summary>The transport payload that was captured (for an IPv4 fragment: the fragment's data).</summary>
    public ReadOnlySpan<byte> Payload;

    /// <summary>Payload bytes the headers announce but the capture did not keep (snap length). 0 normally.</summary>
    public int MissingPayloadBytes;

    /// <summary>Tunnel headers taken off to reach these headers (VXLAN, GRE, ERSPAN: <see cref="PacketDecoder"/>);
    /// 0 for a packet seen as it was sent.</summary>
    public byte Tunnels;

    /// <summary>True for TCP.</summary>
    public readonly bool IsTcp => Protocol == PacketDecoder.ProtocolTcp;
}
