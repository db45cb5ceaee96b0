using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// A home-automation segment with IPv6 and multicast, recorded from real peers (DualStackSite/record.sh says what every
/// host did and when): MQTT over IPv6, over WebSocket and over mutual TLS 1.3 on one mosquitto; CoAP lights discovered
/// by multicast; SSDP and mDNS chatter; hosts using their SLAAC addresses; an intruder over IPv6. Analysed as a new
/// user would (<c>secmon analyze --learning 30s</c>, <c>devices</c>, <c>harden plan</c>); tshark counts the MQTT it
/// decodes. The expectations are what record.sh made the hosts do.
/// </summary>
public sealed class DualStackSiteTests(DualStackSiteTests.Analysed site) : IClassFixture<DualStackSiteTests.Analysed>
{
    private const string Intruder = "2001:db8:6::ff:fe00:166"; // its SLAAC address (EUI-64 of 02:00:00:00:01:66)

    /// <summary>The recording analysed once for the class.</summary>
    public sealed class Analysed() : AnalysedSite("DualStackSite", "dual-stack-site.pcap");

    [Fact]
    public void HardenPlan_TheRefusedTlsClientHidesNothing_AndProvesNothing()
    {
        // The intruder subscribed anonymously over WebSocket on [::10]:9001, then tried 8883 without a certificate and
        // was refused. 8883 requires certificates (the door sensor's six sessions); 9001 took the intruder anonymously.
        var brokers = site.Plan.Where(l => l.GetProperty("kind").GetString() == "broker")
            .ToDictionary(b => b.GetProperty("broker").GetString()!, b => b.GetProperty("accepts").EnumerateArray().Select(a => a.GetString()).ToList());
        Assert.Equal(["192.0.2.10:9001", "[2001:db8:6::10]:1883", "[2001:db8:6::10]:8883", "[2001:db8:6::10]:9001"], brokers.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["mutual_tls"], brokers["[2001:db8:6::10]:8883"]);
        Assert.Equal(["anonymous"], brokers["[2001:db8:6::10]:9001"]);
        var devices = site.Plan.Where(l => l.GetProperty("kind").GetString() == "device")
            .Select(d => (d.GetProperty("broker").GetString(), d.GetProperty("identity").GetString())).Order().ToList();
        Assert.Equal(
            [("192.0.2.10:9001", "ws-panel"), ("[2001:db8:6::10]:1883", "plug-9"), ("[2001:db8:6::10]:1883", "th-01"), ("[2001:db8:6::10]:9001", "x")],
            devices);
    }

    [Fact]
    public void Devices_TheBrokerRequiresCertificatesOn8883_TheRefusedSessionNotCounted()
    {
        var broker = Assert.Single(site.Devices, d => d.GetProperty("id").GetString() == "B8-27-EB-00-01-10");
        var tls = Assert.Single(broker.GetProperty("listeners").EnumerateArray(), l => l.GetProperty("port").GetInt32() == 8883);
        Assert.Equal("requires client certificates on 8883", tls.GetProperty("accepts").GetString());
        var door = Assert.Single(site.Devices, d => d.GetProperty("id").GetString() == "24-0A-C4-00-01-23");
        Assert.Equal("mutual_tls", door.GetProperty("auth").GetString());
    }

    [Fact]
    public void Findings_MulticastDiscoveryIsNoCleartextFinding_UnicastReadsAndTheIntrudersWriteAre()
    {
        var coap = site.Findings.Where(f => Rule(f) == "SECMON-COAP-0001").ToList();
        Assert.DoesNotContain(coap, f => f.GetProperty("destination").GetProperty("ip").GetString() == "224.0.1.187");
        Assert.Equal(
            ["2001:db8:6::31", "2001:db8:6::31", "2001:db8:6::32", "2001:db8:6::32"],
            coap.Select(f => f.GetProperty("destination").GetProperty("ip").GetString()).Order(StringComparer.Ordinal));
        var write = Assert.Single(site.Findings, f => Rule(f) == "SECMON-COAP-0002");
        Assert.Equal(Intruder, write.GetProperty("source").GetProperty("ip").GetString());
    }

    [Fact]
    public void Findings_TheIntrudersScanCountsItsOpenPortsOnce()
    {
        // nmap found 1883, 8883 and 9001 open; the intruder then connected to 9001 and 8883 again.
        var ended = site.Findings.Where(f => Rule(f) == "SECMON-SCAN-0001").Last();
        Assert.Contains("3 answered (open): [1883, 8883, 9001]", Message(ended), StringComparison.Ordinal);
        Assert.Equal(Intruder, ended.GetProperty("source").GetProperty("ip").GetString());
    }

