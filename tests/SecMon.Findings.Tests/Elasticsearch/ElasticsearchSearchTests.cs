using SecMon.Findings.Elasticsearch;
using SecMon.Findings.Store;

using SecMon.Testing.FakeElasticsearch;

namespace SecMon.Findings.Tests.Elasticsearch;

/// <summary>Findings search on the fake cluster: the same results and paging as the SQLite store.</summary>
public sealed class ElasticsearchSearchTests : IDisposable
{
    private readonly EsTarget? _target = EsTarget.StartFake(out _);

    public void Dispose() => _target?.Dispose();

    [FakeElasticsearchFact]
    public void Search_SameFindingsInSqliteAndElasticsearch_SameResultsPagesAndCounts()
    {
        using var parity = new SearchParity(_target!);
        parity.AssertSameEverywhere();
        Assert.Contains(_target!.Fake!.Requests, r => r.Api == "search" && r.Method == "POST");
    }

    [FakeElasticsearchFact]
    public void Search_BadCursorOrText_BadQueryLikeSqlite()
    {
        using var parity = new SearchParity(_target!);

        var cursor = Assert.Throws<FindingStoreException>(() => parity.Elastic.Search(new FindingQuery { After = "!!not-a-cursor" }));
        var ip = Assert.Throws<FindingStoreException>(() => parity.Elastic.Search(new FindingQuery { SourceIp = "10.0.0" }));

        Assert.Equal(StoreErrorKind.BadQuery, cursor.Error.Kind);
        Assert.Equal(StoreErrorKind.BadQuery, ip.Error.Kind);
        Assert.Contains("not an IP address", ip.Message, StringComparison.Ordinal);
    }

    [FakeElasticsearchFact]
    public void Search_ClusterDown_ErrorSaysWhereAndWhatToCheck()
    {
        using var reader = new ElasticsearchFindingReader(_target!.Options with { Nodes = [new Uri("http://127.0.0.1:9")] });

        var ex = Assert.Throws<FindingStoreException>(() => reader.Search(new FindingQuery()));

        Assert.Equal(StoreErrorKind.Io, ex.Error.Kind);
        Assert.Contains("127.0.0.1:9", ex.Message, StringComparison.Ordinal);
        Assert.Contains("outputs.elasticsearch.nodes", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>The same scenarios against a real Elasticsearch 9 cluster (<c>SECMON_TEST_ES_URL</c>); skipped without one.</summary>
public sealed class ElasticsearchRealClusterTests
{
    [RealClusterFact]
    public void Write_FirstTime_TemplateInstalledAbovePriority100()
    {
        using var target = EsTarget.Real();
        SinkScenarios.TemplateInstalled_DataStreamTemplateAbovePriority100_WithGeneratedMappings(target);
    }

    [RealClusterFact]
    public void Write_Findings_StoredUnderEventIdAsFindingJson()
    {
        using var target = EsTarget.Real();
        SinkScenarios.BulkCreate_StoresEachFindingUnderItsEventId_AsFindingJsonWroteIt(target);
    }

    [RealClusterFact]
    public void Write_SameFindingsAgain_NothingStoredTwice()
    {
        using var target = EsTarget.Real();
        SinkScenarios.SameFindingsAgain_NothingStoredTwice_CountedAsDeliveredNotNew(target);
    }

    [RealClusterFact]
    public void Write_MappingError_DeadLetteredRestDelivered()
    {
        using var target = EsTarget.Real();
        using var tmp = new TempDir();
        SinkScenarios.MappingError_DeadLetteredWithTheReason_TheRestOfTheBatchDelivered(target, tmp);
    }

    [RealClusterFact]
    public void Search_SameFindingsInSqliteAndElasticsearch_SameResultsPagesAndCounts()
    {
        using var target = EsTarget.Real();
        using var parity = new SearchParity(target);
        parity.AssertSameEverywhere();
    }
}
