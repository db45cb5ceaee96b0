using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// ARP and new devices on captures of hosts in network namespaces on a bridge (tests/SecMon.Capture.Tests/Protocols/Arp/
/// Samples/record.sh: h1 02:00:00:00:00:01 at 192.0.2.1, h2 ...02 at .2, h3 ...03 at .3, arping and ping): the spoofing
/// and storm rules on the samples that have them and not on the clean one, the new-device rule with --learning, and the
/// devices the inventory discovers from ARP (never the broadcast address nor an address only asked for).
/// </summary>
public sealed class ArpOnSamplesTests
{
    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Arp", "Samples", name);

    [Fact]
    public async Task Analyze_SpoofSample_AddressClaimedByTwoMacsReported_CleanSampleNot()
    {
        var spoof = await FindingsAsync("spoof.pcap");
        var finding = Assert.Single(spoof, f => Rule(f) == "SECMON-ARP-0001");
        Assert.Equal("192.0.2.1", finding.GetProperty("arp").GetProperty("sender").GetProperty("ip").GetString());
        Assert.Equal(2, finding.GetProperty("secmon").GetProperty("distinct_count").GetInt64());
        Assert.Contains("02-00-00-00-00-03", finding.GetProperty("message").GetString(), StringComparison.Ordinal);

        var clean = await FindingsAsync("clean.pcap");
        Assert.DoesNotContain(clean, f => Rule(f).StartsWith("SECMON-ARP-", StringComparison.Ordinal));
        var cooked = await FindingsAsync("cooked.pcap");
        Assert.DoesNotContain(cooked, f => Rule(f).StartsWith("SECMON-ARP-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Analyze_StormSample_GratuitousStormReportedOnce()
    {
        var storm = await FindingsAsync("storm.pcap");
        var finding = Assert.Single(storm, f => Rule(f) == "SECMON-ARP-0002");
        Assert.Equal("02-00-00-00-00-03", finding.GetProperty("arp").GetProperty("sender").GetProperty("mac").GetString());
        Assert.Equal(20, finding.GetProperty("secmon").GetProperty("event_count").GetInt64());
        Assert.DoesNotContain(storm, f => Rule(f) == "SECMON-ARP-0001");
    }

    [Fact]
    public async Task Analyze_NewDeviceSample_DeviceAfterLearningReported_LearnedOnesNot()
    {
        // record.sh: h1 and h2 talk for 12 s, then h3 appears; learning ends at 50% (about 6 s).
        var findings = await FindingsAsync("newdevice.pcap", "--learning", "50%");
        var finding = Assert.Single(findings, f => Rule(f) == "SECMON-BASE-0005");
        Assert.Equal("02-00-00-00-00-03", finding.GetProperty("device").GetProperty("id").GetString());
        Assert.Equal("192.0.2.3", finding.GetProperty("arp").GetProperty("sender").GetProperty("ip").GetString());
        Assert.Equal("192.0.2.1", finding.GetProperty("arp").GetProperty("target").GetProperty("ip").GetString());
        // The baseline's one entity is the segment (network.protocol arp), learned; the MAC is its new value.
        Assert.Equal("02-00-00-00-00-03", finding.GetProperty("secmon").GetProperty("baseline").GetProperty("value").GetString());

        // Without learning to end, nothing is new; with the whole capture learned, nothing either.
        var learned = await FindingsAsync("newdevice.pcap", "--learning", "100%");
        Assert.DoesNotContain(learned, f => Rule(f) == "SECMON-BASE-0005");
    }

    [Fact]
    public async Task Devices_NewDeviceSample_ThreeDevicesByMacWithTheirAddresses_NoBroadcastDevice()
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        var (exit, _, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("analyze", Sample("newdevice.pcap"), "--data", data), TimeSpan.FromMinutes(2));
        Assert.True(exit is 0 or 1, $"analyze: exit {exit}\n{stderr}");

        var (code, stdout, err) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", data), TimeSpan.FromMinutes(1));
        Assert.True(code == 0, err);
        var devices = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

        Assert.Equal(["02-00-00-00-00-01", "02-00-00-00-00-02", "02-00-00-00-00-03"], devices.Select(d => d.GetProperty("id").GetString()).Order(StringComparer.Ordinal));
        foreach (var (id, ip) in new[] { ("02-00-00-00-00-01", "192.0.2.1"), ("02-00-00-00-00-02", "192.0.2.2"), ("02-00-00-00-00-03", "192.0.2.3") })
        {
            var d = devices.Single(d => d.GetProperty("id").GetString() == id);
            Assert.Equal(id, d.GetProperty("mac").GetString());
            Assert.Equal([ip], d.GetProperty("ips").EnumerateArray().Select(i => i.GetString()));
            Assert.Contains("arp", d.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
        }
    }

    private static string Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString()!;

    private static async Task<List<JsonElement>> FindingsAsync(string sample, params string[] more)
    {
        using var dir = new TempDirectory();
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command(["analyze", Sample(sample), "--json", "--data", dir.File("data"), .. more]), TimeSpan.FromMinutes(2));
        Assert.True(exit is 0 or 1, $"analyze {sample}: exit {exit}\n{stderr}");
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }
}