    [Fact]
    public void Findings_MqttOverWebSocketAndIpv6_TheWildcardAndTheAnonymousSessions()
    {
        var wildcard = Assert.Single(site.Findings, f => Rule(f) == "SECMON-MQTT-0006");
        Assert.Equal((Intruder, 9001), (wildcard.GetProperty("source").GetProperty("ip").GetString(), wildcard.GetProperty("destination").GetProperty("port").GetInt32()));
        var anonymous = site.Findings.Where(f => Rule(f) == "SECMON-MQTT-0001").Select(f => Message(f)).ToList();
        Assert.Contains(anonymous, m => m.Contains("'ws-panel' from 192.0.2.22 to broker 192.0.2.10:9001", StringComparison.Ordinal));
        Assert.Contains(anonymous, m => m.Contains("'th-01' from 2001:db8:6:0:260a:c4ff:fe00:121", StringComparison.Ordinal));
        var newDevice = Assert.Single(site.Findings, f => Rule(f) == "SECMON-BASE-0005" && f.GetProperty("source").GetProperty("mac").GetString() == "02-00-00-00-01-77");
        Assert.Equal("2001:db8:6::ff:fe00:177", newDevice.GetProperty("source").GetProperty("ip").GetString());
    }

    [RequiresToolFact("tshark")]
    public async Task Events_MqttConnectsOn1883_AsTsharkCountsThem()
    {
        // tshark decodes MQTT on 1883 only (not inside WebSocket): SecMon's CONNECTs to 1883 must be its count.
        var connects = (await EventsAsync()).Where(e => e.GetProperty("type").GetString() == "mqtt.connect").ToList();
        var (_, tshark, _) = await Tools.RunAsync("tshark", ["-r", site.Capture, "-Y", "mqtt.msgtype == 1", "-T", "fields", "-e", "frame.number"]);

        Assert.Equal(tshark.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, connects.Count(e => e.GetProperty("destination.port").GetInt32() == 1883));
        Assert.Equal(2, connects.Count(e => e.GetProperty("destination.port").GetInt32() == 9001)); // the panel and the intruder
    }

    [RequiresToolFact("tshark")]
    public async Task Events_TheLightsAnswersToMulticastDiscovery_JoinedToTheRequestAsTsharkJoinsThem()
    {
        // The controller asked 224.0.1.187 for /.well-known/core; each light answered later from its own address, on
        // a flow of its own (RFC 7252 §8.2). tshark joins each answer to its request: SecMon must name the same path
        // and response time (the quotes in ICMP port unreachables, the controller having stopped listening, are no answers),
        // and report no group request as unanswered.
        var events = await EventsAsync();
        var (_, tshark, _) = await Tools.RunAsync("tshark",
            ["-r", site.Capture, "-Y", "coap.code == 69 && udp.srcport == 5683 && ip.dst == 192.0.2.40 && !icmp", "-T", "fields", "-e", "frame.number", "-e", "coap.opt.uri_path_recon", "-e", "coap.response_time"]);
        var expected = tshark.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t'))
            .Select(f => ((string?)f[1], (long)Math.Round(double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture) * 1_000_000))).ToList();
        var joined = events.Where(e => e.GetProperty("type").GetString() == "coap.response" && e.GetProperty("destination.ip").GetString() == "192.0.2.40"
                && e.GetProperty("source.ip").GetString()!.StartsWith("192.0.2.3", StringComparison.Ordinal))
            .Select(e => (e.GetProperty("url.path").GetString(), e.GetProperty("coap.response_time_us").GetInt64())).ToList();

        Assert.NotEmpty(joined);
        Assert.Equal(expected, joined);
        Assert.DoesNotContain(events, e => e.GetProperty("type").GetString() == "coap.unanswered" && e.GetProperty("destination.ip").GetString() == "224.0.1.187");
    }

    private async Task<List<JsonElement>> EventsAsync()
    {
        using var dir = new TempDirectory();
        var events = dir.File("events.jsonl");
        var (exit, _, stderr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("analyze", site.Capture, "--no-detect", "--events", events, "--data", dir.File("data")), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, stderr);
        return [.. File.ReadLines(events).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();

    private static string Message(JsonElement f) => f.GetProperty("message").GetString() ?? "";
}
