using System.Buffers.Binary;

namespace SecMon.Capture.Protocols.Dns;

/// <summary>The fixed 12-byte DNS header (RFC 1035 §4.1.1).</summary>
internal readonly record struct DnsHeader(ushort Id, ushort Flags, ushort QuestionCount, ushort AnswerCount, ushort AuthorityCount, ushort AdditionalCount)
{
    /// <summary>QR: a response.</summary>
    public bool IsResponse => (Flags & 0x8000) != 0;

    /// <summary>OPCODE (4 bits).</summary>
    public int OpCode => (Flags >> 11) & 0xF;

    /// <summary>RCODE (4 bits; EDNS extends it, RFC 6891 §6.1.3).</summary>
    public int ResponseCode => Flags & 0xF;

    /// <summary>The Z bit (RFC 1035 §4.1.1: must be zero; RFC 2535 took the next two for AD and CD).</summary>
    public bool ZSet => (Flags & 0x0040) != 0;
}

/// <summary>What reading one name found: its wire length (uncompressed, root byte included), labels, longest label.</summary>
internal struct DnsNameInfo
{
    /// <summary>Uncompressed wire length, at most 255 (RFC 1035 §2.3.4).</summary>
    public int WireLength;

    /// <summary>Number of labels (0 for the root).</summary>
    public int LabelCount;

    /// <summary>Longest label, bytes (at most 63).</summary>
    public int LongestLabel;

    /// <summary>Bytes written to the text buffer (presentation form).</summary>
    public int TextLength;
}

/// <summary>
/// DNS wire parsing (RFC 1035 §4.1, name compression §4.1.4), shared by DNS over UDP, DNS over TCP and mDNS (RFC 6762).
/// Pure span code: no state, no allocation; a name is written in presentation form into a caller's buffer (or only
/// checked when the buffer is empty). Every read is checked against the message's end; a compression pointer that
/// revisits an offset is a loop, more than <see cref="MaxPointerJumps"/> jumps is refused, a name over 255 bytes or a
/// label over 63 is malformed, so the work per name is bounded whatever the input.
/// </summary>
internal static class DnsParser
{
    /// <summary>Header length (RFC 1035 §4.1.1).</summary>
    public const int HeaderLength = 12;

    /// <summary>Longest name on the wire, uncompressed (RFC 1035 §2.3.4).</summary>
    public const int MaxNameWireLength = 255;

    /// <summary>Longest label (RFC 1035 §2.3.4).</summary>
    public const int MaxLabelLength = 63;

    /// <summary>Compression pointers followed per name. A name has at most 127 labels, and real encoders point once
    /// (at most a few times) per name; 32 leaves room for odd encoders and keeps a hostile chain cheap.</summary>
    public const int MaxPointerJumps = 32;

    /// <summary>Longest presentation form of a name: 255 wire bytes, each escaped as <c>\DDD</c> at worst.</summary>
    public const int MaxNameTextLength = MaxNameWireLength * 4;

