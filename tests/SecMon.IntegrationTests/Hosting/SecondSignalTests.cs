using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Hosting;

/// <summary>
/// A second SIGTERM while serve drains: the process ends at once with 130 and one line saying what was not flushed; the
/// spool stays on disk, and what waits in it is what 'secmon outputs status' counts for the next start. A real serve
/// process watching a directory of captures, with a webhook whose receiver accepts connections and never answers (so
/// the drain waits on it).
/// </summary>
public sealed class SecondSignalTests
{
    [RequiresToolFact("kill")]
    public async Task Serve_SecondSigtermDuringTheDrain_Exits130AtOnceNamingTheSpoolThatStays()
    {
        using var dir = new TempDirectory("secmon-second-signal-");
        var (data, watched, config) = (dir.File("data"), dir.File("watched"), dir.File("secmon.yml"));
        Directory.CreateDirectory(watched);

        // Accepts in the kernel's backlog and never reads nor answers: each delivery waits for the webhook's timeout.
        using var blackHole = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        blackHole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        blackHole.Listen(64);
        var port = ((IPEndPoint)blackHole.LocalEndPoint!).Port;
        await File.WriteAllTextAsync(config, LoopbackWebhook.Config(data, port));

        // Two finished captures (the newest file of a directory counts as still being written until it is 30 s old).
        foreach (var (sample, name) in new[] { ("mqtt-guessing.pcap", "a.pcap"), ("mqtt-anonymous.pcap", "b.pcap") })
        {
            var target = Path.Combine(watched, name);
            File.Copy(Path.Combine(RepoPaths.Samples, sample), target);
            File.SetLastWriteTimeUtc(target, DateTime.UtcNow.AddMinutes(-2));
        }

        await using var serve = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "serve", "--watch", watched, "--config", config, "--api", "none", "--https", "127.0.0.1:0", "--http", "none", "--ca-home", dir.File("no-ca")));
        Assert.True(await serve.WaitForStdErrAsync("SECMON-MQTT-0001", TimeSpan.FromSeconds(90)), $"no finding: {serve.StdErr}");
        await Task.Delay(1000); // the store's batch

        await serve.TerminateAsync();
        await Task.Delay(1500); // the drain: the webhook's first delivery hangs on the receiver
        Assert.False(serve.HasExited, $"serve ended after the first signal: {serve.StdErr}");
        var second = DateTime.UtcNow;
        await serve.TerminateAsync();
        var code = await serve.WaitForExitAsync(TimeSpan.FromSeconds(10));
        var took = DateTime.UtcNow - second;

        Assert.True(code == 130, $"exit {code}: {serve.StdErr}");
        Assert.True(took < TimeSpan.FromSeconds(5), $"took {took} after the second signal");
        var line = serve.StdErr.Split('\n').Single(l => l.Contains("second signal", StringComparison.Ordinal));
        Assert.Contains("exiting at once without finishing the drain (exit 130)", line, StringComparison.Ordinal);
        Assert.Contains("spools kept for the next start: webhook-soc: ", line, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(data, "spool"), line, StringComparison.Ordinal);
        Assert.DoesNotContain("findings this run", serve.StdErr, StringComparison.Ordinal); // the summary of a finished drain

        // What the line named is on disk, and the next start sees it.
        var spooled = Directory.GetFiles(Path.Combine(data, "spool"), "*.jsonl", SearchOption.AllDirectories);
        Assert.NotEmpty(spooled);
        var bytes = spooled.Sum(f => new FileInfo(f).Length);
        Assert.Contains($"webhook-soc: {bytes} bytes", line, StringComparison.Ordinal);
        var (statusExit, status, statusErr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("outputs", "status", "--config", config, "--json"), TimeSpan.FromSeconds(60));
        Assert.True(statusExit is 0 or 1, statusErr);
        using var row = JsonDocument.Parse(status.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single());
        Assert.True(row.RootElement.GetProperty("pending").GetInt64() >= 3, status);
    }
}
