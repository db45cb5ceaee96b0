using System.Buffers.Binary;
using SecMon.Core.Devices;

namespace SecMon.Capture.Decoding;

/// <summary>
/// Stateless span parsers from a link-layer frame down to the TCP/UDP payload. Every read is preceded by a
/// length check; nothing throws for malformed input: the result says what was wrong and <c>error</c> says it in
/// words (which header, which length). Messages are built only on failure, so the success path does not allocate.
/// </summary>
/// <remarks>
/// Truncated or malformed? When a length field points past the captured bytes and the difference is within what
/// the capture cut (original length minus captured length), the capture truncated the frame (snap length): a
/// header cut that way is <see cref="DecodeResult.Truncated"/>, a payload cut that way is kept with
/// <see cref="DecodedPacket.MissingPayloadBytes"/> set. Otherwise the length field lies: <see cref="DecodeResult.Malformed"/>.
/// Checksums are not verified: on a capture from the sending host, checksum offload leaves them wrong.
/// </remarks>
internal static class PacketDecoder
{
    /// <summary>IP protocol number of TCP.</summary>
    public const byte ProtocolTcp = 6;

    /// <summary>IP protocol number of UDP.</summary>
    public const byte ProtocolUdp = 17;

    private const int EtherTypeIpv4 = 0x0800;
    private const int EtherTypeIpv6 = 0x86DD;
    private const int EtherTypeVlan = 0x8100;   // IEEE 802.1Q
    private const int EtherTypeQinQ = 0x88A8;   // IEEE 802.1ad
    private const int EtherTypeQinQOld = 0x9100; // pre-standard Q-in-Q
    private const int EtherTypeMinimum = 0x0600; // below: an IEEE 802.3 length field, not an EtherType

    private const int Ipv4MinHeader = 20;
    private const int Ipv6Header = 40;
    private const int TcpMinHeader = 20;
    private const int UdpHeader = 8;

    /// <summary>Decodes one frame of the given pcap link type.</summary>
    /// <param name="linkType">pcap LINKTYPE value (see <see cref="LinkTypes"/>).</param>
    /// <param name="frame">The captured bytes.</param>
    /// <param name="originalLength">The frame's length on the wire (≥ captured length when the snap length cut it).</param>
    /// <param name="packet">The decoded headers; partially set when the result is not <see cref="DecodeResult.Ok"/>.</param>
    /// <param name="error">Set when the result is Truncated, Malformed or UnknownLinkType.</param>
    public static DecodeResult Decode(int linkType, ReadOnlySpan<byte> frame, int originalLength,
                                      out DecodedPacket packet, out string? error)
    {
        packet = default;
        var uncaptured = originalLength > frame.Length ? originalLength - frame.Length : 0;
        var result = DecodeLink(linkType, frame, uncaptured, ref packet, out error);
        // Traffic mirrored to the sensor through a tunnel (a cloud traffic mirror's VXLAN, a switch's remote SPAN over
        // GRE/ERSPAN) is analysed as the packet inside it.
        while (result is DecodeResult.Ok or DecodeResult.OtherTransport && MayBeTunnel(packet) && packet.Tunnels < MaxTunnels &&
               TryTunnelled(packet, out var innerOffset, out var innerType))
        {
            var inner = packet.Payload[innerOffset..];
            var missing = packet.MissingPayloadBytes;
            var tunnels = (byte)(packet.Tunnels + 1);
            packet = default;
            packet.Tunnels = tunnels;
            result = innerType == TunnelledEthernet
                ? DecodeEthernet(inner, missing, ref packet, out error)
                : DecodeEtherType(innerType, inner, 0, missing, ref packet, out error);
        }

        return result;
    }

    /// <summary>Tunnels inside tunnels taken off at most (the rest is analysed as the tunnel's own packets).</summary>
    public const int MaxTunnels = 3;

