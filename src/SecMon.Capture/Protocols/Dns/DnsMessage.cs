using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;

namespace SecMon.Capture.Protocols.Dns;

/// <summary>One decoded DNS message: the header, the first question, the answers (bounded) and EDNS's DO bit. A flow
/// decodes every message into the same instance (<see cref="Reset"/>); the lists it hands to an event are new or shared
/// read-only ones, never refilled.</summary>
internal sealed class DnsMessage
{
    /// <summary>The header.</summary>
    public DnsHeader Header { get; set; }

    /// <summary>The first question's name as cached (<see cref="DnsNameCache"/>), null when there is no question.</summary>
    public DnsName? Question { get; set; }

    /// <summary>The first question's name (presentation form), null when there is no question.</summary>
    public string? QuestionName => Question?.Text;

    /// <summary>The first question's type.</summary>
    public ushort QuestionType { get; set; }

    /// <summary>The first question's class (mDNS: with its unicast-response bit).</summary>
    public ushort QuestionClass { get; set; }

    /// <summary>The first question's labels and longest label.</summary>
    public DnsNameInfo QuestionInfo { get; set; }

    /// <summary>Owner names of the reported answers.</summary>
    public string[]? AnswerNames { get; set; }

    /// <summary>Types of the reported answers.</summary>
    public string[]? AnswerTypes { get; set; }

    /// <summary>Classes of the reported answers.</summary>
    public string[]? AnswerClasses { get; set; }

    /// <summary>TTLs of the reported answers.</summary>
    public long[]? AnswerTtls { get; set; }

    /// <summary>Data of the reported answers (presentation form).</summary>
    public string[]? AnswerData { get; set; }

    /// <summary>Addresses of the A and AAAA answers (the same list as <see cref="AnswerData"/> when every reported answer
    /// is one).</summary>
    public IReadOnlyList<string>? ResolvedIps { get; set; }

    /// <summary>mDNS responses: host names of A/AAAA records (answers and additionals).</summary>
    public List<string>? MdnsHostnames { get; set; }

    /// <summary>mDNS responses: service instance names (owners of SRV records).</summary>
    public List<string>? MdnsServices { get; set; }

    /// <summary>An OPT record set the DO bit (RFC 3225).</summary>
    public bool DnssecOk { get; set; }

    /// <summary>The OPT record's upper 8 bits of the response code (RFC 6891 §6.1.3), 0 without OPT.</summary>
    public int ExtendedResponseCode { get; set; }

    /// <summary>The full response code.</summary>
    public int ResponseCode => (ExtendedResponseCode << 4) | Header.ResponseCode;

    /// <summary>Empties the message for the next one, whose header is <paramref name="header"/>.</summary>
    public void Reset(in DnsHeader header)
    {
        Header = header;
        Question = null;
        QuestionType = 0;
        QuestionClass = 0;
        QuestionInfo = default;
        AnswerNames = null;
        AnswerTypes = null;
        AnswerClasses = null;
        AnswerTtls = null;
        AnswerData = null;
        ResolvedIps = null;
        MdnsHostnames = null;
        MdnsServices = null;
        DnssecOk = false;
        ExtendedResponseCode = 0;
    }
}

