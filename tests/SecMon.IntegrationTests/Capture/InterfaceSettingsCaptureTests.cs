using System.Text.RegularExpressions;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon capture --config F</c> with no <c>-i</c>: the interface, its filter and its snap length come from the file's
/// <c>capture.interfaces</c>, and libpcap applies them (a publish longer than the snap length is cut: a reassembly gap,
/// while a short CONNECT is whole).
/// </summary>
public sealed partial class InterfaceSettingsCaptureTests
{
    [RequiresRootFact("mosquitto", "mosquitto_pub")]
    public async Task Capture_InterfaceFromTheConfig_WithItsFilterAndSnapLength()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDirectory();
        var config = dir.File("secmon.yml");
        await File.WriteAllTextAsync(config, $"""
            capture:
              interfaces:
                - name: lo
                  bpf: tcp port {broker.Port}
                  snaplen: 160
                  buffer: 16MiB
            """);
        var events = dir.File("events.jsonl");
        await using var secmon = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "capture", "--config", config, "--events", events, "--duration", "10s", "--data", dir.File("data")));
        Assert.True(await secmon.WaitForStdErrAsync($"capturing on lo (tcp port {broker.Port}, snaplen 160, buffer 16 MiB)", TimeSpan.FromSeconds(60)), secmon.StdErr);

        await broker.PublishAsync(["-i", "secmon-snaplen", "-t", "secmon/snaplen", "-m", new string('x', 3000), "-q", "0"]);
        var exit = await secmon.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exit is 0 or 65, $"exit {exit}\n{secmon.StdErr}"); // 65: the cut payload is damaged input, said so
        var parsed = SecMonEvent.ParseLines(await File.ReadAllTextAsync(events), events);
        Assert.Contains(parsed, e => e.Type == "mqtt.connect" && e.Text("mqtt.client_id") == "secmon-snaplen");
        var gaps = Gaps().Match(secmon.StdErr);
        Assert.True(gaps.Success && gaps.Groups[1].Value != "0", $"no reassembly gap for a publish cut at 160 bytes:\n{secmon.StdErr}");
    }

    [GeneratedRegex(@"reassembly\s+gaps ([\d,]+)")]
    private static partial Regex Gaps();
}
