using System.Globalization;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Dns;

/// <summary>
/// Per-flow DNS state shared by the UDP and TCP sessions: decodes each message, emits its event, and joins a response to
/// its query by id and question (RFC 1035 §7.3: a resolver matches replies by id and question). Queries still waiting
/// at the flow's end are reported as <c>dns.unanswered</c>; mDNS is not joined, its answers go to the multicast group on
/// other flows (RFC 6762 §6), nor is any query sent to a group or broadcast address (LLMNR's 224.0.0.252 and ff02::1:3:
/// a responder answers from its own address, RFC 4795 §2.1.1, on another flow). Over UDP the conversation is the flow's
/// session itself: one message per datagram (RFC 1035 §4.2.1) needs no framing state, so a DNS flow costs no session
/// object besides it (a new flow per query).
/// </summary>
internal sealed class DnsConversation : IDatagramSession
{
    private readonly FlowContext _flow;
    private readonly ProtocolServices _services;
    private readonly DnsOptions _options;
    private readonly bool _mdns;
    private readonly bool _joined;
    private readonly string _protocol;
    // Every message is decoded into the thread's one instance (nothing keeps it past OnMessage): no object per message
    // nor per flow.
    [ThreadStatic]
    private static DnsMessage? t_message;

    // Queries waiting for their answer, oldest first: the first inline (a flow mostly has one at a time), the rest after.
    private DnsQueryEvent? _oldest;
    private List<DnsQueryEvent>? _newer;

    /// <summary>Creates the state of one flow; <paramref name="flow"/> is the to-server context.</summary>
    public DnsConversation(FlowContext flow, ProtocolServices services, DnsOptions options)
    {
        _flow = flow;
        _services = services;
        _options = options;
        _mdns = DnsProtocol.IsMdnsGroup(flow.DestinationIp) || DnsProtocol.IsMdnsGroup(flow.SourceIp);
        _protocol = _mdns ? "mdns" : "dns";
        _joined = !_mdns && !IsGroupOrBroadcast(flow.DestinationIp);
    }

    /// <summary>True when the flow is multicast DNS.</summary>
    public bool IsMdns => _mdns;

    /// <summary>Decodes one message of <paramref name="direction"/> and emits its event. Returns false when it was
    /// malformed (reported and counted).</summary>
    public bool OnMessage(FlowDirection direction, ReadOnlySpan<byte> message, in PacketMeta meta)
    {
        var flow = direction == FlowDirection.ToServer ? _flow : _flow.Reverse ?? _flow;
        DnsParser.TryReadHeader(message, out var header);
        var decoded = t_message ??= new DnsMessage();
        decoded.Reset(header);
        var error = DnsDecoder.Walk(message, decoded, _options, _mdns);
        if (error.IsError)
        {
            Malformed(flow, header, message.Length >= DnsParser.HeaderLength, error, meta);
            if (error.Reason != MalformedReason.TrailingBytes)
            {
                return false;
            }
        }

        if (header.IsResponse)
        {
            Answer(flow, decoded, meta);
        }
        else
        {
            Query(flow, decoded, meta);
        }

        return !error.IsError;
    }

