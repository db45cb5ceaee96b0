using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Telnet;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Telnet;

/// <summary>A Telnet session wired to recording sinks, with helpers to feed text and commands.</summary>
internal sealed class TelnetHarness
{
    private long _packet;

    public TelnetHarness(TelnetOptions? options = null, int serverPort = 23, bool midStream = false)
    {
        Flow = TestFlows.Flow(serverPort);
        Services = TestFlows.Services(Sink, Diagnostics);
        Protocol = new TelnetProtocol(options);
        Session = (TelnetSession)Protocol.CreateSession(Flow, Services, midStream);
    }

    public FlowContext Flow { get; }
    public RecordingEventSink Sink { get; } = new();
    public RecordingDiagnosticSink Diagnostics { get; } = new();
    public ProtocolServices Services { get; }
    public TelnetProtocol Protocol { get; }
    public TelnetSession Session { get; }
    public List<ProtocolEvent> Events => Sink.Events;

    public List<ProtocolEvent> Logins => [.. Events.Where(e => e.Type == "telnet.login")];

    public ProtocolEvent SessionEvent => Assert.Single(Events, e => e.Type == "telnet.session");

    public string Hash(string password) => Services.SecretHasher.Hash(Encoding.UTF8.GetBytes(password));

    public void Send(FlowDirection direction, ReadOnlySpan<byte> data) => Session.OnData(direction, data, NextMeta());

    public void SendAt(FlowDirection direction, ReadOnlySpan<byte> data, long packetNumber, long micros)
    {
        _packet = packetNumber;
        Session.OnData(direction, data, new PacketMeta(micros, packetNumber, "test.pcap", packetNumber));
    }

    /// <summary>Server text (\n as sent: give \r\n explicitly).</summary>
    public void Server(string text) => Send(FlowDirection.ToClient, Encoding.Latin1.GetBytes(text));

    /// <summary>Client text in one segment.</summary>
    public void Client(string text) => Send(FlowDirection.ToServer, Encoding.Latin1.GetBytes(text));

    /// <summary>Client text one byte per segment (character mode), each echoed by the server when <paramref name="echo"/>.</summary>
    public void Keystrokes(string text, bool echo)
    {
        foreach (var c in Encoding.Latin1.GetBytes(text))
        {
            Send(FlowDirection.ToServer, [c]);
            if (echo)
            {
                Send(FlowDirection.ToClient, c == '\r' ? "\r\n"u8.ToArray() : new[] { c });
            }
        }
    }

    public void ServerHex(string hex) => Send(FlowDirection.ToClient, Bytes(hex));

    public void ClientHex(string hex) => Send(FlowDirection.ToServer, Bytes(hex));

    public void Gap(FlowDirection direction, long length) => Session.OnGap(direction, length, NextMeta());

    public void Close() => Session.OnClose(NextMeta());

    public PacketMeta NextMeta()
    {
        _packet++;
        return new PacketMeta(1_000_000 + (_packet * 1000), _packet, "test.pcap", _packet);
    }

    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
}
