using System.Buffers.Binary;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Tls;

public sealed class TlsCacheTests
{
    private static readonly ushort[] Ciphers = [0x1a1a, 0x1301, 0x1302, 0xc02b, 0xc02f, 0x000a, 0x002f];

    [Fact]
    public void TryGet_EqualBytes_HitReturnsTheSameValueAndCounts()
    {
        var cache = new ByteKeyCache<string>(16, 64);
        var value = "summary";
        cache.Add([1, 2, 3], value);

        Assert.True(cache.TryGet([1, 2, 3], out var hit));
        Assert.Same(value, hit);
        Assert.False(cache.TryGet([1, 2, 4], out _));
        Assert.False(cache.TryGet([1, 2], out _));
        Assert.Equal(1, cache.Hits);
        Assert.Equal(2, cache.Misses);
    }

    [Fact]
    public void Add_MoreKeysThanOneSetHolds_LeastRecentlyUsedReplacedAndCountBounded()
    {
        // Capacity 4 is one set: every key competes for the same four entries, as colliding hostile keys would.
        var cache = new ByteKeyCache<string>(4, 64);
        Assert.Equal(ByteKeyCache<string>.Ways, cache.Capacity);
        for (byte i = 0; i < 4; i++)
        {
            cache.Add([i], $"v{i}");
        }

        Assert.True(cache.TryGet([0], out _)); // 0 used most recently: 1 is now the least recently used
        cache.Add([9], "v9");

        Assert.Equal(4, cache.Count);
        Assert.False(cache.TryGet([1], out _));
        Assert.True(cache.TryGet([0], out var v0));
        Assert.Equal("v0", v0);
        Assert.True(cache.TryGet([9], out var v9));
        Assert.Equal("v9", v9);
        for (byte i = 10; i < 200; i++)
        {
            cache.Add([i], $"v{i}");
        }

        Assert.Equal(4, cache.Count);
    }

    [Fact]
    public void Add_KeyLongerThanTheBoundOrCapacityZero_NotKept()
    {
        var small = new ByteKeyCache<string>(16, 4);
        small.Add([1, 2, 3, 4, 5], "long");
        Assert.False(small.TryGet([1, 2, 3, 4, 5], out _));
        Assert.Equal(0, small.Count);

        var off = new ByteKeyCache<string>(0, 64);
        off.Add([1], "x");
        Assert.Equal(0, off.Capacity);
        Assert.False(off.TryGet([1], out _));
    }

    [Fact]
    public void Add_NullValue_CachedAsUnreadable()
    {
        var cache = new ByteKeyCache<string>(16, 64);
        cache.Add([7], null);

        Assert.True(cache.TryGet([7], out var value));
        Assert.Null(value);
    }

    [Fact]
    public void Client_SameHelloTwice_SecondFromTheCacheAndEqualToTheDirectComputation()
    {
        var hello = Hello(0x0403, 0x0804);
        var cache = new ByteKeyCache<ClientHelloFingerprints>(16, TlsCaches.MaxFingerprintKeyBytes);

        var first = TlsFingerprint.Client(hello, 't', cache);
        var second = TlsFingerprint.Client(Hello(0x0403, 0x0804), 't', cache);

        Assert.Same(first, second);
        Assert.Equal(1, cache.Hits);
        Assert.Equal(TlsFingerprint.Ja3String(hello), first.Ja3String);
        Assert.Equal(TlsFingerprint.Md5(first.Ja3String), first.Ja3);
        Assert.Equal(TlsFingerprint.Ja4(hello, 't'), first.Ja4);
        Assert.Equal([0x1301L, 0x1302, 0xc02b, 0xc02f, 0x000a, 0x002f], first.CipherSuites);
        Assert.Equal(["3des"], first.WeakCiphers);
    }

    [Fact]
    public void Client_HellosDifferingOnlyInWhatJa4Reads_NotConfused()
    {
        // The JA3 text is the same; the signature algorithms (JA4's third part) and the transport differ.
        var cache = new ByteKeyCache<ClientHelloFingerprints>(16, TlsCaches.MaxFingerprintKeyBytes);

        var a = TlsFingerprint.Client(Hello(0x0403, 0x0804), 't', cache);
        var b = TlsFingerprint.Client(Hello(0x0804, 0x0403), 't', cache);
        var c = TlsFingerprint.Client(Hello(0x0403, 0x0804), 'd', cache);

        Assert.Equal(a.Ja3String, b.Ja3String);
        Assert.NotEqual(a.Ja4, b.Ja4);
        Assert.Equal(TlsFingerprint.Ja4(Hello(0x0804, 0x0403), 't'), b.Ja4);
        Assert.StartsWith("d", c.Ja4, StringComparison.Ordinal);
        Assert.Equal(0, cache.Hits);
        Assert.Equal(3, cache.Misses);
    }

    [Fact]
    public void Sessions_SameMutualHandshakeTwice_CertificatesAndFingerprintsFromTheCacheEventsUnchanged()
    {
        var wire = PcapFlights.Read(TlsSamples.PathOf("tls12-mutual.pcap"));
        var caches = new TlsCaches(new TlsOptions());

        var uncached = Fields(Replay(wire, null));
        var first = Fields(Replay(wire, caches));
        var second = Fields(Replay(wire, caches));

        Assert.Equal(6, uncached.Count);
        Assert.Equal(uncached, first);
        Assert.Equal(uncached, second);
        // The server's chain of two and the client's leaf: read once, then found.
        Assert.Equal(3, caches.Certificates.Misses);
        Assert.Equal(3, caches.Certificates.Hits);
        Assert.Equal(1, caches.ClientHellos.Hits);
        Assert.Equal(1, caches.ServerHellos.Hits);
    }

