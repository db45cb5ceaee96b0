using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Coap;
using SecMon.Core.Flows;
using static SecMon.Capture.Tests.Protocols.Coap.CoapTestKit;

namespace SecMon.Capture.Tests.Protocols.Coap;

/// <summary>CoAP over TCP (RFC 8323): framing, the CSM probe, the session over split and hostile streams.</summary>
public sealed class CoapTcpTests
{
    // libcoap 4.3's CSM (coap-tcp.pcap frame 4): Len 5, TKL 0, 7.01, Max-Message-Size 0x800100, Block-Wise-Transfer.
    internal const string LibcoapCsm = "50e123800100" + "20";

    /// <summary>A TCP frame of the UDP message <paramref name="udp"/> (built by <see cref="Message"/>): its token,
    /// options and payload behind RFC 8323's length prefix.</summary>
    internal static byte[] Frame(byte[] udp)
    {
        var tkl = udp[0] & 0x0F;
        var rest = udp[(4 + tkl)..];
        var (nibble, extension) = rest.Length switch
        {
            < 13 => (rest.Length, Array.Empty<byte>()),
            < 269 => (13, new[] { (byte)(rest.Length - 13) }),
            < 65805 => (14, new[] { (byte)((rest.Length - 269) >> 8), (byte)(rest.Length - 269) }),
            _ => (15, BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(rest.Length - 65805))),
        };
        return [(byte)((nibble << 4) | tkl), .. extension, udp[1], .. udp.AsSpan(4, tkl), .. rest];
    }

    private static byte[] Get(byte token, params string[] path) =>
        Frame(Message(0, 1, 0, [token], [.. path.Select(Path)]));

    private static byte[] Content(byte token, string body) =>
        Frame(Message(0, 0x45, 0, [token], [UInt(CoapOptionNumbers.ContentFormat, 0)], System.Text.Encoding.ASCII.GetBytes(body)));

    private static (CoapTcpSession Session, RecordingEventSink Events, ProtocolServices Services, RecordingDiagnosticSink Diagnostics) NewSession(CoapOptions? options = null)
    {
        var events = new RecordingEventSink();
        var diagnostics = new RecordingDiagnosticSink();
        var services = TestFlows.Services(events, diagnostics);
        return (new CoapTcpSession(TestFlows.Flow(5683), services, options ?? new CoapOptions()), events, services, diagnostics);
    }

    [Theory]
    [InlineData("00", 2L)]                 // Len 0, TKL 0, then the code
    [InlineData("c8", 22L)]                // Len 12, TKL 8
    [InlineData("d000", 16L)]              // Len 13 + 0
    [InlineData("d0ff", 271L)]             // 13 + 255
    [InlineData("e10000", 274L)]           // 269 + 0, TKL 1
    [InlineData("e0ffff", 65_808L)]        // 269 + 65535
    [InlineData("f0ffffffff", 4_295_033_106L)] // 65805 + 2^32 - 1: a long, never an allocation
    public void TryReadTcpFrameLength_EveryLengthForm_CountsPrefixTokenAndBody(string hex, long expected)
    {
        var bytes = Mqtt.Hex.Bytes(hex + "01"); // the code byte
        Assert.True(CoapParser.TryReadTcpFrameLength(bytes, out var length));
        Assert.Equal(expected, length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("50")]       // no code yet
    [InlineData("d0")]       // extension byte missing
    [InlineData("e000")]     // one of two extension bytes
    [InlineData("f0ffffff")] // three of four
    public void TryReadTcpFrameLength_PrefixIncomplete_False(string hex) =>
        Assert.False(CoapParser.TryReadTcpFrameLength(Mqtt.Hex.Bytes(hex), out _));

    [Fact]
    public void TryParseTcp_GetWellKnownCore_NoTypeOrIdAndTheUdpOptions()
    {
        var frame = Frame(Mqtt.Hex.Bytes(CoapParserTests.GetWellKnownCore));

        Assert.True(CoapParser.TryParseTcp(frame, out var m, out _, out _));
        Assert.Equal(1, m.Code);
        Assert.Equal([1], m.Token.ToArray());
        Assert.Equal(CoapType.NonConfirmable, m.Type);
        Assert.Equal(0, m.MessageId);
        Assert.Equal(3, m.OptionCount);
        Assert.Equal(5690, m.UriPort);
        Assert.True(m.HasUriText);
    }

    [Theory]
    [InlineData("09e1", nameof(MalformedReason.BadLength))]           // BadLength: TKL 9 is reserved
    [InlineData("0021", nameof(MalformedReason.UnknownType))]         // code 1.01: reserved class
    [InlineData("1045ff", nameof(MalformedReason.BadLength))]         // a payload marker with no payload
    [InlineData("1045f0", nameof(MalformedReason.BadValue))]          // option nibble 15
    [InlineData("2045d101", nameof(MalformedReason.Truncated))]        // option value past the frame
    [InlineData("0245", nameof(MalformedReason.Truncated))]           // token past the frame
    public void TryParseTcp_Malformed_ReasonCounted(string hex, string reason)
    {
        Assert.False(CoapParser.TryParseTcp(Mqtt.Hex.Bytes(hex), out _, out var error, out _));
        Assert.Equal(Enum.Parse<MalformedReason>(reason), error.Reason);
    }

    [Theory]
    [InlineData(LibcoapCsm, nameof(ProbeResult.Mine))]
    [InlineData("00e1", nameof(ProbeResult.Mine))]                     // an empty CSM
    [InlineData("50", nameof(ProbeResult.NeedMoreData))]
    [InlineData("50e12380", nameof(ProbeResult.NeedMoreData))]         // the CSM's options still coming
    [InlineData("d1", nameof(ProbeResult.NeedMoreData))]
    [InlineData("50e1f380010020", nameof(ProbeResult.NotMine))]        // option nibble 15
    [InlineData("410101", nameof(ProbeResult.NotMine))]                // a request first: not what RFC 8323 §5.3 allows
    [InlineData("474554202f20485454502f312e31", nameof(ProbeResult.NotMine))] // GET / HTTP/1.1
    [InlineData("101000044d5154540402003c", nameof(ProbeResult.NotMine))]     // MQTT CONNECT
    [InlineData("1603010200010001fc0303", nameof(ProbeResult.NotMine))]       // TLS ClientHello
    [InlineData("09e1", nameof(ProbeResult.NotMine))]                  // TKL 9
    [InlineData("e0ffffe1", nameof(ProbeResult.NotMine))]              // a CSM of 65 KB: not a CSM
    public void Probe_FirstBytes_RecognisesTheCsmOnly(string hex, string expected) =>
        Assert.Equal(Enum.Parse<ProbeResult>(expected), new CoapTcpProtocol().Probe(Mqtt.Hex.Bytes(hex), FlowDirection.ToServer));

    [Fact]
    public void OnData_StreamSplitAtEveryByte_SameEventsJoinedByToken()
    {
        byte[] client = [.. Mqtt.Hex.Bytes(LibcoapCsm), .. Get(7, "sensors", "temp"), .. Get(8, "time")];
        byte[] server = [.. Mqtt.Hex.Bytes(LibcoapCsm), .. Content(8, "1796479366"), .. Content(7, new string('x', 300))];
        for (var split = 0; split <= Math.Max(client.Length, server.Length); split++)
        {
            var (session, events, services, diagnostics) = NewSession();
            Feed(session, FlowDirection.ToServer, client, split);
            Feed(session, FlowDirection.ToClient, server, split);
            session.OnClose(TestFlows.Meta(99));

            Assert.Empty(diagnostics.Diagnostics);
            Assert.Equal(0, services.Stats.MalformedMessages);
            Assert.Equal(["coap.request", "coap.request", "coap.response", "coap.response"], events.Events.Select(e => e.Type));
            var responses = events.Events.Skip(2).ToList();
            Assert.Equal("/time", Field(responses[0], "url.path"));
            Assert.Equal("08", Field(responses[0], "coap.token"));
            Assert.Equal("/sensors/temp", Field(responses[1], "url.path"));
            Assert.Equal("300", Field(responses[1], "coap.payload.size"));
            Assert.All(events.Events, e => Assert.Equal("(missing)", Field(e, "coap.type")));
            Assert.All(events.Events, e => Assert.Equal("(missing)", Field(e, "coap.message_id")));
            Assert.All(responses, r => Assert.Equal(FlowDirection.ToClient, r.Flow.Direction));
        }
    }

    [Fact]
    public void OnData_FramePastTheLimit_CountedSkippedNextFrameRead()
    {
        var (session, events, services, diagnostics) = NewSession(new CoapOptions { MaxTcpMessageBytes = 256 });
        var big = Frame(Message(0, 2, 0, [1], [Path("fw")], new byte[5000]));
        byte[] stream = [.. Mqtt.Hex.Bytes(LibcoapCsm), .. big, .. Get(2, "after")];
        Feed(session, FlowDirection.ToServer, stream, 1000);
        session.OnClose(TestFlows.Meta(9));

        Assert.Equal(1, services.Stats.MalformedMessages);
        Assert.Contains("past the 256-byte limit", Assert.Single(diagnostics.Diagnostics).Message, StringComparison.Ordinal);
        var request = Assert.Single(events.Events, e => e.Type == "coap.request");
        Assert.Equal("/after", Field(request, "url.path"));
    }

    [Fact]
    public void OnGap_FrameBoundaryLost_DirectionNotReadFurther()
    {
        var (session, events, _, _) = NewSession();
        session.OnData(FlowDirection.ToServer, [.. Mqtt.Hex.Bytes(LibcoapCsm), .. Get(1, "a")], TestFlows.Meta(1));
        session.OnGap(FlowDirection.ToServer, 100, TestFlows.Meta(2));
        session.OnData(FlowDirection.ToServer, Get(2, "b"), TestFlows.Meta(3));

        Assert.Equal("/a", Field(Assert.Single(events.Events), "url.path"));
    }

    [Fact]
    public void OnClose_HalfAFrameLeft_CountedTruncated()
    {
        var (session, _, services, diagnostics) = NewSession();
        var get = Get(1, "sensors");
        session.OnData(FlowDirection.ToServer, [.. Mqtt.Hex.Bytes(LibcoapCsm), .. get[..5]], TestFlows.Meta(1));
        session.OnClose(TestFlows.Meta(2));

        Assert.Equal(1, services.Stats.MalformedMessages);
        Assert.Contains("unfinished", Assert.Single(diagnostics.Diagnostics).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnData_Mutants_NoExceptionBoundedEventsNoHostileAllocation()
    {
        byte[] seed = [.. Mqtt.Hex.Bytes(LibcoapCsm), .. Get(7, "sensors", "temp"), .. Content(7, "21.5"), .. Frame(Message(0, 3, 0, [1, 2, 3, 4, 5, 6, 7, 8], [Path("x"), UInt(27, 0x1A)], new byte[64]))];
        var mutants = new List<byte[]>();
        for (var length = 0; length < seed.Length; length++)
        {
            mutants.Add(seed[..length]);
        }

        for (var bit = 0; bit < seed.Length * 8; bit++)
        {
            var m = (byte[])seed.Clone();
            m[bit / 8] ^= (byte)(1 << (bit % 8));
            mutants.Add(m);
        }

        // Each byte as a frame's first byte with Len at 13, 14 and 15 and its extension bytes at 0x00 and 0xFF.
        for (var i = 0; i < seed.Length; i++)
        {
            foreach (var nibble in new byte[] { 0xD0, 0xE0, 0xF0, 0xD8, 0xFF })
            {
                foreach (var extension in new byte[] { 0x00, 0xFF })
                {
                    var m = (byte[])seed.Clone();
                    m[i] = nibble;
                    for (var j = i + 1; j < Math.Min(m.Length, i + 5); j++)
                    {
                        m[j] = extension;
                    }

                    mutants.Add(m);
                }
            }
        }

        foreach (var m in mutants)
        {
            var (session, events, _, _) = NewSession();
            var before = GC.GetAllocatedBytesForCurrentThread();
            Feed(session, FlowDirection.ToServer, m, 7);
            Feed(session, FlowDirection.ToClient, m, 13);
            session.OnClose(TestFlows.Meta(99));
            // Never more than the bytes fed (a 4 GiB frame announced is skipped, not buffered), events for at most
            // every two bytes.
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024 + (m.Length * 64), $"allocated for {Convert.ToHexString(m)}");
            Assert.True(events.Events.Count <= m.Length, $"{events.Events.Count} events from {m.Length} bytes");
            _ = new CoapTcpProtocol().Probe(m, FlowDirection.ToServer);
        }
    }

    private static void Feed(CoapTcpSession session, FlowDirection direction, byte[] stream, int chunk)
    {
        if (chunk <= 0)
        {
            session.OnData(direction, stream, TestFlows.Meta(1));
            return;
        }

        for (var i = 0; i < stream.Length; i += chunk)
        {
            session.OnData(direction, stream.AsSpan(i, Math.Min(chunk, stream.Length - i)), TestFlows.Meta(1 + i));
        }
    }
}
