using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// The Telnet rules (rules/telnet.yaml) end to end: <c>secmon analyze SAMPLE --json</c> on the captures recorded from the
/// inetutils telnet client against inetutils-telnetd (tests/SecMon.Capture.Tests/Protocols/Telnet/Samples/record.sh).
/// </summary>
public sealed class TelnetRulesOnSamplesTests
{
    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Telnet", "Samples", name);

    [Fact]
    public async Task Guessing_FiveFailuresThenSuccess_BurstAndSequenceCleartextNoPassword()
    {
        var findings = await AnalyzeAsync("telnet-guessing.pcap");

        var burst = Assert.Single(findings, f => Rule(f) == "SECMON-TELNET-0003");
        Assert.Equal("127.0.0.3", burst.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal(5, burst.GetProperty("secmon").GetProperty("event_count").GetInt32());
        Assert.Equal(5, burst.GetProperty("secmon").GetProperty("distinct_count").GetInt32());
        var success = Assert.Single(findings, f => Rule(f) == "SECMON-TELNET-0005");
        Assert.Equal(99, success.GetProperty("event").GetProperty("severity").GetInt32());
        Assert.Equal("127.0.0.1", success.GetProperty("device").GetProperty("id").GetString()); // the device logged in to
        Assert.Equal("admin", success.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal(2323, success.GetProperty("destination").GetProperty("port").GetInt32());
        Assert.Contains(findings, f => Rule(f) == "SECMON-TELNET-0002");
        Assert.Single(findings, f => Rule(f) == "SECMON-TELNET-0001");
        Assert.DoesNotContain(findings, f => Rule(f) == "SECMON-TELNET-0004"); // one source only
        foreach (var f in findings)
        {
            var text = f.GetRawText();
            foreach (var password in new[] { "S3cret-telnet", "wrong1", "admin123", "guess4", "guess5" })
            {
                Assert.DoesNotContain(password, text, StringComparison.Ordinal);
            }

            Assert.DoesNotContain("\"hash\"", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Login_OneSuccessfulLogin_CleartextOnlyNoGuessing()
    {
        var findings = await AnalyzeAsync("telnet-login.pcap");

        Assert.Equal(["SECMON-TELNET-0001", "SECMON-TELNET-0002"], findings.Select(Rule).Order(StringComparer.Ordinal));
        var cleartext = Assert.Single(findings, f => Rule(f) == "SECMON-TELNET-0002");
        Assert.Equal("admin", cleartext.GetProperty("telnet").GetProperty("username").GetString());
        Assert.True(cleartext.GetProperty("telnet").GetProperty("password").GetProperty("present").GetBoolean());
    }

    [Fact]
    public async Task Echo_PasswordEchoedByTheServer_NeverInFindings()
    {
        var findings = await AnalyzeAsync("telnet-echo.pcap");

        Assert.Contains(findings, f => Rule(f) == "SECMON-TELNET-0002");
        Assert.All(findings, f => Assert.DoesNotContain("echo-me", f.GetRawText(), StringComparison.Ordinal));
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();

    private static async Task<List<JsonElement>> AnalyzeAsync(string sample, params string[] options)
    {
        using var dir = new TempDirectory();
        return await SecMonRunner.FindingsAsync(Sample(sample), dir, [0], options);
    }
}
