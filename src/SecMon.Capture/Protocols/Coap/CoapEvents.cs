using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Coap;

// SecMon's custom coap.* field set (ECS has none); the request's URI in ECS url.* names (url.domain, url.port,
// url.path, url.query), as a coap:// URL has them (RFC 7252 §6.5). Every CoAP event seen by SecMon crossed the network
// in cleartext: DTLS (coaps, 5684) is dissected as DTLS, never as CoAP.

/// <summary>Base of every CoAP event: the message's header and the request it belongs to (its method and URI).</summary>
internal abstract record CoapEvent : ProtocolEvent
{
    /// <summary>Version (1).</summary>
    public int Version { get; init; } = 1;

    /// <summary>Message type.</summary>
    public CoapType MessageType { get; init; }

    /// <summary>The message came over TCP (RFC 8323), which has neither a type nor a message id: both fields are
    /// missing from the event (<c>network.transport: tcp</c> says which CoAP it was).</summary>
    public bool OverTcp { get; init; }

    /// <summary>Code of the message (a request's method code, a response's status code).</summary>
    public byte Code { get; init; }

    /// <summary>Message ID.</summary>
    public int MessageId { get; init; }

    /// <summary>Token, lower-case hex (empty string for a zero-length token).</summary>
    public required string Token { get; init; }

    /// <summary>The request: method and URI (for a response, those of the request it answers, when seen).</summary>
    public CoapRequestLine? Request { get; init; }

    /// <summary>Builds a schema: the shared fields, then the type's own.</summary>
    protected static EventSchema CreateSchema(string type, params EventField[] own) =>
        new(type,
        [
            new EventField<CoapEvent>("coap.version", FieldKind.Number, e => FieldValue.Of(e.Version), "Protocol version (1)."),
            new EventField<CoapEvent>("coap.type", FieldKind.Text, e => FieldValue.Of(e.OverTcp ? null : CoapCodes.TypeName(e.MessageType)), "Message type: CON, NON, ACK or RST (missing over TCP, RFC 8323, which has none)."),
            new EventField<CoapEvent>("coap.code", FieldKind.Text, e => FieldValue.Of(CoapCodes.Text(e.Code)), "Code as class.detail: 0.01-0.07 for requests (GET...), 2.05, 4.04... for responses."),
            new EventField<CoapEvent>("coap.message_id", FieldKind.Number, e => e.OverTcp ? FieldValue.Missing : FieldValue.Of(e.MessageId), "Message ID (missing over TCP, RFC 8323, which has none)."),
            new EventField<CoapEvent>("coap.token", FieldKind.Text, e => FieldValue.Of(e.Token), "Token, lower-case hex (empty for a zero-length token)."),
            new EventField<CoapEvent>("coap.method", FieldKind.Text, e => FieldValue.Of(e.Request?.Method), "Request method (GET, POST, PUT, DELETE, FETCH, PATCH, iPATCH); on a response, that of the request it answers."),
            new EventField<CoapEvent>("url.domain", FieldKind.Text, e => FieldValue.Of(e.Request?.Host), "Uri-Host option of the request."),
            new EventField<CoapEvent>("url.port", FieldKind.Number, e => FieldValue.Of((long?)e.Request?.Port), "Uri-Port option of the request."),
            new EventField<CoapEvent>("url.path", FieldKind.Text, e => FieldValue.Of(e.Request?.Path), "Request path: the Uri-Path options joined with / after a leading / (/ when none)."),
            new EventField<CoapEvent>("url.query", FieldKind.Text, e => FieldValue.Of(e.Request?.Query), "Request query: the Uri-Query options joined with &."),
            new EventField<CoapEvent>("coap.proxy_uri", FieldKind.Text, e => FieldValue.Of(e.Request?.ProxyUri), "Proxy-Uri option of the request (a request to a forward proxy)."),
            .. own,
        ]);

