using System.Buffers.Binary;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Dns;

/// <summary>
/// DNS over UDP (RFC 1035 §4.2.1), DNS over TCP (§4.2.2, a 2-byte length before each message) and multicast DNS
/// (RFC 6762), recognised by content on any port: a header with a known opcode and the Z bit clear, and (for a UDP
/// datagram, or a TCP message that has fully arrived) every question and record of the message decoding to its last
/// byte. Ports 53 and 5353 are hints: a TCP stream on them that no probe claimed (a capture started mid-stream) is
/// taken as DNS. A flow to or from 224.0.0.251 or ff02::fb is mDNS, its events <c>mdns.*</c>; unicast DNS on 5353
/// (a legacy unicast query, RFC 6762 §6.7) is plain <c>dns.*</c>.
/// </summary>
internal sealed class DnsProtocol(DnsOptions? options = null) : IDatagramProtocol, IStreamProtocol
{
    /// <summary>The options probes check with (they report nothing).</summary>
    internal static readonly DnsOptions ProbeOptions = new();

    /// <summary>DNS's own limits; defaults documented there.</summary>
    public DnsOptions Options { get; } = options ?? new DnsOptions();

    /// <inheritdoc />
    public string Name => "dns";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [53, 5353];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        DnsQueryEvent.DnsSchema,
        DnsAnswerEvent.DnsSchema,
        DnsUnansweredEvent.DnsSchema,
        DnsMalformedEvent.DnsSchema,
        DnsQueryEvent.MdnsSchema,
        DnsAnswerEvent.MdnsSchema,
        DnsMalformedEvent.MdnsSchema,
    ];

    /// <summary>True for the mDNS group addresses (RFC 6762 §3): 224.0.0.251 and ff02::fb.</summary>
    public static bool IsMdnsGroup(string ip) =>
        ip == "224.0.0.251" || string.Equals(ip, "ff02::fb", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> datagram, FlowDirection direction)
    {
        if (!PlausibleHeader(datagram))
        {
            return ProbeResult.NotMine;
        }

        return PlausibleFirstQuestion(datagram) && !IsNetBiosNameService(datagram) &&
               !DnsDecoder.Walk(datagram, null, ProbeOptions, mdns: false).IsError
            ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    /// <inheritdoc />
    public IDatagramSession CreateSession(FlowContext flow, ProtocolServices services) => new DnsConversation(flow, services, Options);

    /// <inheritdoc />
    ProbeResult IStreamProtocol.Probe(ReadOnlySpan<byte> data, FlowDirection direction)
    {
        if (data.Length < 2)
        {
            return ProbeResult.NeedMoreData;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(data);
        if (length < DnsParser.HeaderLength)
        {
            return ProbeResult.NotMine;
        }

        if (data.Length < 2 + DnsParser.HeaderLength)
        {
            return ProbeResult.NeedMoreData;
        }

        var available = data[2..];
        if (available.Length >= length)
        {
            return Probe(available[..length], direction);
        }

        if (!PlausibleHeader(available, length))
        {
            return ProbeResult.NotMine;
        }

        // Part of the message is here: its first question must read within it.
        DnsParser.TryReadHeader(available, out var header);
        if (header.QuestionCount == 0)
        {
            return ProbeResult.NeedMoreData;
        }

        var pos = DnsParser.HeaderLength;
        if (DnsParser.TryReadQuestion(available, ref pos, default, out _, out _, out var @class, out var error))
        {
            return KnownClass(@class) && !IsNetBiosNameService(available) ? ProbeResult.Mine : ProbeResult.NotMine;
        }

        return error.Reason == MalformedReason.Truncated ? ProbeResult.NeedMoreData : ProbeResult.NotMine;
    }

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new DnsStreamSession(flow, services, Options, midStream);

    // RFC 1035 §4.1.1 (with RFC 2535's AD and CD): Z clear, a known opcode; a query has rcode 0, no AA (a server's
    // answer bit; TC is not checked: an mDNS query sets it when known answers follow, RFC 6762 §18.5) and, for QUERY,
    // a question; the counts fit the bytes (a question takes 5 bytes at least, a record 11). Found on a real capture:
    // a DTN TCPCL stream ("dtn!", version 4, flags 0) read as a 25,716-byte query with AA set and 1,792 questions.
    private static bool PlausibleHeader(ReadOnlySpan<byte> message, int declaredLength = -1)
    {
        if (!DnsParser.TryReadHeader(message, out var h) || h.ZSet || !DnsTypes.IsKnownOpCode(h.OpCode))
        {
            return false;
        }

        if (!h.IsResponse && (h.ResponseCode != 0 || (h.Flags & AuthoritativeAnswer) != 0 ||
                              (h.OpCode == 0 && h.QuestionCount == 0)))
        {
            return false;
        }

        var records = h.AnswerCount + h.AuthorityCount + h.AdditionalCount;
        if (h.QuestionCount + records == 0)
        {
            return false;
        }

        var length = declaredLength < 0 ? message.Length : declaredLength;
        return DnsParser.HeaderLength + (5L * h.QuestionCount) + (11L * records) <= length;
    }

    private const ushort AuthoritativeAnswer = 0x0400;

    // The first question, when there is one, asks in a class that exists (the message walked whole already).
    private static bool PlausibleFirstQuestion(ReadOnlySpan<byte> message)
    {
        if (!DnsParser.TryReadHeader(message, out var h) || h.QuestionCount == 0)
        {
            return true;
        }

        var pos = DnsParser.HeaderLength;
        return DnsParser.TryReadQuestion(message, ref pos, default, out _, out _, out var @class, out _) && KnownClass(@class);
    }

    // RFC 1002 §4.2: the NetBIOS Name Service (UDP 137) reuses DNS's header and record layout, but its first name (a
    // question, or a response's record) is one 32-byte label of RFC 1001 §14.1's first-level encoding (each half-byte
    // of the 16-byte NetBIOS name as 'A' to 'P'), perhaps followed by scope labels, of type NB (0x20) or NBSTAT (0x21).
    // Found on real captures (Wireshark's logistics_multicast.pcapng, tcpdump's eapon1.pcap): name queries and
    // registrations (opcode 5, DNS's UPDATE) read as DNS queries of TYPE32 for names like
    // ENFEFDFAFCDADADDDGCACACACACACAAA.
    private static bool IsNetBiosNameService(ReadOnlySpan<byte> message)
    {
        const int FirstName = DnsParser.HeaderLength;
        const int EncodedLength = 32;
        if (message.Length < FirstName + 1 + EncodedLength || message[FirstName] != EncodedLength ||
            message.Slice(FirstName + 1, EncodedLength).ContainsAnyExceptInRange((byte)'A', (byte)'P'))
        {
            return false;
        }

        var pos = FirstName;
        return DnsParser.TryReadQuestion(message, ref pos, default, out _, out var type, out _, out _) &&
               type is NetBiosNb or NetBiosNbStat;
    }

    private const ushort NetBiosNb = 0x0020;
    private const ushort NetBiosNbStat = 0x0021;

    // IN, CH, HS, NONE (RFC 2136) and ANY; mDNS sets the top bit of a question's class to ask for a unicast answer
    // (RFC 6762 §5.4).
    private static bool KnownClass(ushort @class) => (@class & 0x7FFF) is 1 or 3 or 4 or 254 or 255;
}
