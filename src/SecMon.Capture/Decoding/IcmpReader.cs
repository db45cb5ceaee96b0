using System.Buffers.Binary;

namespace SecMon.Capture.Decoding;

/// <summary>What an ICMP or ICMPv6 message says that the scan detector reads; anything else is <see cref="None"/>.</summary>
internal enum IcmpKind : byte
{
    /// <summary>Another type, or a message too short to read.</summary>
    None,

    /// <summary>Echo request (ICMP 8, ICMPv6 128): a ping.</summary>
    EchoRequest,

    /// <summary>Echo reply (ICMP 0, ICMPv6 129).</summary>
    EchoReply,

    /// <summary>Port unreachable (ICMP 3/3, ICMPv6 1/4) quoting a UDP datagram: the quoted addresses and ports are set.</summary>
    UdpPortUnreachable,

    /// <summary>Time exceeded in transit (ICMP 11/0, ICMPv6 3/0) quoting a UDP or TCP packet: a router on the way dropped
    /// it when its TTL (hop limit) ran out, as it does to a traceroute's probes. The quoted addresses, ports and
    /// <see cref="IcmpMessage.QuotedProtocol"/> are set.</summary>
    TimeExceeded,
}

/// <summary>An ICMP message as the scan detector needs it. For <see cref="IcmpKind.UdpPortUnreachable"/> and
/// <see cref="IcmpKind.TimeExceeded"/>, the quoted packet's header: the prober is <see cref="QuotedSource"/>, the port
/// probed <see cref="QuotedDestinationPort"/> of <see cref="QuotedDestination"/>.</summary>
internal readonly record struct IcmpMessage
{
    /// <summary>What the message is.</summary>
    public IcmpKind Kind { get; init; }

    /// <summary>Source of the quoted datagram (the prober).</summary>
    public IpAddress QuotedSource { get; init; }

    /// <summary>Destination of the quoted datagram (the host that refused it).</summary>
    public IpAddress QuotedDestination { get; init; }

    /// <summary>Source port of the quoted UDP header.</summary>
    public ushort QuotedSourcePort { get; init; }

    /// <summary>Destination port of the quoted UDP or TCP header: the closed port, or the port the expired probe was for.</summary>
    public ushort QuotedDestinationPort { get; init; }

    /// <summary>The quoted packet's transport (6 TCP, 17 UDP).</summary>
    public byte QuotedProtocol { get; init; }
}

/// <summary>
/// Reads the few ICMP (RFC 792) and ICMPv6 (RFC 4443) messages that tell a scan's answers: echo request and reply,
/// port unreachable with the IP and UDP header of the datagram it refuses, and time exceeded with the header of the UDP
/// or TCP packet that expired on the way (RFC 792 quotes the IP header and the first 8 bytes of its data; RFC 4443 §3.1
/// and §3.3 as much of the packet as fits). A span parser: no allocation, no exception; the
/// quoted header is read only as far as it was captured.
/// </summary>
internal static class IcmpReader
{
    /// <summary>IP protocol number of ICMP.</summary>
    public const byte ProtocolIcmp = 1;

    /// <summary>IPv6 next-header value of ICMPv6.</summary>
    public const byte ProtocolIcmpV6 = 58;

    private const int IcmpHeader = 8; // type, code, checksum, 4 bytes of rest-of-header (unused for unreachable)

    /// <summary>Reads the message at the start of an ICMP (<paramref name="protocol"/> 1) or ICMPv6 (58) payload.</summary>
    public static IcmpMessage Read(byte protocol, ReadOnlySpan<byte> icmp)
    {
        if (icmp.Length < 2)
        {
            return default;
        }

        var type = icmp[0];
        var code = icmp[1];
        if (protocol == ProtocolIcmp)
        {
            return type switch
            {
                8 when code == 0 => new IcmpMessage { Kind = IcmpKind.EchoRequest },
                0 when code == 0 => new IcmpMessage { Kind = IcmpKind.EchoReply },
                3 when code == 3 => QuotedV4(icmp, IcmpKind.UdpPortUnreachable),
                11 when code == 0 => QuotedV4(icmp, IcmpKind.TimeExceeded),
                _ => default,
            };
        }

        if (protocol == ProtocolIcmpV6)
        {
            return type switch
            {
                128 when code == 0 => new IcmpMessage { Kind = IcmpKind.EchoRequest },
                129 when code == 0 => new IcmpMessage { Kind = IcmpKind.EchoReply },
                1 when code == 4 => QuotedV6(icmp, IcmpKind.UdpPortUnreachable),
                3 when code == 0 => QuotedV6(icmp, IcmpKind.TimeExceeded),
                _ => default,
            };
        }

        return default;
    }

    // A port unreachable is read when it quotes UDP (a TCP port is refused by a RST); a time exceeded quotes either.
    private static bool Quotes(IcmpKind kind, byte protocol) =>
        protocol == PacketDecoder.ProtocolUdp || (kind == IcmpKind.TimeExceeded && protocol == PacketDecoder.ProtocolTcp);

    private static IcmpMessage QuotedV4(ReadOnlySpan<byte> icmp, IcmpKind kind)
    {
        var ip = icmp[Math.Min(IcmpHeader, icmp.Length)..];
        if (ip.Length < 20 || ip[0] >> 4 != 4 || !Quotes(kind, ip[9]))
        {
            return default;
        }

        var headerLength = (ip[0] & 0x0F) * 4;
        if (headerLength < 20 || ip.Length < headerLength + 4 ||
            (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1FFF) != 0)
        {
            return default; // a header length that lies, ports not quoted, or a later fragment (no UDP header in it)
        }

        var ports = ip[headerLength..]; // UDP and TCP both begin with the source and destination port
        return new IcmpMessage
        {
            Kind = kind,
            QuotedSource = IpAddress.FromV4(ip[12..]),
            QuotedDestination = IpAddress.FromV4(ip[16..]),
            QuotedSourcePort = BinaryPrimitives.ReadUInt16BigEndian(ports),
            QuotedDestinationPort = BinaryPrimitives.ReadUInt16BigEndian(ports[2..]),
            QuotedProtocol = ip[9],
        };
    }

    private static IcmpMessage QuotedV6(ReadOnlySpan<byte> icmp, IcmpKind kind)
    {
        // The quoted IPv6 header directly followed by UDP or TCP (a probe with extension headers is not read: scanners
        // and traceroute send none).
        var ip = icmp[Math.Min(IcmpHeader, icmp.Length)..];
        if (ip.Length < 40 + 4 || ip[0] >> 4 != 6 || !Quotes(kind, ip[6]))
        {
            return default;
        }

        return new IcmpMessage
        {
            Kind = kind,
            QuotedProtocol = ip[6],
            QuotedSource = IpAddress.FromV6(ip[8..]),
            QuotedDestination = IpAddress.FromV6(ip[24..]),
            QuotedSourcePort = BinaryPrimitives.ReadUInt16BigEndian(ip[40..]),
            QuotedDestinationPort = BinaryPrimitives.ReadUInt16BigEndian(ip[42..]),
        };
    }
}
