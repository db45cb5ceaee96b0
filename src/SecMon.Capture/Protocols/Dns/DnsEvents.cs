using System.Globalization;
using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Dns;

// ECS dns.* names where ECS has them (dns.id, dns.type, dns.op_code, dns.response_code, dns.header_flags,
// dns.question.*, dns.resolved_ip). ECS's dns.answers is an array of objects, which flat event fields cannot carry: the
// answers are parallel lists under dns.answer.* (the same index is one record). The tunnelling measures of the
// question name are custom (dns.question.label_count, longest_label, subdomain_length, subdomain_entropy).
//
// One event type family per protocol name: dns.query, dns.answer, dns.unanswered, dns.malformed for DNS, and the same
// under mdns.* for multicast DNS (RFC 6762: multicast to 224.0.0.251 / ff02::fb port 5353), so network.protocol says
// which (dns or mdns) and a rule on dns.query never reads mDNS chatter. Unicast DNS on port 5353 is dns.

/// <summary>Base of every DNS and mDNS event: the header and the first question.</summary>
internal abstract record DnsEvent : ProtocolEvent
{
    /// <summary>True for multicast DNS (the event types are <c>mdns.*</c>).</summary>
    public bool Mdns { get; init; }

    /// <summary>Message id.</summary>
    public int Id { get; init; }

    /// <summary>Opcode name (QUERY, NOTIFY, UPDATE...).</summary>
    public required string OpCode { get; init; }

    /// <summary>Header flags set (AA, TC, RD, RA, AD, CD, and DO from EDNS).</summary>
    public required IReadOnlyList<string> HeaderFlags { get; init; }

    /// <summary>Questions in the message.</summary>
    public int QuestionCount { get; init; }

    /// <summary>First question's name as decoded once and shared (its text, label measures and parts): one reference
    /// per event instead of the name, two counts and the parts.</summary>
    public DnsName? Question { get; init; }

    /// <summary>First question's name, presentation form.</summary>
    public string? QuestionName => Question?.Text;

    /// <summary>First question's type name.</summary>
    public string? QuestionType { get; init; }

    /// <summary>First question's class name.</summary>
    public string? QuestionClass { get; init; }

    /// <summary>Labels of the question name.</summary>
    public int? LabelCount => Question?.LabelCount;

    /// <summary>Longest label of the question name, bytes.</summary>
    public int? LongestLabel => Question?.LongestLabel;

    /// <summary>Registered domain, subdomain, suffix and the subdomain's length and entropy.</summary>
    public DnsNameParts Parts => Question?.Parts ?? default;

    /// <summary>The id as ECS has it: a keyword.</summary>
    public string IdText => Id.ToString(CultureInfo.InvariantCulture);

    /// <summary>The schemas of one event type: DNS's and mDNS's.</summary>
    protected static (EventSchema Dns, EventSchema Mdns) CreateSchemas(string kind, EventField[] own, DeviceFact[] dnsFacts, DeviceFact[] mdnsFacts)
    {
        EventField[] common =
        [
            new EventField<DnsEvent>("dns.id", FieldKind.Text, e => FieldValue.Of(e.IdText), "Message id (decimal), as ECS has it: a keyword."),
            new EventField<DnsEvent>("dns.type", FieldKind.Text, e => FieldValue.Of(e.DnsType), "query or answer (ECS)."),
            new EventField<DnsEvent>("dns.op_code", FieldKind.Text, e => FieldValue.Of(e.OpCode), "QUERY, IQUERY, STATUS, NOTIFY, UPDATE, or the number."),
            new EventField<DnsEvent>("dns.header_flags", FieldKind.StringList, e => FieldValue.Of(e.HeaderFlags), "Flags set: AA, TC, RD, RA, AD, CD, and DO (EDNS)."),
            new EventField<DnsEvent>("dns.question.count", FieldKind.Number, e => FieldValue.Of((long)e.QuestionCount), "Questions in the message (only the first is reported)."),
            new EventField<DnsEvent>("dns.question.name", FieldKind.Text, e => FieldValue.Of(e.QuestionName), "First question's name, as sent (RFC 1035 §5.1 escapes; . for the root)."),
            new EventField<DnsEvent>("dns.question.type", FieldKind.Text, e => FieldValue.Of(e.QuestionType), "First question's type (A, AAAA, TXT, TYPE65280)."),
            new EventField<DnsEvent>("dns.question.class", FieldKind.Text, e => FieldValue.Of(e.QuestionClass), "First question's class (IN); mDNS: without the unicast-response bit."),
            new EventField<DnsEvent>("dns.question.registered_domain", FieldKind.Text, e => FieldValue.Of(e.Parts.RegisteredDomain), "Last two labels, three under a listed multi-part suffix (co.uk); lower case."),
            new EventField<DnsEvent>("dns.question.subdomain", FieldKind.Text, e => FieldValue.Of(e.Parts.Subdomain), "What is left of the registered domain; lower case."),
            new EventField<DnsEvent>("dns.question.top_level_domain", FieldKind.Text, e => FieldValue.Of(e.Parts.TopLevelDomain), "The suffix (com, co.uk); lower case."),
            new EventField<DnsEvent>("dns.question.label_count", FieldKind.Number, e => FieldValue.Of((long?)e.LabelCount), "Labels of the question name."),
            new EventField<DnsEvent>("dns.question.longest_label", FieldKind.Number, e => FieldValue.Of((long?)e.LongestLabel), "Longest label of the question name, bytes (at most 63)."),
            new EventField<DnsEvent>("dns.question.subdomain_length", FieldKind.Number, e => e.QuestionName is null ? FieldValue.Missing : FieldValue.Of((long)e.Parts.SubdomainLength), "Characters of the subdomain (0 without one)."),
            new EventField<DnsEvent>("dns.question.subdomain_entropy", FieldKind.Number, e => e.QuestionName is null ? FieldValue.Missing : FieldValue.Of((long)e.Parts.SubdomainEntropy), "Shannon entropy of the subdomain's characters, hundredths of a bit per character (352 = 3.52)."),
        ];
        var dns = new EventSchema("dns." + kind, [.. common, .. own]).WithFacts(dnsFacts);
        var mdns = new EventSchema("mdns." + kind, [.. common, .. own]).WithFacts(mdnsFacts);
        return (dns, mdns);
    }

