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
        // Both claimants: the latest and the owner it took the address from (record.sh: h1 owns it, h3 spoofs).
        Assert.Equal("02-00-00-00-00-03", finding.GetProperty("arp").GetProperty("sender").GetProperty("mac").GetString());
        Assert.Equal("02-00-00-00-00-01", finding.GetProperty("arp").GetProperty("sender").GetProperty("previous_mac").GetString());
        Assert.Contains("claimed by 02-00-00-00-00-03, earlier by 02-00-00-00-00-01", finding.GetProperty("message").GetString(), StringComparison.Ordinal);

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
        // The baseline's one entity is the segment (untagged: network.vlan.id missing), learned; the MAC is its new value.
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

    [Fact]
    public async Task Analyze_NewDeviceFirstSeenInDhcpAndInIpTraffic_ReportedWithItsVendor()
    {
        // A Raspberry Pi (OUI B8:27:EB) and a device whose first frame is a DNS query join a segment learned from ARP.
        byte[] known = [0x02, 0, 0, 0, 0, 0x01];
        byte[] pi = [0xB8, 0x27, 0xEB, 0x12, 0x34, 0x56];
        byte[] other = [0x02, 0, 0, 0, 0, 0x09];
        const long t0 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
        using var dir = new TempDirectory();
        var pcap = new PcapBuilder()
            .Add(t0, ArpRequest(known, [192, 0, 2, 1], [192, 0, 2, 254]))
            .Add(t0 + 7_200_000_000, Ipv4Udp(pi, [0, 0, 0, 0], 68, [255, 255, 255, 255], 67, DhcpDiscover(pi)))
            .Add(t0 + 7_201_000_000, Ipv4Udp(other, [192, 0, 2, 9], 53001, [192, 0, 2, 53], 53, DnsQuery()))
            .Add(t0 + 7_202_000_000, ArpRequest(known, [192, 0, 2, 1], [192, 0, 2, 254]))
            .Save(dir.File("join.pcap"));

        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command(["analyze", pcap, "--json", "--data", dir.File("data"), "--learning", "1h"]), TimeSpan.FromMinutes(2));
        Assert.True(exit is 0 or 1, $"analyze: exit {exit}\n{stderr}");
        var findings = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Where(f => Rule(f) == "SECMON-BASE-0005").ToList();

        Assert.Equal(["02-00-00-00-00-09", "B8-27-EB-12-34-56"], findings.Select(f => f.GetProperty("device").GetProperty("id").GetString()).Order(StringComparer.Ordinal));
        var dhcp = findings.Single(f => f.GetProperty("device").GetProperty("id").GetString() == "B8-27-EB-12-34-56");
        Assert.Equal("dhcp", dhcp.GetProperty("network").GetProperty("protocol").GetString());
        var dns = findings.Single(f => f.GetProperty("device").GetProperty("id").GetString() == "02-00-00-00-00-09");
        Assert.Equal("192.0.2.53", dns.GetProperty("destination").GetProperty("ip").GetString());
        // The vendor is the manuf table's (libwireshark-data, installed with tshark); a locally administered MAC has none.
        var vendor = SecMon.Core.Devices.MacVendors.Load(SecMon.Core.Devices.MacVendors.DefaultPath).Lookup("B8-27-EB-12-34-56");
        if (vendor is not null)
        {
            Assert.Equal(vendor, dhcp.GetProperty("secmon").GetProperty("device").GetProperty("vendor").GetString());
        }

        Assert.False(dns.GetProperty("secmon").TryGetProperty("device", out _));
    }

    private static byte[] Ethernet(byte[] source, byte[] destination, ushort etherType, byte[] payload) =>
        [.. destination, .. source, (byte)(etherType >> 8), (byte)etherType, .. payload];

    private static byte[] ArpRequest(byte[] mac, byte[] ip, byte[] target) =>
        Ethernet(mac, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], 0x0806, [0, 1, 8, 0, 6, 4, 0, 1, .. mac, .. ip, 0, 0, 0, 0, 0, 0, .. target]);

    private static byte[] Ipv4Udp(byte[] mac, byte[] source, ushort sourcePort, byte[] destination, ushort destinationPort, byte[] payload)
    {
        var udpLength = 8 + payload.Length;
        byte[] udp = [(byte)(sourcePort >> 8), (byte)sourcePort, (byte)(destinationPort >> 8), (byte)destinationPort, (byte)(udpLength >> 8), (byte)udpLength, 0, 0, .. payload];
        var total = 20 + udp.Length;
        byte[] ip = [0x45, 0, (byte)(total >> 8), (byte)total, 0, 1, 0, 0, 64, 17, 0, 0, .. source, .. destination, .. udp];
        return Ethernet(mac, [0x02, 0, 0, 0, 0, 0xFE], 0x0800, ip);
    }

    // RFC 2131: BOOTREQUEST, Ethernet, xid, chaddr, the magic cookie, option 53 DISCOVER, end.
    private static byte[] DhcpDiscover(byte[] mac)
    {
        var b = new byte[240];
        b[0] = 1;
        b[1] = 1;
        b[2] = 6;
        b[4] = 0x12;
        mac.CopyTo(b, 28);
        b[236] = 99;
        b[237] = 130;
        b[238] = 83;
        b[239] = 99;
        return [.. b, 53, 1, 1, 255];
    }

    // RFC 1035: id, RD, one question: example.com A IN.
    private static byte[] DnsQuery() =>
        [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, .. "example"u8.ToArray(), 3, .. "com"u8.ToArray(), 0, 0, 1, 0, 1];

    private static string Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString()!;

    private static async Task<List<JsonElement>> FindingsAsync(string sample, params string[] more)
    {
        using var dir = new TempDirectory();
        return await SecMonRunner.FindingsAsync(Sample(sample), dir, [0, 1], more);
    }
}
