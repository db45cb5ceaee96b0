using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Quic;
using SecMon.Capture.Protocols.Tls;
using SecMon.Capture.Tests.Protocols.Tls;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Quic;

public sealed class QuicSessionTests
{
    private static readonly byte[] ClientId = Convert.FromHexString("c0ffee0011223344");
    private static readonly byte[] ServerId = Convert.FromHexString("5e7e");

    private static byte[] Hello(string host) => QuicWire.Handshake(1, TlsWire.ClientHello(0x0303, [0x1301, 0x1302],
        [(0, TlsWire.ServerName(host)), (16, TlsWire.Alpn("mqtt")), (43, TlsWire.Versions(0x0304))]));

    private sealed class Harness
    {
        public RecordingEventSink Events { get; } = new();
        public RecordingDiagnosticSink Diagnostics { get; } = new();
        public CaptureStats Stats { get; }
        public QuicSession Session { get; }
        private long _packet;

        public Harness()
        {
            var services = TestFlows.Services(Events, Diagnostics);
            Stats = services.Stats;
            Session = new QuicSession(TestFlows.Flow(443), services, new TlsOptions());
        }

        public long Client(byte[] datagram)
        {
            Session.OnDatagram(FlowDirection.ToServer, datagram, TestFlows.Meta(++_packet));
            return _packet;
        }

        public void Server(byte[] datagram) => Session.OnDatagram(FlowDirection.ToClient, datagram, TestFlows.Meta(++_packet));

        public List<TlsClientHelloEvent> Hellos => [.. Events.Events.OfType<TlsClientHelloEvent>()];
    }

    [Fact]
    public void ClientHello_ScatteredOutOfOrderOverPacketsAndRepeated_ReadOnceWhenWhole()
    {
        // As Chrome sends it: the hello cut into pieces, the pieces shuffled over two packets, some sent twice.
        var h = new Harness();
        var hello = Hello("broker.example");
        var a = hello[..30];
        var b = hello[30..70];
        var c = hello[70..];

        h.Client(QuicWire.Initial(ClientId, true, ClientId, [], 1, [.. QuicWire.Crypto(70, c), 0x01, .. QuicWire.Crypto(0, a)]));
        Assert.Empty(h.Hellos);
        var completing = h.Client(QuicWire.Initial(ClientId, true, ClientId, [], 2, [.. QuicWire.Crypto(0, a), .. QuicWire.Crypto(30, b)]));
        h.Client(QuicWire.Initial(ClientId, true, ClientId, [], 3, [.. QuicWire.Crypto(30, b), .. QuicWire.Crypto(70, c)]));

        var e = Assert.Single(h.Hellos);
        Assert.Equal(("broker.example", completing, true), (e.ServerName, e.PacketNumber, e.Quic));
        Assert.Equal(["mqtt"], e.Alpn);
        Assert.StartsWith("q13d", e.Ja4, StringComparison.Ordinal);
        Assert.Equal("quic.client_hello", e.Type);
        Assert.Empty(h.Diagnostics.Diagnostics);
    }

    [Fact]
    public void ServerHello_KeysOfTheClientsFirstIdKeptWhenTheClientAddressesTheServersId()
    {
        // RFC 9001 §5.2: both sides' Initial keys come from the client's first Destination Connection ID, also after the
        // client switched to the id the server chose (Chrome against quic-go does, before the ServerHello arrives).
        var h = new Harness();
        var hello = Hello("sensor.example");
        h.Client(QuicWire.Initial(ClientId, true, ClientId, [], 1, QuicWire.Crypto(0, hello.AsSpan(0, 40))));
        h.Server(QuicWire.Initial(ClientId, false, [], ServerId, 0, [0x02, 0x01, 0x00, 0x00, 0x00], padTo: 0)); // an ACK only
        h.Client(QuicWire.Initial(ClientId, true, ServerId, [], 2, QuicWire.Crypto(40, hello.AsSpan(40))));
        var serverHello = QuicWire.Handshake(2, [0x03, 0x03, .. new byte[32], 0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 0x03, 0x04]);
        h.Server(QuicWire.Initial(ClientId, false, [], ServerId, 1, QuicWire.Crypto(0, serverHello), padTo: 0));

        Assert.Single(h.Hellos);
        var sh = Assert.Single(h.Events.Events.OfType<TlsServerHelloEvent>());
        Assert.Equal(("quic.server_hello", "1.3"), (sh.Type, sh.Version));
        Assert.Empty(h.Diagnostics.Diagnostics);
    }

