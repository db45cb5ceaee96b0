using System.Buffers.Binary;

namespace SecMon.Capture.Protocols.Dhcp;

/// <summary>
/// One BOOTP/DHCP message (RFC 2131 §2, RFC 951): the fixed header and the options SecMon reads, as slices of the
/// datagram (valid only while it is). Nothing is copied or allocated here: the session turns what it keeps into text.
/// </summary>
internal ref struct DhcpMessage
{
    /// <summary>1 BOOTREQUEST (client to server), 2 BOOTREPLY.</summary>
    public byte Op;

    /// <summary>Hardware address type (1: Ethernet) and length (6).</summary>
    public byte HType;

    /// <summary>Hardware address length.</summary>
    public byte HLen;

    /// <summary>Relay hops.</summary>
    public byte Hops;

    /// <summary>Transaction id chosen by the client; replies repeat it (RFC 2131 §2).</summary>
    public uint Xid;

    /// <summary>Seconds since the client began.</summary>
    public ushort Secs;

    /// <summary>Flags (bit 15: broadcast).</summary>
    public ushort Flags;

    /// <summary>ciaddr, yiaddr, siaddr, giaddr (network order, as 32-bit big-endian values).</summary>
    public uint ClientIp, YourIp, NextServerIp, RelayIp;

    /// <summary>chaddr: the first <see cref="HLen"/> bytes of the 16-byte field (all 16 when HLen is larger).</summary>
    public ReadOnlySpan<byte> ClientHardware;

    /// <summary>Option 53, DHCP message type; 0 when absent (plain BOOTP).</summary>
    public byte MessageType;

    /// <summary>Option 12 (host name), 60 (vendor class identifier), 55 (parameter request list), 61 (client
    /// identifier): raw bytes, empty when absent.</summary>
    public ReadOnlySpan<byte> HostName, VendorClass, ParameterRequestList, ClientId;

    /// <summary>True when option 55 was present (it may be empty).</summary>
    public bool HasParameterRequestList;

    /// <summary>Option 81, the client FQDN (RFC 4702 §2): the name after the flags and the two RCODE bytes, in canonical
    /// wire format when <see cref="ClientFqdnFlags"/> has the E bit (0x04), else ASCII (deprecated but what udhcpc -F
    /// sends); empty when absent or empty. Windows sends it beside option 12, some clients instead of it.</summary>
    public ReadOnlySpan<byte> ClientFqdn;

    /// <summary>Option 81's flags byte (S 0x01, O 0x02, E 0x04, N 0x08), when present.</summary>
    public byte ClientFqdnFlags;

    /// <summary>True when option 81 was present.</summary>
    public bool HasClientFqdn;

    /// <summary>Option 50 (requested IP address), 54 (server identifier), 51 (lease time, seconds), when present.</summary>
    public uint? RequestedIp, ServerId, LeaseTime;

    /// <summary>Option 52 (overload): 1 the file field, 2 the sname field, 3 both carry options.</summary>
    public byte Overload;

    /// <summary>True when some options area ended without the End option (255). Tolerated: many stacks omit it.</summary>
    public bool MissingEnd;
}

/// <summary>
/// Span parser of BOOTP/DHCP messages (RFC 2131, RFC 2132): the 236-byte fixed header, the magic cookie
/// 99.130.83.99, then options (code, length, value; Pad 0 and End 255 have no length), continued in the file and
/// sname fields when option 52 says so (RFC 2131 §4.1). Stateless, allocation-free; a malformed message is a
/// <see cref="ParseError"/> naming the field.
/// </summary>
internal static class DhcpParser
{
    /// <summary>Bytes before the magic cookie (RFC 2131 §2, figure 1).</summary>
    public const int FixedHeaderLength = 236;

    /// <summary>The fixed header and the magic cookie: the smallest DHCP message.</summary>
    public const int MinLength = FixedHeaderLength + 4;

    /// <summary>The magic cookie 99.130.83.99 (RFC 2131 §3, RFC 1497).</summary>
    public const uint MagicCookie = 0x63825363;

    private const int SnameOffset = 44;
    private const int SnameLength = 64;
    private const int FileOffset = 108;
    private const int FileLength = 128;

    /// <summary>True when <paramref name="data"/> looks like BOOTP/DHCP: op 1 or 2, a hardware address length of at
    /// most 16 (the chaddr field), at most 16 relay hops (RFC 1542 §4.1.1 recommends discarding above that), and the
    /// magic cookie. Pure and allocation-free.</summary>
    public static bool LooksLikeDhcp(ReadOnlySpan<byte> data) =>
        data.Length >= MinLength && data[0] is 1 or 2 && data[2] <= 16 && data[3] <= 16 &&
        BinaryPrimitives.ReadUInt32BigEndian(data[FixedHeaderLength..]) == MagicCookie;

