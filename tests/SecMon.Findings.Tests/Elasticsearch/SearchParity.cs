using System.Text.Json;
using SecMon.Core.Findings;
using SecMon.Findings.Elasticsearch;
using SecMon.Findings.Store;
using SecMon.Testing;

namespace SecMon.Findings.Tests.Elasticsearch;

/// <summary>The same findings in the SQLite store and in Elasticsearch: every query gives the same findings, in the
/// same order, page by page.</summary>
internal sealed class SearchParity : IDisposable
{
    private readonly TempDir _tmp = new();

    public SearchParity(EsTarget target)
    {
        // Whole milliseconds apart (Elasticsearch's date type keeps milliseconds), two sensors, every field filtered on.
        // The first rule's older half under an earlier name that sorts after its current one (a rule renamed by an
        // update): both stores show the rule under the name of its newest finding.
        Findings = [.. TestFindings.Many(90).Select((f, i) => f with
        {
            TimestampMicros = TestFindings.Base + (i * 1_000_000L) + ((i % 3) * 1000L),
            ObserverName = i % 4 == 0 ? "sensor-b" : "sensor-a",
            RuleName = i < 45 && i % 4 == 0 ? "Zulu: the rule's earlier name" : f.RuleName,
        })];
        Sqlite = FindingStore.Open(_tmp.Path).Store!;
        Sqlite.Write(Findings);
        using (var sink = new ElasticsearchSink(target.Options))
        {
            var written = sink.Write(Findings, CancellationToken.None);
            Assert.True(written.Succeeded, written.Error);
        }

        target.Refresh();
        Elastic = new ElasticsearchFindingReader(target.Options);
    }

    public List<Finding> Findings { get; }

    public FindingStore Sqlite { get; }

    public ElasticsearchFindingReader Elastic { get; }

    public static IEnumerable<(string What, FindingQuery Query)> Queries()
    {
        var b = TestFindings.Base;
        yield return ("everything", new FindingQuery { Limit = 7 });
        yield return ("a word", new FindingQuery { Text = "guessing", Limit = 5 });
        yield return ("two words", new FindingQuery { Text = "anonymous dev-3", Limit = 4 });
        yield return ("a prefix", new FindingQuery { Text = "guess*", Limit = 9 });
        yield return ("an exclusion", new FindingQuery { Text = "event -cleartext", Limit = 11 });
        yield return ("a phrase", new FindingQuery { Text = "\"event number 42\"", Limit = 3 });
        yield return ("a client id", new FindingQuery { Text = "client-2", Limit = 10 });
        yield return ("rule", new FindingQuery { RuleId = "SECMON-MQTT-0003", Limit = 6 });
        yield return ("device in colon notation", new FindingQuery { DeviceId = "02:00:00:00:00:04", Limit = 4 });
        yield return ("source ip", new FindingQuery { SourceIp = "10.1.0.5", Limit = 5 });
        yield return ("severity", new FindingQuery { MinSeverity = (int)Severity.High, Limit = 8 });
        yield return ("time range", new FindingQuery { SinceMicros = b + 10_000_000, UntilMicros = b + 40_002_000, Limit = 6 });
        yield return ("sensor", new FindingQuery { Sensor = "sensor-b", Limit = 5 });
        yield return ("all together", new FindingQuery { Text = "event", MinSeverity = (int)Severity.Medium, Sensor = "sensor-a", SinceMicros = b + 5_000_000, Limit = 4 });
    }

    /// <summary>Each page's ids, and whether a next page was announced, until the last page.</summary>
    public static List<(List<string> Ids, bool More)> Pages(IFindingReader reader, FindingQuery query)
    {
        var pages = new List<(List<string>, bool)>();
        string? after = null;
        do
        {
            var page = reader.Search(query with { After = after });
            pages.Add(([.. page.Items.Select(i => i.Id)], page.NextCursor is not null));
            after = page.NextCursor;
            Assert.True(pages.Count < 100, "paging does not end");
        }
        while (after is not null);

        return pages;
    }

    public static string Json(FindingStats stats) => JsonSerializer.Serialize(stats);

    public void Dispose()
    {
        Sqlite.Dispose();
        Elastic.Dispose();
        _tmp.Dispose();
    }

    public void AssertSameEverywhere()
    {
        foreach (var (what, query) in Queries())
        {
            var sqlite = Pages(Sqlite, query);
            var elastic = Pages(Elastic, query);
            Assert.True(sqlite.SelectMany(p => p.Ids).Any(), $"{what}: the query matches nothing in SQLite (the test would prove nothing)");
            Assert.True(sqlite.Count == elastic.Count && sqlite.Zip(elastic).All(p => p.First.Ids.SequenceEqual(p.Second.Ids) && p.First.More == p.Second.More),
                $"{what}: SQLite pages [{string.Join(" | ", sqlite.Select(p => string.Join(",", p.Ids)))}] but Elasticsearch pages [{string.Join(" | ", elastic.Select(p => string.Join(",", p.Ids)))}]");
            Assert.Equal(Json(Sqlite.Stats(query, 3)), Json(Elastic.Stats(query, 3)));
        }

        var one = Findings[17];
        var (inSqlite, inElastic) = (Sqlite.Get(one.Id)!, Elastic.Get(one.Id)!);
        Assert.Equal(EcsDocuments.WithoutIngested(inSqlite.Json), EcsDocuments.WithoutIngested(inElastic.Json));
        Assert.Equal(inSqlite with { Json = "" }, inElastic with { Json = "" });
        Assert.Null(Elastic.Get("no-such-id"));
        Assert.Equal(Sqlite.FindByIdPrefix("f0000", 5).Select(f => f.Id), Elastic.FindByIdPrefix("f0000", 5).Select(f => f.Id));
        Assert.Equal(Json(Sqlite.Stats()), Json(Elastic.Stats()));
    }
}
