using Microsoft.Data.Sqlite;
using SecMon.Core.Findings;
using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

/// <summary>
/// Stats without free text, source address, sensor or time range come from the counts the store's triggers keep
/// (finding_counts, schema v7); with a time range from 0 (every finding) they come from the findings themselves. The two
/// must agree after every kind of write: new findings, findings stored again, findings about no device, a prune.
/// </summary>
public sealed class FindingCountsTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly FindingStore _store;
    private readonly List<Finding> _all;

    public FindingCountsTests()
    {
        _all = [.. TestFindings.Many(600, devices: 9),
            .. Enumerable.Range(0, 5).Select(i => TestFindings.Minimal() with { Id = $"nodevice-{i}", TimestampMicros = TestFindings.Base + (i * 7_000_000L) })];
        _store = FindingStoreOpenTests.Opened(_tmp.Path, new FindingStoreOptions { BatchSize = 100 });
        _store.Write([.. _all.Where((_, i) => i % 2 == 1)]); // out of time order, as captures analysed one after another
        _store.Write([.. _all.Where((_, i) => i % 2 == 0)]);
    }

    public void Dispose()
    {
        _store.Dispose();
        _tmp.Dispose();
    }

    public static TheoryData<string?, string?, int?> Filters => new()
    {
        { null, null, null },
        { "SECMON-MQTT-0002", null, null },
        { null, "02-00-00-00-00-03", null },
        { null, "02:00:00:00:00:03", null }, // a device id as users type it
        { null, null, (int)Severity.High },
        { "SECMON-MQTT-0003", "02-00-00-00-00-05", (int)Severity.Medium },
        { "SECMON-MQTT-9999", null, null }, // no such rule: empty
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public void Stats_FromTheCounts_EqualTheFindingsCounted(string? rule, string? device, int? minSeverity)
    {
        var query = new FindingQuery { RuleId = rule, DeviceId = device, MinSeverity = minSeverity };

        AssertCountsAgree(query);
    }

    [Fact]
    public void Counts_FindingsStoredAgain_CountedOnce_PruneTakesThemOff()
    {
        _store.Write(_all); // every finding a second time (an analysis run again): stored once
        Assert.Equal(_all.Count, _store.Stats().Total);
        AssertCountsAgree(new FindingQuery());

        var middle = _all.OrderBy(f => f.TimestampMicros).ElementAt(_all.Count / 2).TimestampMicros;
        var pruned = _store.Prune(middle);
        Assert.True(pruned > 0);
        Assert.Equal(_all.Count - pruned, _store.Stats().Total);
        AssertCountsAgree(new FindingQuery());
        AssertCountsAgree(new FindingQuery { DeviceId = "02-00-00-00-00-04" });

        _store.Prune(long.MaxValue);
        Assert.Equal(0, _store.Stats().Total);
        using var c = new SqliteConnection($"Data Source={_store.DatabasePath};Pooling=False");
        c.Open();
        Assert.Equal(0L, Convert.ToInt64(new SqliteCommand("SELECT count(*) FROM finding_counts", c).ExecuteScalar()));
    }

    [Fact]
    public void DeviceFindingStats_FromTheCounts_EveryDeviceWithFindings_CountAndHighestSeverity_AfterPrune()
    {
        AssertDeviceStats(_all);

        var middle = _all.OrderBy(f => f.TimestampMicros).ElementAt(_all.Count / 3).TimestampMicros;
        _store.Prune(middle);
        AssertDeviceStats([.. _all.Where(f => f.TimestampMicros >= middle)]);
    }

    private void AssertDeviceStats(List<Finding> stored)
    {
        var expected = stored.Where(f => f.DeviceId is not null).GroupBy(f => f.DeviceId!)
            .ToDictionary(g => g.Key, g => (g.LongCount(), g.Max(f => (int)f.Severity)));
        var actual = _store.DeviceFindingStats();
        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), actual.OrderBy(e => e.Key, StringComparer.Ordinal));
    }

    private void AssertCountsAgree(FindingQuery query)
    {
        var counted = _store.Stats(query, maxDevices: 1000);
        var scanned = _store.Stats(query with { SinceMicros = 0 }, maxDevices: 1000); // a time range: read from the findings
        Assert.Equal(Json(scanned), Json(counted));
    }

    private static string Json(FindingStats stats) => System.Text.Json.JsonSerializer.Serialize(stats);
}
