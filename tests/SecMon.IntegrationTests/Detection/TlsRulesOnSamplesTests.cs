using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// rules/tls.yaml end to end: `secmon analyze SAMPLE --json` on the TLS/DTLS captures recorded from openssl and libcoap
/// (tests/SecMon.Capture.Tests/Protocols/Tls/Samples/record.sh). What each capture should raise follows from how
/// record.sh made it (the protocol version forced, the certificate given to s_server, the cipher list), not from
/// SecMon's output; the clean captures (TLS 1.2 and 1.3 with a client certificate, TLS 1.3, DTLS with a certificate,
/// CoAPS with a PSK, and a mutual-TLS listener refusing a client without a certificate) must raise nothing.
/// </summary>
public sealed class TlsRulesOnSamplesTests
{
    private static string Samples => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Tls", "Samples");

    [Theory]
    [InlineData("tls10.pcap", "SECMON-TLS-0001")]
    [InlineData("tls11.pcap", "SECMON-TLS-0001")]
    [InlineData("dtls10.pcap", "SECMON-TLS-0001")]
    [InlineData("tls12-null.pcap", "SECMON-TLS-0002,SECMON-TLS-0003")]
    [InlineData("tls12-expired.pcap", "SECMON-TLS-0004")]
    [InlineData("tls12-selfsigned.pcap", "SECMON-TLS-0005")]
    [InlineData("tls12-nocert.pcap", "SECMON-TLS-0006")]
    [InlineData("tls12-refused.pcap", "")]
    [InlineData("tls13-refused.pcap", "")]
    [InlineData("tls12-mutual.pcap", "")]
    [InlineData("tls13-mutual.pcap", "")]
    [InlineData("tls12-resumed.pcap", "")]
    [InlineData("tls13-retry.pcap", "")]
    [InlineData("tls13-mosquitto.pcap", "")]
    [InlineData("tls13.pcap", "")]
    [InlineData("dtls12-cert.pcap", "")]
    [InlineData("coaps-psk.pcap", "")]
    public async Task Analyze_RecordedSample_RaisesExactlyItsTlsFindings(string sample, string expected)
    {
        using var dir = new TempDirectory();
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command("analyze", Path.Combine(Samples, sample), "--json", "--data", dir.File("data")), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, stderr);

        var findings = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var rules = findings.Select(f => f.GetProperty("rule").GetProperty("id").GetString()!).Where(r => r.StartsWith("SECMON-TLS-", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, string.Join(',', rules));
        if (sample == "tls12-expired.pcap")
        {
            var tls = Assert.Single(findings).GetProperty("tls").GetProperty("server");
            Assert.Equal("CN=expired.sample", tls.GetProperty("subject").GetString());
            Assert.Equal("2021-01-01T00:00:00Z", tls.GetProperty("not_after").GetString());
        }
    }
}
