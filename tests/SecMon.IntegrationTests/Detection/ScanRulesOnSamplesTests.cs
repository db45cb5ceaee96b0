using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// rules/scan.yaml end to end: `secmon analyze SAMPLE --json` on real nmap scans recorded on loopback
/// (tests/SecMon.Capture.Tests/Scans/Samples/record.sh). The open ports and hosts expected are the ones record.sh
/// opened with listeners.py, not SecMon's output.
/// </summary>
public sealed class ScanRulesOnSamplesTests
{
    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Scans", "Samples", name);

    [Theory]
    [InlineData("tcp-syn-scan.pcap", "tcp_syn")]
    [InlineData("tcp-connect-scan.pcap", "tcp_connect")]
    public async Task TcpScan_PortScanOfOneHost_ReportedWithTheOpenPorts(string sample, string kind)
    {
        var findings = await AnalyzeAsync(sample);

        // The started event alerts at once; the ended one closes the hour's aggregate (alert_first).
        Assert.All(findings, f => Assert.Equal("SECMON-SCAN-0001", Rule(f)));
        Assert.Equal(2, findings.Count);
        var first = findings[0];
        Assert.Equal("127.0.0.1", first.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal("127.0.0.2", first.GetProperty("destination").GetProperty("ip").GetString());
        Assert.Equal("127.0.0.1", first.GetProperty("device").GetProperty("id").GetString());
        var scan = first.GetProperty("scan");
        Assert.Equal(kind, scan.GetProperty("kind").GetString());
        Assert.Equal(40, scan.GetProperty("ports").GetProperty("count").GetInt64());
        Assert.Equal(20000, scan.GetProperty("ports").GetProperty("low").GetInt64());
        Assert.Equal(20039, scan.GetProperty("ports").GetProperty("high").GetInt64());
        Assert.Equal([20007L, 20022, 20031], scan.GetProperty("open").GetProperty("ports").EnumerateArray().Select(p => p.GetInt64()));
        Assert.Equal(37, scan.GetProperty("closed").GetProperty("count").GetInt64());
        Assert.Equal("T1046", first.GetProperty("threat").GetProperty("technique").GetProperty("id")[0].GetString());
    }

    [Fact]
    public async Task UdpScan_ReportedWithTheAnsweringPorts()
    {
        var findings = await AnalyzeAsync("udp-scan.pcap");

        var first = findings.First(f => Rule(f) == "SECMON-SCAN-0003");
        Assert.All(findings, f => Assert.Equal("SECMON-SCAN-0003", Rule(f)));
        var scan = first.GetProperty("scan");
        Assert.Equal("udp", scan.GetProperty("kind").GetString());
        Assert.Equal(30, scan.GetProperty("ports").GetProperty("count").GetInt64());
        Assert.Equal([20053L, 20061], scan.GetProperty("open").GetProperty("ports").EnumerateArray().Select(p => p.GetInt64()));
    }

    [Fact]
    public async Task UdpScan_FindingSaysWhichPortsAnsweredOpenAndWhichClosed()
    {
        var findings = await AnalyzeAsync("udp-scan.pcap");

        // The ended event's summary carries the totals: the closed ports are those the ICMP port unreachables quote.
        var last = findings[^1].GetProperty("scan");
        var closed = last.GetProperty("closed").GetProperty("ports").EnumerateArray().Select(p => p.GetInt64()).ToList();
        Assert.NotEmpty(closed);
        Assert.All(closed, p => Assert.InRange(p, 20050, 20079));
        Assert.DoesNotContain(20053L, closed);
        Assert.DoesNotContain(20061L, closed);
        Assert.Equal(closed.Count, last.GetProperty("closed").GetProperty("count").GetInt64());
        Assert.Equal(30 - 2 - closed.Count, last.GetProperty("unanswered").GetProperty("count").GetInt64());
        Assert.Contains("replied (open): [20053, 20061]", findings[^1].GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ping-sweep.pcap", "SECMON-SCAN-0004", "ping_sweep", "198.51.100.66", "192.0.2.7", "192.0.2.23")]
    [InlineData("ping6-sweep.pcap", "SECMON-SCAN-0004", "ping_sweep", "2001:db8:2::66", "2001:db8:1::7", "2001:db8:1::17")]
    [InlineData("arp-sweep.pcap", "SECMON-SCAN-0005", "arp_sweep", "192.0.2.66", "192.0.2.7", "192.0.2.23")]
    public async Task HostDiscovery_RecordedSweep_ReportedWithTheHostsThatAnswered(string sample, string rule, string kind, string scanner,
        string up1, string up2)
    {
        var findings = await AnalyzeAsync(sample);

        Assert.All(findings, f => Assert.Equal(rule, Rule(f)));
        var first = findings[0];
        Assert.Equal(scanner, first.GetProperty("source").GetProperty("ip").GetString());
        var scan = first.GetProperty("scan");
        Assert.Equal(kind, scan.GetProperty("kind").GetString());
        Assert.Equal(30, scan.GetProperty("hosts").GetProperty("count").GetInt64());
        Assert.Equal([up1, up2], scan.GetProperty("open").GetProperty("hosts").EnumerateArray().Select(h => h.GetString()));
        Assert.Equal("T0846", first.GetProperty("threat").GetProperty("technique").GetProperty("id")[0].GetString());
    }

    [Fact]
    public async Task Sweep_OnePortOnFortyHosts_ReportedWithTheAnsweringHosts()
    {
        var findings = await AnalyzeAsync("sweep.pcap");

        Assert.All(findings, f => Assert.Equal("SECMON-SCAN-0002", Rule(f)));
        var first = findings[0];
        Assert.Equal(20080, first.GetProperty("destination").GetProperty("port").GetInt64());
        var scan = first.GetProperty("scan");
        Assert.Equal("sweep", scan.GetProperty("kind").GetString());
        Assert.Equal(40, scan.GetProperty("hosts").GetProperty("count").GetInt64());
        Assert.Equal("127.0.1.1", scan.GetProperty("hosts").GetProperty("low").GetString());
        Assert.Equal("127.0.1.40", scan.GetProperty("hosts").GetProperty("high").GetString());
        Assert.Equal(["127.0.1.7", "127.0.1.23"], scan.GetProperty("open").GetProperty("hosts").EnumerateArray().Select(h => h.GetString()));
    }

    [Theory]
    [InlineData("tests/SecMon.Capture.Tests/Scans/Samples/busy-client.pcap")]
    [InlineData("tests/SecMon.Capture.Tests/Scans/Samples/pings.pcap")]
    [InlineData("samples/mqtt-burst.pcap")]
    [InlineData("samples/mqtt-guessing.pcap")]
    [InlineData("tests/SecMon.Capture.Tests/Protocols/Modbus/Samples/modbus-hmi.pcap")]
    public async Task OrdinaryTraffic_ManyConnections_NoScanFinding(string sample)
    {
        using var dir = new TempDirectory();
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command(["analyze", Path.Combine(RepoPaths.Root, sample), "--events", "-", "--no-detect", "--data", dir.File("data")]),
            TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, stderr);
        Assert.NotEmpty(stdout); // the capture was read and had events
        Assert.DoesNotContain("network.scan", stdout, StringComparison.Ordinal);
    }

    private static string Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString()!;

    private static async Task<List<JsonElement>> AnalyzeAsync(string sample)
    {
        using var dir = new TempDirectory();
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command(["analyze", Sample(sample), "--json", "--data", dir.File("data")]), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"analyze {sample}: exit {exit}\n{stderr}");
        var findings = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        Assert.NotEmpty(findings);
        return findings;
    }
}
