using System.Diagnostics;
using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;
using SecMon.Testing.FakeElasticsearch;

namespace SecMon.IntegrationTests.Findings;

/// <summary>
/// The real <c>secmon</c> process with <c>outputs.elasticsearch</c>, killed with SIGKILL while a slow cluster holds
/// the answer to a <c>_bulk</c> whose documents it already stored, then run again: every finding of the SQLite store
/// is in the data stream once, under <c>_id = event.id</c> (the repeat sent after the restart is answered 409).
/// </summary>
public sealed class ElasticsearchKillTests : IDisposable
{
    private readonly TempDirectory _tmp = new("secmon-it-es-kill-");

    public void Dispose() => _tmp.Dispose();

    [FakeElasticsearchFact]
    public async Task Analyze_KilledWhileABulkAnswerIsPendingThenRunAgain_EveryFindingStoredOnceUnderItsEventId()
    {
        using var fake = FakeElasticsearch.Start(RestApiSpec.Shipped!);
        fake.BulkDelay = TimeSpan.FromSeconds(2);
        var config = _tmp.File("secmon.yml");
        await File.WriteAllTextAsync(config, $"""
            outputs:
              elasticsearch:
                nodes: [{fake.Url}]
                batch_size: 2
                retry_delay: 20ms
            """);
        var data = _tmp.File("data");
        var samples = Directory.GetFiles(RepoPaths.Samples, "*.pcap*").Order(StringComparer.Ordinal).ToArray();
        string[] analyze = ["analyze", .. samples, "--config", config, "--data", data];
        const string stream = "logs-secmon.alert-default";

        // First run: killed once the cluster stored documents whose _bulk answer is still held back.
        using (var first = Start(analyze))
        {
            var waited = Stopwatch.StartNew();
            while (fake.Count(stream) < 2 && !first.HasExited && waited.Elapsed < TimeSpan.FromSeconds(90))
            {
                await Task.Delay(20);
            }

            Assert.False(first.HasExited, "secmon finished before it could be killed: " + await first.StandardError.ReadToEndAsync());
            first.Kill();
            await first.WaitForExitAsync();
        }

        var beforeRestart = fake.Count(stream);
        Assert.InRange(beforeRestart, 2, 1000);

        // Second run, the cluster prompt again: what the spool kept goes first, then this run's findings.
        fake.BulkDelay = TimeSpan.Zero;
        using (var second = Start(analyze))
        {
            var stderr = second.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await second.WaitForExitAsync(cts.Token);
            Assert.True(second.ExitCode is 0 or 65, $"exit {second.ExitCode}: {await stderr}");
        }

        var (code, stdout, stderrSearch) = await Tools.RunAsync("dotnet",
            [RepoPaths.SecMonDll, "findings", "search", "--json", "--limit", "10000", "--data", data], TimeSpan.FromSeconds(60));
        Assert.True(code == 0, stderrSearch);
        var stored = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(EventId).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(stored);

        var documents = fake.Documents(stream);
        Assert.All(documents, d => Assert.Equal(d.Id, d.Source.RootElement.GetProperty("event").GetProperty("id").GetString()));
        Assert.Equal(stored, documents.Select(d => d.Id).Order(StringComparer.Ordinal));
        Assert.True(fake.Conflicts > 0, "no repeat reached the cluster, although both runs send the same findings: a repeat must be answered 409, not stored again");
        Assert.Empty(fake.Violations);
    }

    private static string EventId(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.GetProperty("event").GetProperty("id").GetString()!;
    }

    private static Process Start(string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [RepoPaths.SecMonDll, .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath(),
        };
        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync(); // drained so that the child never blocks on a full pipe
        return process;
    }
}