/// <summary>
/// Walks a whole DNS message: header, every question and record of the four sections (each checked, see
/// <see cref="DnsParser"/>), and bytes left after the last record. With no <see cref="DnsMessage"/> to fill it only
/// checks (the probe: no allocation); otherwise it fills the first question and up to
/// <see cref="DnsOptions.MaxAnswersPerEvent"/> answers. Section counts are only ever compared with what the bytes hold:
/// a count of 65,535 in a 20-byte message stops at the first record that is not there.
/// </summary>
internal static class DnsDecoder
{
    /// <summary>Checks or decodes <paramref name="message"/>. A message with bytes after its last record is decoded and
    /// reported with <see cref="MalformedReason.TrailingBytes"/>; any other error leaves the message undecoded.</summary>
    public static ParseError Walk(ReadOnlySpan<byte> message, DnsMessage? decoded, DnsOptions options, bool mdns)
    {
        if (!DnsParser.TryReadHeader(message, out var header))
        {
            return new ParseError(MalformedReason.Truncated, "header", $"{message.Length} bytes, the header needs 12");
        }

        Span<byte> text = decoded is null ? default : stackalloc byte[DnsParser.MaxNameTextLength];
        var pos = DnsParser.HeaderLength;
        for (var i = 0; i < header.QuestionCount; i++)
        {
            var write = decoded is not null && i == 0;
            if (!DnsParser.TryReadQuestion(message, ref pos, write ? text : default, out var info, out var type, out var @class, out var error))
            {
                return Where(error, "question", i);
            }

            if (write)
            {
                decoded!.Question = DnsNameCache.Name(text[..info.TextLength], info);
                decoded.QuestionType = type;
                decoded.QuestionClass = @class;
                decoded.QuestionInfo = info;
            }
        }

        var total = header.AnswerCount + header.AuthorityCount + header.AdditionalCount;
        var reported = 0;
        var addresses = 0;
        var slots = 0;
        string[]? owners = null; // made when an owner is not the question's name (else a shared run of it, at the end)
        if (decoded is not null && header.AnswerCount > 0)
        {
            // Sized by what can be here: the bound, the count, and the records the bytes left can hold (11 bytes each).
            slots = Math.Min(Math.Min(header.AnswerCount, Math.Max(0, options.MaxAnswersPerEvent)), (message.Length - pos) / 11);
            decoded.AnswerData = new string[slots];
        }

        // Types, classes and TTLs of the reported answers, made lists at the end (shared when they repeat one value).
        const int Inline = 16;
        Span<ushort> types = slots <= Inline ? stackalloc ushort[Inline] : new ushort[slots];
        Span<ushort> classes = slots <= Inline ? stackalloc ushort[Inline] : new ushort[slots];
        Span<uint> ttls = slots <= Inline ? stackalloc uint[Inline] : new uint[slots];
        for (var i = 0; i < total; i++)
        {
            var section = i < header.AnswerCount ? 0 : i < header.AnswerCount + header.AuthorityCount ? 1 : 2;
            var report = section == 0 && reported < slots;
            var write = decoded is not null && (report || (mdns && header.IsResponse && section != 1));

            // An owner that is a pointer to the first question's name (offset 12) is that name: not written out again.
            var ownerIsQuestion = write && decoded!.QuestionName is not null && pos + 1 < message.Length &&
                                  message[pos] == 0xC0 && message[pos + 1] == DnsParser.HeaderLength;
            if (!DnsParser.TryReadRecord(message, ref pos, write && !ownerIsQuestion ? text : default, out var record, out var error))
            {
                return Where(error, section switch { 0 => "answer", 1 => "authority", _ => "additional" }, i);
            }

            if (record.Type == DnsTypes.Opt && section == 2 && decoded is not null)
            {
                // RFC 6891 §6.1.3: TTL = extended RCODE (8) | version (8) | DO (1) | Z (15).
                decoded.ExtendedResponseCode = (int)(record.Ttl >> 24);
                decoded.DnssecOk = (record.Ttl & 0x8000) != 0;
                continue;
            }

            if (!write)
            {
                continue;
            }

            // Owners are mostly the question's name (a pointer to it): share its string.
            string owner;
            if (ownerIsQuestion)
            {
                owner = decoded!.QuestionName!;
            }
            else
            {
                var ownerText = text[..record.Name.TextLength];
                owner = decoded!.QuestionName is { } q && Ascii.Equals(ownerText, q) ? q : DnsNameCache.Name(ownerText, record.Name).Text;
            }

            if (report)
            {
                if (owners is null && !ReferenceEquals(owner, decoded.QuestionName))
                {
                    owners = new string[slots];
                    Array.Fill(owners, decoded.QuestionName, 0, reported);
                }

                if (owners is not null)
                {
                    owners[reported] = owner;
                }

                types[reported] = record.Type;
                classes[reported] = mdns ? (ushort)(record.Class & 0x7FFF) : record.Class;
                ttls[reported] = record.Ttl;
                decoded.AnswerData![reported] = Data(message, record, options);
                reported++;
                if (record.Type is DnsTypes.A or DnsTypes.Aaaa)
                {
                    addresses++;
                }
            }

            if (mdns && header.IsResponse && section != 1)
            {
                var list = record.Type switch
                {
                    DnsTypes.A or DnsTypes.Aaaa => decoded.MdnsHostnames ??= [],
                    DnsTypes.Srv => decoded.MdnsServices ??= [],
                    _ => null,
                };
                if (list is not null && list.Count < options.MaxAnswersPerEvent && !list.Contains(owner, StringComparer.OrdinalIgnoreCase))
                {
                    list.Add(owner);
                }
            }
        }

        if (decoded?.AnswerData is { } data)
        {
            if (reported < data.Length)
            {
                // Fewer answers than slots (an OPT among them): keep the lists as long as what was reported.
                decoded.AnswerData = data[..reported];
                owners = owners?[..reported];
            }

            decoded.AnswerNames = owners ?? (decoded.Question is { } question ? question.Run(reported) : new string[reported]);

            decoded.AnswerTypes = DnsAnswerLists.Types(types[..reported]);
            decoded.AnswerClasses = DnsAnswerLists.Classes(classes[..reported]);
            decoded.AnswerTtls = DnsAnswerLists.Ttls(ttls[..reported]);
            if (addresses > 0)
            {
                decoded.ResolvedIps = addresses == reported ? decoded.AnswerData : DnsAnswerLists.Addresses(decoded.AnswerData!, types[..reported], addresses);
            }
        }

        if (pos != message.Length)
        {
            return new ParseError(MalformedReason.TrailingBytes, "message", $"{message.Length - pos} bytes after the last record");
        }

        return default;
    }

