using SecMon.Core.Findings;
using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

public sealed class FindingStoreSearchTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly FindingStore _store;
    private readonly List<Finding> _all = TestFindings.Many(400);

    public FindingStoreSearchTests()
    {
        _store = FindingStoreOpenTests.Opened(_tmp.Path, new FindingStoreOptions { BatchSize = 100 });
        // Out of time order, as several captures analysed one after the other would arrive.
        _store.Write([.. _all.Where((_, i) => i % 2 == 1)]);
        _store.Write([.. _all.Where((_, i) => i % 2 == 0)]);
    }

    public void Dispose()
    {
        _store.Dispose();
        _tmp.Dispose();
    }

    [Fact]
    public void QueryOnly_ReadsWhatTheStoreReads_AndOpensItsOwnConnectionForDevices()
    {
        _store.UpsertDevices([new SecMon.Core.Devices.Device { Id = "02-00-00-00-00-01" }]);
        using var reader = FindingStoreOpenTests.Opened(_tmp.Path, new FindingStoreOptions { CreateIfMissing = false, QueryOnly = true });

        foreach (var query in new[]
        {
            new FindingQuery { Limit = 50 },
            new FindingQuery { Text = "guessing", Limit = 13 },
            new FindingQuery { MinSeverity = (int)Severity.High, DeviceId = "02:00:00:00:00:03", Limit = 7 },
            new FindingQuery { SourceIp = "10.1.0.5", SinceMicros = _all[100].TimestampMicros, Limit = 500 },
        })
        {
            Assert.Equal(Pages(_store, query), Pages(reader, query));
            Assert.Equal(Json(_store.Stats(query)), Json(reader.Stats(query)));
        }

        var id = _all[7].Id;
        Assert.Equal(_store.Get(id)!.Json, reader.Get(id)!.Json);
        Assert.Null(reader.Get("no-such-id"));
        Assert.Equal(_store.FindByIdPrefix(id[..^1], 50).Select(f => f.Id), reader.FindByIdPrefix(id[..^1], 50).Select(f => f.Id));
        Assert.Contains(id, reader.FindByIdPrefix(id[..^1], 50).Select(f => f.Id));
        Assert.Equal(_all.Count, reader.Count());
        Assert.Equal("02-00-00-00-00-01", Assert.Single(reader.Devices()).Id);
    }

    // Every page's ids and cursor, so that paging is compared as well as the rows.
    private static List<string> Pages(FindingStore store, FindingQuery query)
    {
        var seen = new List<string>();
        for (var page = store.Search(query); ; page = store.Search(query with { After = page.NextCursor }))
        {
            seen.AddRange(page.Items.Select(f => f.Id + " " + f.TimestampMicros + " " + f.Severity + " " + f.DeviceId + " " + f.SourceIp));
            seen.Add("next " + page.NextCursor);
            if (page.NextCursor is null)
            {
                return seen;
            }
        }
    }

    private static string Json(FindingStats stats) => System.Text.Json.JsonSerializer.Serialize(stats);

    [Fact]
    public void Search_NoFilter_AllFindingsNewestFirstAcrossPages()
    {
        var ids = AllPages(new FindingQuery { Limit = 17 });

        Assert.Equal(_all.Count, ids.Count);
        Assert.Equal(_all.Select(f => f.Id).ToHashSet(), ids.ToHashSet());
        AssertNewestFirst(ids);
    }

    public static TheoryData<string, string> TextCases => new()
    {
        { "anonymous", "word in the message" },
        { "guessing", "word in the rule name or message" },
        { "GUESSING", "case-insensitive" },
        { "guess*", "prefix" },
        { "client-3", "client id from evidence, a phrase of two tokens" },
        { "user5", "user name from evidence" },
        { "plant/line2/temp", "topic" },
        { "02-00-00-00-00-04", "device id" },
        { "10.1.0.6", "source address" },
        { "guessing -success", "exclusion" },
        { "\"event number 17\"", "quoted phrase" },
        { "cleartext dev-2", "two words, both required" },
        { "nothing-matches-this", "no result" },
    };

    [Theory]
    [MemberData(nameof(TextCases))]
    public void Search_Text_MatchesTheIndependentOracle(string text, string because)
    {
        var expected = _all.Where(f => Oracle(f, text)).Select(f => f.Id).ToHashSet();
        Assert.True(expected.Count > 0 || because == "no result", $"{because}: the oracle found nothing, the case tests nothing");

        var ids = AllPages(new FindingQuery { Text = text, Limit = 23 });

        Assert.True(expected.SetEquals(ids), $"{because}: expected {expected.Count}, got {ids.Count}");
        Assert.Equal(ids.Count, ids.Distinct().Count());
        AssertNewestFirst(ids);
    }

    [Fact]
    public void Search_Filters_EachMatchesTheOracle()
    {
        var since = _all[100].TimestampMicros;
        var until = _all[250].TimestampMicros;
        var cases = new (FindingQuery Query, Func<Finding, bool> Expected)[]
        {
            (new FindingQuery { MinSeverity = (int)Severity.High }, f => f.Severity >= Severity.High),
            (new FindingQuery { MinSeverity = (int)Severity.Critical }, f => f.Severity >= Severity.Critical),
            (new FindingQuery { MinSeverity = 50 }, f => (int)f.Severity >= 50),
            (new FindingQuery { MinSeverity = (int)Severity.Low }, _ => true),
            (new FindingQuery { RuleId = "SECMON-MQTT-0001" }, f => f.RuleId == "SECMON-MQTT-0001"),
            (new FindingQuery { DeviceId = "02:00:00:00:00:03" }, f => f.DeviceId == "02-00-00-00-00-03"),
            (new FindingQuery { SourceIp = "10.1.0.5" }, f => f.SourceIp == "10.1.0.5"),
            (new FindingQuery { SinceMicros = since }, f => f.TimestampMicros >= since),
            (new FindingQuery { UntilMicros = until }, f => f.TimestampMicros <= until),
            (new FindingQuery { SinceMicros = since, UntilMicros = until }, f => f.TimestampMicros >= since && f.TimestampMicros <= until),
            (new FindingQuery { Text = "anonymous", SinceMicros = since, UntilMicros = until, MinSeverity = (int)Severity.Medium },
                f => Oracle(f, "anonymous") && f.TimestampMicros >= since && f.TimestampMicros <= until && f.Severity >= Severity.Medium),
            (new FindingQuery { DeviceId = "02-00-00-00-00-01", RuleId = "SECMON-MQTT-0003", MinSeverity = (int)Severity.High },
                f => f.DeviceId == "02-00-00-00-00-01" && f.RuleId == "SECMON-MQTT-0003"),
            (new FindingQuery { Text = "guessing", MinSeverity = (int)Severity.Critical }, f => Oracle(f, "guessing") && f.Severity >= Severity.Critical),
            (new FindingQuery { Text = "guessing", MinSeverity = (int)Severity.High }, f => Oracle(f, "guessing") && f.Severity >= Severity.High),
            (new FindingQuery { RuleId = "NO-SUCH-RULE" }, _ => false),
        };

        foreach (var (query, expected) in cases)
        {
            var want = _all.Where(expected).Select(f => f.Id).ToHashSet();
            var got = AllPages(query with { Limit = 31 });
            Assert.True(want.SetEquals(got), $"{query}: expected {want.Count}, got {got.Count}");
            AssertNewestFirst(got);
        }
    }

    [Fact]
    public void Search_Paging_FindingsAddedMeanwhileDoNotShiftPages()
    {
        var first = _store.Search(new FindingQuery { Limit = 50 });
        // Newer findings arrive while the analyst reads page 1.
        _store.Write([.. TestFindings.Many(30).Select(f => f with { Id = "new-" + f.Id, TimestampMicros = f.TimestampMicros + 10_000_000_000 })]);

        var rest = AllPages(new FindingQuery { Limit = 50, After = first.NextCursor });

        var ids = first.Items.Select(i => i.Id).Concat(rest).ToList();
        Assert.Equal(_all.Select(f => f.Id).ToHashSet(), ids.ToHashSet());
        Assert.Equal(_all.Count, ids.Count);
    }

    [Fact]
    public void Search_LastPage_HasNoCursor()
    {
        var page = _store.Search(new FindingQuery { Limit = _all.Count });

        Assert.Equal(_all.Count, page.Items.Count);
        Assert.Null(page.NextCursor);
    }

    [Theory]
    [InlineData("not-a-cursor")]
    [InlineData("AAAAAAAAAAAAAAAA")]
    [InlineData("")]
    public void Search_BadCursor_BadQuery(string cursor)
    {
        var ex = Assert.Throws<FindingStoreException>(() => _store.Search(new FindingQuery { After = cursor }));

        Assert.Equal(StoreErrorKind.BadQuery, ex.Error.Kind);
    }

    [Theory]
    [InlineData("---", null, 50)]
    [InlineData("-only", null, 50)]
    [InlineData(null, "not-an-ip", 50)]
    [InlineData(null, "10.0.0", 50)]
    [InlineData(null, "10.0.0.256", 50)]
    [InlineData(null, null, 0)]
    [InlineData(null, null, 10_001)]
    public void Search_BadInput_BadQuery(string? text, string? ip, int limit)
    {
        var ex = Assert.Throws<FindingStoreException>(() => _store.Search(new FindingQuery { Text = text, SourceIp = ip, Limit = limit }));

        Assert.Equal(StoreErrorKind.BadQuery, ex.Error.Kind);
    }

    [Fact]
    public void FindByIdPrefix_UniqueAndAmbiguousPrefixes()
    {
        Assert.Equal("f000123", Assert.Single(_store.FindByIdPrefix("f000123")).Id);
        Assert.Equal(2, _store.FindByIdPrefix("f0001").Count);
        Assert.Empty(_store.FindByIdPrefix("zzz"));
        Assert.Null(_store.Get("f0001"));
        Assert.Equal("f000001", _store.Get("f000001")!.Id);
    }

    [Fact]
    public void Stats_CountsByRuleSeverityAndDevice_MatchTheOracle()
    {
        var stats = _store.Stats();

        Assert.Equal(_all.Count, stats.Total);
        foreach (var g in _all.GroupBy(f => f.RuleId))
        {
            var row = Assert.Single(stats.ByRule, r => r.RuleId == g.Key);
            Assert.Equal(g.LongCount(), row.Count);
            Assert.Equal(g.Select(f => f.DeviceId).Distinct().LongCount(), row.Devices);
            Assert.Equal(g.Max(f => (int)f.Severity), row.Severity);
            Assert.Equal(g.First().RuleName, row.RuleName);
        }

        Assert.Equal(["critical", "high", "medium", "low"], stats.BySeverity.Select(s => s.Severity));
        Assert.Equal(_all.Count(f => f.Severity == Severity.High), stats.BySeverity.Single(s => s.Severity == "high").Count);
        Assert.Equal(7, stats.ByDevice.Count);
        Assert.Equal(_all.Count(f => f.DeviceId == "02-00-00-00-00-00"), stats.ByDevice.Single(d => d.DeviceId == "02-00-00-00-00-00").Count);
        Assert.True(stats.ByDevice.Zip(stats.ByDevice.Skip(1)).All(p => p.First.Count >= p.Second.Count));
        Assert.True(stats.ByRule.Zip(stats.ByRule.Skip(1)).All(p => p.First.Severity >= p.Second.Severity));
    }

    // A rule renamed by an update keeps its id: stats show it under the name of its newest finding, whether that name
    // sorts before or after the old one, and although the newest finding's (severity, device) group is not the first.
    [Theory]
    [InlineData("Alpha new name", "Zulu old name")]
    [InlineData("Zulu new name", "Alpha old name")]
    public void Stats_RenamedRule_ShownUnderTheNameOfItsNewestFinding(string newName, string oldName)
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path, new FindingStoreOptions());
        var findings = TestFindings.Many(40);
        var rule = findings[0].RuleId;
        var newest = findings.Where(f => f.RuleId == rule).MaxBy(f => f.TimestampMicros)!;
        store.Write([.. findings.Select(f => f.RuleId != rule ? f : f with { RuleName = f.Id == newest.Id ? newName : oldName })]);

        var stats = store.Stats();

        Assert.Equal(newName, Assert.Single(stats.ByRule, r => r.RuleId == rule).RuleName);
        Assert.Equal(findings.Count(f => f.RuleId == rule), stats.ByRule.Single(r => r.RuleId == rule).Count);
    }

    [Fact]
    public void Stats_WithFilter_CountsOnlyMatches()
    {
        var stats = _store.Stats(new FindingQuery { MinSeverity = (int)Severity.High, DeviceId = "02-00-00-00-00-02" });

        Assert.Equal(_all.Count(f => f.Severity >= Severity.High && f.DeviceId == "02-00-00-00-00-02"), stats.Total);
        Assert.All(stats.ByRule, r => Assert.True(r.Severity >= 73));
        Assert.Equal("02-00-00-00-00-02", Assert.Single(stats.ByDevice).DeviceId);
    }

    private List<string> AllPages(FindingQuery query)
    {
        var ids = new List<string>();
        var q = query;
        for (var guard = 0; guard < 1000; guard++)
        {
            var page = _store.Search(q);
            Assert.True(page.Items.Count <= q.Limit);
            ids.AddRange(page.Items.Select(i => i.Id));
            if (page.NextCursor is null)
            {
                return ids;
            }

            Assert.Equal(q.Limit, page.Items.Count);
            q = q with { After = page.NextCursor };
        }

        throw new InvalidOperationException("paging did not end");
    }

    private void AssertNewestFirst(List<string> ids)
    {
        var byId = _all.ToDictionary(f => f.Id, f => f.TimestampMicros);
        var ts = ids.Select(id => byId[id]).ToList();
        Assert.True(ts.Zip(ts.Skip(1)).All(p => p.First >= p.Second), "not newest first");
    }

    // The test's own reading of the search language: each word is a case-insensitive substring of the fields the
    // store indexes (message, rule name/id, client id, user, topic, device id, addresses); -word excludes.
    private static bool Oracle(Finding f, string text)
    {
        var hay = string.Join(" | ", new[]
        {
            f.Message, f.RuleName, f.RuleId, f.DeviceId, f.SourceIp, f.DestinationIp,
            (string)f.Evidence["mqtt.client_id"], (string)f.Evidence["mqtt.username"], (string)f.Evidence["mqtt.topic"],
        });
        var words = text.StartsWith('"') ? [text.Trim('"')] : text.Split(' ');
        foreach (var w in words)
        {
            if (w.StartsWith('-'))
            {
                if (ContainsWord(hay, w[1..]))
                {
                    return false;
                }
            }
            else if (w.EndsWith('*'))
            {
                if (!hay.Split(' ', '(', ')').Any(t => t.StartsWith(w.TrimEnd('*'), StringComparison.OrdinalIgnoreCase)))
                {
                    return false;
                }
            }
            else if (!ContainsWord(hay, w))
            {
                return false;
            }
        }

        return true;
    }

    // Whole-token containment: "client-3" must not match "client-30", "dev-2" not "dev-20".
    private static bool ContainsWord(string hay, string word)
    {
        var i = 0;
        while ((i = hay.IndexOf(word, i, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            var before = i == 0 || !char.IsLetterOrDigit(hay[i - 1]);
            var after = i + word.Length == hay.Length || !char.IsLetterOrDigit(hay[i + word.Length]);
            if (before && after)
            {
                return true;
            }

            i++;
        }

        return false;
    }
}