    /// <inheritdoc />
    void IDatagramSession.OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta) =>
        OnMessage(direction, payload, meta);

    /// <inheritdoc />
    void IDatagramSession.OnClose(in PacketMeta meta) => OnClose();

    /// <summary>The flow ended: report the queries never answered.</summary>
    public void OnClose()
    {
        if (_oldest is null)
        {
            return;
        }

        Unanswered(_oldest);
        foreach (var q in _newer ?? [])
        {
            Unanswered(q);
        }

        _oldest = null;
        _newer = null;
    }

    private void Unanswered(DnsQueryEvent q)
    {
        _services.Events.Emit(new DnsUnansweredEvent
        {
            Flow = q.Flow, TimestampMicros = q.TimestampMicros, PacketNumber = q.PacketNumber,
            Id = q.Id, OpCode = q.OpCode, HeaderFlags = q.HeaderFlags, QuestionCount = q.QuestionCount,
            Question = q.Question, QuestionType = q.QuestionType, QuestionClass = q.QuestionClass,
        });
    }

    private void Query(FlowContext flow, DnsMessage m, in PacketMeta meta)
    {
        var e = new DnsQueryEvent
        {
            Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Mdns = _mdns,
            Id = m.Header.Id, OpCode = DnsTypes.OpCode(m.Header.OpCode), HeaderFlags = Flags(m), QuestionCount = m.Header.QuestionCount,
            Question = m.Question, QuestionType = m.Question is null ? null : DnsTypes.Name(m.QuestionType),
            QuestionClass = m.Question is null ? null : DnsTypes.ClassName(m.QuestionClass, _mdns),
        };
        _services.Events.Emit(e);
        if (_joined && m.Header.OpCode == 0)
        {
            if (_oldest is null && _options.MaxPendingQueriesPerFlow > 0)
            {
                _oldest = e;
            }
            else if (_oldest is not null && 1 + (_newer?.Count ?? 0) < _options.MaxPendingQueriesPerFlow)
            {
                (_newer ??= []).Add(e);
            }
        }
    }

    // IPv4 224.0.0.0/4 and 255.255.255.255, IPv6 ff00::/8, from the text form (a flow's addresses are text; no parse
    // per flow): an IPv6 address whose first byte is ff prints its first group with four digits.
    internal static bool IsGroupOrBroadcast(string ip)
    {
        if (ip.Length >= 5 && ip[4] == ':')
        {
            return ip[0] is 'f' or 'F' && ip[1] is 'f' or 'F';
        }

        var firstOctet = ip.AsSpan(0, Math.Max(ip.IndexOf('.', StringComparison.Ordinal), 0));
        return ip == "255.255.255.255" ||
               (int.TryParse(firstOctet, NumberStyles.None, CultureInfo.InvariantCulture, out var first) &&
                first is >= 224 and <= 239);
    }

    private void Answer(FlowContext flow, DnsMessage m, in PacketMeta meta)
    {
        var questionType = m.QuestionName is null ? null : DnsTypes.Name(m.QuestionType);
        var questionClass = m.QuestionName is null ? null : DnsTypes.ClassName(m.QuestionClass, _mdns);
        var query = Join(m, questionType, questionClass);
        _services.Events.Emit(new DnsAnswerEvent
        {
            Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Mdns = _mdns,
            Id = m.Header.Id, OpCode = DnsTypes.OpCode(m.Header.OpCode), HeaderFlags = Flags(m), QuestionCount = m.Header.QuestionCount,
            // A response without a question (allowed, RFC 1035 §4.1.2) takes its query's.
            Question = m.Question ?? query?.Question,
            QuestionType = questionType ?? query?.QuestionType,
            QuestionClass = questionClass ?? query?.QuestionClass,
            ResponseCode = DnsTypes.ResponseCode(m.ResponseCode),
            AnswerCount = m.Header.AnswerCount, AuthorityCount = m.Header.AuthorityCount, AdditionalCount = m.Header.AdditionalCount,
            AnswerNames = m.AnswerNames, AnswerTypes = m.AnswerTypes, AnswerClasses = m.AnswerClasses, AnswerTtls = m.AnswerTtls,
            AnswerData = m.AnswerData, ResolvedIps = m.ResolvedIps,
            ResponseTimeMicros = query is null ? null : meta.TimestampMicros - query.TimestampMicros,
            MdnsHostnames = m.MdnsHostnames, MdnsServices = m.MdnsServices,
        });
    }

    // The oldest waiting query with the response's id and question (name compared ignoring case: RFC 4343).
    private DnsQueryEvent? Join(DnsMessage m, string? type, string? @class)
    {
        if (_oldest is null)
        {
            return null;
        }

        if (Matches(_oldest, m, type, @class))
        {
            var q = _oldest;
            _oldest = null;
            if (_newer is { Count: > 0 })
            {
                _oldest = _newer[0];
                _newer.RemoveAt(0);
            }

            return q;
        }

        if (_newer is null)
        {
            return null;
        }

        for (var i = 0; i < _newer.Count; i++)
        {
            var q = _newer[i];
            if (Matches(q, m, type, @class))
            {
                _newer.RemoveAt(i);
                return q;
            }
        }

        return null;
    }

    private static bool Matches(DnsQueryEvent q, DnsMessage m, string? type, string? @class) =>
        q.Id == m.Header.Id && (m.QuestionName is null ||
            (string.Equals(q.QuestionName, m.QuestionName, StringComparison.OrdinalIgnoreCase) && q.QuestionType == type && q.QuestionClass == @class));

    // Every combination of AA, TC, RD, RA, AD, CD and DO, built once: the events share these arrays (never mutated).
    private static readonly string[][] FlagSets = BuildFlagSets();

    private static string[][] BuildFlagSets()
    {
        string[] names = ["AA", "TC", "RD", "RA", "AD", "CD", "DO"];
        var sets = new string[1 << names.Length][];
        for (var bits = 0; bits < sets.Length; bits++)
        {
            sets[bits] = [.. names.Where((_, i) => (bits & (1 << i)) != 0)];
        }

        return sets;
    }

    private static string[] Flags(DnsMessage m)
    {
        var f = m.Header.Flags;
        var bits = ((f >> 10) & 1) | (((f >> 9) & 1) << 1) | (((f >> 8) & 1) << 2) | (((f >> 7) & 1) << 3) |
                   (((f >> 5) & 1) << 4) | (((f >> 4) & 1) << 5) | ((m.DnssecOk ? 1 : 0) << 6);
        return FlagSets[bits];
    }

    private void Malformed(FlowContext flow, in DnsHeader header, bool haveHeader, in ParseError error, in PacketMeta meta)
    {
        var message = $"{_protocol}: {error}";
        _services.Stats.CountMalformed(_protocol, error.Reason);
        _services.Diagnostics.ReportMalformed(meta, _protocol, error.Reason, message);
        _services.Events.Emit(new DnsMalformedEvent
        {
            Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Mdns = _mdns,
            Id = haveHeader ? header.Id : 0, OpCode = DnsTypes.OpCode(header.OpCode), HeaderFlags = [], QuestionCount = header.QuestionCount,
            IsResponse = header.IsResponse, ErrorMessage = message, Reason = ParseError.Name(error.Reason),
        });
    }
}