    [Fact]
    public void HelloRetryRequest_TheSecondClientHelloAndTheRealServerHelloAreRead()
    {
        // RFC 8446 §4.1.4: a ServerHello whose random is SHA-256("HelloRetryRequest") asks for another key share; the
        // second ClientHello and the real ServerHello continue the same CRYPTO streams of the Initial packets.
        var h = new Harness();
        var first = Hello("retry.example");
        var second = Hello("retry.example");
        byte[] Server(byte[] random) => QuicWire.Handshake(2, [0x03, 0x03, .. random, 0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 0x03, 0x04]);
        var hrr = Server(Convert.FromHexString("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"));
        var real = Server(new byte[32]);

        h.Client(QuicWire.Initial(ClientId, true, ClientId, [], 0, QuicWire.Crypto(0, first)));
        h.Server(QuicWire.Initial(ClientId, false, [], ServerId, 0, QuicWire.Crypto(0, hrr), padTo: 0));
        h.Client(QuicWire.Initial(ClientId, true, ServerId, [], 1, QuicWire.Crypto(first.Length, second)));
        h.Server(QuicWire.Initial(ClientId, false, [], ServerId, 1, QuicWire.Crypto(hrr.Length, real), padTo: 0));

        Assert.Equal(2, h.Hellos.Count);
        Assert.Equal(2, h.Events.Events.OfType<TlsServerHelloEvent>().Count());
        Assert.Empty(h.Diagnostics.Diagnostics);
    }

    [Fact]
    public void Retry_TheClientsNextInitialsAreReadWithTheRetrysIdsKeys()
    {
        var h = new Harness();
        var retried = Convert.FromHexString("a1a2a3a4a5a6a7a8");
        h.Client(QuicWire.Initial(ClientId, true, ClientId, [], 0, QuicWire.Crypto(0, Hello("first.example").AsSpan(0, 20))));
        h.Server(QuicWire.Retry([], retried));
        h.Client(QuicWire.Initial(retried, true, retried, [], 1, QuicWire.Crypto(0, Hello("first.example"))));

        Assert.Equal("first.example", Assert.Single(h.Hellos).ServerName);
    }

