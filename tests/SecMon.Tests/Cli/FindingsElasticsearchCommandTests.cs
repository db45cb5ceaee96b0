using System.Text.Json;
using SecMon.Cli;
using SecMon.Core;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Elasticsearch;
using SecMon.Testing;
using SecMon.Testing.FakeElasticsearch;

namespace SecMon.Tests.Cli;

/// <summary><c>secmon findings search|show|stats --config FILE</c> with <c>store: elasticsearch</c>: read the cluster
/// (the fake) instead of the data directory.</summary>
public sealed class FindingsElasticsearchCommandTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-es-").FullName;
    private readonly FakeElasticsearch? _fake = FakeElasticsearch.TryStart(out _);
    private readonly List<Finding> _findings = [];
    private string _config = "";

    public void Dispose()
    {
        if (_fake is not null)
        {
            Assert.Empty(_fake.Violations);
            _fake.Dispose();
        }

        Directory.Delete(_tmp, recursive: true);
    }

    private void Populate()
    {
        var now = Time.ToUnixMicros(DateTimeOffset.UtcNow);
        for (var i = 0; i < 12; i++)
        {
            _findings.Add(new Finding
            {
                Id = $"{i:x2}c0ffee{i:x2}deadbeef",
                TimestampMicros = now - ((i + 1) * 60_000_000L),
                RuleId = i % 2 == 0 ? "SECMON-MQTT-0001" : "SECMON-MQTT-0002",
                RuleName = i % 2 == 0 ? "MQTT anonymous login accepted" : "MQTT password guessing",
                Severity = i % 2 == 0 ? Severity.Medium : Severity.High,
                Message = $"Device dev-{i % 3} did thing {i}",
                DeviceId = $"02-00-00-00-00-0{i % 3}",
                SourceIp = $"10.9.0.{i % 3}",
                ObserverName = i < 4 ? "gw-hall-3" : "gw-hall-4",
            });
        }

        var options = new ElasticsearchOptions { Nodes = [_fake!.Url] };
        using (var sink = new ElasticsearchSink(options))
        {
            Assert.True(sink.Write(_findings, CancellationToken.None).Succeeded);
        }

        _config = Path.Combine(_tmp, "secmon.yml");
        File.WriteAllText(_config, $"""
            store: elasticsearch
            data: {Path.Combine(_tmp, "no-such-data")}
            outputs:
              elasticsearch:
                nodes: [{_fake.Url}]
            """);
    }

    [FakeElasticsearchFact]
    public async Task Search_StoreElasticsearch_ReadsTheClusterNewestFirst()
    {
        Populate();

        var (code, stdout, stderr) = await SecMonRun.Run("findings", "search", "--json", "--limit", "5", "--config", _config);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(_findings.Take(5).Select(f => EcsDocuments.WithoutIngested(FindingJson.Write(f))), SecMonRun.Lines(stdout).Select(EcsDocuments.WithoutIngested));
        Assert.Contains("next page: --after ", stderr, StringComparison.Ordinal);
        var cursor = stderr.Trim().Split(' ')[^1];
        var (code2, stdout2, _) = await SecMonRun.Run("findings", "search", "--json", "--limit", "5", "--after", cursor, "--config", _config);
        Assert.Equal(ExitCodes.Ok, code2);
        Assert.Equal(_findings.Skip(5).Take(5).Select(f => f.Id), SecMonRun.Lines(stdout2).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event").GetProperty("id").GetString()));
    }

    [FakeElasticsearchFact]
    public async Task Search_BySensor_OnlyThatSensorsFindings()
    {
        Populate();

        var (code, stdout, _) = await SecMonRun.Run("findings", "search", "--json", "--sensor", "gw-hall-3", "--config", _config);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(_findings.Where(f => f.ObserverName == "gw-hall-3").Select(f => f.Id),
            SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event").GetProperty("id").GetString()));
    }

    [FakeElasticsearchFact]
    public async Task ShowAndStats_StoreElasticsearch_ReadTheCluster()
    {
        Populate();

        var (showCode, shown, _) = await SecMonRun.Run("findings", "show", _findings[3].Id[..8], "--json", "--config", _config);
        var (statsCode, stats, _) = await SecMonRun.Run("findings", "stats", "--json", "--config", _config);
        var (missingCode, _, missing) = await SecMonRun.Run("findings", "show", "ffffffffffff", "--config", _config);

        Assert.Equal(ExitCodes.Ok, showCode);
        Assert.Equal(EcsDocuments.WithoutIngested(FindingJson.Write(_findings[3])), EcsDocuments.WithoutIngested(shown.Trim()));
        Assert.Equal(ExitCodes.Ok, statsCode);
        var rules = SecMonRun.Lines(stats).Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("by").GetString() == "rule").ToList();
        Assert.Equal(2, rules.Count);
        Assert.Equal(6, rules[0].GetProperty("count").GetInt64());
        Assert.Equal(ExitCodes.NoInput, missingCode);
        Assert.Contains("data stream logs-secmon.alert-default", missing, StringComparison.Ordinal);
    }

    [FakeElasticsearchFact]
    public async Task Search_ConfigWithErrors_Exit78NothingSearched()
    {
        var config = Path.Combine(_tmp, "bad.yml");
        File.WriteAllText(config, "store: elasticsearch\noutputs:\n  elasticsearch:\n    nodes: [http://127.0.0.1:9200]\n    data_stream: secmon-alerts\n");

        var (code, stdout, _) = await SecMonRun.Run("findings", "search", "--config", config);

        // The located errors go to the process's stderr (ConfigOption.Report; the binding tests check their lines).
        Assert.Equal(78, code);
        Assert.Empty(stdout);
    }

    [FakeElasticsearchFact]
    public async Task Search_ClusterDown_OneLineSayingWhereAndExit66()
    {
        var config = Path.Combine(_tmp, "down.yml");
        File.WriteAllText(config, "store: elasticsearch\noutputs:\n  elasticsearch:\n    nodes: [http://127.0.0.1:9]\n");

        var (code, _, stderr) = await SecMonRun.Run("findings", "search", "--config", config);

        Assert.NotEqual(ExitCodes.Ok, code);
        Assert.Contains("127.0.0.1:9", stderr, StringComparison.Ordinal);
    }
}