    /// <summary>The fields of a message's own options and payload (request and response alike).</summary>
    protected static EventField[] MessageFields<T>() where T : CoapMessageEvent =>
    [
        new EventField<T>("coap.content_format", FieldKind.Number, e => FieldValue.Of((long?)e.ContentFormat), "Content-Format option (0 text/plain, 40 link-format, 50 json, 60 cbor...)."),
        new EventField<T>("coap.observe", FieldKind.Number, e => FieldValue.Of(e.Observe), "Observe option (RFC 7641): 0 register, 1 deregister in a request; the sequence number in a notification."),
        new EventField<T>("coap.block1.num", FieldKind.Number, e => FieldValue.Of(e.Block1?.Number), "Block1 (RFC 7959): block number of a request body in pieces."),
        new EventField<T>("coap.block1.more", FieldKind.Boolean, e => FieldValue.Of(e.Block1?.More), "Block1: more blocks follow."),
        new EventField<T>("coap.block1.size", FieldKind.Number, e => FieldValue.Of((long?)e.Block1?.Size), "Block1: block size in bytes (16-1024)."),
        new EventField<T>("coap.block2.num", FieldKind.Number, e => FieldValue.Of(e.Block2?.Number), "Block2 (RFC 7959): block number of a response body in pieces."),
        new EventField<T>("coap.block2.more", FieldKind.Boolean, e => FieldValue.Of(e.Block2?.More), "Block2: more blocks follow."),
        new EventField<T>("coap.block2.size", FieldKind.Number, e => FieldValue.Of((long?)e.Block2?.Size), "Block2: block size in bytes (16-1024)."),
        new EventField<T>("coap.option_count", FieldKind.Number, e => FieldValue.Of(e.OptionCount), "Options in the message."),
        new EventField<T>("coap.payload.size", FieldKind.Number, e => FieldValue.Of(e.PayloadSize), "Payload size in bytes (never the payload)."),
    ];
}

/// <summary>A request's method and URI, shared by the request's event and those of its response or its end.</summary>
/// <param name="Method">Method name (<c>GET</c>), or the dotted code for an unassigned one.</param>
/// <param name="Host">Uri-Host.</param>
/// <param name="Port">Uri-Port.</param>
/// <param name="Path">Uri-Path joined (<c>/sensors/temp</c>).</param>
/// <param name="Query">Uri-Query joined with <c>&amp;</c>.</param>
/// <param name="ProxyUri">Proxy-Uri.</param>
internal sealed record CoapRequestLine(string Method, string? Host, int? Port, string Path, string? Query, string? ProxyUri);

/// <summary>Block1/Block2 (RFC 7959 §2.2), kept as the option's value and decoded when read.</summary>
/// <param name="Raw">The option's uint value: NUM, M and SZX.</param>
internal readonly record struct CoapBlock(long Raw)
{
    /// <summary>Block number.</summary>
    public long Number => Raw >> 4;

    /// <summary>More blocks follow.</summary>
    public bool More => (Raw & 0x08) != 0;

    /// <summary>Block size in bytes, 2^(SZX+4) (SZX 7 is reserved: 0).</summary>
    public int Size => (Raw & 7) == 7 ? 0 : 1 << (int)((Raw & 7) + 4);
}

/// <summary>Base of the events of one message on the wire (a request, a response).</summary>
internal abstract record CoapMessageEvent : CoapEvent
{
    // The optional options kept as their wire values with -1 for absent (no Nullable<T> per field: an event per message).
    private readonly int _contentFormat = -1;
    private readonly long _observe = -1;
    private readonly long _block1 = -1;
    private readonly long _block2 = -1;

    /// <summary>Content-Format.</summary>
    public int? ContentFormat { get => _contentFormat < 0 ? null : _contentFormat; init => _contentFormat = value ?? -1; }
    /// <summary>Observe.</summary>
    public long? Observe { get => _observe < 0 ? null : _observe; init => _observe = value ?? -1; }
    /// <summary>Block1.</summary>
    public CoapBlock? Block1 { get => _block1 < 0 ? null : new CoapBlock(_block1); init => _block1 = value?.Raw ?? -1; }
    /// <summary>Block2.</summary>
    public CoapBlock? Block2 { get => _block2 < 0 ? null : new CoapBlock(_block2); init => _block2 = value?.Raw ?? -1; }
    /// <summary>Options present.</summary>
    public int OptionCount { get; init; }
    /// <summary>Payload size.</summary>
    public int PayloadSize { get; init; }
}

