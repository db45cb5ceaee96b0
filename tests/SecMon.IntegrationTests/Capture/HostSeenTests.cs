using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// New devices from IP traffic that no dissector reads (issue 16): an SSH-like TCP connection from a MAC first seen
/// after the learning period is a new device (SECMON-BASE-0005) with its vendor, its address and its first peer, and
/// `secmon devices --json` lists it, through <c>secmon analyze</c> as a user runs it.
/// </summary>
public sealed class HostSeenTests
{
    private const long T0 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
    private static readonly byte[] Gateway = [0x02, 0, 0, 0, 0, 0x01];
    private static readonly byte[] Pi = [0xB8, 0x27, 0xEB, 0xAA, 0xBB, 0xCC]; // a Raspberry Pi's OUI

    // The gateway answers ARP while learning; two hours later the Pi opens SSH to it (TCP 22, no ARP captured) and
    // speaks IPv6 from its link-local address.
    private static string Capture(TempDirectory dir)
    {
        var pcap = new PcapBuilder()
            .Add(T0, ArpRequest(Gateway, [192, 0, 2, 1], [192, 0, 2, 254]));
        var t = T0 + 7_200_000_000;
        uint c = 1000, s = 5000;
        pcap.Add(t, Tcp(Pi, Gateway, "192.0.2.22", 50022, "192.0.2.1", 22, c, 0, 0x02, []));
        pcap.Add(t + 100, Tcp(Gateway, Pi, "192.0.2.1", 22, "192.0.2.22", 50022, s, c + 1, 0x12, []));
        pcap.Add(t + 200, Tcp(Pi, Gateway, "192.0.2.22", 50022, "192.0.2.1", 22, c + 1, s + 1, 0x10, []));
        var banner = "SSH-2.0-OpenSSH_9.2p1\r\n"u8.ToArray();
        pcap.Add(t + 300, Tcp(Gateway, Pi, "192.0.2.1", 22, "192.0.2.22", 50022, s + 1, c + 1, 0x18, banner));
        pcap.Add(t + 400, Tcp(Pi, Gateway, "192.0.2.22", 50022, "192.0.2.1", 22, c + 1, s + 1 + (uint)banner.Length, 0x18, banner));
        // Many more packets of the same connection: still one record per direction.
        for (var i = 0; i < 20; i++)
        {
            pcap.Add(t + 500 + i, Tcp(Pi, Gateway, "192.0.2.22", 50022, "192.0.2.1", 22, c + 1 + (uint)banner.Length, s + 1 + (uint)banner.Length, 0x10, []));
        }

        pcap.Add(t + 1_000_000, Udp6(Pi, [0x33, 0x33, 0, 0, 0, 0xFB], "fe80::ba27:ebff:feaa:bbcc", 5353, "ff02::fb", 5353, new byte[12]));
        pcap.Add(t + 2_000_000, ArpRequest(Gateway, [192, 0, 2, 1], [192, 0, 2, 254]));
        return pcap.Save(dir.File("ssh.pcap"));
    }

