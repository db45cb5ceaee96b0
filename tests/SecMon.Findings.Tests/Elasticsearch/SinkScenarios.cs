using System.Text.Json;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Elasticsearch;
using SecMon.Findings.Spool;
using SecMon.Findings.Store;
using SecMon.Testing;
using HttpMethod = Elastic.Transport.HttpMethod;

namespace SecMon.Findings.Tests.Elasticsearch;

/// <summary>What the Elasticsearch output must do on any cluster: run against the fake always and against a real
/// cluster when one is configured.</summary>
internal static class SinkScenarios
{
    public static void TemplateInstalled_DataStreamTemplateAbovePriority100_WithGeneratedMappings(EsTarget target)
    {
        using var sink = new ElasticsearchSink(target.Options);
        var result = sink.Write([TestFindings.Full()], CancellationToken.None);
        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(1, result.Stored);

        using var connection = new ElasticsearchConnection(target.Options);
        var got = connection.Send(HttpMethod.GET, "/_index_template/" + target.Options.TemplateName, null, CancellationToken.None);
        Assert.True(got.Ok, got.Describe());
        using var doc = JsonDocument.Parse(got.Body);
        var template = doc.RootElement.GetProperty("index_templates")[0].GetProperty("index_template");
        Assert.Equal(target.Options.IndexPattern, template.GetProperty("index_patterns")[0].GetString());
        Assert.True(template.GetProperty("priority").GetInt64() > 100, "the template must win over the built-in logs template (100)");
        Assert.True(template.TryGetProperty("data_stream", out _), "a data stream template");
        Assert.Contains(IndexTemplate.ComponentName(target.Options), template.GetProperty("composed_of").EnumerateArray().Select(e => e.GetString()));
    }

    public static void BulkCreate_StoresEachFindingUnderItsEventId_AsFindingJsonWroteIt(EsTarget target)
    {
        var findings = TestFindings.Many(50);
        using var sink = new ElasticsearchSink(target.Options);

        var result = sink.Write(findings, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(50, result.Stored);
        Assert.Empty(result.Rejected);
        target.Refresh();
        using var reader = new ElasticsearchFindingReader(target.Options);
        var page = reader.Search(new FindingQuery { Limit = 100 });
        Assert.Equal(findings.Select(f => f.Id).Order(StringComparer.Ordinal), page.Items.Select(i => i.Id).Order(StringComparer.Ordinal));
        foreach (var item in page.Items)
        {
            // The stored document is FindingJson's, with the time Elasticsearch received it (event.ingested) added.
            Assert.True(EcsDocuments.HasIngested(item.Json), item.Json);
            Assert.Equal(EcsDocuments.WithoutIngested(FindingJson.Write(findings.Single(f => f.Id == item.Id))), EcsDocuments.WithoutIngested(item.Json));
        }
    }

    public static void SameFindingsAgain_NothingStoredTwice_CountedAsDeliveredNotNew(EsTarget target)
    {
        var findings = TestFindings.Many(30);
        using var sink = new ElasticsearchSink(target.Options);
        Assert.Equal(30, sink.Write(findings, CancellationToken.None).Stored);

        // A restart delivers a batch again (at least once), with new findings in it.
        var again = sink.Write([.. findings.Take(20), .. TestFindings.Many(35).Skip(30)], CancellationToken.None);

        Assert.True(again.Succeeded, again.Error);
        Assert.Equal(5, again.Stored);
        target.Refresh();
        using var reader = new ElasticsearchFindingReader(target.Options);
        Assert.Equal(35, reader.Search(new FindingQuery { Limit = 100 }).Items.Count);
    }

    public static void MappingError_DeadLetteredWithTheReason_TheRestOfTheBatchDelivered(EsTarget target, TempDir tmp)
    {
        var findings = TestFindings.Many(5);
        findings[2] = findings[2] with { SourceIp = "not-an-address" };
        using var spool = FindingSpool.Open(tmp.Sub("spool-es"));
        var sink = new ElasticsearchSink(target.Options);
        using (var spooled = new SpooledSink(sink, spool, new SpoolDelivery { RetryDelay = TimeSpan.FromMilliseconds(20) }))
        {
            Assert.True(spooled.Write(findings, CancellationToken.None).Succeeded);
            spooled.Complete(CancellationToken.None);
            Assert.Equal(4, spooled.Delivered);
            Assert.Equal(1, spooled.DeadLettered);
        }

        sink.Dispose();
        var dead = File.ReadAllLines(Path.Combine(tmp.Sub("spool-es"), "dead-letters.jsonl"));
        var line = Assert.Single(dead);
        using var doc = JsonDocument.Parse(line);
        var reason = doc.RootElement.GetProperty("dead_letter.reason").GetString()!;
        Assert.Contains("400", reason, StringComparison.Ordinal);
        Assert.Contains("source.ip", reason, StringComparison.Ordinal);
        Assert.Equal(findings[2].Id, doc.RootElement.GetProperty("finding").GetProperty("event").GetProperty("id").GetString());
        target.Refresh();
        using var reader = new ElasticsearchFindingReader(target.Options);
        Assert.Equal(findings.Where((_, i) => i != 2).Select(f => f.Id).Order(StringComparer.Ordinal),
            reader.Search(new FindingQuery { Limit = 10 }).Items.Select(i => i.Id).Order(StringComparer.Ordinal));
    }
}
