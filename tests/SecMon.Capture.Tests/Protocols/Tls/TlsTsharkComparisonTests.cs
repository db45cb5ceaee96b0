using System.Globalization;
using System.Text;
using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Tls;

/// <summary>
/// tshark 4.0 as an independent verifier of every recorded TLS/DTLS sample (Samples/record.sh: openssl s_server and
/// s_client, libcoap): each ClientHello and ServerHello tshark dissects must match one SecMon event of the same frame,
/// field by field (JA3 and its string, JA3S and its string, SNI, offered and chosen suites, offered versions), each
/// Certificate message the count and the serial numbers of its chain, and the DTLS PSK identity. tshark 4.0 has no JA4:
/// JA4 is checked against FoxIO's published vector in <see cref="TlsFingerprintTests"/>.
/// </summary>
public sealed class TlsTsharkComparisonTests
{
    private const string Separator = "|";

    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        foreach (var f in TlsSamples.All)
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [RequiresToolTheory("tshark")]
    [MemberData(nameof(Samples))]
    public async Task Sample_EveryHelloAndCertificate_MatchesTshark(string sample)
    {
        var path = TlsSamples.PathOf(sample);
        var (events, diagnostics, _) = TlsSamples.Decode(path);
        var rows = await TsharkAsync(path);
        Assert.Empty(diagnostics);

        var clientHellos = events.OfType<TlsClientHelloEvent>().ToList();
        var serverHellos = events.OfType<TlsServerHelloEvent>().ToList();
        var checkedHellos = 0;
        foreach (var row in rows)
        {
            if (row.Ja3.Length > 0)
            {
                var e = Assert.Single(clientHellos, h => h.PacketNumber == row.Frame);
                Assert.Equal(row.Dtls, e.Datagram);
                Assert.Equal(row.Ja3, e.Ja3);
                Assert.Equal(row.Ja3Full, e.Ja3String);
                Assert.Equal(row.ServerName.Length == 0 ? null : row.ServerName, e.ServerName);
                Assert.Equal(row.Ciphers, e.CipherSuites!.Select(c => (int)c));
                Assert.StartsWith(row.Dtls ? "d" : "t", e.Ja4, StringComparison.Ordinal);
                if (row.SupportedVersions.Count > 0)
                {
                    Assert.Equal(row.SupportedVersions.Select(v => TlsParser.VersionName((ushort)v)), e.SupportedVersions);
                }

                checkedHellos++;
            }

            if (row.Ja3s.Length > 0)
            {
                var e = Assert.Single(serverHellos, h => h.PacketNumber == row.Frame);
                Assert.Equal(row.Ja3s, e.Ja3s);
                Assert.Equal(row.Ja3sFull, e.Ja3sString);
                Assert.Equal(Assert.Single(row.Ciphers), e.CipherSuite);
                checkedHellos++;
            }

            if (row.CertificateLengths.Count > 0 && row.Types.Contains(11))
            {
                // One Certificate message per frame in these samples: its chain's length and serials.
                var e = Assert.Single(events.OfType<TlsCertificateEvent>(), c => c.PacketNumber == row.Frame);
                Assert.Equal(row.CertificateLengths.Count, e.Count);
                Assert.Equal(row.Serials[0], e.Serial, ignoreCase: true);
                if (e is TlsServerCertificateEvent server)
                {
                    Assert.Equal(row.Serials, server.Chain.Select(c => c!.Serial.ToLowerInvariant()));
                }
            }

            if (row.PskIdentity.Length > 0)
            {
                var summary = Assert.Single(events.OfType<TlsHandshakeEvent>());
                Assert.Equal(row.PskIdentity, summary.PskIdentity);
            }

        }

        Assert.True(checkedHellos >= 2, $"{sample}: tshark showed {checkedHellos} hellos");
        Assert.Equal(rows.Count(r => r.Ja3.Length > 0), clientHellos.Count);
        Assert.Equal(rows.Count(r => r.Ja3s.Length > 0), serverHellos.Count);
    }

    private sealed record Row(long Frame, bool Dtls, IReadOnlyList<int> Types, string Ja3, string Ja3Full, string Ja3s, string Ja3sFull,
        string ServerName, IReadOnlyList<int> Ciphers, IReadOnlyList<int> SupportedVersions, IReadOnlyList<int> CertificateLengths,
        IReadOnlyList<string> Serials, string PskIdentity);

    private static async Task<List<Row>> TsharkAsync(string pcap)
    {
        string[] fields = ["handshake.type", "handshake.ja3", "handshake.ja3_full", "handshake.ja3s", "handshake.ja3s_full",
            "handshake.extensions_server_name", "handshake.ciphersuite", "handshake.extensions.supported_version", "handshake.certificate_length"];
        var args = new List<string> { "-r", pcap, "-T", "fields", "-E", "separator=" + Separator, "-E", "aggregator=;", "-e", "frame.number", "-e", "x509af.serialNumber", "-e", "dtls.handshake.identity" };
        foreach (var port in TlsSamples.DtlsPorts)
        {
            args.AddRange(["-d", $"udp.port=={port},dtls"]);
        }

        foreach (var f in fields)
        {
            args.AddRange(["-e", "tls." + f, "-e", "dtls." + f]);
        }

        var (exit, stdout, stderr) = await Tools.RunAsync("tshark", args);
        Assert.True(exit == 0, stderr);
        var rows = new List<Row>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var c = line.Split(Separator);
            string Get(int i) => c[3 + (2 * i)].Length > 0 ? c[3 + (2 * i)] : c[4 + (2 * i)];
            var dtls = Enumerable.Range(0, fields.Length).Any(i => c[4 + (2 * i)].Length > 0) || c[2].Length > 0;
            rows.Add(new Row(
                long.Parse(c[0], CultureInfo.InvariantCulture), dtls, Numbers(Get(0)), Get(1), Get(2), Get(3), Get(4), Get(5), Numbers(Get(6)),
                Numbers(Get(7)), Numbers(Get(8)), Split(c[1]), c[2].Length == 0 ? "" : Encoding.ASCII.GetString(Convert.FromHexString(c[2].Split(';')[0]))));
        }

        return rows;
    }

    private static List<string> Split(string s) => [.. s.Split([';', ','], StringSplitOptions.RemoveEmptyEntries)];

    private static List<int> Numbers(string s) =>
        [.. Split(s).Select(x => x.StartsWith("0x", StringComparison.Ordinal) ? int.Parse(x[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) : int.Parse(x, CultureInfo.InvariantCulture))];
}
