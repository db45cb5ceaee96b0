using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Coap;

/// <summary>
/// CoAP over TCP (RFC 8323), recognised by content on any port: each side's first message is a CSM (7.01, §5.3), so a
/// stream whose first frame is a well-formed CSM is CoAP; 5683 is only a hint. Its events are those of CoAP over UDP
/// (<c>coap.request</c>, <c>coap.response</c>, <c>coap.unanswered</c>) with <c>network.transport: tcp</c> and without
/// <c>coap.type</c> and <c>coap.message_id</c>. CoAP over TLS (coaps+tcp, 5684) is dissected as TLS, never as CoAP.
/// </summary>
internal sealed class CoapTcpProtocol(CoapOptions? options = null) : IStreamProtocol
{
    // A CSM carries Max-Message-Size (a uint of up to 4 bytes) and Block-Wise-Transfer (empty), perhaps a diagnostic
    // payload; a longer first frame is taken for something else.
    private const int MaxCsmLength = 256;

    /// <summary>CoAP's own limits (shared with CoAP over UDP); defaults documented there.</summary>
    public CoapOptions Options { get; } = options ?? new CoapOptions();

    /// <inheritdoc />
    /// <remarks>Not <c>coap</c>: the catalogue's names are distinct (the fuzz harness's targets, WebSocket's subprotocols,
    /// where <c>coap</c> is RFC 8323 §4's CoAP over WebSockets, framed without Len). Its events' <c>network.protocol</c>
    /// is <c>coap</c> all the same (the event types'.)</remarks>
    public string Name => "coap-tcp";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [5683];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        CoapRequestEvent.SchemaInstance,
        CoapResponseEvent.SchemaInstance,
        CoapUnansweredEvent.SchemaInstance,
    ];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction) => Classify(data);

    /// <summary>See <see cref="CoapTcpProtocol"/>: the first frame is a CSM with a token of 0-8 bytes, well-formed
    /// options and at most <see cref="MaxCsmLength"/> bytes.</summary>
    internal static ProbeResult Classify(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return ProbeResult.NeedMoreData;
        }

        if ((data[0] & 0x0F) > CoapParser.MaxTokenLength || (data[0] >> 4) is 14 or 15)
        {
            return ProbeResult.NotMine;
        }

        if (!CoapParser.TryReadTcpFrameLength(data, out var frameLength))
        {
            return ProbeResult.NeedMoreData;
        }

        if (data[CoapParser.TcpPrefixLength(data[0]) - 1] != CoapParser.CsmCode || frameLength > MaxCsmLength)
        {
            return ProbeResult.NotMine;
        }

        if (data.Length < frameLength)
        {
            return ProbeResult.NeedMoreData;
        }

        return CoapParser.TryParseTcp(data[..(int)frameLength], out _, out _, out _) ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new CoapTcpSession(flow, services, Options);
}