    /// <summary>Reads one message; false with the reason when it is malformed.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out DhcpMessage message, out ParseError error)
    {
        message = default;
        error = default;
        if (data.Length < MinLength)
        {
            error = new ParseError(MalformedReason.Truncated, "header", $"{data.Length} bytes, a DHCP message has at least {MinLength}");
            return false;
        }

        message.Op = data[0];
        if (message.Op is not (1 or 2))
        {
            error = new ParseError(MalformedReason.UnknownType, "op", "not BOOTREQUEST (1) or BOOTREPLY (2)");
            return false;
        }

        message.HType = data[1];
        message.HLen = data[2];
        message.Hops = data[3];
        if (message.HLen > 16)
        {
            error = new ParseError(MalformedReason.BadLength, "hlen", "longer than the 16-byte chaddr field");
            return false;
        }

        message.Xid = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
        message.Secs = BinaryPrimitives.ReadUInt16BigEndian(data[8..]);
        message.Flags = BinaryPrimitives.ReadUInt16BigEndian(data[10..]);
        message.ClientIp = BinaryPrimitives.ReadUInt32BigEndian(data[12..]);
        message.YourIp = BinaryPrimitives.ReadUInt32BigEndian(data[16..]);
        message.NextServerIp = BinaryPrimitives.ReadUInt32BigEndian(data[20..]);
        message.RelayIp = BinaryPrimitives.ReadUInt32BigEndian(data[24..]);
        message.ClientHardware = data.Slice(28, message.HLen);
        if (BinaryPrimitives.ReadUInt32BigEndian(data[FixedHeaderLength..]) != MagicCookie)
        {
            error = new ParseError(MalformedReason.BadValue, "magic cookie", "not 99.130.83.99");
            return false;
        }

        // RFC 2131 §4.1: the options field first; option 52 found there says whether file, then sname, hold more.
        if (!TryReadOptions(data[MinLength..], ref message, allowOverload: true, "options", out error))
        {
            return false;
        }

        if ((message.Overload & 1) != 0 &&
            !TryReadOptions(data.Slice(FileOffset, FileLength), ref message, allowOverload: false, "file (overloaded options)", out error))
        {
            return false;
        }

        if ((message.Overload & 2) != 0 &&
            !TryReadOptions(data.Slice(SnameOffset, SnameLength), ref message, allowOverload: false, "sname (overloaded options)", out error))
        {
            return false;
        }

        return true;
    }

    // One options area. The first occurrence of an option wins: RFC 3396 concatenation of split long options is not
    // applied (the options SecMon reads fit in one). Returns false on an option running past the area.
    private static bool TryReadOptions(ReadOnlySpan<byte> area, ref DhcpMessage m, bool allowOverload, string field, out ParseError error)
    {
        error = default;
        var i = 0;
        while (i < area.Length)
        {
            var code = area[i];
            if (code == 0)
            {
                i++;
                continue; // Pad (RFC 2132 §3.1)
            }

            if (code == 255)
            {
                return true; // End (RFC 2132 §3.2): what follows is padding
            }

            if (i + 1 >= area.Length)
            {
                error = new ParseError(MalformedReason.Truncated, field, $"option {code} has no length byte");
                return false;
            }

            int length = area[i + 1];
            if (length > area.Length - i - 2)
            {
                error = new ParseError(MalformedReason.Truncated, field, $"option {code} of {length} bytes runs past the end");
                return false;
            }

            var value = area.Slice(i + 2, length);
            if (!TryTake(code, value, ref m, allowOverload, out error))
            {
                return false;
            }

            i += 2 + length;
        }

        m.MissingEnd = true;
        return true;
    }

    private static bool TryTake(byte code, ReadOnlySpan<byte> value, ref DhcpMessage m, bool allowOverload, out ParseError error)
    {
        error = default;
        switch (code)
        {
            case 53:
                if (value.Length != 1)
                {
                    error = new ParseError(MalformedReason.BadLength, "option 53 (message type)", "not 1 byte");
                    return false;
                }

                if (m.MessageType == 0)
                {
                    m.MessageType = value[0];
                }

                break;
            case 12 when m.HostName.IsEmpty:
                m.HostName = value;
                break;
            case 60 when m.VendorClass.IsEmpty:
                m.VendorClass = value;
                break;
            case 55 when !m.HasParameterRequestList:
                m.ParameterRequestList = value;
                m.HasParameterRequestList = true;
                break;
            case 61 when m.ClientId.IsEmpty:
                m.ClientId = value;
                break;
            case 81 when !m.HasClientFqdn:
                if (value.Length < 3)
                {
                    error = new ParseError(MalformedReason.BadLength, "option 81 (client FQDN)", "shorter than its flags and two RCODE bytes");
                    return false;
                }

                m.ClientFqdnFlags = value[0];
                m.ClientFqdn = value[3..];
                m.HasClientFqdn = true;
                break;
            case 50 or 54 or 51:
                if (value.Length != 4)
                {
                    error = new ParseError(MalformedReason.BadLength, $"option {code}", "not 4 bytes");
                    return false;
                }

                var v = BinaryPrimitives.ReadUInt32BigEndian(value);
                if (code == 50)
                {
                    m.RequestedIp ??= v;
                }
                else if (code == 54)
                {
                    m.ServerId ??= v;
                }
                else
                {
                    m.LeaseTime ??= v;
                }

                break;
            case 52:
                // RFC 2132 §9.3: only in the options field, one byte 1-3.
                if (!allowOverload)
                {
                    error = new ParseError(MalformedReason.BadValue, "option 52 (overload)", "inside an overloaded field");
                    return false;
                }

                if (value.Length != 1 || value[0] is < 1 or > 3)
                {
                    error = new ParseError(MalformedReason.BadValue, "option 52 (overload)", "not 1 byte of 1, 2 or 3");
                    return false;
                }

                m.Overload = value[0];
                break;
            default:
                break;
        }

        return true;
    }
}
