using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Ftp;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Ftp;

/// <summary>An FTP control session over the test services, fed text in segments of a chosen size.</summary>
internal sealed class FtpHarness
{
    private long _packet;

    public FtpHarness(FtpOptions? options = null, bool midStream = false, FtpProtocol? protocol = null, FlowContext? flow = null)
    {
        Protocol = protocol ?? new FtpProtocol(options);
        Services = TestFlows.Services(Events, Diagnostics);
        Flow = flow ?? TestFlows.Flow(serverPort: 2121);
        Session = (FtpSession)Protocol.CreateSession(Flow, Services, midStream);
    }

    public FtpProtocol Protocol { get; }

    public ProtocolServices Services { get; }

    public FlowContext Flow { get; }

    public FtpSession Session { get; }

    public RecordingEventSink Events { get; } = new();

    public RecordingDiagnosticSink Diagnostics { get; } = new();

    public List<FtpCommandEvent> Commands => [.. Events.Events.OfType<FtpCommandEvent>()];

    public List<FtpLoginEvent> Logins => [.. Events.Events.OfType<FtpLoginEvent>()];

    public List<FtpReplyEvent> Replies => [.. Events.Events.OfType<FtpReplyEvent>()];

    public List<FtpMalformedEvent> Malformed => [.. Events.Events.OfType<FtpMalformedEvent>()];

    public long Packet => _packet;

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

    /// <summary>A login as <paramref name="user"/> with <paramref name="password"/>, answered <paramref name="code"/>.</summary>
    public void Login(string user, string password, int code, int segment = 0)
    {
        Client($"USER {user}\r\n", segment);
        Server("331 Please specify the password.\r\n", segment);
        Client($"PASS {password}\r\n", segment);
        Server(code == 230 ? "230 Login successful.\r\n" : $"{code} Login incorrect.\r\n", segment);
    }
}