    /// <summary>The UDP port of VXLAN (RFC 7348 §5, IANA).</summary>
    public const ushort VxlanPort = 4789;

    private const byte ProtocolGre = 47;
    private const int TunnelledEthernet = -1;

    // The packet path's check, inlined: only GRE and UDP to VXLAN's port go on to TryTunnelled.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool MayBeTunnel(in DecodedPacket packet) =>
        packet.Protocol == ProtocolGre || (packet.Protocol == ProtocolUdp && packet.DestinationPort == VxlanPort);

    // VXLAN (RFC 7348 §5: flags with the I bit (0x08) and otherwise zero, 24 reserved bits, VNI, 8 reserved bits; an
    // Ethernet frame follows) to UDP port 4789; GRE (RFC 2784, RFC 2890's key and sequence number; version 0 only)
    // carrying Ethernet (0x6558, transparent bridging), IPv4 or IPv6, or ERSPAN: type I (0x88BE without the
    // sequence bit: no header), type II (0x88BE: an 8-byte header) or type III (0x22EB: 12 bytes, 8 more when its O
    // bit says a platform subheader follows), each then an Ethernet frame. The inner packet starts at innerOffset of the
    // payload; innerType: TunnelledEthernet or an EtherType.
    private static bool TryTunnelled(in DecodedPacket packet, out int innerOffset, out int innerType)
    {
        innerOffset = 0;
        innerType = TunnelledEthernet;
        var payload = packet.Payload;
        if (packet.Protocol == ProtocolUdp)
        {
            if (payload.Length < 8 + 14 || payload[0] != 0x08 || payload[1] != 0 || payload[2] != 0 || payload[3] != 0)
            {
                return false;
            }

            innerOffset = 8;
            return true;
        }

        if (packet.FragmentOffset != 0 || packet.MoreFragments || payload.Length < 4)
        {
            return false;
        }

        var flags = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if ((flags & 0x4007) != 0 || (flags & 0x0FF8) != 0)
        {
            return false; // routing present, a version other than 0 (1 is PPTP's), or reserved bits set
        }

        var offset = 4 + ((flags & 0x8000) != 0 ? 4 : 0) + ((flags & 0x2000) != 0 ? 4 : 0) + ((flags & 0x1000) != 0 ? 4 : 0);
        var protocol = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
        switch (protocol)
        {
            case 0x6558:
                break;
            case EtherTypeIpv4:
            case EtherTypeIpv6:
                innerType = protocol;
                break;
            case 0x88BE:
                offset += (flags & 0x1000) != 0 ? 8 : 0; // type II has a sequence number and its header; type I neither
                break;
            case 0x22EB:
                if (payload.Length >= offset + 12 && (payload[offset + 11] & 0x01) != 0)
                {
                    offset += 8;
                }

                offset += 12;
                break;
            default:
                return false;
        }

        if (payload.Length < offset + (innerType == TunnelledEthernet ? 14 : 20))
        {
            return false; // too short for what it would carry: counted as the tunnel's own packet
        }

        innerOffset = offset;
        return true;
    }

    private static DecodeResult DecodeLink(int linkType, ReadOnlySpan<byte> frame, int uncaptured, ref DecodedPacket packet, out string? error)
    {
        error = null;
        switch (linkType)
        {
            case LinkTypes.Ethernet:
                return DecodeEthernet(frame, uncaptured, ref packet, out error);
            case LinkTypes.Null:
                return DecodeLoopback(frame, uncaptured, networkOrderOnly: false, ref packet, out error);
            case LinkTypes.Loop:
                return DecodeLoopback(frame, uncaptured, networkOrderOnly: true, ref packet, out error);
            case LinkTypes.Raw:
            case LinkTypes.RawBsd12:
            case LinkTypes.RawBsd14:
                return DecodeIp(frame, uncaptured, ref packet, out error);
            case LinkTypes.Ipv4:
                return DecodeIpv4(frame, uncaptured, ref packet, out error);
            case LinkTypes.Ipv6:
                return DecodeIpv6(frame, uncaptured, ref packet, out error);
            case LinkTypes.LinuxSll:
                return DecodeSll(frame, uncaptured, ref packet, out error);
            case LinkTypes.LinuxSll2:
                return DecodeSll2(frame, uncaptured, ref packet, out error);
            default:
                error = $"link type {linkType} is not supported (supported: Ethernet, NULL/LOOP, RAW, Linux SLL/SLL2, IPv4, IPv6)";
                return DecodeResult.UnknownLinkType;
        }
    }