    [Fact]
    public void ForgedInitials_TriedAFewTimesThenLeftWithOneDiagnostic()
    {
        var h = new Harness();
        for (var pn = 0; pn < 20; pn++)
        {
            var forged = QuicWire.Initial(ClientId, true, ClientId, [], pn, QuicWire.Crypto(0, Hello("x.example")));
            forged[^1] ^= 0xFF; // the tag no longer authenticates
            h.Client(forged);
        }

        h.Client(QuicWire.Initial(ClientId, true, ClientId, [], 21, QuicWire.Crypto(0, Hello("late.example"))));
        Assert.Empty(h.Hellos); // the direction is no longer tried
        var d = Assert.Single(h.Diagnostics.Diagnostics);
        Assert.Contains($"{QuicSession.MaxFailures} Initial packets from the client did not authenticate", d.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x08, 0x00, 0x01, 0x61 }, "UnknownType")] // a STREAM frame: not allowed in an Initial
    [InlineData(new byte[] { 0x06, 0x80, 0x00, 0x50, 0x00, 0x04, 1, 0, 0, 0 }, "TooLarge")] // CRYPTO at offset 20480
    [InlineData(new byte[] { 0x06, 0x00, 0x44, 0x00 }, "Truncated")] // a CRYPTO frame longer than the packet
    [InlineData(new byte[] { 0x02, 0x01, 0x00, 0x3f }, "Truncated")] // an ACK with 63 ranges and none there
    public void MalformedFrames_CountedWithTheirReasonNoEvent(byte[] frames, string reason)
    {
        var h = new Harness();
        h.Client(QuicWire.Initial(ClientId, true, ClientId, [], 0, frames, padTo: 0));

        Assert.Empty(h.Events.Events);
        Assert.Equal(1, h.Stats.MalformedMessages);
        Assert.Contains(h.Diagnostics.Diagnostics, d => d.Message.StartsWith("quic: ", StringComparison.Ordinal));
        Assert.Equal(("quic", Enum.Parse<MalformedReason>(reason)), h.Stats.MalformedByReason.Keys.Single());
    }

    [Theory]
    [InlineData(17)]
    [InlineData(19)]
    [InlineData(20)]
    public void ShortestPackets_TheHeaderProtectionSampleNeverReadPastThem(int length)
    {
        // RFC 9001 §5.4.2 samples 16 bytes from 4 bytes after the packet number's start: a packet shorter than that has
        // no sample, whatever its Length says, and ends the datagram (nothing follows it here).
        var h = new Harness();
        byte[] datagram = [0xC3, 0, 0, 0, 1, 8, .. ClientId, 0, 0, (byte)length, .. new byte[length]];

        h.Client(datagram);
        h.Client(datagram[..^1]); // the Length runs one byte past the datagram

        Assert.Empty(h.Events.Events);
    }

    [Fact]
    public void CryptoInTooManyPieces_Refused()
    {
        var h = new Harness();
        var frames = new List<byte>();
        for (var i = 0; i <= QuicSession.MaxRanges; i++)
        {
            frames.AddRange(QuicWire.Crypto(10 + (i * 20), [1, 2, 3])); // pieces with gaps between them
        }

        h.Client(QuicWire.Initial(ClientId, true, ClientId, [], 0, [.. frames]));

        Assert.Equal(1, h.Stats.MalformedMessages);
    }

    /// <summary>Mutations of the recorded datagrams (truncation at every length, a bit flipped in every byte, every pair
    /// of bytes at 0x00 and 0xFF: lengths, connection id lengths and varints at their extremes): no exception leaves the
    /// session, and no more events than the unmutated flow gives.</summary>
    [Theory]
    [InlineData("quic-go.pcap", 14567)]
    [InlineData("quic-chromium.pcap", 443)]
    public void MutatedSampleDatagrams_NoExceptionBoundedEvents(string sample, int port)
    {
        var datagrams = TlsWire.Payloads(QuicTsharkComparisonTests.SamplePath(sample), port);
        Assert.True(datagrams.Count >= 4);
        Assert.Contains(Run(datagrams), e => e is TlsServerHelloEvent);

        for (var i = 0; i < datagrams.Count && i < 6; i++)
        {
            foreach (var mutated in Mutate(datagrams[i].Payload))
            {
                var copy = datagrams.ToList();
                copy[i] = copy[i] with { Payload = mutated };
                Assert.True(Run(copy).Count <= 3);
            }
        }
    }

    private static List<Core.Events.ProtocolEvent> Run(List<(long Frame, bool ToServer, bool Udp, byte[] Payload)> datagrams)
    {
        var h = new Harness();
        foreach (var d in datagrams.Take(8))
        {
            if (d.ToServer)
            {
                h.Client(d.Payload);
            }
            else
            {
                h.Server(d.Payload);
            }
        }

        h.Session.OnClose(TestFlows.Meta(99));
        return h.Events.Events;
    }

    private static IEnumerable<byte[]> Mutate(byte[] original)
    {
        for (var n = 0; n < original.Length; n += n < 64 ? 1 : 97)
        {
            yield return original[..n];
        }

        for (var i = 0; i < Math.Min(original.Length, 96); i++)
        {
            var flipped = (byte[])original.Clone();
            flipped[i] ^= (byte)(1 << (i % 8));
            yield return flipped;
            foreach (var value in new byte[] { 0x00, 0xFF })
            {
                var extreme = (byte[])original.Clone();
                extreme[i] = value;
                if (i + 1 < extreme.Length)
                {
                    extreme[i + 1] = value;
                }

                yield return extreme;
            }
        }
    }

    /// <summary>Hostile frames inside correctly protected packets (what reaches the frame reader only after the packet
    /// authenticates): random frame types, varints at their extremes, CRYPTO pieces anywhere. No exception leaves the
    /// session, and the CRYPTO data it holds stays within its bound.</summary>
    [Fact]
    public void RandomFramesInAuthenticPackets_NeverThrow()
    {
        var random = new Random(9001);
        byte[][] pieces =
        [
            [0x00], [0x01], [0x02], [0x03], [0x06], [0x1c], [0x1d], [0x08], [0x1e], [0x40, 0x06],
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0xbf, 0xff, 0xff, 0xff], [0x7f, 0xff], [0x3f], [0x00, 0x00],
            QuicWire.Crypto(0, [1, 0, 0, 8]), QuicWire.Crypto(4, new byte[8]), QuicWire.Crypto(16380, [1, 2, 3, 4, 5]),
        ];
        for (var run = 0; run < 3000; run++)
        {
            var h = new Harness();
            for (var packet = 0; packet < 3; packet++)
            {
                var frames = new List<byte>();
                for (var n = random.Next(1, 12); n > 0; n--)
                {
                    frames.AddRange(pieces[random.Next(pieces.Length)]);
                }

                h.Client(QuicWire.Initial(ClientId, true, ClientId, [], packet, [.. frames], padTo: 0));
                h.Server(QuicWire.Initial(ClientId, false, [], ServerId, packet, [.. frames], padTo: 0));
            }

            h.Session.OnClose(TestFlows.Meta(99));
            Assert.True(h.Events.Events.Count <= 4);
        }
    }
}