    /// <summary>Reads the header.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> message, out DnsHeader header)
    {
        if (message.Length < HeaderLength)
        {
            header = default;
            return false;
        }

        header = new DnsHeader(
            BinaryPrimitives.ReadUInt16BigEndian(message),
            BinaryPrimitives.ReadUInt16BigEndian(message[2..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[6..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[10..]));
        return true;
    }

    /// <summary>
    /// Reads the name at <paramref name="offset"/> of <paramref name="message"/>, following compression pointers
    /// (RFC 1035 §4.1.4). <paramref name="next"/> is the offset after the name where it sits (after its first pointer,
    /// when compressed). The presentation form (labels joined by dots, <c>.</c> for the root, <c>\.</c>, <c>\\</c> and
    /// <c>\DDD</c> escapes as in RFC 1035 §5.1) goes into <paramref name="text"/> when it is not empty (it must then hold
    /// <see cref="MaxNameTextLength"/> bytes).
    /// </summary>
    public static bool TryReadName(ReadOnlySpan<byte> message, int offset, Span<byte> text, out DnsNameInfo info, out int next, out ParseError error)
    {
        info = default;
        next = -1;
        error = default;
        Span<ushort> visited = stackalloc ushort[MaxPointerJumps];
        var jumps = 0;
        var pos = offset;
        var wire = 1; // the root label's length byte
        var writing = !text.IsEmpty;
        var t = 0;
        while (true)
        {
            if ((uint)pos >= (uint)message.Length)
            {
                error = new ParseError(MalformedReason.Truncated, "name");
                return false;
            }

            var length = message[pos];
            switch (length & 0xC0)
            {
                case 0x00:
                    if (length == 0)
                    {
                        if (next < 0)
                        {
                            next = pos + 1;
                        }

                        if (writing)
                        {
                            if (t == 0)
                            {
                                text[t++] = (byte)'.';
                            }

                            info.TextLength = t;
                        }

                        info.WireLength = wire;
                        return true;
                    }

                    if (pos + 1 + length > message.Length)
                    {
                        error = new ParseError(MalformedReason.Truncated, "name", "label runs past the end of the message");
                        return false;
                    }

                    wire += 1 + length;
                    if (wire > MaxNameWireLength)
                    {
                        error = new ParseError(MalformedReason.TooLarge, "name", "longer than 255 bytes (RFC 1035 §2.3.4)");
                        return false;
                    }

                    info.LabelCount++;
                    info.LongestLabel = Math.Max(info.LongestLabel, length);
                    if (writing)
                    {
                        if (info.LabelCount > 1)
                        {
                            text[t++] = (byte)'.';
                        }

                        t += WriteLabel(message.Slice(pos + 1, length), text[t..]);
                    }

                    pos += 1 + length;
                    break;
                case 0xC0:
                    if (pos + 1 >= message.Length)
                    {
                        error = new ParseError(MalformedReason.Truncated, "name", "compression pointer cut short");
                        return false;
                    }

                    var target = ((length & 0x3F) << 8) | message[pos + 1];
                    if (next < 0)
                    {
                        next = pos + 2;
                    }

                    if (target < HeaderLength || target >= message.Length)
                    {
                        error = new ParseError(MalformedReason.BadValue, "name", $"compression pointer to offset {target}, outside the message's records");
                        return false;
                    }

                    if (visited[..jumps].Contains((ushort)target))
                    {
                        error = new ParseError(MalformedReason.BadValue, "name", $"compression pointer loop at offset {pos}");
                        return false;
                    }

                    if (jumps == MaxPointerJumps)
                    {
                        error = new ParseError(MalformedReason.BadValue, "name", $"more than {MaxPointerJumps} compression pointers");
                        return false;
                    }

                    visited[jumps++] = (ushort)target;
                    pos = target;
                    break;
                default:
                    // 0x40 (extended labels, RFC 6891 §5: deprecated) and 0x80 (reserved).
                    error = new ParseError(MalformedReason.UnknownType, "name", $"label type 0x{length & 0xC0:x2}");
                    return false;
            }
        }
    }

    /// <summary>Writes one label in presentation form; returns the bytes written.</summary>
    private static int WriteLabel(ReadOnlySpan<byte> label, Span<byte> text)
    {
        var t = 0;
        foreach (var b in label)
        {
            if (b is (byte)'.' or (byte)'\\')
            {
                text[t++] = (byte)'\\';
                text[t++] = b;
            }
            else if (b is <= 0x20 or >= 0x7F)
            {
                text[t++] = (byte)'\\';
                text[t++] = (byte)('0' + (b / 100));
                text[t++] = (byte)('0' + (b / 10 % 10));
                text[t++] = (byte)('0' + (b % 10));
            }
            else
            {
                text[t++] = b;
            }
        }

        return t;
    }

    /// <summary>
    /// Reads one question (RFC 1035 §4.1.2) at <paramref name="pos"/>, advancing it.
    /// </summary>
    public static bool TryReadQuestion(ReadOnlySpan<byte> message, ref int pos, Span<byte> text, out DnsNameInfo name, out ushort type, out ushort @class, out ParseError error)
    {
        type = 0;
        @class = 0;
        if (!TryReadName(message, pos, text, out name, out var next, out error))
        {
            return false;
        }

        if (next + 4 > message.Length)
        {
            error = new ParseError(MalformedReason.Truncated, "question", "type and class cut short");
            return false;
        }

        type = BinaryPrimitives.ReadUInt16BigEndian(message[next..]);
        @class = BinaryPrimitives.ReadUInt16BigEndian(message[(next + 2)..]);
        pos = next + 4;
        return true;
    }

    /// <summary>
    /// Reads one resource record (RFC 1035 §4.1.3) at <paramref name="pos"/>, advancing it past the record, and checks
    /// its RDATA where its layout is known: A is 4 bytes, AAAA 16, names inside RDATA (CNAME, NS, PTR, MX, SRV, SOA) end
    /// inside it, TXT's character-strings fill it exactly.
    /// </summary>
    public static bool TryReadRecord(ReadOnlySpan<byte> message, ref int pos, Span<byte> text, out DnsRecord record, out ParseError error)
    {
        record = default;
        if (!TryReadName(message, pos, text, out var name, out var next, out error))
        {
            return false;
        }

        if (next + 10 > message.Length)
        {
            error = new ParseError(MalformedReason.Truncated, "record", "type, class, TTL and length cut short");
            return false;
        }

        var rdLength = BinaryPrimitives.ReadUInt16BigEndian(message[(next + 8)..]);
        var rdata = next + 10;
        if (rdata + rdLength > message.Length)
        {
            error = new ParseError(MalformedReason.Truncated, "record", $"RDATA of {rdLength} bytes runs past the end of the message");
            return false;
        }

        record = new DnsRecord(
            name,
            BinaryPrimitives.ReadUInt16BigEndian(message[next..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[(next + 2)..]),
            BinaryPrimitives.ReadUInt32BigEndian(message[(next + 4)..]),
            rdata,
            rdLength);
        if (!CheckRdata(message, record, out error))
        {
            return false;
        }

        pos = rdata + rdLength;
        return true;
    }

    private static bool CheckRdata(ReadOnlySpan<byte> message, in DnsRecord r, out ParseError error)
    {
        error = default;
        var rdata = message.Slice(r.DataOffset, r.DataLength);
        switch (r.Type)
        {
            case DnsTypes.A when r.DataLength != 4:
            case DnsTypes.Aaaa when r.DataLength != 16:
                error = new ParseError(MalformedReason.BadLength, DnsTypes.Name(r.Type) + " record", $"RDATA of {r.DataLength} bytes");
                return false;
            case DnsTypes.Cname or DnsTypes.Ns or DnsTypes.Ptr:
                return CheckNameIn(message, r.DataOffset, r.DataOffset + r.DataLength, out error);
            case DnsTypes.Mx:
                return CheckLength(r, 3, out error) && CheckNameIn(message, r.DataOffset + 2, r.DataOffset + r.DataLength, out error);
            case DnsTypes.Srv:
                return CheckLength(r, 7, out error) && CheckNameIn(message, r.DataOffset + 6, r.DataOffset + r.DataLength, out error);
            case DnsTypes.Soa:
                if (!TryReadName(message, r.DataOffset, default, out _, out var afterMname, out error) || afterMname > r.DataOffset + r.DataLength)
                {
                    error = error.IsError ? error : new ParseError(MalformedReason.BadLength, "SOA record", "MNAME runs past its RDATA");
                    return false;
                }

                if (!TryReadName(message, afterMname, default, out _, out var afterRname, out error) || afterRname + 20 != r.DataOffset + r.DataLength)
                {
                    error = error.IsError ? error : new ParseError(MalformedReason.BadLength, "SOA record", "RNAME and the five counters do not fill its RDATA");
                    return false;
                }

                return true;
            case DnsTypes.Txt:
                var at = 0;
                while (at < rdata.Length)
                {
                    at += 1 + rdata[at];
                }

                if (at != rdata.Length || rdata.IsEmpty)
                {
                    error = new ParseError(MalformedReason.BadLength, "TXT record", "character-strings do not fill its RDATA");
                    return false;
                }

                return true;
            default:
                return true;
        }
    }

    private static bool CheckLength(in DnsRecord r, int min, out ParseError error)
    {
        if (r.DataLength < min)
        {
            error = new ParseError(MalformedReason.BadLength, DnsTypes.Name(r.Type) + " record", $"RDATA of {r.DataLength} bytes");
            return false;
        }

        error = default;
        return true;
    }

    private static bool CheckNameIn(ReadOnlySpan<byte> message, int start, int end, out ParseError error)
    {
        if (!TryReadName(message, start, default, out _, out var next, out error))
        {
            return false;
        }

        if (next != end)
        {
            error = new ParseError(MalformedReason.BadLength, "record", "the name in RDATA does not end where RDATA does");
            return false;
        }

        return true;
    }
}

/// <summary>A resource record's fixed part and where its RDATA is in the message.</summary>
internal readonly record struct DnsRecord(DnsNameInfo Name, ushort Type, ushort Class, uint Ttl, int DataOffset, int DataLength);
