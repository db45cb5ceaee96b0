using SecMon.Capture.Protocols.Coap;
using SecMon.Core.Flows;
using static SecMon.Capture.Tests.Protocols.Coap.CoapTestKit;

namespace SecMon.Capture.Tests.Protocols.Coap;

/// <summary>
/// Mutations of real messages (libcoap's, from the samples, and the shapes the samples hold: Block1, Observe,
/// extended option deltas and lengths): truncation at every length, every single bit flipped, option and token
/// length fields at their extremes. No exception may leave the parser or the session, events stay bounded by the
/// datagrams fed (and the pending limit at the end), and nothing is allocated from a length read off the wire.
/// </summary>
public sealed class CoapFuzzTests
{
    private static readonly byte[][] Seeds =
    [
        Mqtt.Hex.Bytes(CoapParserTests.GetWellKnownCore),
        Mqtt.Hex.Bytes(CoapParserTests.PutTemp),
        // libcoap's piggybacked 2.05 of /time?ticks with Content-Format 0 and Max-Age, observe notification shape.
        Message(2, 0x45, 47947, [1], [UInt(6, 3), UInt(12, 0), UInt(14, 60)], "1796479366"u8.ToArray()),
        Message(0, 3, 3302, [2, 0, 0, 0, 0, 0, 3], [Path("example_data"), UInt(27, 0x1A), UInt(60, 700)], new byte[64]),
        Message(1, 1, 43117, [2, 0, 0, 0, 0, 0, 2], [(3, "host.example"u8.ToArray()), Path(new string('p', 300)), Query("a=1"), UInt(23, 0x16), (35, "coap://proxy/x"u8.ToArray())]),
        Message(2, 0, 33602),
    ];

    public static IEnumerable<object[]> SeedIndexes() => Enumerable.Range(0, Seeds.Length).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(SeedIndexes))]
    public void Session_TruncationsBitFlipsAndLengthExtremes_NoExceptionAndBoundedEvents(int seed)
    {
        var mutants = Mutants(Seeds[seed]).ToList();
        var h = new Harness(new CoapOptions { MaxPendingRequestsPerFlow = 16 });
        var fed = 0;
        foreach (var m in mutants)
        {
            h.Send(fed++ % 2 == 0 ? FlowDirection.ToServer : FlowDirection.ToClient, m);
            // Per datagram at most its own event and one request it pushed out.
            Assert.True(h.Events.Events.Count <= 2 * fed, $"{h.Events.Events.Count} events after {fed} datagrams");
        }

        var beforeClose = h.Events.Events.Count;
        h.Close();
        Assert.True(h.Events.Events.Count - beforeClose <= 16);
        // Every datagram was either malformed (counted) or parsed; the parser agrees with the session on which.
        var malformed = mutants.Count(m => !CoapParser.TryParse(m, out _, out _, out _));
        Assert.Equal(malformed, h.Services.Stats.MalformedMessages);
        Assert.Equal(malformed, h.Diagnostics.Diagnostics.Count);
        Assert.True(malformed > 0 && malformed < mutants.Count, $"{malformed} of {mutants.Count} malformed");
    }

    [Theory]
    [MemberData(nameof(SeedIndexes))]
    public void Probe_EveryMutant_NoException(int seed)
    {
        var protocol = new CoapProtocol();
        foreach (var m in Mutants(Seeds[seed]))
        {
            var result = protocol.Probe(m, FlowDirection.ToServer);
            Assert.True(Enum.IsDefined(result));
        }
    }

    [Fact]
    public void TryParse_LengthsClaimingMoreThanIsThere_AllocateNothing()
    {
        // Options declaring 65,804 bytes (delta and length 14 with 0xFFFF), a token length of 8 in a 4-byte datagram.
        byte[][] hostile = [[0x40, 0x01, 0, 1, 0xEE, 0xFF, 0xFF, 0xFF, 0xFF], [0x48, 0x01, 0, 1], [0x40, 0x01, 0, 1, 0xDD, 0xFF, 0xFF, 1, 2]];
        foreach (var h in hostile)
        {
            Assert.False(CoapParser.TryParse(h, out _, out _, out _)); // warm up
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var failures = 0;
        for (var i = 0; i < 1000; i++)
        {
            foreach (var h in hostile)
            {
                failures += CoapParser.TryParse(h, out _, out _, out _) ? 0 : 1;
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(3000, failures);
    }

    [Fact]
    public void TryParse_ValidMessage_AllocatesNothing()
    {
        var seed = Seeds[4];
        Assert.True(CoapParser.TryParse(seed, out _, out _, out _));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var options = 0;
        for (var i = 0; i < 1000; i++)
        {
            options += CoapParser.TryParse(seed, out var m, out _, out _) ? m.OptionCount : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(5000, options);
    }

    private static IEnumerable<byte[]> Mutants(byte[] seed)
    {
        for (var length = 0; length < seed.Length; length++)
        {
            yield return seed[..length];
        }

        for (var bit = 0; bit < seed.Length * 8; bit++)
        {
            var m = (byte[])seed.Clone();
            m[bit / 8] ^= (byte)(1 << (bit % 8));
            yield return m;
        }

        // Token length 0-15 over the same bytes.
        for (var tkl = 0; tkl < 16; tkl++)
        {
            var m = (byte[])seed.Clone();
            m[0] = (byte)((m[0] & 0xF0) | tkl);
            yield return m;
        }

        // Each byte after the header taken as an option header: delta and length nibbles at 13, 14 and 15, with the
        // extension bytes at 0x00 and 0xFF.
        for (var i = CoapParser.HeaderLength; i < seed.Length; i++)
        {
            foreach (var nibbles in new byte[] { 0xDD, 0xEE, 0xFF, 0x0D, 0x0E, 0x0F, 0xD0, 0xE0, 0xF0 })
            {
                foreach (var extension in new byte[] { 0x00, 0xFF })
                {
                    var m = (byte[])seed.Clone();
                    m[i] = nibbles;
                    for (var j = i + 1; j < Math.Min(m.Length, i + 5); j++)
                    {
                        m[j] = extension;
                    }

                    yield return m;
                }
            }
        }

        yield return [.. seed, 0xFF]; // a payload marker with nothing after it
        yield return [.. seed, .. new byte[2000]]; // option bytes of zeros: option 0 repeated (reserved, yet well formed)
    }
}
