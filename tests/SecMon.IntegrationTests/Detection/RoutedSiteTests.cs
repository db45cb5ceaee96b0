using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// Devices reaching the cloud through their gateway, recorded on the LAN (RoutedSite/record.sh): every packet from the
/// cloud broker and the web server carries the gateway's MAC. Analysed as a new user would (<c>secmon analyze</c>,
/// <c>devices</c>, <c>harden plan</c>); tshark shows the TTLs and hop limits the judgement rests on (63 from the cloud,
/// 64 on the LAN).
/// </summary>
public sealed class RoutedSiteTests
{
    private static readonly string Capture = Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Detection", "RoutedSite", "routed-site.pcap");

    [RequiresToolFact("tshark")]
    public async Task Devices_TheGatewayIsOneDevice_TheCloudServersAreTheirOwn()
    {
        // tshark: the cloud's packets come with the gateway's MAC and TTL 63, the LAN's with TTL 64.
        var (_, ttls, _) = await Tools.RunAsync("tshark", ["-r", Capture, "-Y", "ip", "-T", "fields", "-e", "eth.src", "-e", "ip.src", "-e", "ip.ttl"]);
        var senders = ttls.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Select(f => (f[0], f[1], f[2])).Distinct().Order().ToList();
        Assert.Equal(
            [("00:11:32:00:02:01", "198.51.100.10", "63"), ("00:11:32:00:02:01", "198.51.100.20", "63"), ("00:11:32:00:02:01", "198.51.100.53", "63"),
             ("24:0a:c4:00:02:21", "192.0.2.21", "64"), ("24:0a:c4:00:02:22", "192.0.2.22", "64")],
            senders);

        (_, ttls, _) = await Tools.RunAsync("tshark", ["-r", Capture, "-Y", "ipv6 && !icmpv6", "-T", "fields", "-e", "eth.src", "-e", "ipv6.src", "-e", "ipv6.hlim"]);
        Assert.Equal(
            [("00:11:32:00:02:01", "2001:db8:20::10", "63"), ("24:0a:c4:00:02:21", "2001:db8:10::21", "64")],
            ttls.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Select(f => (f[0], f[1], f[2])).Distinct().Order().ToList());

        using var dir = new TempDirectory();
        await SecMonRunner.FindingsAsync(Capture, dir);
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", dir.File("data")), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, stderr);
        var devices = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .ToDictionary(d => d.GetProperty("id").GetString()!);

        // The gateway answered ARP for its own address only; the cloud's servers are known by their addresses. (The
        // capture's first packet to the cloud, the DNS query, went before anything came back through the gateway: the
        // resolver may also be named on the gateway, depending on which thread reads that event first.)
        var gateway = Ips(devices["00-11-32-00-02-01"]);
        Assert.Contains("192.0.2.1", gateway);
        Assert.DoesNotContain("198.51.100.10", gateway);
        Assert.DoesNotContain("198.51.100.20", gateway);
        Assert.DoesNotContain("2001:db8:20::10", gateway);
        Assert.Equal(["2001:db8:20::10"], Ips(devices["2001:db8:20::10"])); // the broker over IPv6: its own device too
        Assert.Equal(["192.0.2.21", "2001:db8:10::21"], Ips(devices["24-0A-C4-00-02-21"]));
        Assert.False(devices["00-11-32-00-02-01"].GetProperty("is_server").GetBoolean());
        Assert.Equal(["198.51.100.10"], Ips(devices["198.51.100.10"]));
        Assert.Equal("accepts anonymous clients on 1883",
            Assert.Single(devices["198.51.100.10"].GetProperty("listeners").EnumerateArray()).GetProperty("accepts").GetString());
        Assert.True(devices["198.51.100.20"].GetProperty("is_server").GetBoolean());
        Assert.Equal(["198.51.100.53"], Ips(devices["198.51.100.53"])); // the resolver, answered over UDP
        Assert.Equal(7, devices.Count);

        (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("harden", "plan", "--json", "--data", dir.File("data")), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, stderr);
        var brokers = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Where(l => l.GetProperty("kind").GetString() == "broker").Select(b => b.GetProperty("broker").GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(["198.51.100.10:1883", "[2001:db8:20::10]:1883"], brokers);
    }

    private static List<string?> Ips(JsonElement device) => [.. device.GetProperty("ips").EnumerateArray().Select(i => i.GetString())];
}
