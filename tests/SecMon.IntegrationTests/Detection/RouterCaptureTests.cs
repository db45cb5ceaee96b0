using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// A capture taken on the site's router itself with <c>tcpdump -i any</c> (RouterCapture/record.sh: a bridge of two LAN
/// ports, NAT on the uplink, real mosquitto, dnsmasq and dig). tshark shows each packet on every interface it crossed,
/// and the sensor's cloud traffic again under the router's uplink address; SecMon must still see each exchange once,
/// from the sensor, and keep the router from serving the cloud. The same run's two LAN ports captured on their own and
/// merged are what a switch mirroring both ports delivers: the sensor's packets to the LAN broker twice. The same run's
/// dumpcap on the LAN bridge and the uplink at once (a pcapng of two interfaces, Ethernet frames, each interface's packets
/// written in batches, so out of time order) must give what <c>-i any</c> gives.
/// </summary>
public sealed class RouterCaptureTests
{
    private static readonly string Capture = Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Detection", "RouterCapture", "router-any.pcap");
    private static readonly string Span = Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Detection", "RouterCapture", "span-two-ports.pcap");
    private static readonly string TwoInterfaces = Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Detection", "RouterCapture", "router-two-interfaces.pcapng");

    // The capture, and the tshark fields of a packet's interface and of its sender's MAC in it.
    public static TheoryData<string, string, string> Captures => new()
    {
        { Capture, "sll.ifindex", "sll.src.eth" },
        { TwoInterfaces, "frame.interface_id", "eth.src" },
    };