    private static ParseError Where(in ParseError error, string section, int index) =>
        new(error.Reason, $"{section} {index + 1} {error.Field}", error.Detail);

    /// <summary>The record's data in presentation form (RFC 1035 §5.1; RFC 3597 §5 <c>\# N hex</c> for types without one),
    /// cut at <see cref="DnsOptions.MaxDataChars"/>.</summary>
    internal static string Data(ReadOnlySpan<byte> message, in DnsRecord r, DnsOptions options)
    {
        var max = Math.Max(32, options.MaxDataChars);
        var rdata = message.Slice(r.DataOffset, r.DataLength);
        switch (r.Type)
        {
            case DnsTypes.A:
                return string.Create(CultureInfo.InvariantCulture, $"{rdata[0]}.{rdata[1]}.{rdata[2]}.{rdata[3]}");
            case DnsTypes.Aaaa:
                return new IPAddress(rdata).ToString();
            case DnsTypes.Cname or DnsTypes.Ns or DnsTypes.Ptr:
                return Name(message, r.DataOffset);
            case DnsTypes.Mx:
                return BinaryPrimitives.ReadUInt16BigEndian(rdata).ToString(CultureInfo.InvariantCulture) + " " + Name(message, r.DataOffset + 2);
            case DnsTypes.Srv:
                return string.Create(CultureInfo.InvariantCulture,
                    $"{BinaryPrimitives.ReadUInt16BigEndian(rdata)} {BinaryPrimitives.ReadUInt16BigEndian(rdata[2..])} {BinaryPrimitives.ReadUInt16BigEndian(rdata[4..])} {Name(message, r.DataOffset + 6)}");
            case DnsTypes.Soa:
                DnsParser.TryReadName(message, r.DataOffset, default, out _, out var afterMname, out _);
                DnsParser.TryReadName(message, afterMname, default, out _, out var afterRname, out _);
                var n = message[afterRname..];
                return string.Create(CultureInfo.InvariantCulture,
                    $"{Name(message, r.DataOffset)} {Name(message, afterMname)} {BinaryPrimitives.ReadUInt32BigEndian(n)} {BinaryPrimitives.ReadUInt32BigEndian(n[4..])} {BinaryPrimitives.ReadUInt32BigEndian(n[8..])} {BinaryPrimitives.ReadUInt32BigEndian(n[12..])} {BinaryPrimitives.ReadUInt32BigEndian(n[16..])}");
            case DnsTypes.Txt:
                return Txt(rdata, max);
            default:
                return Generic(rdata, max);
        }
    }

    private static string Name(ReadOnlySpan<byte> message, int offset)
    {
        Span<byte> text = stackalloc byte[DnsParser.MaxNameTextLength];
        DnsParser.TryReadName(message, offset, text, out var info, out _, out _);
        return DnsNameCache.Name(text[..info.TextLength], info).Text;
    }

    [ThreadStatic]
    private static StringBuilder? t_text;

    // "first" "second": each character-string quoted, '"' and '\' escaped, other non-printable bytes as \DDD (as dig).
    private static string Txt(ReadOnlySpan<byte> rdata, int max)
    {
        // The thread's one builder: only the final string is made per record.
        var sb = t_text ??= new StringBuilder(256);
        sb.Clear();
        var at = 0;
        while (at < rdata.Length && sb.Length < max)
        {
            var s = rdata.Slice(at + 1, rdata[at]);
            at += 1 + s.Length;
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append('"');
            foreach (var b in s)
            {
                if (b is (byte)'"' or (byte)'\\')
                {
                    sb.Append('\\').Append((char)b);
                }
                else if (b is < 0x20 or >= 0x7F)
                {
                    sb.Append('\\').Append((b / 100).ToString(CultureInfo.InvariantCulture)).Append((b / 10 % 10).ToString(CultureInfo.InvariantCulture)).Append((b % 10).ToString(CultureInfo.InvariantCulture));
                }
                else
                {
                    sb.Append((char)b);
                }
            }

            sb.Append('"');
        }

        return Cut(sb, max);
    }

    // RFC 3597 §5: \# <length> <hex>.
    private static string Generic(ReadOnlySpan<byte> rdata, int max)
    {
        var prefix = "\\# " + rdata.Length.ToString(CultureInfo.InvariantCulture);
        if (rdata.IsEmpty)
        {
            return prefix;
        }

        var hexBytes = Math.Min(rdata.Length, Math.Max(0, (max - prefix.Length - 1) / 2));
        var text = prefix + " " + Convert.ToHexStringLower(rdata[..hexBytes]);
        return hexBytes < rdata.Length ? text + "..." : text;
    }

    private static string Cut(StringBuilder sb, int max)
    {
        if (sb.Length <= max)
        {
            return sb.ToString();
        }

        sb.Length = max - 3;
        return sb.Append("...").ToString();
    }
}
