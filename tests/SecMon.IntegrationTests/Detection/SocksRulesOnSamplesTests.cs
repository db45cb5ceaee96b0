using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// The SOCKS rules (rules/socks.yaml) end to end: <c>secmon analyze SAMPLE --json</c> on the capture recorded from curl
/// through microsocks (tests/SecMon.Capture.Tests/Protocols/Socks/Samples/record.sh).
/// </summary>
public sealed class SocksRulesOnSamplesTests
{
    [Fact]
    public async Task Microsocks_CleartextLoginsAndTheRelayingProxy_NoPasswordInFindings()
    {
        using var dir = new TempDirectory();
        var sample = Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Socks", "Samples", "socks5.pcap");
        var findings = await SecMonRunner.FindingsAsync(sample, dir, [0]);

        // Four logins as gateway (one with a wrong password: that password crossed in clear too), one relayed request.
        var cleartext = Assert.Single(findings, f => Rule(f) == "SECMON-SOCKS-0001");
        Assert.Equal("gateway", cleartext.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal(4, cleartext.GetProperty("secmon").GetProperty("event_count").GetInt32());
        var relay = Assert.Single(findings, f => Rule(f) == "SECMON-SOCKS-0003");
        Assert.Equal("127.0.0.8", relay.GetProperty("device").GetProperty("id").GetString());
        Assert.Contains("to 127.0.0.9:18090", relay.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, findings.Count);
        Assert.All(findings, f => Assert.DoesNotContain("S3cret", f.GetRawText(), StringComparison.Ordinal));
        Assert.All(findings, f => Assert.DoesNotContain("\"hash\"", f.GetRawText(), StringComparison.Ordinal));
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();
}