    [Fact]
    public async Task Analyze_SshFromANewMacAfterLearning_NewDeviceWithVendorAddressAndFirstPeer()
    {
        using var dir = new TempDirectory();
        var pcap = Capture(dir);
        var data = dir.File("data");

        var findings = (await SecMonRunner.FindingsAsync(pcap, dir, "--learning", "1h"))
            .Where(f => f.GetProperty("rule").GetProperty("id").GetString() == "SECMON-BASE-0005").ToList();

        // The Pi only: the gateway was learned from ARP.
        var finding = Assert.Single(findings);
        Assert.Equal("B8-27-EB-AA-BB-CC", finding.GetProperty("device").GetProperty("id").GetString());
        Assert.Equal("192.0.2.22", finding.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal("192.0.2.1", finding.GetProperty("destination").GetProperty("ip").GetString());
        Assert.Equal(22, finding.GetProperty("destination").GetProperty("port").GetInt32());
        Assert.Equal("tcp", finding.GetProperty("network").GetProperty("transport").GetString());
        var vendor = SecMon.Core.Devices.MacVendors.Load(SecMon.Core.Devices.MacVendors.DefaultPath).Lookup("B8-27-EB-AA-BB-CC");
        Assert.NotNull(vendor); // the manuf table ships with tshark (libwireshark-data), which CI installs
        Assert.Equal(vendor, finding.GetProperty("secmon").GetProperty("device").GetProperty("vendor").GetString());

        var (code, devicesJson, err) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", data), TimeSpan.FromMinutes(1));
        Assert.True(code == 0, err);
        var devices = devicesJson.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var pi = Assert.Single(devices, d => d.GetProperty("id").GetString() == "B8-27-EB-AA-BB-CC");
        Assert.Equal(["192.0.2.22", "fe80::ba27:ebff:feaa:bbcc"], pi.GetProperty("ips").EnumerateArray().Select(i => i.GetString()).Order(StringComparer.Ordinal));
        Assert.Contains("192.0.2.1", pi.GetProperty("peers").EnumerateArray().Select(p => p.GetString()));
        Assert.Contains(22, pi.GetProperty("ports").EnumerateArray().Select(p => p.GetInt32()));
        var gateway = Assert.Single(devices, d => d.GetProperty("id").GetString() == "02-00-00-00-00-01");
        Assert.Contains("192.0.2.22", gateway.GetProperty("peers").EnumerateArray().Select(p => p.GetString()));
    }

    [Fact]
    public async Task AnalyzeEvents_SshConnection_OneHostRecordPerSenderNeverPerPacket()
    {
        using var dir = new TempDirectory();
        var pcap = Capture(dir);
        var result = await SecMonRunner.AnalyzeAsync(pcap, dir);
        Assert.True(result.ExitCode is 0 or 1, result.Describe());

        var hosts = result.OfPrefix("ip.host_seen");
        // The Pi opening SSH (IPv4), the gateway answering, the Pi's IPv6 mDNS: 25 packets of the connection, 3 records.
        Assert.Equal(3, hosts.Count);
        Assert.Equal(
            ["192.0.2.1 B8-27-EB-AA-BB-CC>02-00-00-00-00-01 to_client", "192.0.2.22 02-00-00-00-00-01>B8-27-EB-AA-BB-CC to_server", "fe80::ba27:ebff:feaa:bbcc 33-33-00-00-00-FB>B8-27-EB-AA-BB-CC to_server"],
            hosts.Select(h => $"{h.Text("source.ip")} {h.Text("destination.mac") ?? "(missing)"}>{h.Text("source.mac")} {h.Text("flow.direction")}").Order(StringComparer.Ordinal));
    }

    private static byte[] Ethernet(byte[] source, byte[] destination, ushort etherType, byte[] payload) =>
        [.. destination, .. source, (byte)(etherType >> 8), (byte)etherType, .. payload];

    private static byte[] ArpRequest(byte[] mac, byte[] ip, byte[] target) =>
        Ethernet(mac, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], 0x0806, [0, 1, 8, 0, 6, 4, 0, 1, .. mac, .. ip, 0, 0, 0, 0, 0, 0, .. target]);

    private static byte[] Tcp(byte[] mac, byte[] peerMac, string src, ushort srcPort, string dst, ushort dstPort, uint seq, uint ack, byte flags, byte[] payload)
    {
        var ip = new byte[40 + payload.Length];
        PcapBuilder.WriteIpv4Tcp(ip, IPAddress.Parse(src).GetAddressBytes(), IPAddress.Parse(dst).GetAddressBytes(), srcPort, dstPort, seq, ack, flags, payload);
        return Ethernet(mac, peerMac, 0x0800, ip);
    }

    private static byte[] Udp6(byte[] mac, byte[] destinationMac, string src, ushort srcPort, string dst, ushort dstPort, byte[] payload)
    {
        var udp = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(udp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        payload.CopyTo(udp, 8);
        byte[] ip = [0x60, 0, 0, 0, (byte)(udp.Length >> 8), (byte)udp.Length, 17, 255, .. IPAddress.Parse(src).GetAddressBytes(), .. IPAddress.Parse(dst).GetAddressBytes(), .. udp];
        return Ethernet(mac, destinationMac, 0x86DD, ip);
    }
}
