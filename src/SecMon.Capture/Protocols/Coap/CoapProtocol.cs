using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Coap;

/// <summary>
/// CoAP over UDP (RFC 7252), recognised by content on any port: the port (5683) is only a hint. DTLS-protected CoAP
/// (coaps, 5684) never parses as CoAP (a DTLS record starts with a content type 20-25, version bits 0), so every
/// <c>coap.*</c> event is cleartext CoAP. CoAP over TCP (RFC 8323) is <see cref="CoapTcpProtocol"/>; over WebSockets it is not dissected.
/// </summary>
internal sealed class CoapProtocol(CoapOptions? options = null) : IDatagramProtocol
{
    /// <summary>CoAP's own limits; defaults documented there.</summary>
    public CoapOptions Options { get; } = options ?? new CoapOptions();

    /// <inheritdoc />
    public string Name => "coap";

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
    public IDatagramSession CreateSession(FlowContext flow, ProtocolServices services) => new CoapSession(flow, services, Options);

    /// <summary>
    /// The header shape of RFC 7252 §3 and more, since four bytes of random UDP payload pass a header check one time in
    /// a few dozen: the whole datagram must parse (version 1, token length 0-8, every option well formed, no payload
    /// marker without a payload), with no reserved option number (0, 128...), and be a request with an assigned
    /// method (0.01-0.07) in a CON or NON, or a response with an assigned code (2.01 Created ... 5.05) in a CON, NON or
    /// ACK. An empty message (an ACK, a ping) decides nothing: the next datagram is probed.
    /// </summary>
    public ProbeResult Probe(ReadOnlySpan<byte> datagram, FlowDirection direction) => Classify(datagram);

    /// <summary>See <see cref="Probe"/>.</summary>
    internal static ProbeResult Classify(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < CoapParser.HeaderLength || (datagram[0] >> 6) != 1)
        {
            return ProbeResult.NotMine;
        }

        if (!CoapParser.TryParse(datagram, out var m, out _, out _) || m.HasReservedOption)
        {
            return ProbeResult.NotMine;
        }

        if (m.IsEmpty)
        {
            return m.Type == CoapType.NonConfirmable ? ProbeResult.NotMine : ProbeResult.NeedMoreData; // an empty NON is undefined (§4.3)
        }

        if (m.IsRequest)
        {
            return CoapCodes.Method(m.Code) is not null && m.Type is CoapType.Confirmable or CoapType.NonConfirmable
                ? ProbeResult.Mine
                : ProbeResult.NotMine;
        }

        return m.IsResponse && CoapCodes.Status(m.Code) is not null && m.Type != CoapType.Reset ? ProbeResult.Mine : ProbeResult.NotMine;
    }
}
