using System.Buffers.Binary;
using SecMon.Core.Devices;

namespace SecMon.Capture.Protocols.Arp;

/// <summary>One ARP message for IPv4 over a 6-byte hardware address (RFC 826), as read from the wire.</summary>
internal readonly record struct ArpMessage
{
    /// <summary>ar$hrd: 1 Ethernet, 6 IEEE 802 (both carry 6-byte MACs).</summary>
    public ushort HardwareType { get; init; }

    /// <summary>ar$op: 1 request, 2 reply.</summary>
    public ushort Operation { get; init; }

    /// <summary>ar$sha.</summary>
    public MacAddress SenderMac { get; init; }

    /// <summary>ar$spa, big-endian as a number (0 for an RFC 5227 probe).</summary>
    public uint SenderIp { get; init; }

    /// <summary>ar$tha (all zeros in a request: unknown yet).</summary>
    public MacAddress TargetMac { get; init; }

    /// <summary>ar$tpa.</summary>
    public uint TargetIp { get; init; }
}

/// <summary>
/// Span parser of ARP (RFC 826) for IPv4 over 6-byte hardware addresses, the only kind Ethernet carries for IPv4.
/// Stateless; nothing allocated; never throws. Bytes after the 28-byte message (Ethernet pads frames to 60 bytes) are
/// padding and ignored.
/// </summary>
internal static class ArpParser
{
    /// <summary>Fixed header: hrd(2) pro(2) hln(1) pln(1) op(2).</summary>
    public const int HeaderLength = 8;

    /// <summary>The message for 6-byte hardware and 4-byte protocol addresses.</summary>
    public const int MessageLength = HeaderLength + (2 * (6 + 4));

    /// <summary>ar$op of a request.</summary>
    public const ushort OpRequest = 1;

    /// <summary>ar$op of a reply.</summary>
    public const ushort OpReply = 2;

    private const ushort ProtocolIpv4 = 0x0800;

    private const ushort HardwareEthernet = 1;

    private const ushort HardwareIeee802 = 6;

    /// <summary>Reads one message. False with the reason for a short message, hardware or protocol sizes other than
    /// 6 and 4, a protocol other than IPv4, a hardware type other than Ethernet and IEEE 802, or an operation other
    /// than request and reply (RARP and InARP have their own uses and are not address claims).</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out ArpMessage message, out ParseError error)
    {
        message = default;
        if (data.Length < HeaderLength)
        {
            error = new ParseError(MalformedReason.Truncated, "arp header", "needs 8 bytes");
            return false;
        }

        var hardwareType = BinaryPrimitives.ReadUInt16BigEndian(data);
        var protocolType = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        if (data[4] != 6)
        {
            error = new ParseError(MalformedReason.BadLength, "arp hardware size", "not 6 (only 6-byte MAC addresses are read)");
            return false;
        }

        if (data[5] != 4)
        {
            error = new ParseError(MalformedReason.BadLength, "arp protocol size", "not 4 (only IPv4 addresses are read)");
            return false;
        }

        if (protocolType != ProtocolIpv4)
        {
            error = new ParseError(MalformedReason.BadValue, "arp protocol type", "not IPv4 (0x0800)");
            return false;
        }

        // ar$hrd names the address space of ar$sha and ar$tha (RFC 826; IANA's ARP hardware types): an Ethernet host
        // takes only 1 and 6 as MAC addresses (Linux's arp_process drops the others on an Ethernet device), so a message
        // of another type (513 Cisco HDLC, 19 ATM, 9472 unassigned in tcpdump's arp-oobr.pcap) claims no address and
        // is no device's: it was read as requests and replies with a MAC taken from a foreign address space.
        if (hardwareType is not (HardwareEthernet or HardwareIeee802))
        {
            error = new ParseError(MalformedReason.BadValue, "arp hardware type", "not Ethernet (1) or IEEE 802 (6)");
            return false;
        }

        var op = BinaryPrimitives.ReadUInt16BigEndian(data[6..]);
        if (data.Length < MessageLength)
        {
            error = new ParseError(MalformedReason.Truncated, "arp addresses", "need 20 bytes after the header");
            return false;
        }

        if (op is not (OpRequest or OpReply))
        {
            error = new ParseError(MalformedReason.UnknownType, "arp operation", "not a request (1) or a reply (2)");
            return false;
        }

        message = new ArpMessage
        {
            HardwareType = hardwareType,
            Operation = op,
            SenderMac = MacAddress.Read(data[8..]),
            SenderIp = BinaryPrimitives.ReadUInt32BigEndian(data[14..]),
            TargetMac = MacAddress.Read(data[18..]),
            TargetIp = BinaryPrimitives.ReadUInt32BigEndian(data[24..]),
        };
        error = default;
        return true;
    }
}
