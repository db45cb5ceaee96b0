using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// rules/dns.yaml on the DNS captures recorded from dnsmasq and dig (tests/SecMon.Capture.Tests/Protocols/Dns/Samples,
/// record.sh): `secmon analyze FILE --json` reports the tunnelling-like burst of dns-tunnel.pcap with each rule, and
/// nothing on the ordinary look-ups of dns-dnsmasq.pcap or the mDNS of mdns.pcap. What record.sh sent is the truth:
/// 60 TXT queries with 40-50 random base32 characters under tunnel.example, then three names of plant.example; and
/// the cloud endpoints of dns-cloud.pcap (AWS IoT Core in eight regions, S3, a load balancer, Azure), machine-made
/// names that the tunnelling rules must not take for encoded data.
/// </summary>
public sealed class DnsRulesOnSamplesTests
{
    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Dns", "Samples", name);

    [Fact]
    public async Task Tunnel_LongRandomTxtNames_ReportedByTheThreeTunnellingRules()
    {
        var findings = await AnalyzeAsync("dns-tunnel.pcap");

        var names = findings.Where(f => Rule(f) == "SECMON-DNS-0002").ToList();
        Assert.NotEmpty(names);
        Assert.All(names, f => Assert.Equal(73, f.GetProperty("event").GetProperty("severity").GetInt32())); // TXT: high
        Assert.Contains(".t.tunnel.example", names[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        var unique = Assert.Single(findings, f => Rule(f) == "SECMON-DNS-0003");
        Assert.Equal(30L, unique.GetProperty("secmon").GetProperty("distinct_count").GetInt64());
        Assert.Single(findings, f => Rule(f) == "SECMON-DNS-0004");
        Assert.All(findings, f => Assert.Equal("127.0.0.1", f.GetProperty("source").GetProperty("ip").GetString()));
        Assert.All(findings, f => Assert.Equal("tunnel.example", f.GetProperty("dns").GetProperty("question").GetProperty("registered_domain").GetString()));
        // The three ordinary names at the end are not tunnelling.
        Assert.DoesNotContain(findings, f => f.GetRawText().Contains("sensor-1.plant.example", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tunnel_LearningTheFirstQuarter_ThenPlantExampleIsANewDomain()
    {
        var findings = await AnalyzeAsync("dns-tunnel.pcap", "--learning", "25%");

        var baseline = Assert.Single(findings, f => Rule(f) == "SECMON-DNS-0001");
        Assert.Equal("plant.example", baseline.GetProperty("secmon").GetProperty("baseline").GetProperty("value").GetString());
    }

    [Theory]
    [InlineData("dns-dnsmasq.pcap")]
    [InlineData("mdns.pcap")]
    public async Task OrdinaryLookUpsAndMdns_NoDnsFinding(string sample)
    {
        var findings = await AnalyzeAsync(sample, "--learning", "25%");
        Assert.DoesNotContain(findings, f => Rule(f)!.StartsWith("SECMON-DNS-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CloudEndpoints_NoTunnellingFinding()
    {
        // 15 names, the AWS IoT Core ones 32-37 characters left of amazonaws.com at 4.0-4.3 bits per character: the
        // shape of DNS-0002's short-label clause, but answered by the provider's servers, so no tunnel can use them.
        var findings = await AnalyzeAsync("dns-cloud.pcap");

        Assert.Empty(findings);
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();

    private static async Task<List<JsonElement>> AnalyzeAsync(string sample, params string[] options)
    {
        using var dir = new TempDirectory();
        return await SecMonRunner.FindingsAsync(Sample(sample), dir, [0], options);
    }
}