    /// <summary>ECS dns.type: query or answer.</summary>
    protected abstract string DnsType { get; }
}

/// <summary><c>dns.query</c> / <c>mdns.query</c>: a query (QR clear).</summary>
internal sealed record DnsQueryEvent : DnsEvent
{
    private static readonly (EventSchema Dns, EventSchema Mdns) Schemas = CreateSchemas("query", [],
        [DeviceFact.Values("dns.question.name", "dns.question.name")],
        [DeviceFact.Values("dns.question.name", "mdns.question.name")]);

    /// <summary>The schema of <c>dns.query</c>.</summary>
    public static EventSchema DnsSchema => Schemas.Dns;

    /// <summary>The schema of <c>mdns.query</c>.</summary>
    public static EventSchema MdnsSchema => Schemas.Mdns;

    /// <inheritdoc />
    public override EventSchema Schema => Mdns ? Schemas.Mdns : Schemas.Dns;

    /// <inheritdoc />
    protected override string DnsType => "query";
}

/// <summary><c>dns.unanswered</c>: a query the flow's end found unanswered (never for mDNS, whose answers travel on other
/// flows). Its time is the query's; its packet number the query's.</summary>
internal sealed record DnsUnansweredEvent : DnsEvent
{
    private static readonly (EventSchema Dns, EventSchema Mdns) Schemas = CreateSchemas("unanswered", [], [], []);

    /// <summary>The schema of <c>dns.unanswered</c>.</summary>
    public static EventSchema DnsSchema => Schemas.Dns;

    /// <inheritdoc />
    public override EventSchema Schema => Mdns ? Schemas.Mdns : Schemas.Dns;

    /// <inheritdoc />
    protected override string DnsType => "query";
}

/// <summary><c>dns.answer</c> / <c>mdns.answer</c>: a response (QR set), joined to its query by id and question.</summary>
internal sealed record DnsAnswerEvent : DnsEvent
{
    private static readonly (EventSchema Dns, EventSchema Mdns) Schemas = CreateSchemas("answer",
        [
            new EventField<DnsAnswerEvent>("dns.response_code", FieldKind.Text, e => FieldValue.Of(e.ResponseCode), "NOERROR, NXDOMAIN, SERVFAIL, REFUSED... (with EDNS's extended bits)."),
            new EventField<DnsAnswerEvent>("dns.answers_count", FieldKind.Number, e => FieldValue.Of((long)e.AnswerCount), "Answer records in the message (dns.answer.* reports the first 32 by default)."),
            new EventField<DnsAnswerEvent>("dns.authorities_count", FieldKind.Number, e => FieldValue.Of((long)e.AuthorityCount), "Authority records in the message."),
            new EventField<DnsAnswerEvent>("dns.additionals_count", FieldKind.Number, e => FieldValue.Of((long)e.AdditionalCount), "Additional records in the message (OPT included)."),
            new EventField<DnsAnswerEvent>("dns.answer.name", FieldKind.StringList, e => FieldValue.Of(e.AnswerNames), "Owner name of each answer record."),
            new EventField<DnsAnswerEvent>("dns.answer.type", FieldKind.StringList, e => FieldValue.Of(e.AnswerTypes), "Type of each answer record."),
            new EventField<DnsAnswerEvent>("dns.answer.class", FieldKind.StringList, e => FieldValue.Of(e.AnswerClasses), "Class of each answer record."),
            new EventField<DnsAnswerEvent>("dns.answer.ttl", FieldKind.NumberList, e => FieldValue.Of(e.AnswerTtls), "TTL of each answer record, seconds."),
            new EventField<DnsAnswerEvent>("dns.answer.data", FieldKind.StringList, e => FieldValue.Of(e.AnswerData), "Data of each answer record: an address, a name, MX 'pref name', SRV 'prio weight port target', TXT quoted strings, others RFC 3597 '\\# len hex'; cut at 256 characters."),
            new EventField<DnsAnswerEvent>("dns.resolved_ip", FieldKind.StringList, e => FieldValue.Of(e.ResolvedIps), "Addresses of the A and AAAA answers (ECS)."),
            new EventField<DnsAnswerEvent>("dns.response_time_us", FieldKind.Number, e => FieldValue.Of(e.ResponseTimeMicros), "Microseconds from the query it answers (same flow, id and question)."),
            new EventField<DnsAnswerEvent>("dns.mdns.hostnames", FieldKind.StringList, e => FieldValue.Of(e.MdnsHostnames), "mDNS: host names the responder announced (owners of its A/AAAA records)."),
            new EventField<DnsAnswerEvent>("dns.mdns.services", FieldKind.StringList, e => FieldValue.Of(e.MdnsServices), "mDNS: service instances the responder announced (owners of its SRV records)."),
        ],
        [],
        // The responder of an mDNS flow is its first sender (multicast group addresses never send), so the flow's client.
        [DeviceFact.Identity("dns.mdns.hostnames"), DeviceFact.Identity("dns.mdns.services")]);

