using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Hardening;

/// <summary>`secmon harden plan` on the inventory `secmon analyze` built from a recorded capture (samples/README.md says
/// what was recorded): the devices, their identities and endpoints come from the wire, not from the test.</summary>
public sealed class HardenPlanOnSamplesTests
{
    [Fact]
    public async Task Plan_NamespaceCapture_ThreeAnonymousDevicesUnderTheirBrokerEndpoints()
    {
        using var dir = new TempDirectory("secmon-harden-plan-");
        var data = dir.File("data");
        var (analyzed, _, analyzeErr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("analyze", Path.Combine(RepoPaths.Samples, "mqtt-namespace.pcap"), "--data", data), TimeSpan.FromMinutes(2));
        Assert.True(analyzed == 0, analyzeErr);

        var (code, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("harden", "plan", "--data", data, "--json"), TimeSpan.FromMinutes(1));

        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var brokers = lines.Where(l => l.GetProperty("kind").GetString() == "broker").ToList();
        // dev-a, dev-b, dev-c on 1883; dev-a also once through the second listener, 1884.
        Assert.Equal(["127.0.0.1:1883", "127.0.0.1:1884"], brokers.Select(b => b.GetProperty("broker").GetString()));
        Assert.All(brokers, b => Assert.Equal(["anonymous"], b.GetProperty("accepts").EnumerateArray().Select(e => e.GetString())));
        var devices = lines.Where(l => l.GetProperty("kind").GetString() == "device" && l.GetProperty("broker").GetString() == "127.0.0.1:1883").ToList();
        Assert.Equal(["dev-a", "dev-b", "dev-c"], devices.Select(d => d.GetProperty("identity").GetString()));
        Assert.Equal(["127.0.0.11", "127.0.0.12", "127.0.0.13"], devices.Select(d => d.GetProperty("device_id").GetString()));
        Assert.All(devices, d => Assert.Equal("anonymous", d.GetProperty("posture").GetString()));
        Assert.All(devices, d => Assert.Equal("mqtt.client_id", d.GetProperty("identity_source").GetString()));
    }
}
