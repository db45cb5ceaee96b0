using System.Globalization;
using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Quic;

/// <summary>
/// The recorded QUIC samples (Samples/record.sh: quic-go's client and server, Chrome against quic-go and against a
/// silent socket) through the whole capture engine, against tshark, which opens the Initial packets on its own
/// (<c>-2</c>: reassembling Chrome's scattered CRYPTO frames takes its second pass): every ClientHello and ServerHello
/// tshark shows is one <c>quic.*</c> event of the same frame, with the same SNI, JA3 and JA3S.
/// </summary>
public sealed class QuicTsharkComparisonTests
{
    public static string SamplePath(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Quic", "Samples", name);

    [RequiresToolTheory("tshark")]
    [InlineData("quic-go.pcap", 4, 4)] // the third connection: a HelloRetryRequest, two hellos each way
    [InlineData("quic-chromium.pcap", 2, 1)]
    public async Task Sample_EveryHello_MatchesTshark(string name, int clientHellos, int serverHellos)
    {
        var path = SamplePath(name);
        var (events, stats) = Analyze(path);
        var (exit, stdout, stderr) = await Tools.RunAsync("tshark",
            ["-2", "-r", path, "-Y", "tls.handshake.type == 1 || tls.handshake.type == 2", "-T", "fields", "-e", "frame.number",
             "-e", "tls.handshake.type", "-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.ja3_full", "-e", "tls.handshake.ja3",
             "-e", "tls.handshake.ja3s_full", "-e", "tls.handshake.ja3s", "-e", "tls.handshake.extensions_alpn_str"], TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t')).ToList();

        var theirs = rows.Select(r => r[1] == "1"
            ? string.Join('|', r[0], "quic.client_hello", r[2], r[3], r[4], r[7])
            : string.Join('|', r[0], "quic.server_hello", r[5], r[6])).ToList();
        var mine = events.Select(e => e switch
        {
            TlsClientHelloEvent c => string.Join('|', c.PacketNumber.ToString(CultureInfo.InvariantCulture), c.Type, c.ServerName, c.Ja3String, c.Ja3,
                string.Join(',', c.Alpn ?? [])),
            TlsServerHelloEvent s => string.Join('|', s.PacketNumber.ToString(CultureInfo.InvariantCulture), s.Type, s.Ja3sString, s.Ja3s),
            _ => null,
        }).OfType<string>().ToList();
        Assert.Equal(theirs, mine);
        Assert.Equal(clientHellos, events.OfType<TlsClientHelloEvent>().Count());
        Assert.Equal(serverHellos, events.OfType<TlsServerHelloEvent>().Count());
        Assert.All(events.OfType<TlsClientHelloEvent>(), c => Assert.StartsWith("q13d", c.Ja4, StringComparison.Ordinal));
        Assert.Equal(0, stats.MalformedMessages);
    }

    [Fact]
    public void QuicGo_EveryConnectionEstablished_TheRetryAndHelloRetryOnesToo()
    {
        // record.sh's quicpeer client exits 0 only after its message came back, and the script stops at a failure: the
        // three handshakes completed. The second server sent a Retry first, the third a HelloRetryRequest.
        var (events, _) = Analyze(SamplePath("quic-go.pcap"));

        var summaries = events.OfType<TlsHandshakeEvent>().ToList();
        Assert.Equal(3, summaries.Count);
        Assert.All(summaries, s => Assert.Equal(("quic.handshake", true, "broker.example", "1.3"), (s.Type, s.Established, s.ServerName, s.Version)));
        Assert.Equal([14567, 14568, 14569], summaries.Select(s => s.Flow.DestinationPort));
        Assert.Equal(2, events.OfType<TlsClientHelloEvent>().Count(c => c.Flow.DestinationPort == 14569));
    }

    internal static (List<ProtocolEvent> Events, CaptureStats Stats) Analyze(string path)
    {
        var (events, stats, _) = SampleEngine.Run(path);
        return (events, stats);
    }
}