    /// <summary>The schema of <c>dns.answer</c>.</summary>
    public static EventSchema DnsSchema => Schemas.Dns;

    /// <summary>The schema of <c>mdns.answer</c>.</summary>
    public static EventSchema MdnsSchema => Schemas.Mdns;

    /// <inheritdoc />
    public override EventSchema Schema => Mdns ? Schemas.Mdns : Schemas.Dns;

    /// <inheritdoc />
    protected override string DnsType => "answer";

    /// <summary>Response code name.</summary>
    public required string ResponseCode { get; init; }

    /// <summary>Answer records in the message.</summary>
    public int AnswerCount { get; init; }

    /// <summary>Authority records.</summary>
    public int AuthorityCount { get; init; }

    /// <summary>Additional records.</summary>
    public int AdditionalCount { get; init; }

    /// <summary>Owner names.</summary>
    public IReadOnlyList<string>? AnswerNames { get; init; }

    /// <summary>Types.</summary>
    public IReadOnlyList<string>? AnswerTypes { get; init; }

    /// <summary>Classes.</summary>
    public IReadOnlyList<string>? AnswerClasses { get; init; }

    /// <summary>TTLs.</summary>
    public IReadOnlyList<long>? AnswerTtls { get; init; }

    /// <summary>Data.</summary>
    public IReadOnlyList<string>? AnswerData { get; init; }

    /// <summary>A/AAAA addresses.</summary>
    public IReadOnlyList<string>? ResolvedIps { get; init; }

    /// <summary>Time since the joined query.</summary>
    public long? ResponseTimeMicros { get => _responseTime == long.MinValue ? null : _responseTime; init => _responseTime = value ?? long.MinValue; }

    // long.MinValue for "not joined" (a plain long: 8 bytes less per event than long?).
    private readonly long _responseTime = long.MinValue;

    /// <summary>mDNS host names.</summary>
    public IReadOnlyList<string>? MdnsHostnames { get; init; }

    /// <summary>mDNS service instances.</summary>
    public IReadOnlyList<string>? MdnsServices { get; init; }
}

/// <summary><c>dns.malformed</c> / <c>mdns.malformed</c>: a message SecMon could not decode (or one with bytes after its
/// last record). Header fields are those of the message when its header was whole.</summary>
internal sealed record DnsMalformedEvent : DnsEvent
{
    private static readonly (EventSchema Dns, EventSchema Mdns) Schemas = CreateSchemas("malformed",
        [
            new EventField<DnsMalformedEvent>("error.message", FieldKind.Text, e => FieldValue.Of(e.ErrorMessage), "What was wrong and where."),
            new EventField<DnsMalformedEvent>("dns.malformed.reason", FieldKind.Text, e => FieldValue.Of(e.Reason), "The counted reason: truncated, too_large, bad_value, bad_length, unknown_type, trailing_bytes."),
        ],
        [],
        []);

    /// <summary>The schema of <c>dns.malformed</c>.</summary>
    public static EventSchema DnsSchema => Schemas.Dns;

    /// <summary>The schema of <c>mdns.malformed</c>.</summary>
    public static EventSchema MdnsSchema => Schemas.Mdns;

    /// <inheritdoc />
    public override EventSchema Schema => Mdns ? Schemas.Mdns : Schemas.Dns;

    /// <inheritdoc />
    protected override string DnsType => IsResponse ? "answer" : "query";

    /// <summary>QR was set.</summary>
    public bool IsResponse { get; init; }

    /// <summary>What was wrong and where.</summary>
    public required string ErrorMessage { get; init; }

    /// <summary>The counted reason's name.</summary>
    public required string Reason { get; init; }
}
