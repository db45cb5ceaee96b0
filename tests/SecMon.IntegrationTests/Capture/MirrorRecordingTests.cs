using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// A port mirrored by the kernel to a collector over VXLAN (Mirror/record.sh: tc mirred on a Linux bridge's port, a
/// vxlan link, tcpdump on the collector), against the same exchange captured on the port itself. tshark finds the MQTT
/// inside the tunnel; SecMon reports the same MQTT events with the devices' own addresses and MACs (never the switch's
/// or the collector's), and when both ports of the exchange are mirrored (every packet twice) analyses each once.
/// </summary>
public sealed class MirrorRecordingTests
{
    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Capture", "Mirror", name);

    [RequiresToolTheory("tshark")]
    [InlineData("mirror-vxlan.pcap", 1)]
    [InlineData("mirror-vxlan-both.pcap", 2)]
    public async Task Analyze_PortMirroredOverVxlan_SameMqttEventsAsThePortItself(string sample, int copies)
    {
        var tunnelled = await CountAsync(sample, "vxlan");
        var tunnelledTcp = await CountAsync(sample, "vxlan && tcp");
        var directTcp = await CountAsync("mirror-direct.pcap", "tcp");
        Assert.True(directTcp >= 15, $"{directTcp} TCP packets on the port");
        Assert.Equal(copies * directTcp, tunnelledTcp); // record.sh: each packet once per mirrored port it crossed

        using var dir = new TempDirectory();
        var direct = await SecMonRunner.AnalyzeAsync(Sample("mirror-direct.pcap"), dir);
        var mirrored = await SecMonRunner.AnalyzeAsync(Sample(sample), dir);

        Assert.True(mirrored.ExitCode == 0, mirrored.Describe());
        Assert.Contains($"read inside a tunnel (VXLAN, GRE, ERSPAN) {tunnelled}", mirrored.StdErr, StringComparison.Ordinal);
        Assert.Equal(9, direct.OfPrefix("mqtt.").Count); // CONNECT, CONNACK, 3 x PUBLISH and PUBACK, DISCONNECT
        Assert.Equal(direct.OfPrefix("mqtt.").Select(Key), mirrored.OfPrefix("mqtt.").Select(Key));
        var connect = Assert.Single(mirrored.OfPrefix("mqtt.connect"));
        Assert.Equal("24-0A-C4-00-22-21", connect.Text("source.mac"));
        Assert.Equal("B8-27-EB-00-22-10", connect.Text("destination.mac"));
        if (copies > 1)
        {
            Assert.Matches($@"duplicates\s+{tunnelledTcp / 2 + 3} packets were captured twice", mirrored.StdErr);
        }
    }

    /// <summary>The sensor's port mirrored in its receive direction only (a SPAN session set to "rx"): the kernel's mirror
    /// of one direction, where <see cref="OneSidedCaptureTests"/> cut one out of a capture with tshark.</summary>
    [RequiresToolFact("tshark")]
    public async Task Analyze_PortMirroredInOneDirection_TheSensorsSideReadAndTheSummarySaysOneSided()
    {
        var fromBroker = await CountAsync("mirror-vxlan-rx.pcap", "vxlan && ip.src == 192.0.2.10");
        var fromSensor = await CountAsync("mirror-vxlan-rx.pcap", "vxlan && tcp && ip.src == 192.0.2.21");
        Assert.Equal(0, fromBroker);
        Assert.True(fromSensor >= 8, $"{fromSensor} TCP packets from the sensor");

        using var dir = new TempDirectory();
        var direct = await SecMonRunner.AnalyzeAsync(Sample("mirror-direct.pcap"), dir);
        var mirrored = await SecMonRunner.AnalyzeAsync(Sample("mirror-vxlan-rx.pcap"), dir);

        Assert.True(mirrored.ExitCode == 0, mirrored.Describe());
        Assert.Equal(direct.OfPrefix("mqtt.").Where(e => e.Text("flow.direction") == "to_server").Select(Key),
            mirrored.OfPrefix("mqtt.").Select(Key));
        Assert.Contains("one-sided   1 TCP connection(s) carried data one way", mirrored.StdErr, StringComparison.Ordinal);
        Assert.Empty(mirrored.OfPrefix("network.scan"));
    }

    private static async Task<int> CountAsync(string sample, string filter)
    {
        var (code, stdout, stderr) = await Tools.RunAsync("tshark", ["-n", "-r", Sample(sample), "-Y", filter, "-T", "fields", "-e", "frame.number"]);
        Assert.True(code == 0, stderr);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    // What the event says, without what differs between two recordings of the same exchange (times, ports, flow ids).
    private static string Key(SecMonEvent e) =>
        $"{e.Type} {e.Text("flow.direction")} {e.Text("client.ip")} {e.Text("server.ip")}:{e.Number("server.port")} " +
        $"client={e.Text("mqtt.client_id")} topic={e.Text("mqtt.topic")} qos={e.Number("mqtt.qos")} payload={e.Number("mqtt.payload.size")}";
}
