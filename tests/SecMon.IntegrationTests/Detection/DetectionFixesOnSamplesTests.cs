using System.Text.Json;
using SecMon.IntegrationTests.Capture;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// The two detection fixes of the hardening loop, each on a capture recorded from a real mosquitto (samples/record.sh
/// guessing_listeners and namespace_alone; what was done is in samples/README.md), with the capture that must still be
/// reported beside it.
/// </summary>
public sealed class DetectionFixesOnSamplesTests
{
    [Fact]
    public async Task GuessingThenAnonymousLoginOnAnotherListener_NotReportedAsAGuessedPassword()
    {
        var findings = await AnalyzeAsync("mqtt-guessing-listeners.pcap");

        // The four guesses are there (SECMON-MQTT-0005 needs three refusals; the cleartext rule counts the CONNECTs), and
        // the anonymous session on the other listener is reported for what it is.
        var guesses = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0002");
        Assert.Equal(SampleCaptures.PasswordBrokerPort, guesses.GetProperty("destination").GetProperty("port").GetInt32());
        Assert.Equal(4, guesses.GetProperty("secmon").GetProperty("event_count").GetInt64());
        var anonymous = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0001");
        Assert.Equal(1883, anonymous.GetProperty("destination").GetProperty("port").GetInt32());
        Assert.Contains("lobby-display", anonymous.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(findings, f => Rule(f) == "SECMON-MQTT-0005");
    }

    [Fact]
    public async Task GuessingThenThePasswordOnTheSameListener_StillReported()
    {
        var findings = await AnalyzeAsync("mqtt-guessing.pcap");

        var success = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0005");
        Assert.Equal(SampleCaptures.PasswordBrokerPort, success.GetProperty("destination").GetProperty("port").GetInt32());
    }

    [Fact]
    public async Task LoneVisibleClient_WritesIntoAnotherClientIdsNamespace_Reported()
    {
        var findings = await AnalyzeAsync("mqtt-namespace-alone.pcap");

        var outside = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0008");
        var message = outside.GetProperty("message").GetString()!;
        Assert.Contains("'dev-a'", message, StringComparison.Ordinal);
        Assert.Contains("'devices/dev-b/setpoint'", message, StringComparison.Ordinal);
        Assert.Equal("127.0.0.11", outside.GetProperty("source").GetProperty("ip").GetString());
        // No other client was seen keeping to its namespace (dev-b published over TLS).
        Assert.Contains("(0 other clients", message, StringComparison.Ordinal);
        Assert.Equal(73, outside.GetProperty("event").GetProperty("severity").GetInt32()); // high: a setpoint
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();

    private static async Task<List<JsonElement>> AnalyzeAsync(string sample)
    {
        using var dir = new TempDirectory();
        var capture = Path.Combine(RepoPaths.Samples, sample);
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command(["analyze", capture, "--json", "--data", dir.File("data")]), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"analyze {capture}: exit {exit}\n{stderr}");
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }
}
