using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon capture -i IF1 -i IF2</c> on two live interfaces at once: a broker in a network namespace of its own is
/// reached by one client over a veth pair from a second namespace (198.51.100.0/24, no route out) and by another over
/// the namespace's loopback. Both sessions are analysed by the one capture, and each finding names the interface its
/// traffic came in on (<c>observer.ingress.interface.name</c>). The namespaces are deleted by name at the end.
/// </summary>
public sealed class MultiInterfaceCaptureTests
{
    [RequiresRootFact("ip", "mosquitto", "mosquitto_pub")]
    public async Task Capture_TwoInterfaces_SessionsOfBothAnalysedEachFindingNamesItsInterface()
    {
        var tag = Environment.ProcessId % 100_000;
        var (sensorNs, clientNs) = ($"secmon-mi-s{tag}", $"secmon-mi-c{tag}");
        var (veth, peer) = ($"smi{tag}s", $"smi{tag}c");
        using var dir = new TempDirectory();
        try
        {
            await Ip("netns", "add", sensorNs);
            await Ip("netns", "add", clientNs);
            await Ip("-n", sensorNs, "link", "add", veth, "type", "veth", "peer", "name", peer, "netns", clientNs);
            await Ip("-n", sensorNs, "addr", "add", "198.51.100.1/24", "dev", veth);
            await Ip("-n", clientNs, "addr", "add", "198.51.100.2/24", "dev", peer);
            await Ip("-n", sensorNs, "link", "set", veth, "up");
            await Ip("-n", sensorNs, "link", "set", "lo", "up");
            await Ip("-n", clientNs, "link", "set", peer, "up");

            var conf = dir.File("mosquitto.conf");
            await File.WriteAllTextAsync(conf, "listener 1883\nallow_anonymous true\npersistence false\n");
            await using var broker = RunningProcess.Start("ip", ["netns", "exec", sensorNs, "mosquitto", "-c", conf, "-v"]);
            await using var secmon = RunningProcess.Start("ip", ["netns", "exec", sensorNs, "dotnet",
                .. SecMonRunner.Command("capture", "-i", veth, "-i", "lo", "--bpf", "tcp port 1883", "--json", "--duration", "20s", "--data", dir.File("data"))]);
            Assert.True(await secmon.WaitForStdErrAsync($"capturing on {veth} (tcp port 1883), lo (tcp port 1883)", TimeSpan.FromSeconds(60)), $"secmon capture did not start: {secmon.StdErr}");
            Assert.True(await broker.WaitForStdErrAsync("listen socket on port 1883", TimeSpan.FromSeconds(10)), $"mosquitto did not start: {broker.StdErr}");

            await Run("ip", "netns", "exec", clientNs, "mosquitto_pub", "-h", "198.51.100.1", "-i", "over-veth", "-t", "site/veth", "-m", "1");
            await Run("ip", "netns", "exec", sensorNs, "mosquitto_pub", "-h", "127.0.0.1", "-i", "over-lo", "-t", "site/lo", "-m", "1");
            var exit = await secmon.WaitForExitAsync(TimeSpan.FromSeconds(60));

            Assert.True(exit == 0, $"secmon capture: exit {exit}; stderr:\n{secmon.StdErr}");
            var anonymous = secmon.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonDocument.Parse(l).RootElement.Clone())
                .Where(f => f.GetProperty("rule").GetProperty("id").GetString() == "SECMON-MQTT-0001")
                .ToDictionary(f => f.GetProperty("source").GetProperty("ip").GetString()!,
                              f => f.GetProperty("observer").GetProperty("ingress").GetProperty("interface").GetProperty("name").GetString());
            Assert.True(anonymous.Count == 2, $"anonymous-session findings by client address: {string.Join(", ", anonymous)}; stderr:\n{secmon.StdErr}");
            Assert.Equal(veth, anonymous["198.51.100.2"]);
            Assert.Equal("lo", anonymous["127.0.0.1"]);
        }
        finally
        {
            // Deleting the namespaces removes the veth pair with them; processes started in them have ended or been killed.
            await Tools.RunAsync("ip", ["netns", "del", sensorNs]);
            await Tools.RunAsync("ip", ["netns", "del", clientNs]);
        }
    }

    [RequiresRootFact("ip", "nft", "mosquitto", "mosquitto_pub")]
    public async Task Capture_RoutersLanAndUplink_NatCopyOfTheSessionIsNotTheRoutersOwn()
    {
        // A router namespace: a LAN port to a sensor (192.0.2.21) and an uplink to a "cloud" broker (198.51.100.10),
        // masquerading on the uplink. secmon captures both of the router's interfaces; the sensor's session leaves again
        // under the router's uplink address, and must not make the router an anonymous MQTT client of the cloud.
        var tag = Environment.ProcessId % 100_000;
        var (router, sensor, cloud) = ($"secmon-nat-r{tag}", $"secmon-nat-s{tag}", $"secmon-nat-c{tag}");
        var (lan, wan) = ($"snl{tag}", $"snw{tag}");
        using var dir = new TempDirectory();
        try
        {
            foreach (var ns in new[] { router, sensor, cloud })
            {
                await Ip("netns", "add", ns);
                await Ip("-n", ns, "link", "set", "lo", "up");
            }

            await Ip("-n", router, "link", "add", lan, "type", "veth", "peer", "name", "eth0", "netns", sensor);
            await Ip("-n", router, "link", "add", wan, "type", "veth", "peer", "name", "eth0", "netns", cloud);
            await Ip("-n", router, "addr", "add", "192.0.2.1/24", "dev", lan);
            await Ip("-n", router, "addr", "add", "198.51.100.1/24", "dev", wan);
            await Ip("-n", sensor, "addr", "add", "192.0.2.21/24", "dev", "eth0");
            await Ip("-n", cloud, "addr", "add", "198.51.100.10/24", "dev", "eth0");
            foreach (var (ns, dev) in new[] { (router, lan), (router, wan), (sensor, "eth0"), (cloud, "eth0") })
            {
                await Ip("-n", ns, "link", "set", dev, "up");
            }

            await Ip("-n", sensor, "route", "add", "default", "via", "192.0.2.1");
            await Run("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
            var rules = dir.File("nat.nft");
            await File.WriteAllTextAsync(rules,
                $"table ip secmon_nat {{\n  chain post {{\n    type nat hook postrouting priority 100;\n    oifname \"{wan}\" masquerade\n  }}\n}}\n");
            await Run("ip", "netns", "exec", router, "nft", "-f", rules);

            var conf = dir.File("mosquitto.conf");
            await File.WriteAllTextAsync(conf, "listener 1883\nallow_anonymous true\npersistence false\n");
            await using var broker = RunningProcess.Start("ip", ["netns", "exec", cloud, "mosquitto", "-c", conf, "-v"]);
            await using var secmon = RunningProcess.Start("ip", ["netns", "exec", router, "dotnet",
                .. SecMonRunner.Command("capture", "-i", lan, "-i", wan, "--bpf", "tcp port 1883", "--json", "--duration", "20s", "--data", dir.File("data"))]);
            Assert.True(await secmon.WaitForStdErrAsync("capturing on", TimeSpan.FromSeconds(60)), $"secmon capture did not start: {secmon.StdErr}");
            Assert.True(await broker.WaitForStdErrAsync("listen socket on port 1883", TimeSpan.FromSeconds(10)), $"mosquitto did not start: {broker.StdErr}");

            await Run("ip", "netns", "exec", sensor, "mosquitto_pub", "-h", "198.51.100.10", "-i", "sensor-21", "-t", "cloud/sensor", "-m", "1");
            var exit = await secmon.WaitForExitAsync(TimeSpan.FromSeconds(60));

            Assert.True(exit == 0, $"secmon capture: exit {exit}; stderr:\n{secmon.StdErr}");
            // mosquitto saw the session once, from the router's uplink address (NAT); SecMon sees it from the sensor.
            Assert.Contains("New client connected from 198.51.100.1", broker.StdErr, StringComparison.Ordinal);
            var anonymous = secmon.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonDocument.Parse(l).RootElement.Clone())
                .Where(f => f.GetProperty("rule").GetProperty("id").GetString() == "SECMON-MQTT-0001")
                .Select(f => f.GetProperty("source").GetProperty("ip").GetString())
                .ToList();
            Assert.True(anonymous.SequenceEqual(["192.0.2.21"]), $"anonymous-session findings by client: {string.Join(", ", anonymous)}; stderr:\n{secmon.StdErr}");
            Assert.Matches(@"duplicates .*; [1-9]\d* more were the capturing host's NAT", secmon.StdErr);
        }
        finally
        {
            foreach (var ns in new[] { router, sensor, cloud })
            {
                await Tools.RunAsync("ip", ["netns", "del", ns]);
            }
        }
    }

    private static Task Ip(params string[] args) => Run("ip", args);

    private static async Task Run(string program, params string[] args)
    {
        var (code, stdout, stderr) = await Tools.RunAsync(program, args, TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"{program} {string.Join(' ', args)}: exit {code}\n{stdout}{stderr}");
    }
}
