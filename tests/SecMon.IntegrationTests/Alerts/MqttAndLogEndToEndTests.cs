using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Alerts;

/// <summary><c>secmon analyze --config FILE</c> with the MQTT alerts and the findings log on, as a user runs it: a real
/// mosquitto, a <c>mosquitto_sub</c> subscriber, and the log file read back.</summary>
public sealed class MqttAndLogEndToEndTests
{
    [RequiresToolFact("mosquitto", "mosquitto_sub")]
    public async Task Analyze_MqttAndLogOutputs_EveryFindingPublishedAndLoggedOnce()
    {
        using var dir = new TempDirectory();
        await using var broker = await MosquittoBroker.StartAsync();
        await using var subscriber = RunningProcess.Start("mosquitto_sub",
            ["-h", "127.0.0.1", "-p", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-q", "1", "-t", "secmon/alerts/#", "-v"]);
        await Task.Delay(500);
        var config = dir.File("secmon.yml");
        await File.WriteAllTextAsync(config, $"""
            outputs:
              mqtt:
                url: mqtt://127.0.0.1:{broker.Port}
                client_id: secmon-e2e
              log:
                path: out/findings.jsonl
            """);
        var captures = Directory.GetFiles(RepoPaths.Samples, "mqtt-*.pcap").Order(StringComparer.Ordinal).ToArray();

        var (exit, _, stderr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command(["analyze", .. captures, "--config", config, "--data", dir.File("data")]), TimeSpan.FromMinutes(3));

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        var logged = (await File.ReadAllLinesAsync(dir.File("out/findings.jsonl"))).Select(EventId).ToList();
        Assert.NotEmpty(logged);
        Assert.Equal(logged.Count, logged.Distinct().Count());
        var expected = logged.ToHashSet();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        HashSet<string> received;
        while (true)
        {
            received = subscriber.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => EventId(l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..])).ToHashSet();
            if (received.IsSupersetOf(expected) || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.True(expected.SetEquals(received), $"{expected.Count} findings logged, {received.Count} received; missing {string.Join(", ", expected.Except(received).Take(5))}; stderr: {stderr}");
        foreach (var line in subscriber.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var topic = line[..line.IndexOf(' ', StringComparison.Ordinal)];
            using var doc = JsonDocument.Parse(line[(topic.Length + 1)..]);
            var rule = doc.RootElement.GetProperty("rule").GetProperty("id").GetString();
            Assert.Matches($"^secmon/alerts/(low|medium|high|critical)/{rule}$", topic);
        }
    }

    private static string EventId(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("event").GetProperty("id").GetString()!;
    }
}