    [Fact]
    public void Sessions_CertificateChangedInOneByte_NotTakenFromTheCache()
    {
        var wire = PcapFlights.Read(TlsSamples.PathOf("tls12-mutual.pcap"));
        var caches = new TlsCaches(new TlsOptions());
        var original = Replay(wire, caches).OfType<TlsServerCertificateEvent>().Single();

        // Flip a bit in the last byte of the server's leaf (its signature): same hash set and length, other DER.
        var (index, leafEnd) = ServerLeafEnd(wire);
        var changed = wire.Select(w => (w.ToServer, (byte[])w.Payload.Clone())).ToList();
        changed[index].Item2[leafEnd - 1] ^= 0x01;
        var hitsBefore = caches.Certificates.Hits;
        var altered = Replay(changed, caches).OfType<TlsServerCertificateEvent>().Single();
        var direct = Replay(changed, null).OfType<TlsServerCertificateEvent>().Single();

        Assert.NotEqual(original.Sha256, altered.Sha256);
        Assert.Equal(direct.Sha256, altered.Sha256);
        Assert.Equal(direct.Chain.Select(c => c?.Sha256), altered.Chain.Select(c => c?.Sha256));
        // The intermediate and the client's leaf were found; the changed leaf was not.
        Assert.Equal(hitsBefore + 2, caches.Certificates.Hits);
    }

    [Fact]
    public void Sessions_WholeSegmentsOrOneByteAtATime_SameEvents()
    {
        // Records whole in a segment are read in place, cut ones through the buffer: both give the same events.
        var wire = PcapFlights.Read(TlsSamples.PathOf("tls12-mutual.pcap"));

        var whole = Fields(Replay(wire, null), withPacket: false);
        var bytes = Fields(Replay(wire, null, piece: 1), withPacket: false);
        var odd = Fields(Replay(wire, null, piece: 1000), withPacket: false);

        Assert.Equal(whole, bytes);
        Assert.Equal(whole, odd);
    }

    private static TlsParser.ClientHello Hello(params ushort[] signatureAlgorithms)
    {
        var body = TlsWire.ClientHello(0x0303, Ciphers, [(0x0000, TlsWire.ServerName("broker.test")), (0x000d, TlsWire.List16(signatureAlgorithms))]);
        Assert.True(TlsParser.TryReadClientHello(body, out var hello, out _));
        return hello;
    }

    private static List<ProtocolEvent> Replay(List<(bool ToServer, byte[] Payload)> wire, TlsCaches? caches, int piece = int.MaxValue)
    {
        var events = new RecordingEventSink();
        var session = new TlsSession(TestFlows.Flow(8884), TestFlows.Services(events), midStream: false, caches: caches);
        var n = 0;
        foreach (var (toServer, bytes) in wire)
        {
            for (var i = 0; i < bytes.Length; i += piece)
            {
                session.OnData(toServer ? FlowDirection.ToServer : FlowDirection.ToClient,
                    bytes.AsSpan(i, Math.Min(piece, bytes.Length - i)), TestFlows.Meta(++n));
            }
        }

        session.OnClose(TestFlows.Meta(++n));
        return events.Events;
    }

    // Every field of every event as text, in order: what the event log and the rules see. Without the packet's number
    // when the same bytes were fed in other pieces (each piece is a packet).
    private static List<string> Fields(List<ProtocolEvent> events, bool withPacket = true) =>
        [.. events.Select(e => e.Type + ": " + string.Join("; ", e.Schema.Fields
            .Where(f => withPacket || f.Name != "event.sequence")
            .Select(f => f.Name + "=" + f.Read(e))))];

    // The TCP payloads of a recorded conversation (classic pcap, Ethernet, IPv4), in order.
    // Where the server's leaf certificate ends: the flight index and the offset just past its DER.
    private static (int Index, int End) ServerLeafEnd(List<(bool ToServer, byte[] Payload)> wire)
    {
        for (var w = 0; w < wire.Count; w++)
        {
            if (wire[w].ToServer)
            {
                continue;
            }

            var b = wire[w].Payload;
            for (var r = 0; r + 5 <= b.Length;)
            {
                var length = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(r + 3));
                for (var h = r + 5; b[r] == 22 && h + 4 <= r + 5 + length;)
                {
                    var hsLength = (b[h + 1] << 16) | (b[h + 2] << 8) | b[h + 3];
                    if (b[h] == 11)
                    {
                        var leafStart = h + 4 + 3 + 3; // certificate_list length, then the leaf's length
                        var leafLength = (b[h + 7] << 16) | (b[h + 8] << 8) | b[h + 9];
                        return (w, leafStart + leafLength);
                    }

                    h += 4 + hsLength;
                }

                r += 5 + length;
            }
        }

        throw new InvalidOperationException("no server Certificate message in the sample");
    }

    [Fact]
    public void Hash_SpreadsKeysOverTheSets()
    {
        // Not a security property (equality decides a hit), only that sequential keys do not pile into one set.
        var sets = new HashSet<ulong>();
        for (var i = 0; i < 256; i++)
        {
            sets.Add(ByteKeyCache<string>.Hash(BitConverter.GetBytes((long)i)) & 63);
        }

        Assert.True(sets.Count > 48, $"{sets.Count} of 64 sets used");
    }
}
