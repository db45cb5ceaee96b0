using System.Buffers.Binary;
using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Capture.Protocols.WebSocket;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.WebSocket;

/// <summary>MQTT over WebSocket (RFC 6455 framing, MQTT 5.0 §6) built byte by byte, so every frame shape is covered.</summary>
public sealed class WebSocketSessionTests
{
    private const string Request =
        "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";

    private const string Switching =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";

    private static readonly byte[] Mask = [0x37, 0xfa, 0x21, 0x3d];

    [Theory]
    [InlineData("GET /mqtt HTTP/1.1\r\n", "Mine")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n", "Mine")]
    [InlineData("GET /mq", "NeedMoreData")]
    [InlineData("GE", "NeedMoreData")]
    [InlineData("GET /mqtt HTTP/1.", "NeedMoreData")]
    [InlineData("POST /mqtt HTTP/1.1\r\n", "NotMine")]
    [InlineData("GET  /mqtt HTTP/1.1\r\n", "NotMine")]
    [InlineData("GET /mqtt HTTP/1.0\r\n", "NotMine")]
    [InlineData("GET /m\u0001 HTTP/1.1\r\n", "NotMine")]
    public void Probe_ClientRequestLine(string text, string expected)
    {
        Assert.Equal(Enum.Parse<ProbeResult>(expected), new WebSocketProtocol().Probe(Encoding.Latin1.GetBytes(text), FlowDirection.ToServer));
    }

    [Fact]
    public void Probe_ServerSideOrMqttBytes_NotMine()
    {
        var protocol = new WebSocketProtocol();

        Assert.Equal(ProbeResult.NotMine, protocol.Probe(Encoding.ASCII.GetBytes("GET /mqtt HTTP/1.1\r\n"), FlowDirection.ToClient));
        Assert.Equal(ProbeResult.NotMine, protocol.Probe(Connect("c", null, null), FlowDirection.ToServer));
    }

    [Theory]
    [InlineData(0)]    // everything in one segment per direction
    [InlineData(1)]    // one byte per segment: headers, frame headers and MQTT packets all straddle segments
    [InlineData(7)]
    public void Session_MaskedClientFramesAndServerFrames_MqttEventsAsOverTcp(int segment)
    {
        var (session, events, diagnostics) = NewSession();
        var bigPayload = new byte[70_000];
        var mediumPayload = new byte[300];
        var connect = Connect("ws-dev", "alice", "s3cret");

        // The CONNECT split over two masked frames with a ping between them; a PUBLISH in a frame with a 16-bit
        // length and one with a 64-bit length (RFC 6455 §5.2).
        var client = Concat(
            Encoding.ASCII.GetBytes(Request),
            Frame(2, connect[..9], masked: true, fin: false),
            Frame(9, [1, 2, 3], masked: true),
            Frame(0, connect[9..], masked: true),
            Frame(2, Publish("plant/a", mediumPayload), masked: true),
            Frame(2, Publish("plant/b", bigPayload), masked: true));
        var server = Concat(Encoding.ASCII.GetBytes(Switching), Frame(2, [0x20, 0x02, 0x00, 0x00], masked: false));

        Feed(session, FlowDirection.ToServer, Encoding.ASCII.GetBytes(Request), segment);
        Feed(session, FlowDirection.ToClient, server, segment);
        Feed(session, FlowDirection.ToServer, client[Request.Length..], segment);
        session.OnClose(TestFlows.Meta(99));

        Assert.True(session.CarriesMqtt);
        Assert.Empty(diagnostics.Diagnostics);
        Assert.Equal(["mqtt.connack", "mqtt.connect", "mqtt.publish", "mqtt.publish"], events.Events.Select(e => e.Type).Order());
        var c = Assert.IsType<MqttConnectEvent>(events.Events.Single(e => e.Type == "mqtt.connect"));
        Assert.Equal("ws-dev", c.ClientId);
        Assert.Equal("alice", c.Username);
        Assert.True(c.PasswordPresent);
        var publishes = events.Events.OfType<MqttPublishEvent>().ToList();
        Assert.Equal(["plant/a", "plant/b"], publishes.Select(p => p.Topic));
        Assert.Equal([300L, 70_000L], publishes.Select(p => p.PayloadSize));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", Request)]                                  // the upgrade refused
    [InlineData(Switching, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")]                                              // plain HTTP
    [InlineData(Switching, "GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: chat\r\n\r\n")] // another subprotocol
    public void Session_NotAnMqttUpgrade_NothingDissectedNothingReported(string response, string request)
    {
        var (session, events, diagnostics) = NewSession();

        session.OnData(FlowDirection.ToServer, Encoding.ASCII.GetBytes(request), TestFlows.Meta(1));
        session.OnData(FlowDirection.ToClient, Encoding.ASCII.GetBytes(response), TestFlows.Meta(2));
        session.OnData(FlowDirection.ToServer, Frame(2, Connect("x", null, null), masked: true), TestFlows.Meta(3));

        Assert.Empty(events.Events);
        Assert.Empty(diagnostics.Diagnostics);
        Assert.NotNull(session.IgnoredBecause);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)] // one byte per segment: compressed frames straddle segments too
    public void Session_PermessageDeflate_CompressedMessagesInflatedWithContextTakeoverBesideUncompressedOnes(int segment)
    {
        // RFC 7692: each direction keeps one compression context; RSV1 marks a compressed message, on its first frame only.
        var (session, events, diagnostics) = NewSession();
        var response = Switching.Replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n\r\n", StringComparison.Ordinal);
        using var client = new Deflater();
        using var server = new Deflater();
        var connect = client.Message(Connect("ws-dash", "operator", "s3cret"));
        var publish = client.Message(Publish("plant/line-1/temp", Encoding.ASCII.GetBytes("21.5 21.5 21.5")));
        var again = client.Message(Publish("plant/line-1/temp", Encoding.ASCII.GetBytes("21.5 21.5 21.6"))); // refers back
        var suback = server.Message([0x90, 0x03, 0x00, 0x01, 0x00]);
        byte[] toServer =
        [
            .. Frame(2, connect, masked: true, rsv1: true),
            .. Frame(2, Packet(0x82, [0x00, 0x01, .. Str("plant/#"), 0x00]), masked: true), // SUBSCRIBE, not compressed
            .. Frame(2, publish[..5], masked: true, fin: false, rsv1: true), // one compressed message in two frames,
            .. Frame(9, [], masked: true),                                    // a ping between them
            .. Frame(0, publish[5..], masked: true),
            .. Frame(2, again, masked: true, rsv1: true),
        ];
        byte[] toClient = [.. Frame(2, [0x20, 0x02, 0x00, 0x00], masked: false), .. Frame(2, suback, masked: false, rsv1: true)];

        Send(session, FlowDirection.ToServer, Encoding.ASCII.GetBytes(Request), segment, 1);
        Send(session, FlowDirection.ToClient, Encoding.ASCII.GetBytes(response), segment, 2);
        Send(session, FlowDirection.ToServer, toServer[..toServer.Length], segment, 3);
        Send(session, FlowDirection.ToClient, toClient, segment, 4);

        Assert.Empty(diagnostics.Diagnostics);
        Assert.Null(session.IgnoredBecause);
        Assert.Equal(["mqtt.connect", "mqtt.subscribe", "mqtt.publish", "mqtt.publish", "mqtt.connack", "mqtt.suback"],
            events.Events.Select(e => e.Type));
        var c = Assert.IsType<MqttConnectEvent>(events.Events[0]);
        Assert.Equal("ws-dash", c.ClientId);
        Assert.Equal("operator", c.Username);
    }

    [Fact]
    public void Session_PermessageDeflateFramesMutated_NeverThrow()
    {
        // Bit flips and truncations of compressed frames (hostile input: the inflater must only ever fail as a
        // diagnostic), two thousand runs.
        var response = Switching.Replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", StringComparison.Ordinal);
        using var deflater = new Deflater();
        byte[] original =
        [
            .. Frame(2, deflater.Message(Connect("ws-dash", "operator", "s3cret")), masked: true, rsv1: true),
            .. Frame(2, deflater.Message(Publish("plant/a", Encoding.ASCII.GetBytes("21.5 21.5 21.5 21.5"))), masked: true, rsv1: true),
            .. Frame(2, deflater.Message(Publish("plant/a", Encoding.ASCII.GetBytes("21.5 21.5 21.5 21.6"))), masked: true, rsv1: true),
        ];
        var random = new Random(7692);
        for (var run = 0; run < 2_000; run++)
        {
            var mutant = (byte[])original.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                mutant[random.Next(mutant.Length)] ^= (byte)(1 << random.Next(8));
            }

            var (session, _, _) = NewSession();
            session.OnData(FlowDirection.ToServer, Encoding.ASCII.GetBytes(Request), TestFlows.Meta(1));
            session.OnData(FlowDirection.ToClient, Encoding.ASCII.GetBytes(response), TestFlows.Meta(2));
            session.OnData(FlowDirection.ToServer, mutant.AsSpan(0, random.Next(mutant.Length + 1)), TestFlows.Meta(3));
            session.OnClose(TestFlows.Meta(4));
        }
    }

    [Fact]
    public void Session_PermessageDeflateDataThatDoesNotInflate_SaidOnceAndThatDirectionLeftAlone()
    {
        var (session, events, diagnostics) = NewSession();
        var response = Switching.Replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", StringComparison.Ordinal);

        session.OnData(FlowDirection.ToServer, Encoding.ASCII.GetBytes(Request), TestFlows.Meta(1));
        session.OnData(FlowDirection.ToClient, Encoding.ASCII.GetBytes(response), TestFlows.Meta(2));
        session.OnData(FlowDirection.ToServer, Frame(2, [0xff, 0xff, 0xff, 0xff, 0xff], masked: true, rsv1: true), TestFlows.Meta(3));

        Assert.Empty(events.Events);
        Assert.Contains("does not inflate", Assert.Single(diagnostics.Diagnostics).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Session_PermessageDeflateBomb_StopsAtTheBound()
    {
        var (session, events, diagnostics) = NewSession();
        var response = Switching.Replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", StringComparison.Ordinal);
        using var deflater = new Deflater();
        var bomb = deflater.Message(Publish("a", new byte[WebSocketSession.MaxInflatedMessageBytes + 1024]));

        session.OnData(FlowDirection.ToServer, Encoding.ASCII.GetBytes(Request), TestFlows.Meta(1));
        session.OnData(FlowDirection.ToClient, Encoding.ASCII.GetBytes(response), TestFlows.Meta(2));
        session.OnData(FlowDirection.ToServer, Frame(2, bomb, masked: true, rsv1: true), TestFlows.Meta(3));

        Assert.True(bomb.Length < 64 * 1024, $"{bomb.Length} compressed bytes");
        Assert.Contains($"inflating past {WebSocketSession.MaxInflatedMessageBytes} bytes", Assert.Single(diagnostics.Diagnostics).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Session_Rsv1WithoutPermessageDeflateAgreed_SaidOnceAndLeftAlone()
    {
        var (session, events, diagnostics) = Upgraded();

        session.OnData(FlowDirection.ToServer, Frame(2, Connect("x", null, null), masked: true, rsv1: true), TestFlows.Meta(3));

        Assert.Empty(events.Events);
        Assert.Contains("reserved bits", Assert.Single(diagnostics.Diagnostics).Message, StringComparison.Ordinal);
    }

    private static void Send(WebSocketSession session, FlowDirection direction, byte[] data, int segment, long packet)
    {
        var size = segment == 0 ? data.Length : segment;
        for (var i = 0; i < data.Length; i += size)
        {
            session.OnData(direction, data.AsSpan(i, Math.Min(size, data.Length - i)), TestFlows.Meta(packet));
        }
    }

    // One direction's compressor (RFC 7692 §7.2.1): DEFLATE with a sync flush per message, its last four bytes removed.
    private sealed class Deflater : IDisposable
    {
        private readonly MemoryStream _out = new();
        private readonly System.IO.Compression.DeflateStream _z;

        public Deflater() => _z = new System.IO.Compression.DeflateStream(_out, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true);

        public byte[] Message(byte[] payload)
        {
            var start = (int)_out.Length;
            _z.Write(payload);
            _z.Flush();
            var all = _out.ToArray()[start..];
            Assert.Equal([0x00, 0x00, 0xFF, 0xFF], all[^4..]);
            return all[..^4];
        }

        public void Dispose()
        {
            _z.Dispose();
            _out.Dispose();
        }
    }

    [Fact]
    public void Session_GapInsideAFramesPayload_FramingKeptAndTheNextPacketRead()
    {
        var (session, events, diagnostics) = Upgraded();
        var publish = Publish("plant/a", new byte[500]);
        var frame = Frame(2, publish, masked: true);

        // The frame header, 100 bytes of the PUBLISH; then 300 bytes lost inside the payload; then the rest.
        session.OnData(FlowDirection.ToServer, frame.AsSpan(0, 108), TestFlows.Meta(3));
        session.OnGap(FlowDirection.ToServer, 300, TestFlows.Meta(4));
        session.OnData(FlowDirection.ToServer, frame.AsSpan(408), TestFlows.Meta(5));
        session.OnData(FlowDirection.ToServer, Frame(2, Publish("plant/b", [1]), masked: true), TestFlows.Meta(6));

        Assert.True(events.Events.OfType<MqttPublishEvent>().Last().Topic == "plant/b",
            string.Join("\n", events.Events.Select(e => e.Type)) + "\n" + string.Join("\n", diagnostics.Diagnostics));
    }

    [Fact]
    public void Session_GapOverAFrameHeader_SaidAndTheDirectionLeftAlone()
    {
        var (session, events, diagnostics) = Upgraded();

        session.OnData(FlowDirection.ToServer, Frame(2, Connect("a", null, null), masked: true).AsSpan(0, 1), TestFlows.Meta(3));
        session.OnGap(FlowDirection.ToServer, 10, TestFlows.Meta(4));
        session.OnData(FlowDirection.ToServer, Frame(2, Connect("b", null, null), masked: true), TestFlows.Meta(5));

        Assert.DoesNotContain(events.Events, e => e.Type == "mqtt.connect");
        Assert.Contains(diagnostics.Diagnostics, d => d.Message.Contains("framing", StringComparison.Ordinal));
    }

    [Fact]
    public void Session_CloseFrame_NothingAfterItIsRead()
    {
        var (session, events, _) = Upgraded();

        session.OnData(FlowDirection.ToServer, Concat(Frame(8, [0x03, 0xe8], masked: true), Frame(2, Connect("late", null, null), masked: true)), TestFlows.Meta(3));

        Assert.Empty(events.Events);
    }

    [Theory]
    [InlineData(0x82 | 0x40, 5, "reserved bits")]        // RSV1 without an agreed extension
    [InlineData(0x89, 126, "invalid WebSocket frame")]   // a ping longer than 125 bytes
    [InlineData(0x09, 5, "invalid WebSocket frame")]     // a fragmented ping
    [InlineData(0x83, 5, "invalid WebSocket frame")]     // opcode 3 is reserved
    public void Session_HostileFrameHeaders_SaidOnceNothingDissected(int b0, int length, string said)
    {
        var (session, events, diagnostics) = Upgraded();
        var header = length < 126 ? new byte[] { (byte)b0, (byte)(0x80 | length) } : [(byte)b0, 0x80 | 126, 0, (byte)length];

        session.OnData(FlowDirection.ToServer, Concat(header, Mask, new byte[length]), TestFlows.Meta(3));
        session.OnData(FlowDirection.ToServer, Frame(2, Connect("after", null, null), masked: true), TestFlows.Meta(4));

        Assert.Empty(events.Events);
        Assert.Contains(said, Assert.Single(diagnostics.Diagnostics).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Session_SixtyFourBitLengthWithTopBitSet_Refused()
    {
        var (session, events, diagnostics) = Upgraded();
        var header = new byte[10];
        header[0] = 0x82;
        header[1] = 0x80 | 127;
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(2), 0x8000_0000_0000_0000);

        session.OnData(FlowDirection.ToServer, Concat(header, Mask), TestFlows.Meta(3));

        Assert.Empty(events.Events);
        Assert.Contains("most significant bit", Assert.Single(diagnostics.Diagnostics).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Session_EndlessHeaders_BoundedAndSaid()
    {
        var (session, events, diagnostics) = NewSession();
        var line = Encoding.ASCII.GetBytes("X-Filler: " + new string('a', 1000) + "\r\n");

        session.OnData(FlowDirection.ToServer, Encoding.ASCII.GetBytes("GET /mqtt HTTP/1.1\r\n"), TestFlows.Meta(1));
        for (var i = 0; i < 100; i++)
        {
            session.OnData(FlowDirection.ToServer, line, TestFlows.Meta(2 + i));
        }

        Assert.Empty(events.Events);
        Assert.Contains($"longer than {WebSocketSession.MaxHeaderBytes}", Assert.Single(diagnostics.Diagnostics).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispatcher_WithTheRegisteredProtocols_ClaimsTheUpgradeOnAnyPort()
    {
        var events = new RecordingEventSink();
        var dispatcher = new StreamDispatcher(TestFlows.Flow(serverPort: 8080), TestFlows.Services(events), ProtocolCatalogue.Shipped.Stream);

        dispatcher.OnData(FlowDirection.ToServer, Encoding.ASCII.GetBytes(Request), TestFlows.Meta(1));
        dispatcher.OnData(FlowDirection.ToClient, Encoding.ASCII.GetBytes(Switching), TestFlows.Meta(2));
        dispatcher.OnData(FlowDirection.ToServer, Frame(2, Connect("over-ws", null, null), masked: true), TestFlows.Meta(3));

        // HTTP claims the stream (it is listed before websocket) and hands the upgrade to the WebSocket protocol.
        Assert.Equal("http", dispatcher.Protocol!.Name);
        Assert.Equal(["http.request", "http.response", "mqtt.connect"], events.Events.Select(e => e.Type));
        Assert.Equal("over-ws", Assert.IsType<MqttConnectEvent>(events.Events[2]).ClientId);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Session_RandomFramesAndGapsAfterTheUpgrade_NeverThrowsAndSaysAtMostOneThing(int seed)
    {
        // Hostile peers after a valid upgrade: random bytes (random frame headers with huge lengths, reserved bits,
        // control frames), random segment sizes, gaps. Nothing may throw; the session says at most one thing.
        var (session, events, diagnostics) = Upgraded();
        var random = new Random(seed);
        var data = new byte[200_000];
        random.NextBytes(data);

        for (var i = 0; i < data.Length;)
        {
            var n = random.Next(1, 3000);
            session.OnData(i % 3 == 0 ? FlowDirection.ToClient : FlowDirection.ToServer, data.AsSpan(i, Math.Min(n, data.Length - i)), TestFlows.Meta(i));
            if (random.Next(25) == 0)
            {
                session.OnGap(FlowDirection.ToServer, random.Next(1, 5000), TestFlows.Meta(i));
            }

            i += n;
        }

        session.OnClose(TestFlows.Meta(data.Length));

        Assert.True(diagnostics.Diagnostics.Count(d => d.Message.StartsWith("websocket:", StringComparison.Ordinal)) <= 1);
        Assert.All(events.Events, e => Assert.StartsWith("mqtt.", e.Type, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Upgrade: websocket", "upgrade", "websocket", true)]
    [InlineData("upgrade:  WebSocket ", "Upgrade", "websocket", true)]
    [InlineData("Sec-WebSocket-Protocol: chat, mqtt", "sec-websocket-protocol", "mqtt", true)]
    [InlineData("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits", "sec-websocket-extensions", "permessage-deflate", true)]
    [InlineData("Sec-WebSocket-Protocol: mqttx", "sec-websocket-protocol", "mqtt", false)]
    [InlineData("X-Upgrade: websocket", "upgrade", "websocket", false)]
    public void HasToken_HeaderListsToken(string header, string name, string token, bool expected)
    {
        Assert.Equal(expected, WebSocketSession.HasToken("GET / HTTP/1.1\r\n" + header, name, token));
    }

    private static (WebSocketSession Session, RecordingEventSink Events, RecordingDiagnosticSink Diagnostics) NewSession()
    {
        var events = new RecordingEventSink();
        var diagnostics = new RecordingDiagnosticSink();
        return (new WebSocketSession(TestFlows.Flow(serverPort: 9001), TestFlows.Services(events, diagnostics)), events, diagnostics);
    }

    private static (WebSocketSession Session, RecordingEventSink Events, RecordingDiagnosticSink Diagnostics) Upgraded()
    {
        var s = NewSession();
        s.Session.OnData(FlowDirection.ToServer, Encoding.ASCII.GetBytes(Request), TestFlows.Meta(1));
        s.Session.OnData(FlowDirection.ToClient, Encoding.ASCII.GetBytes(Switching), TestFlows.Meta(2));
        return s;
    }

    private static void Feed(IStreamSession session, FlowDirection direction, byte[] data, int segment)
    {
        var size = segment == 0 ? data.Length : segment;
        for (var at = 0; at < data.Length; at += size)
        {
            session.OnData(direction, data.AsSpan(at, Math.Min(size, data.Length - at)), TestFlows.Meta(at));
        }
    }

    // A WebSocket frame (RFC 6455 §5.2): FIN, RSV1, opcode; mask bit and the shortest length encoding; masked with Mask.
    private static byte[] Frame(int opcode, byte[] payload, bool masked, bool fin = true, bool rsv1 = false)
    {
        var head = new List<byte> { (byte)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode) };
        var maskBit = masked ? 0x80 : 0;
        if (payload.Length < 126)
        {
            head.Add((byte)(maskBit | payload.Length));
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            head.Add((byte)(maskBit | 126));
            head.Add((byte)(payload.Length >> 8));
            head.Add((byte)payload.Length);
        }
        else
        {
            head.Add((byte)(maskBit | 127));
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(length, (ulong)payload.Length);
            head.AddRange(length);
        }

        var body = (byte[])payload.Clone();
        if (masked)
        {
            head.AddRange(Mask);
            for (var i = 0; i < body.Length; i++)
            {
                body[i] ^= Mask[i & 3];
            }
        }

        return [.. head, .. body];
    }

    // MQTT 3.1.1 CONNECT (§3.1): protocol name, level 4, flags, keep alive 60, client id, user name, password.
    private static byte[] Connect(string clientId, string? user, string? password)
    {
        var flags = (byte)(0x02 | (user is null ? 0 : 0x80) | (password is null ? 0 : 0x40));
        var body = new List<byte> { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, flags, 0, 60 };
        body.AddRange(Str(clientId));
        if (user is not null)
        {
            body.AddRange(Str(user));
        }

        if (password is not null)
        {
            body.AddRange(Str(password));
        }

        return Packet(0x10, [.. body]);
    }

    // MQTT PUBLISH at QoS 0 (§3.3).
    private static byte[] Publish(string topic, byte[] payload) => Packet(0x30, [.. Str(topic), .. payload]);

    private static byte[] Packet(byte header, byte[] body)
    {
        var bytes = new List<byte> { header };
        var n = body.Length;
        do
        {
            var b = (byte)(n % 128);
            n /= 128;
            bytes.Add(n > 0 ? (byte)(b | 0x80) : b);
        }
        while (n > 0);

        bytes.AddRange(body);
        return [.. bytes];
    }

    private static byte[] Str(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        return [(byte)(utf8.Length >> 8), (byte)utf8.Length, .. utf8];
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