    /// <summary>Decodes the TCP or UDP header at the start of an IP payload (also used for reassembled datagrams).</summary>
    /// <param name="protocol">IP protocol number.</param>
    /// <param name="segment">The IP payload that was captured.</param>
    /// <param name="missing">IP payload bytes the capture cut after <paramref name="segment"/>.</param>
    /// <param name="packet">Receives ports, TCP fields and the payload.</param>
    /// <param name="error">Set on Truncated or Malformed.</param>
    public static DecodeResult DecodeTransport(byte protocol, ReadOnlySpan<byte> segment, int missing,
                                               ref DecodedPacket packet, out string? error)
    {
        error = null;
        packet.Protocol = protocol;
        if (protocol == ProtocolTcp)
        {
            // RFC 9293 §3.1: data offset in 32-bit words, at least 5.
            if (segment.Length < TcpMinHeader)
            {
                return Short("TCP header", TcpMinHeader, segment.Length, missing, out error);
            }

            var dataOffset = (segment[12] >> 4) * 4;
            if (dataOffset < TcpMinHeader)
            {
                error = $"TCP data offset {dataOffset} bytes is below the minimum {TcpMinHeader}";
                return DecodeResult.Malformed;
            }

            if (dataOffset > segment.Length)
            {
                return Short("TCP header with options", dataOffset, segment.Length, missing, out error);
            }

            packet.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(segment);
            packet.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(segment[2..]);
            packet.Sequence = BinaryPrimitives.ReadUInt32BigEndian(segment[4..]);
            packet.Acknowledgment = BinaryPrimitives.ReadUInt32BigEndian(segment[8..]);
            packet.Flags = (TcpFlags)segment[13];
            packet.Window = BinaryPrimitives.ReadUInt16BigEndian(segment[14..]);
            packet.TransportChecksum = BinaryPrimitives.ReadUInt16BigEndian(segment[16..]);
            packet.Payload = segment[dataOffset..];
            packet.MissingPayloadBytes = missing;
            return DecodeResult.Ok;
        }

        if (protocol == ProtocolUdp)
        {
            if (segment.Length < UdpHeader)
            {
                return Short("UDP header", UdpHeader, segment.Length, missing, out error);
            }

            packet.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(segment);
            packet.TransportChecksum = BinaryPrimitives.ReadUInt16BigEndian(segment[6..]);
            packet.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(segment[2..]);
            int udpLength = BinaryPrimitives.ReadUInt16BigEndian(segment[4..]);
            if (udpLength == 0)
            {
                // RFC 2675 §4: a UDP jumbogram carries length 0; the IP layer's length is the datagram's.
                packet.Payload = segment[UdpHeader..];
                packet.MissingPayloadBytes = missing;
                return DecodeResult.Ok;
            }

            if (udpLength < UdpHeader)
            {
                error = $"UDP length {udpLength} is below the header size {UdpHeader}";
                return DecodeResult.Malformed;
            }

            if (udpLength > segment.Length)
            {
                if (udpLength - segment.Length > missing)
                {
                    error = $"UDP length {udpLength} exceeds the {segment.Length + missing}-byte IP payload";
                    return DecodeResult.Malformed;
                }

                packet.Payload = segment[UdpHeader..];
                packet.MissingPayloadBytes = udpLength - segment.Length;
                return DecodeResult.Ok;
            }

            // Bytes after the UDP length (inside the IP payload) are not part of the datagram.
            packet.Payload = segment[UdpHeader..udpLength];
            packet.MissingPayloadBytes = 0;
            return DecodeResult.Ok;
        }

        // ICMP and the rest: the IP payload, for the scan detector (Decoding/IcmpReader).
        packet.Payload = segment;
        packet.MissingPayloadBytes = missing;
        return DecodeResult.OtherTransport;
    }

