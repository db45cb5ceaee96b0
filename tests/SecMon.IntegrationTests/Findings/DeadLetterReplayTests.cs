using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;
using SecMon.Testing.FakeElasticsearch;

namespace SecMon.IntegrationTests.Findings;

/// <summary>
/// <c>secmon outputs list-dead|replay</c> as a user meets them: Elasticsearch refuses one document (a mapping error), the
/// run keeps it in the dead letters with the reason; after the fix it is moved back into the spool and <c>secmon outputs
/// flush</c> delivers it, so the cluster ends with every finding once.
/// </summary>
public sealed class DeadLetterReplayTests : IDisposable
{
    private const string Stream = "logs-secmon.alert-default";
    private readonly TempDirectory _tmp = new("secmon-it-replay-");

    public void Dispose() => _tmp.Dispose();

    [FakeElasticsearchFact]
    public async Task ElasticsearchRefusedADocument_ListedThenReplayedThenFlushed_EveryFindingInTheClusterOnce()
    {
        using var fake = FakeElasticsearch.Start(RestApiSpec.Shipped!);
        fake.RejectNextItems(1, status: 400);
        var config = _tmp.File("secmon.yml");
        await File.WriteAllTextAsync(config, $"""
            outputs:
              elasticsearch:
                nodes: [{fake.Url}]
                retry_delay: 20ms
            """);
        var data = _tmp.File("data");
        var samples = Directory.GetFiles(RepoPaths.Samples, "*.pcap*").Order(StringComparer.Ordinal).ToArray();

        var (code, _, stderr) = await Secmon(["analyze", .. samples, "--config", config, "--data", data]);
        Assert.True(code == 73, $"exit {code}: {stderr}");
        Assert.Contains("refused for good", stderr, StringComparison.Ordinal);
        var stored = fake.Count(Stream);
        Assert.True(stored > 0, stderr);

        (code, var stdout, stderr) = await Secmon("outputs", "list-dead", "--output", "elasticsearch", "--json", "--data", data);
        Assert.True(code == 0, stderr);
        var line = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        string refusedId;
        using (var doc = JsonDocument.Parse(line))
        {
            Assert.Equal("elasticsearch", doc.RootElement.GetProperty("output").GetString());
            Assert.Contains("document_parsing_exception", doc.RootElement.GetProperty("dead_letter.reason").GetString(), StringComparison.Ordinal);
            refusedId = doc.RootElement.GetProperty("finding").GetProperty("event").GetProperty("id").GetString()!;
        }

        Assert.DoesNotContain(fake.Documents(Stream), d => d.Id == refusedId);

        (code, stdout, stderr) = await Secmon("outputs", "replay", "--output", "elasticsearch", "--data", data);
        Assert.True(code == 0, stderr);
        Assert.Contains("elasticsearch: 1 finding back in", stdout, StringComparison.Ordinal);

        (code, _, stderr) = await Secmon("outputs", "flush", "--config", config, "--data", data);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal(stored + 1, fake.Count(Stream));
        Assert.Single(fake.Documents(Stream), d => d.Id == refusedId);

        (code, stdout, stderr) = await Secmon("outputs", "list-dead", "--data", data);
        Assert.True(code == 0, stderr);
        Assert.Contains("No dead letters", stdout, StringComparison.Ordinal);

        // A name that has no spool: said, with the ones there are.
        (code, _, stderr) = await Secmon("outputs", "replay", "--output", "nope", "--data", data);
        Assert.Equal(66, code);
        Assert.Contains("known: elasticsearch", stderr, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string StdOut, string StdErr)> Secmon(params string[] args) =>
        Tools.RunAsync("dotnet", [RepoPaths.SecMonDll, .. args], TimeSpan.FromSeconds(120));
}