/// <summary><c>coap.request</c>: a request (RFC 7252 §5.8), reported once however often a CON is retransmitted. CoAP
/// seen at all is cleartext CoAP: DTLS-protected CoAP (coaps) shows as DTLS, never as these events.</summary>
internal sealed record CoapRequestEvent : CoapMessageEvent
{
    /// <summary>The schema of <c>coap.request</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("coap.request",
        [
            .. MessageFields<CoapRequestEvent>(),
            new EventField<CoapRequestEvent>("coap.accept", FieldKind.Number, e => FieldValue.Of((long?)e.Accept), "Accept option: the Content-Format the client wants."),
        ])
        .WithFacts(
            DeviceFact.Values("url.path", "coap.path", pattern: true),
            DeviceFact.Values("url.domain", "coap.host"),
            DeviceFact.Count("coap.request"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    private readonly int _accept = -1;

    /// <summary>Accept.</summary>
    public int? Accept { get => _accept < 0 ? null : _accept; init => _accept = value ?? -1; }
}

/// <summary><c>coap.response</c>: a response joined to its request: piggybacked in the ACK of a CON request (same message
/// id and token), or separate (its own CON or NON, same token: RFC 7252 §5.2.2), or a notification of an observed
/// resource (RFC 7641). A RST answering a request is reported as its response (<c>coap.type: RST</c>, code 0.00).
/// A response whose request was not seen carries no method or URI.</summary>
internal sealed record CoapResponseEvent : CoapMessageEvent
{
    /// <summary>The schema of <c>coap.response</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("coap.response",
        [
            .. MessageFields<CoapResponseEvent>(),
            new EventField<CoapResponseEvent>("coap.status", FieldKind.Text, e => FieldValue.Of(e.MessageType == CoapType.Reset ? "Reset" : CoapCodes.Status(e.Code)), "Name of the response code (Content, Not Found, Unauthorized...); Reset for a RST."),
            new EventField<CoapResponseEvent>("coap.code_class", FieldKind.Number, e => FieldValue.Of(e.Code >> 5), "Class of the response code: 2 success, 4 client error, 5 server error (0 for a RST)."),
            new EventField<CoapResponseEvent>("coap.piggybacked", FieldKind.Boolean, e => FieldValue.Of(e.MessageType == CoapType.Acknowledgement), "True when the response rode in the ACK of the request."),
            new EventField<CoapResponseEvent>("coap.response_time_us", FieldKind.Number, e => FieldValue.Of(e.ResponseTimeMicros), "Microseconds from the request's first transmission to this response (missing when the request was not seen)."),
        ]);

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Microseconds since the request was first sent.</summary>
    public long? ResponseTimeMicros { get; init; }
}

/// <summary><c>coap.unanswered</c>: a request that got no response (nor a RST) by the time its flow ended (idle
/// timeout, eviction, end of input), or that was pushed out by newer requests (<see
/// cref="CoapOptions.MaxPendingRequestsPerFlow"/>), or whose token a newer request of the same client took. A request that registered an observation and was answered once is
/// not reported. The event's time is the flow's end.</summary>
internal sealed record CoapUnansweredEvent : CoapEvent
{
    /// <summary>The schema of <c>coap.unanswered</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("coap.unanswered",
        new EventField<CoapUnansweredEvent>("coap.transmissions", FieldKind.Number, e => FieldValue.Of(e.Transmissions), "Times the request was sent (retransmissions of a CON included)."),
        new EventField<CoapUnansweredEvent>("coap.acknowledged", FieldKind.Boolean, e => FieldValue.Of(e.Acknowledged), "An empty ACK promised a separate response that never came."),
        new EventField<CoapUnansweredEvent>("coap.unanswered.reason", FieldKind.Text, e => FieldValue.Of(e.Reason), "flow_end (the flow ended first), evicted (too many requests waiting on the flow) or token_reused (a newer request of the client took its token)."),
        new EventField<CoapUnansweredEvent>("coap.request_sequence", FieldKind.Number, e => FieldValue.Of(e.RequestPacketNumber), "Packet number of the request's first transmission."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Transmissions seen.</summary>
    public int Transmissions { get; init; }

    /// <summary>An empty ACK was seen.</summary>
    public bool Acknowledged { get; init; }

    /// <summary><c>flow_end</c>, <c>evicted</c> or <c>token_reused</c>.</summary>
    public required string Reason { get; init; }

    /// <summary>Packet number of the request.</summary>
    public long RequestPacketNumber { get; init; }
}
