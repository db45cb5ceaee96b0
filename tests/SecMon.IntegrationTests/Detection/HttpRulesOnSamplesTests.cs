using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// The HTTP rules (rules/http.yaml) end to end: <c>secmon analyze SAMPLE --json</c> on the captures recorded from curl
/// and a node server (tests/SecMon.Capture.Tests/Protocols/Http/Samples/record.sh).
/// </summary>
public sealed class HttpRulesOnSamplesTests
{
    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Http", "Samples", name);

    [Fact]
    public async Task Curl_BasicAfter401_CleartextCredentialsOnlyNoDefaultNoPasswordInFindings()
    {
        var findings = await AnalyzeAsync("http-curl.pcap");

        var cleartext = Assert.Single(findings);
        Assert.Equal("SECMON-HTTP-0001", Rule(cleartext));
        Assert.Equal("alice", cleartext.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal(73, cleartext.GetProperty("event").GetProperty("severity").GetInt32());
        Assert.Equal(18080, cleartext.GetProperty("destination").GetProperty("port").GetInt32());
        var text = cleartext.GetRawText();
        Assert.DoesNotContain("S3cret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("password\":{\"hash", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"hash\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Proxy_BasicProxyCredentialsAndBasicInsideATunnel_BothReportedNoPassword()
    {
        // record.sh's http-proxy.pcap: three requests to tinyproxy with gateway's Basic proxy credential (a GET, two
        // CONNECTs), and alice's Basic credential to the origin inside the second tunnel.
        var findings = await AnalyzeAsync("http-proxy.pcap");

        var proxy = Assert.Single(findings, f => Rule(f) == "SECMON-HTTP-0006");
        Assert.Equal("gateway", proxy.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal(3, proxy.GetProperty("secmon").GetProperty("event_count").GetInt32());
        Assert.Equal(18888, proxy.GetProperty("destination").GetProperty("port").GetInt32());
        var tunnelled = Assert.Single(findings, f => Rule(f) == "SECMON-HTTP-0001");
        Assert.Equal("alice", tunnelled.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal("/private", tunnelled.GetProperty("url").GetProperty("path").GetString());
        Assert.Equal(2, findings.Count);
        Assert.All(findings, f => Assert.DoesNotContain("S3cret", f.GetRawText(), StringComparison.Ordinal));
        Assert.All(findings, f => Assert.DoesNotContain("\"hash\"", f.GetRawText(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProxyGuess_SixRefusedPasswordsThenTheRightOne_OneGuessingFinding()
    {
        // record.sh's http-proxy-guess.pcap: Squid refuses six wrong proxy passwords for gateway (407), then accepts one.
        var findings = await AnalyzeAsync("http-proxy-guess.pcap");

        var guessing = Assert.Single(findings, f => Rule(f) == "SECMON-HTTP-0007");
        Assert.Equal(13128, guessing.GetProperty("server").GetProperty("port").GetInt32());
        Assert.Contains("5 distinct passwords", guessing.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Single(findings, f => Rule(f) == "SECMON-HTTP-0006");
        Assert.Equal(2, findings.Count);
        Assert.All(findings, f => Assert.DoesNotContain("\"hash\"", f.GetRawText(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Default_AdminAdmin_ReportedAtOnceAndAcceptedIsCritical()
    {
        var findings = await AnalyzeAsync("http-default.pcap");

        Assert.Equal(2, findings.Count(f => Rule(f) == "SECMON-HTTP-0002")); // at once, then the hour's summary
        var accepted = Assert.Single(findings, f => Rule(f) == "SECMON-HTTP-0003");
        Assert.Equal(99, accepted.GetProperty("event").GetProperty("severity").GetInt32());
        Assert.Equal("127.0.0.2", accepted.GetProperty("device").GetProperty("id").GetString()); // the device with the factory password
        Assert.True(accepted.GetProperty("http").GetProperty("request").GetProperty("default_credentials").GetBoolean());
        Assert.Single(findings, f => Rule(f) == "SECMON-HTTP-0001");
        Assert.All(findings, f => Assert.DoesNotContain("admin:admin", f.GetRawText(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Admin_NewPeerAfterLearning_ReportedOnceTheLearnedPeerNot()
    {
        // 127.0.0.1 reaches /admin/ while learning (the first half of the capture's 4.2 s); 127.0.0.3 reaches /admin/ and
        // /cgi-bin/ 4.1 s in, then 127.0.0.1 again.
        var findings = await AnalyzeAsync("http-admin.pcap", "--learning", "50%");

        var admin = Assert.Single(findings, f => Rule(f) == "SECMON-HTTP-0004");
        Assert.Equal("127.0.0.3", admin.GetProperty("source").GetProperty("ip").GetString());
        Assert.Contains("/admin/", admin.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_WithoutALearningPeriodOver_NothingFromTheBaseline()
    {
        var findings = await AnalyzeAsync("http-admin.pcap");

        Assert.DoesNotContain(findings, f => Rule(f) == "SECMON-HTTP-0004");
    }

    [Fact]
    public async Task Digest_NoPasswordCrossed_NoCleartextCredentialFinding()
    {
        // curl --digest (operator wrong then right, Jäsøn): the user names cross in the clear, the passwords never do.
        var findings = await AnalyzeAsync("http-digest.pcap");

        Assert.Empty(findings);
    }

    [Fact]
    public async Task Bearer_TokenOnPlainHttp_OneFindingForTheConnectionTheTokenNowhere()
    {
        // record.sh: three requests with a bearer token on one connection, then one without.
        var findings = await AnalyzeAsync("http-bearer.pcap");

        var bearer = Assert.Single(findings);
        Assert.Equal("SECMON-HTTP-0005", Rule(bearer));
        Assert.Equal(73, bearer.GetProperty("event").GetProperty("severity").GetInt32());
        Assert.Contains("(3 request(s) within 1h)", bearer.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", bearer.GetProperty("device").GetProperty("id").GetString());
        Assert.DoesNotContain("eyJ", bearer.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("5ecret", bearer.GetRawText(), StringComparison.Ordinal);
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();

    private static async Task<List<JsonElement>> AnalyzeAsync(string sample, params string[] options)
    {
        using var dir = new TempDirectory();
        return await SecMonRunner.FindingsAsync(Sample(sample), dir, [0], options);
    }
}
