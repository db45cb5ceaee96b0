using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.WebSocket;

/// <summary>
/// MQTT over WebSocket (MQTT 5.0 §6, RFC 6455) without TLS, on any port: brokers' <c>ws://</c> listeners (mosquitto
/// <c>protocol websockets</c>, typically 8080 or 9001) that browsers and dashboards use. The probe claims a stream
/// that opens with an HTTP/1.1 GET request line; the session reads the request and response headers and, when they
/// upgrade to WebSocket with the <c>mqtt</c> subprotocol, unframes the WebSocket messages into the MQTT session, which
/// emits the same <c>mqtt.*</c> events as over plain TCP. Other HTTP streams stay undissected (their bytes are only
/// counted). <c>wss://</c> is TLS and goes to the TLS protocol.
/// </summary>
internal sealed class WebSocketProtocol : IStreamProtocol
{
    /// <summary>WebSocket subprotocol names (<c>Sec-WebSocket-Protocol</c>, RFC 6455 §1.9) and the catalogue protocol
    /// that each carries: MQTT 5.0 §6 registers <c>mqtt</c>; MQTT 3.1 clients said <c>mqttv3.1</c>.</summary>
    public static IReadOnlyList<(string Subprotocol, string Protocol)> Subprotocols { get; } =
    [
        ("mqtt", "mqtt"),
        ("mqttv3.1", "mqtt"),
    ];

    /// <inheritdoc />
    public string Name => "websocket";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas => []; // the MQTT session's events, registered by the MQTT protocol

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction) =>
        direction == FlowDirection.ToServer ? ProbeRequestLine(data) : ProbeResult.NotMine;

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new WebSocketSession(flow, services);

    /// <summary>
    /// <c>GET</c>, one space, a request target of visible ASCII, one space, <c>HTTP/1.1</c>, CRLF (RFC 9112 §3). Decides
    /// as soon as a byte contradicts; NeedMoreData until the CRLF (a target longer than the dispatcher lets probes
    /// look at, <see cref="CaptureOptions.MaxProbeBytes"/>, leaves the stream unclassified).
    /// </summary>
    internal static ProbeResult ProbeRequestLine(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> get = "GET "u8;
        var have = Math.Min(data.Length, get.Length);
        if (!data[..have].SequenceEqual(get[..have]))
        {
            return ProbeResult.NotMine;
        }

        if (data.Length <= get.Length)
        {
            return ProbeResult.NeedMoreData;
        }

        var i = get.Length;
        while (i < data.Length && data[i] is > 0x20 and < 0x7F)
        {
            i++;
        }

        if (i == data.Length)
        {
            return ProbeResult.NeedMoreData;
        }

        if (i == get.Length || data[i] != (byte)' ')
        {
            return ProbeResult.NotMine;
        }

        ReadOnlySpan<byte> version = "HTTP/1.1\r\n"u8;
        var rest = data[(i + 1)..];
        have = Math.Min(rest.Length, version.Length);
        if (!rest[..have].SequenceEqual(version[..have]))
        {
            return ProbeResult.NotMine;
        }

        return have == version.Length ? ProbeResult.Mine : ProbeResult.NeedMoreData;
    }
}
