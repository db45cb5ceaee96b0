using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Http;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Http;

/// <summary>A session over the test services, fed text in segments of a chosen size.</summary>
internal sealed class HttpHarness
{
    public HttpHarness(HttpOptions? options = null, bool midStream = false, ProtocolCatalogue? catalogue = null)
    {
        Protocol = new HttpProtocol(options);
        var services = TestFlows.Services(Events, Diagnostics);
        Services = catalogue is null ? services : new ProtocolServices
        {
            Events = services.Events,
            Diagnostics = services.Diagnostics,
            Stats = services.Stats,
            SecretHasher = services.SecretHasher,
            Options = services.Options,
            Catalogue = catalogue,
        };
        Session = (HttpSession)Protocol.CreateSession(TestFlows.Flow(serverPort: 18080), Services, midStream);
    }

    public HttpProtocol Protocol { get; }

    public ProtocolServices Services { get; }

    public HttpSession Session { get; }

    public RecordingEventSink Events { get; } = new();

    public RecordingDiagnosticSink Diagnostics { get; } = new();

    public List<HttpRequestEvent> Requests => [.. Events.Events.OfType<HttpRequestEvent>()];

    public List<HttpResponseEvent> Responses => [.. Events.Events.OfType<HttpResponseEvent>()];

    public List<HttpMalformedEvent> Malformed => [.. Events.Events.OfType<HttpMalformedEvent>()];

    private long _packet;

    public void Client(string text, int segment = 0) => Feed(FlowDirection.ToServer, Encoding.Latin1.GetBytes(text), segment);

    public void Server(string text, int segment = 0) => Feed(FlowDirection.ToClient, Encoding.Latin1.GetBytes(text), segment);

    public void Feed(FlowDirection direction, byte[] data, int segment = 0)
    {
        var size = segment <= 0 ? Math.Max(1, data.Length) : segment;
        for (var at = 0; at < data.Length; at += size)
        {
            Session.OnData(direction, data.AsSpan(at, Math.Min(size, data.Length - at)), TestFlows.Meta(++_packet));
        }
    }

    public void Close() => Session.OnClose(TestFlows.Meta(++_packet));
}
