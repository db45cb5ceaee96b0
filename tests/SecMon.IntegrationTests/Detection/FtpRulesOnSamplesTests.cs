using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// The FTP rules (rules/ftp.yaml) end to end: <c>secmon analyze SAMPLE --json</c> on the captures recorded from curl and
/// vsftpd (tests/SecMon.Capture.Tests/Protocols/Ftp/Samples/record.sh).
/// </summary>
public sealed class FtpRulesOnSamplesTests
{
    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Ftp", "Samples", name);

    [Fact]
    public async Task LoginFailed_NamedUserPassword_CleartextCredentialsOnlyNoBurstNoPassword()
    {
        var findings = await AnalyzeAsync("ftp-login-failed.pcap");

        var cleartext = Assert.Single(findings, f => Rule(f)!.StartsWith("SECMON-FTP-", StringComparison.Ordinal));
        Assert.Equal("SECMON-FTP-0001", Rule(cleartext));
        Assert.Equal("admin", cleartext.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal(2121, cleartext.GetProperty("destination").GetProperty("port").GetInt32());
        Assert.Equal(530, cleartext.GetProperty("ftp").GetProperty("response").GetProperty("code").GetInt32());
        Assert.DoesNotContain(findings, f => Rule(f) is "SECMON-FTP-0002" or "SECMON-FTP-0003" or "SECMON-FTP-0004");
        var text = cleartext.GetRawText();
        Assert.DoesNotContain("S3cret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"hash\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Guessing_SixRefusedLogins_OneBurstFromTheSourceAndOneCleartextFinding()
    {
        var findings = await AnalyzeAsync("ftp-guessing.pcap");

        var burst = Assert.Single(findings, f => Rule(f) == "SECMON-FTP-0002");
        Assert.Equal("127.0.0.1", burst.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal(5, burst.GetProperty("secmon").GetProperty("event_count").GetInt32());
        Assert.Equal(5, burst.GetProperty("secmon").GetProperty("distinct_count").GetInt32()); // five different passwords
        Assert.Single(findings, f => Rule(f) == "SECMON-FTP-0001");
        // One source: not the distributed rule; no success: not the sequence.
        Assert.DoesNotContain(findings, f => Rule(f) is "SECMON-FTP-0003" or "SECMON-FTP-0004");
        Assert.All(findings, f => Assert.DoesNotContain("qwerty", f.GetRawText(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Anonymous_TransfersOnly_NoFtpFinding()
    {
        var findings = await AnalyzeAsync("ftp-anonymous.pcap");

        Assert.DoesNotContain(findings, f => Rule(f)!.StartsWith("SECMON-FTP-", StringComparison.Ordinal));
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();

    private static async Task<List<JsonElement>> AnalyzeAsync(string sample, params string[] options)
    {
        using var dir = new TempDirectory();
        return await SecMonRunner.FindingsAsync(Sample(sample), dir, [0], options);
    }
}
