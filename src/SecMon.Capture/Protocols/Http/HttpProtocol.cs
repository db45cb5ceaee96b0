using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Http;

/// <summary>
/// HTTP/1.0 and HTTP/1.1 over TCP (RFC 9112), on any port: recognised from a request line (a method token, a target, <c>HTTP/1.x</c>)
/// or a status line; the ports are only hints. Requests and responses become <c>http.request</c> and
/// <c>http.response</c> events (pipelined and keep-alive alike, responses joined to their requests), bodies are skipped
/// by their framing and never buffered.
/// </summary>
/// <remarks>
/// WebSocket: a request that asks to upgrade to <c>websocket</c> is still an HTTP request (its Authorization is read
/// like any other), and from that request on the stream is also handed to the catalogue's <c>websocket</c> protocol,
/// which reads MQTT over WebSocket as before; when the server switches protocols (101) HTTP stops reading the stream,
/// when it refuses, HTTP goes on. This protocol is therefore listed before <c>websocket</c> in
/// <see cref="ProtocolCatalogue.Shipped"/>, whose probe (a GET request line) it would otherwise never see.
/// </remarks>
internal sealed class HttpProtocol : IStreamProtocol
{
    /// <summary>Creates the protocol with its options (defaults when null).</summary>
    public HttpProtocol(HttpOptions? options = null)
    {
        Options = options ?? new HttpOptions();
        SecretNames = new SecretNames(Options.SecretQueryParameters);
        DefaultCredentials = new DefaultCredentials(Options.DefaultCredentials);
    }

    /// <summary>HTTP's own limits and choices; defaults documented there.</summary>
    public HttpOptions Options { get; }

    /// <summary>The compiled <see cref="HttpOptions.SecretQueryParameters"/>.</summary>
    internal SecretNames SecretNames { get; }

    /// <summary>The compiled <see cref="HttpOptions.DefaultCredentials"/>.</summary>
    internal DefaultCredentials DefaultCredentials { get; }

    /// <inheritdoc />
    public string Name => "http";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [80, 8000, 8008, 8080, 8888];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        HttpRequestEvent.SchemaInstance,
        HttpResponseEvent.SchemaInstance,
        HttpMalformedEvent.SchemaInstance,
    ];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction) =>
        direction == FlowDirection.ToServer ? HttpParser.ProbeRequest(data) : HttpParser.ProbeResponse(data);

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new HttpSession(flow, services, this, midStream);
}
