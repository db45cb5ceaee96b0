using SecMon.Capture.Protocols.Dhcpv6;
using SecMon.Core.Flows;
using static SecMon.Capture.Tests.Protocols.Dhcpv6.Dhcpv6Messages;

namespace SecMon.Capture.Tests.Protocols.Dhcpv6;

/// <summary>
/// Mutations of real messages (dhclient's SOLICIT and dnsmasq's REPLY as in the samples, a relayed one): truncation at
/// every length, every single bit flipped, every 16-bit window (option codes and lengths wherever they are) at 0, 0xFFFF
/// and 0x7FFF. No exception may leave the parser or the session; every datagram is one event or one counted malformed
/// message, as the parser alone says; the probe never throws.
/// </summary>
public sealed class Dhcpv6FuzzTests
{
    private static readonly byte[][] Seeds =
    [
        Solicit(),
        Reply(0x38d27e),
        Relay(13, 0, Message(7, 5, ClientId(), ServerId(), IaNa(1, IaAddress("2001:db8:1::108", Status(0))), VendorClass(1, "x", "y"), Oro(23, 24, 39))),
    ];

    public static TheoryData<int> SeedIndexes() => [.. Enumerable.Range(0, Seeds.Length)];

    [Theory]
    [MemberData(nameof(SeedIndexes))]
    public void Session_TruncationsBitFlipsAndLengthExtremes_NoExceptionEveryDatagramAccountedFor(int seed)
    {
        var mutants = Mutants(Seeds[seed]).ToList();
        var events = new RecordingEventSink();
        var diagnostics = new RecordingDiagnosticSink();
        var services = TestFlows.Services(events, diagnostics);
        var protocol = new Dhcpv6Protocol();
        var session = protocol.CreateSession(TestFlows.Flow(547), services);
        var fed = 0;
        foreach (var m in mutants)
        {
            _ = protocol.Probe(m, FlowDirection.ToServer);
            session.OnDatagram(fed++ % 2 == 0 ? FlowDirection.ToServer : FlowDirection.ToClient, m, TestFlows.Meta(fed));
        }

        session.OnClose(TestFlows.Meta(fed + 1));
        var malformed = mutants.Count(m => !Dhcpv6Parser.TryRead(m, out _, out _));
        Assert.Equal(malformed, services.Stats.MalformedMessages);
        Assert.Equal(malformed, diagnostics.Diagnostics.Count);
        Assert.Equal(mutants.Count - malformed, events.Events.Count);
        Assert.True(malformed > 0 && malformed < mutants.Count, $"{malformed} of {mutants.Count} malformed");
        Assert.All(events.Events.Cast<Dhcpv6MessageEvent>(), e => Assert.True(e.Addresses is null || e.Addresses.Count <= 8));
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

        foreach (var value in new ushort[] { 0, 0xFFFF, 0x7FFF })
        {
            for (var at = 0; at + 1 < seed.Length; at++)
            {
                var m = (byte[])seed.Clone();
                m[at] = (byte)(value >> 8);
                m[at + 1] = (byte)value;
                yield return m;
            }
        }
    }
}
