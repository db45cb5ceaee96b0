using SecMon.Capture.Scans;
using SecMon.Capture.Tests.Protocols.Arp;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Scans;

/// <summary>
/// The host-discovery samples (Samples/record-discovery.sh: nmap and ping between network namespaces on a bridge) and
/// the UDP scan's ICMP port unreachables (Samples/record.sh) through the whole capture pipeline, with tshark as the
/// independent verifier of what was probed and what answered.
/// </summary>
public sealed class DiscoverySampleTests
{
    private static string Sample(string name) => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Scans", "Samples", name);

    [RequiresToolTheory("tshark")]
    [InlineData("ping-sweep.pcap", "ping_sweep", "icmp.type == 8", "icmp.type == 0", "ip.dst", "ip.src")]
    [InlineData("ping6-sweep.pcap", "ping_sweep", "icmpv6.type == 128", "icmpv6.type == 129", "ipv6.dst", "ipv6.src")]
    [InlineData("arp-sweep.pcap", "arp_sweep", "arp.opcode == 1 && arp.src.proto_ipv4 != arp.dst.proto_ipv4", "arp.opcode == 2", "arp.dst.proto_ipv4", "arp.src.proto_ipv4")]
    public async Task Run_RecordedSweep_HostsProbedAndAnsweringAsTsharkSeesThem(string sample, string kind, string probes, string answers,
        string probedField, string answeringField)
    {
        var probed = await FieldAsync(sample, probes, probedField);
        var answering = await FieldAsync(sample, answers, answeringField);
        var (events, _) = ArpFrames.RunFile(Sample(sample));

        var scans = events.OfType<ScanEvent>().ToList();
        var started = Assert.Single(scans, s => s.Phase == "started");
        Assert.Equal(kind, started.Kind);
        Assert.Equal(probed.Distinct().Count(), (int)started.HostCount);
        Assert.Equal(30, started.HostCount); // record-discovery.sh: 30 addresses
        Assert.Equal(probed.Distinct().Order(new AddressOrder()).First(), started.HostLow);
        Assert.Equal(probed.Distinct().Order(new AddressOrder()).Last(), started.HostHigh);
        Assert.Equal(answering.Distinct().Order(new AddressOrder()), started.OpenHosts!);
        Assert.Equal(2, started.OpenCount); // .7 and .23 (::7 and ::17) are up
        Assert.Equal(28, started.UnansweredCount);
        Assert.Single(scans, s => s.Phase == "ended");
    }

    [Fact]
    public void Run_PingsAndArpingOfOneHost_IsNoScan()
    {
        var (events, _) = ArpFrames.RunFile(Sample("pings.pcap"));

        Assert.Empty(events.OfType<ScanEvent>());
        Assert.True(events.Count(e => e.Type.StartsWith("arp.", StringComparison.Ordinal)) >= 5);
    }

    [RequiresToolFact("tshark")]
    public async Task Run_UdpScanSample_ClosedPortsAreThoseTheIcmpPortUnreachablesQuote()
    {
        // record.sh: nmap -sU from 127.0.0.1 of 127.0.0.3 ports 20050-20079; the kernel refuses closed ones with ICMP 3/3
        // (rate-limited). Other unreachables in the capture quote the listeners' replies to nmap's port: no probe of the scan.
        var refused = await FieldAsync("udp-scan.pcap",
            "icmp.type == 3 && icmp.code == 3 && udp.dstport >= 20050 && udp.dstport <= 20079", "udp.dstport");
        var (events, _) = ArpFrames.RunFile(Sample("udp-scan.pcap"));

        var started = Assert.Single(events.OfType<ScanEvent>(), s => s.Phase == "started");
        var ended = Assert.Single(events.OfType<ScanEvent>(), s => s.Phase == "ended");
        var expected = refused.Select(p => long.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).Distinct().Order().ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, ended.ClosedPorts!);
        Assert.Equal(expected.Count, ended.ClosedCount);
        Assert.Equal([20053L, 20061], ended.OpenPorts!);
        Assert.Equal(30 - 2 - expected.Count, ended.UnansweredCount);
        Assert.True(started.ClosedCount <= ended.ClosedCount);
    }

    [RequiresToolTheory("tshark")]
    [InlineData("traceroute-open.pcap", "ip.src == 192.0.2.10 && udp && !icmp", 27)]
    [InlineData("traceroute-open.pcap", "ipv6.src == 2001:db8:22::a && udp && !icmpv6", 27)]
    [InlineData("traceroute-silent.pcap", "ip.src == 192.0.2.10 && udp && !icmp", 90)]
    [InlineData("traceroute-silent.pcap", "ipv6.src == 2001:db8:22::a && udp && !icmpv6", 90)]
    public async Task Run_RecordedTraceroute_IsNoScan(string sample, string probes, int atLeast)
    {
        // record-traceroute.sh: traceroute across 8 routers, one probe per port, more than a port scan's 20 ports.
        var ports = await FieldAsync(sample, probes, "udp.dstport");
        var expired = await FieldAsync(sample, "icmp.type == 11 || icmpv6.type == 3", "frame.number");
        Assert.True(ports.Distinct().Count() >= atLeast, $"{ports.Distinct().Count()} ports probed");
        Assert.True(expired.Count >= 24, $"{expired.Count} time exceeded");

        var (events, stats) = ArpFrames.RunFile(Sample(sample));

        Assert.Empty(events.OfType<ScanEvent>());
        Assert.True(stats.UdpFlows >= 2 * atLeast, $"{stats.UdpFlows} UDP flows"); // every probe was seen as one
    }

    private static async Task<List<string>> FieldAsync(string sample, string filter, string field)
    {
        var (code, stdout, stderr) = await Tools.RunAsync("tshark", ["-r", Sample(sample), "-Y", filter, "-T", "fields", "-e", field]);
        Assert.True(code == 0, stderr);
        // A quoted header shows the field twice (the ICMP's own, then the quoted one's): the quoted one is the last.
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(',')[^1])];
    }

    private sealed class AddressOrder : IComparer<string>
    {
        public int Compare(string? x, string? y) =>
            System.Net.IPAddress.Parse(x!).GetAddressBytes().AsSpan().SequenceCompareTo(System.Net.IPAddress.Parse(y!).GetAddressBytes());
    }
}