    private static DecodeResult DecodeEthernet(ReadOnlySpan<byte> frame, int uncaptured, ref DecodedPacket packet, out string? error)
    {
        // IEEE 802.3: destination MAC, source MAC, EtherType; then zero or more 802.1Q/802.1ad tags (4 bytes each).
        if (frame.Length < 14)
        {
            return Short("Ethernet header", 14, frame.Length, uncaptured, out error);
        }

        packet.DestinationMac = MacAddress.Read(frame);
        packet.SourceMac = MacAddress.Read(frame[6..]);
        packet.HasDestinationMac = true;
        packet.HasSourceMac = true;
        int etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        return DecodeEtherType(etherType, frame, 14, uncaptured, ref packet, out error);
    }

    private static DecodeResult DecodeEtherType(int etherType, ReadOnlySpan<byte> frame, int offset, int uncaptured,
                                                ref DecodedPacket packet, out string? error)
    {
        error = null;
        while (etherType is EtherTypeVlan or EtherTypeQinQ or EtherTypeQinQOld)
        {
            if (frame.Length - offset < 4)
            {
                return Short($"802.1Q tag (TCI and inner EtherType at offset {offset})", 4, frame.Length - offset, uncaptured, out error);
            }

            // TCI: PCP(3) DEI(1) VID(12). The outermost tag with a non-zero VID names the VLAN; VID 0 only
            // carries a priority (IEEE 802.1Q §9.6), so a priority tag leaves the packet untagged.
            var vid = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]) & 0x0FFF);
            if (packet.VlanId == 0)
            {
                packet.VlanId = vid;
            }

            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(offset + 2)..]);
            offset += 4;
        }

        switch (etherType)
        {
            case EtherTypeIpv4:
                return DecodeIpv4(frame[offset..], uncaptured, ref packet, out error);
            case EtherTypeIpv6:
                return DecodeIpv6(frame[offset..], uncaptured, ref packet, out error);
            case >= EtherTypeMinimum:
                // ARP, LLDP, MPLS, PPPoE...: the link-layer protocols (Protocols/LinkDispatcher) may read the payload.
                packet.EtherType = (ushort)etherType;
                packet.Payload = frame[offset..];
                packet.MissingPayloadBytes = uncaptured;
                return DecodeResult.NonIp;
            default:
                return DecodeResult.NonIp; // 802.3 LLC: below 0x0600 the field is a length, not an EtherType
        }
    }

    private static DecodeResult DecodeLoopback(ReadOnlySpan<byte> frame, int uncaptured, bool networkOrderOnly,
                                               ref DecodedPacket packet, out string? error)
    {
        // LINKTYPE_NULL: 4-byte address family in the byte order of the capturing host, which may differ
        // from the reader's, so both orders are tried. LINKTYPE_LOOP: network byte order.
        error = null;
        if (frame.Length < 4)
        {
            return Short("loopback header", 4, frame.Length, uncaptured, out error);
        }

        var family = BinaryPrimitives.ReadUInt32BigEndian(frame);
        if (!networkOrderOnly && !IsKnownFamily(family))
        {
            family = BinaryPrimitives.ReadUInt32LittleEndian(frame);
        }

        return family switch
        {
            2 => DecodeIpv4(frame[4..], uncaptured, ref packet, out error),
            // AF_INET6 differs per OS: 10 Linux, 24 OpenBSD/NetBSD/DLT_NULL default, 28 FreeBSD, 30 macOS.
            10 or 24 or 28 or 30 => DecodeIpv6(frame[4..], uncaptured, ref packet, out error),
            _ => DecodeResult.NonIp,
        };

        static bool IsKnownFamily(uint f) => f is 2 or 10 or 24 or 28 or 30;
    }

    private static DecodeResult DecodeSll(ReadOnlySpan<byte> frame, int uncaptured, ref DecodedPacket packet, out string? error)
    {
        // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html: packet type(2) ARPHRD(2) address length(2)
        // address(8) protocol(2). With ARPHRD_ETHER (1) and a 6-byte address, the address is the sender's MAC.
        if (frame.Length < 16)
        {
            return Short("Linux cooked (SLL) header", 16, frame.Length, uncaptured, out error);
        }

        packet.Cooked = true;
        packet.CookedType = (byte)Math.Min(BinaryPrimitives.ReadUInt16BigEndian(frame), byte.MaxValue);
        int hardwareType = BinaryPrimitives.ReadUInt16BigEndian(frame[2..]);
        int addressLength = BinaryPrimitives.ReadUInt16BigEndian(frame[4..]);
        if (hardwareType == 1 && addressLength == 6)
        {
            packet.SourceMac = MacAddress.Read(frame[6..]);
            packet.HasSourceMac = true;
        }

        int protocol = BinaryPrimitives.ReadUInt16BigEndian(frame[14..]);
        return DecodeEtherType(protocol, frame, 16, uncaptured, ref packet, out error);
    }

    private static DecodeResult DecodeSll2(ReadOnlySpan<byte> frame, int uncaptured, ref DecodedPacket packet, out string? error)
    {
        // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html: protocol(2) reserved(2) interface(4)
        // ARPHRD(2) packet type(1) address length(1) address(8).
        if (frame.Length < 20)
        {
            return Short("Linux cooked v2 (SLL2) header", 20, frame.Length, uncaptured, out error);
        }

        packet.Cooked = true;
        packet.CookedType = frame[10];
        packet.Interface = BinaryPrimitives.ReadUInt32BigEndian(frame[4..]);
        int hardwareType = BinaryPrimitives.ReadUInt16BigEndian(frame[8..]);
        if (hardwareType == 1 && frame[11] == 6)
        {
            packet.SourceMac = MacAddress.Read(frame[12..]);
            packet.HasSourceMac = true;
        }

        int protocol = BinaryPrimitives.ReadUInt16BigEndian(frame);
        return DecodeEtherType(protocol, frame, 20, uncaptured, ref packet, out error);
    }

    private static DecodeResult DecodeIp(ReadOnlySpan<byte> data, int uncaptured, ref DecodedPacket packet, out string? error)
    {
        // Raw IP: the version nibble decides.
        if (data.IsEmpty)
        {
            return Short("IP header", 1, 0, uncaptured, out error);
        }

        var version = data[0] >> 4;
        switch (version)
        {
            case 4:
                return DecodeIpv4(data, uncaptured, ref packet, out error);
            case 6:
                return DecodeIpv6(data, uncaptured, ref packet, out error);
            default:
                error = $"raw IP packet has version {version}, expected 4 or 6";
                return DecodeResult.Malformed;
        }
    }

    private static DecodeResult DecodeIpv4(ReadOnlySpan<byte> data, int uncaptured, ref DecodedPacket packet, out string? error)
    {
        // RFC 791 §3.1.
        error = null;
        if (!data.IsEmpty && data[0] >> 4 != 4)
        {
            error = $"IPv4 header has version {data[0] >> 4}";
            return DecodeResult.Malformed;
        }

        if (data.Length < Ipv4MinHeader)
        {
            return Short("IPv4 header", Ipv4MinHeader, data.Length, uncaptured, out error);
        }

        var headerLength = (data[0] & 0x0F) * 4;
        if (headerLength < Ipv4MinHeader)
        {
            error = $"IPv4 header length {headerLength} is below the minimum {Ipv4MinHeader}";
            return DecodeResult.Malformed;
        }

        if (headerLength > data.Length)
        {
            return Short("IPv4 header with options", headerLength, data.Length, uncaptured, out error);
        }

        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        var missing = 0;
        if (totalLength == 0)
        {
            // TCP segmentation offload: a capture on the sending host sees the unsegmented packet with total
            // length 0 (Wireshark: "reported as 0, presumed to be because of TCP segmentation offload").
            totalLength = data.Length;
        }
        else if (totalLength < headerLength)
        {
            error = $"IPv4 total length {totalLength} is smaller than its header length {headerLength}";
            return DecodeResult.Malformed;
        }
        else if (totalLength > data.Length)
        {
            if (totalLength - data.Length > uncaptured)
            {
                error = $"IPv4 total length {totalLength} exceeds captured {data.Length} bytes";
                return DecodeResult.Malformed;
            }

            missing = totalLength - data.Length;
            totalLength = data.Length;
        }

        // Bytes after the total length are link-layer padding (Ethernet minimum frame size): trimmed.
        packet.Source = IpAddress.FromV4(data[12..]);
        packet.Destination = IpAddress.FromV4(data[16..]);
        packet.Ttl = data[8];
        var protocol = data[9];
        packet.Protocol = protocol;
        int flagsAndOffset = BinaryPrimitives.ReadUInt16BigEndian(data[6..]);
        var moreFragments = (flagsAndOffset & 0x2000) != 0;
        var fragmentOffset = (flagsAndOffset & 0x1FFF) * 8;
        var payload = data[headerLength..totalLength];
        packet.FragmentId = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        if (moreFragments || fragmentOffset != 0)
        {
            packet.FragmentOffset = fragmentOffset;
            packet.MoreFragments = moreFragments;
            packet.Payload = payload;
            if (missing > 0)
            {
                error = $"IPv4 fragment (id {packet.FragmentId}, offset {fragmentOffset}) cut by the capture: {missing} bytes missing, cannot reassemble";
                return DecodeResult.Truncated;
            }

            return DecodeResult.Ipv4Fragment;
        }

        return DecodeTransport(protocol, payload, missing, ref packet, out error);
    }

    private static DecodeResult DecodeIpv6(ReadOnlySpan<byte> data, int uncaptured, ref DecodedPacket packet, out string? error)
    {
        // RFC 8200 §3 and §4.
        error = null;
        if (!data.IsEmpty && data[0] >> 4 != 6)
        {
            error = $"IPv6 header has version {data[0] >> 4}";
            return DecodeResult.Malformed;
        }

        if (data.Length < Ipv6Header)
        {
            return Short("IPv6 header", Ipv6Header, data.Length, uncaptured, out error);
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        var next = data[6];
        packet.Ttl = data[7]; // the hop limit
        packet.Source = IpAddress.FromV6(data[8..]);
        packet.Destination = IpAddress.FromV6(data[24..]);
        int end;
        var missing = 0;
        if (payloadLength == 0)
        {
            // A jumbogram (RFC 2675, length in a hop-by-hop option) or segmentation offload: the captured
            // bytes are the packet.
            end = data.Length;
        }
        else
        {
            end = Ipv6Header + payloadLength;
            if (end > data.Length)
            {
                if (end - data.Length > uncaptured)
                {
                    error = $"IPv6 payload length {payloadLength} exceeds captured {data.Length - Ipv6Header} bytes";
                    return DecodeResult.Malformed;
                }

                missing = end - data.Length;
                end = data.Length;
            }
        }

        return DecodeIpv6Headers(next, data, Ipv6Header, end, missing, reassembled: false, ref packet, out error);
    }

    /// <summary>Decodes a reassembled IPv6 datagram (<see cref="IpDefragmenter"/>): its fragmentable part, which may
    /// begin with more extension headers before the upper layer, <paramref name="next"/> being the first fragment's next
    /// header.</summary>
    public static DecodeResult DecodeReassembledIpv6(byte next, ReadOnlySpan<byte> datagram, ref DecodedPacket packet, out string? error) =>
        DecodeIpv6Headers(next, datagram, 0, datagram.Length, 0, reassembled: true, ref packet, out error);

    /// <summary>Walks IPv6 extension headers from <paramref name="offset"/> to the upper layer (RFC 8200 §4); a fragment
    /// is returned as <see cref="DecodeResult.Ipv6Fragment"/> with its id, offset, M flag and bytes, for reassembly.</summary>
    private static DecodeResult DecodeIpv6Headers(byte next, ReadOnlySpan<byte> data, int offset, int end, int missing, bool reassembled,
                                                  ref DecodedPacket packet, out string? error)
    {
        error = null;
        while (true)
        {
            int headerLength;
            switch (next)
            {
                case 0:   // hop-by-hop options
                case 43:  // routing
                case 60:  // destination options
                    if (end - offset < 2)
                    {
                        return Short($"IPv6 extension header {next}", 2, end - offset, missing, out error);
                    }

                    headerLength = (data[offset + 1] + 1) * 8;
                    break;
                case 51:  // authentication header, RFC 4302 §2.2: length in 32-bit words minus 2
                    if (end - offset < 2)
                    {
                        return Short("IPv6 authentication header", 2, end - offset, missing, out error);
                    }

                    headerLength = (data[offset + 1] + 2) * 4;
                    break;
                case 44:  // fragment, RFC 8200 §4.5
                    if (end - offset < 8)
                    {
                        return Short("IPv6 fragment header", 8, end - offset, missing, out error);
                    }

                    int fragmentField = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
                    if ((fragmentField & 0xFFF8) != 0 || (fragmentField & 1) != 0)
                    {
                        var id = BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 4)..]);
                        var fragmentOffset = fragmentField & 0xFFF8;
                        if (reassembled)
                        {
                            error = $"IPv6 datagram rebuilt from fragments holds another fragment header (id {id}, offset {fragmentOffset})";
                            return DecodeResult.Malformed;
                        }

                        packet.Protocol = data[offset];
                        packet.FragmentId = id;
                        packet.FragmentOffset = fragmentOffset;
                        packet.MoreFragments = (fragmentField & 1) != 0;
                        packet.Payload = data[(offset + 8)..end];
                        if (missing > 0)
                        {
                            error = $"IPv6 fragment (id {id}, offset {fragmentOffset}) cut by the capture: {missing} bytes missing, cannot reassemble";
                            return DecodeResult.Truncated;
                        }

                        return DecodeResult.Ipv6Fragment;
                    }

                    // An atomic fragment (offset 0, M=0; RFC 6946) is a whole packet: continue.
                    headerLength = 8;
                    break;
                default:
                    packet.Protocol = next;
                    return DecodeTransport(next, data[offset..end], missing, ref packet, out error);
            }

            if (headerLength > end - offset)
            {
                return Short($"IPv6 extension header {next}", headerLength, end - offset, missing, out error);
            }

            next = data[offset];
            offset += headerLength;
        }
    }

    /// <summary>A header needs <paramref name="needed"/> bytes and only <paramref name="available"/> are there:
    /// Truncated when the capture cut the difference, Malformed when the frame itself is that short.</summary>
    private static DecodeResult Short(string header, int needed, int available, int uncaptured, out string error)
    {
        if (needed - available <= uncaptured)
        {
            error = $"{header} needs {needed} bytes, only {available} captured (the capture cut the frame)";
            return DecodeResult.Truncated;
        }

        error = $"{header} needs {needed} bytes, the packet has only {available}";
        return DecodeResult.Malformed;
    }
}