    [RequiresToolTheory("tshark")]
    [MemberData(nameof(Captures))]
    public async Task Analyze_EachExchangeOnce_FromTheSensorNotTheRoutersUplink(string capture, string interfaceField, string macField)
    {
        _ = macField;
        // tshark: every DNS query and MQTT CONNECT more than once (a LAN port, the bridge, the uplink after NAT).
        var queries = await TsharkAsync(capture, "dns.flags.response == 0", "dns.id", "ip.src", interfaceField);
        var connects = await TsharkAsync(capture, "mqtt.msgtype == 1", "tcp.stream", "ip.src", interfaceField);
        var distinctQueries = queries.Select(q => q[0]).Distinct().Count();
        Assert.Equal(3, distinctQueries);
        Assert.True(queries.Count > distinctQueries, "each query seen more than once");
        Assert.Contains(queries, q => q[1] == "198.51.100.1"); // after NAT, from the router's uplink address
        Assert.True(queries.Select(q => q[2]).Distinct().Count() >= 2, "seen on several interfaces");
        var sensorSessions = connects.Where(c => c[1] == "192.0.2.21").Select(c => c[0]).Distinct().Count();
        Assert.Equal(6, sensorSessions); // three to the cloud broker, three to the LAN broker
        Assert.Contains(connects, c => c[1] == "198.51.100.1");

        using var dir = new TempDirectory();
        var result = await SecMonRunner.AnalyzeAsync(capture, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        var dns = result.OfPrefix("dns.query");
        Assert.Equal(distinctQueries, dns.Count);
        Assert.All(dns, q => Assert.Equal("192.0.2.21", q.Text("source.ip")));
        var mqtt = result.OfPrefix("mqtt.connect");
        Assert.Equal(sensorSessions, mqtt.Count);
        Assert.All(mqtt, c => Assert.Equal("192.0.2.21", c.Text("source.ip")));
        Assert.Equal(3, result.OfPrefix("dns.answer").Count);
        // ARP: each request and reply seen on two or three ports of the bridge (tshark), one event each.
        var arp = await TsharkAsync(capture, "arp", "arp.opcode", "arp.src.proto_ipv4", "arp.dst.proto_ipv4");
        Assert.True(capture == TwoInterfaces || arp.Count > arp.Select(a => string.Join(' ', a)).Distinct().Count()); // the bridge's ports: -i any only
        Assert.Equal(arp.Where(a => a[0] == "1").Select(a => string.Join(' ', a)).Distinct().Count(), result.OfPrefix("arp.request").Count);
        Assert.Equal(arp.Where(a => a[0] == "2").Select(a => string.Join(' ', a)).Distinct().Count(), result.OfPrefix("arp.reply").Count);
        Assert.Contains("retransmissions 0,", result.StdErr, StringComparison.Ordinal);
        var line = Assert.Single(result.StdErr.Split('\n'), l => l.StartsWith("  duplicates  ", StringComparison.Ordinal));
        Assert.Contains("NAT", line, StringComparison.Ordinal);
    }

    [RequiresToolTheory("tshark")]
    [MemberData(nameof(Captures))]
    public async Task Devices_RouterServesNothing_CloudBrokerIsItsOwn_TheSensorAloneIsAnonymous(string capture, string interfaceField, string macField)
    {
        _ = interfaceField;
        // tshark: on the LAN ports the cloud's packets come from the router's LAN MAC with TTL 63.
        var fromCloud = await TsharkAsync(capture, "ip.src == 198.51.100.10 && ip.dst == 192.0.2.21", macField, "ip.ttl");
        Assert.Contains(fromCloud, f => f[0] == "00:11:32:00:03:01" && f[1] == "63");

        using var dir = new TempDirectory();
        var findings = await SecMonRunner.FindingsAsync(capture, dir);
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", dir.File("data")), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, stderr);
        var devices = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .ToDictionary(d => d.GetProperty("id").GetString()!);

        var lan = devices["00-11-32-00-03-01"];
        Assert.Equal(["192.0.2.1"], Ips(lan));
        Assert.False(lan.GetProperty("is_server").GetBoolean());
        var uplink = devices["00-11-32-00-03-02"];
        Assert.Equal(["198.51.100.1"], Ips(uplink));
        Assert.Equal(["arp"], Protocols(uplink)); // its NAT copies of the sensor's sessions are not its own
        Assert.Equal("accepts anonymous clients on 1883",
            Assert.Single(devices["198.51.100.10"].GetProperty("listeners").EnumerateArray()).GetProperty("accepts").GetString());
        Assert.Equal("accepts anonymous clients on 1883",
            Assert.Single(devices["B8-27-EB-00-03-10"].GetProperty("listeners").EnumerateArray()).GetProperty("accepts").GetString());
        var anonymous = findings.Where(f => f.GetProperty("rule").GetProperty("id").GetString() == "SECMON-MQTT-0001").ToList();
        Assert.NotEmpty(anonymous);
        Assert.All(anonymous, f => Assert.Equal("24-0A-C4-00-03-21", f.GetProperty("device").GetProperty("id").GetString()));
    }

    [RequiresToolFact("tshark")]
    public async Task Analyze_TwoInterfacesWrittenOutOfTimeOrder_ReadInTimeOrder()
    {
        // tshark: dumpcap wrote some packets of one interface before earlier ones of the other.
        var deltas = await TsharkAsync(TwoInterfaces, "frame.time_delta < 0", "frame.number");
        Assert.NotEmpty(deltas);
        var connects = await TsharkAsync(TwoInterfaces, "mqtt.msgtype == 1 && ip.src == 192.0.2.21", "frame.time_epoch");

        using var dir = new TempDirectory();
        var result = await SecMonRunner.AnalyzeAsync(TwoInterfaces, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        var events = result.Events.Select(e => e.Text("@timestamp")).ToList();
        Assert.Equal(events.Order(StringComparer.Ordinal), events); // every event in capture-time order
        // dumpcap's nanoseconds, to SecMon's microseconds.
        Assert.Equal(connects.Select(c => decimal.Floor(decimal.Parse(c[0], System.Globalization.CultureInfo.InvariantCulture) * 1_000_000m) / 1_000_000m).Order(),
                     result.OfPrefix("mqtt.connect").Select(e => Epoch(e.Text("@timestamp")!)).Order());
        var sequence = result.Events.Select(e => e.Number("event.sequence") ?? 0).ToList();
        Assert.Equal(sequence.Order(), sequence); // the order read
    }

    [RequiresToolFact("tshark")]
    public async Task Analyze_SpanOfTwoPorts_EachSessionOnce()
    {
        // tshark: each SYN to the LAN broker twice (at the sensor's port and at the broker's), once to the cloud.
        var syns = await TsharkAsync(Span, "tcp.flags.syn == 1 && tcp.flags.ack == 0", "ip.dst", "tcp.stream");
        var toLan = syns.Where(s => s[0] == "192.0.2.10").ToList();
        Assert.Equal(3, toLan.Select(s => s[1]).Distinct().Count());
        Assert.Equal(6, toLan.Count);
        Assert.Equal(3, syns.Count(s => s[0] == "198.51.100.10"));

        using var dir = new TempDirectory();
        var result = await SecMonRunner.AnalyzeAsync(Span, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        var connects = result.OfPrefix("mqtt.connect");
        Assert.Equal(3, connects.Count(c => c.Text("destination.ip") == "192.0.2.10"));
        Assert.Equal(3, connects.Count(c => c.Text("destination.ip") == "198.51.100.10"));
        Assert.Equal(3, result.OfPrefix("mqtt.publish").Count(c => c.Text("destination.ip") == "192.0.2.10"));
        Assert.Contains("retransmissions 0,", result.StdErr, StringComparison.Ordinal);
        var line = Assert.Single(result.StdErr.Split('\n'), l => l.StartsWith("  duplicates  ", StringComparison.Ordinal));
        Assert.DoesNotContain("NAT", line, StringComparison.Ordinal);
    }

    private static async Task<List<string[]>> TsharkAsync(string capture, string filter, params string[] fields)
    {
        var args = new List<string> { "-r", capture, "-Y", filter, "-T", "fields" };
        foreach (var f in fields)
        {
            args.Add("-e");
            args.Add(f);
        }

        var (exit, stdout, stderr) = await Tools.RunAsync("tshark", args, TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, stderr);
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t'))];
    }

    // An event's @timestamp as seconds since the epoch, to the microsecond (what tshark's frame.time_epoch gives).
    private static decimal Epoch(string timestamp) =>
        (DateTimeOffset.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10_000_000m;

    private static List<string?> Ips(JsonElement device) => [.. device.GetProperty("ips").EnumerateArray().Select(i => i.GetString())];

    private static List<string?> Protocols(JsonElement device) => [.. device.GetProperty("protocols").EnumerateArray().Select(i => i.GetString())];
}
