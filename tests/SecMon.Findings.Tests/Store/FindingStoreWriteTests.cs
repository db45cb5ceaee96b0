using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

public sealed class FindingStoreWriteTests
{
    [Fact]
    public void Write_SameFindingTwice_StoredOnce()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var f = TestFindings.Full();

        Assert.Equal(1, store.Write([f]));
        Assert.Equal(0, store.Write([f]));
        Assert.Equal(0, store.Write([f, f]));
        Assert.Equal(1, store.Count());
    }

    [Fact]
    public void Write_NonAsciiAndLoneSurrogateValues_FoundByTheSameStrings()
    {
        // Values off the wire may hold any text, lone surrogates included: the columns and the indexed text must
        // hold what a query with the same string looks for. UTF-8 cannot hold a lone surrogate: it is stored as
        // U+FFFD, as the ECS document has it (JsonStrings.Clean) and as a query parameter is encoded.
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var lone = TestFindings.Full() with { Id = "id-\uD800-lone", DeviceId = "capteur-\uD800-cuisine", RuleName = "Règle \uDC00 spéciale" };
        var accented = TestFindings.Minimal() with { Id = "id-é", DeviceId = "Küche-Sensor-7", Message = "Gerät Küche-Sensor-7 hat sich angemeldet" };

        Assert.Equal(2, store.Write([lone, accented]));

        Assert.Equal("id-\uFFFD-lone", store.Get("id-\uD800-lone")?.Id);
        Assert.Equal("Küche-Sensor-7", store.Get("id-é")?.DeviceId);
        Assert.Equal("capteur-\uFFFD-cuisine", Assert.Single(store.Search(new FindingQuery { DeviceId = "capteur-\uD800-cuisine" }).Items).DeviceId);
        Assert.Equal("id-é", Assert.Single(store.Search(new FindingQuery { DeviceId = "Küche-Sensor-7" }).Items).Id);
        Assert.Equal("id-é", Assert.Single(store.Search(new FindingQuery { Text = "kuche-sensor-7" }).Items).Id);
        Assert.Equal("id-\uFFFD-lone", Assert.Single(store.Search(new FindingQuery { Text = "spéciale" }).Items).Id);
    }

    [Fact]
    public void Write_SurrogatePairAtTextBuilderChunkBoundary_FoundByItsWord()
    {
        // The indexed text is built in a StringBuilder of 512 characters: a longer text continues in a second chunk,
        // here splitting the surrogate pair of U+2000B (a CJK letter) between the chunks. The pair must still be
        // encoded as one character, so its word is indexed.
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var message = new string('a', 510) + " \U0002000Bwort end";
        Assert.True(char.IsHighSurrogate(message[511]));
        store.Write([TestFindings.Minimal() with { Message = message }]);

        Assert.Single(store.Search(new FindingQuery { Text = "\U0002000Bwort" }).Items);
    }

    [Fact]
    public void Write_DuplicateInsideOneBatch_StoredOnce()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var f = TestFindings.Full();

        Assert.Equal(2, store.Write([f, TestFindings.Minimal(), f]));
        Assert.Equal(2, store.Count());
    }

    [Fact]
    public void Write_SameIdAtAnotherTime_StillOneDocument()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var f = TestFindings.Full();

        store.Write([f]);
        Assert.Equal(0, store.Write([f with { TimestampMicros = f.TimestampMicros + 5_000_000 }]));

        Assert.Equal(f.TimestampMicros, store.Get(f.Id)!.TimestampMicros);
    }

    [Fact]
    public void Write_AnalysingTheSameSetAgain_StoresNothingNew()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path, new FindingStoreOptions { BatchSize = 64 });
        var findings = TestFindings.Many(1000);

        Assert.Equal(1000, store.Write(findings));
        Assert.Equal(0, store.Write(findings));
        Assert.Equal(0, store.Write([.. findings.AsEnumerable().Reverse()]));
        Assert.Equal(1000, store.Count());
    }

    [Fact]
    public void Write_ThousandsInOneMicrosecond_AllStoredOnceAndPagedWithoutLoss()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        // More findings at one timestamp than a microsecond has keys (2,048): a capture with broken clocks.
        var findings = TestFindings.Many(3000).Select(f => f with { TimestampMicros = 0 }).ToList();

        Assert.Equal(3000, store.Write(findings));
        Assert.Equal(0, store.Write(findings));

        var seen = new HashSet<string>();
        string? cursor = null;
        do
        {
            var page = store.Search(new FindingQuery { Limit = 500, After = cursor });
            Assert.All(page.Items, i => Assert.True(seen.Add(i.Id), $"{i.Id} returned twice"));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(findings.Select(f => f.Id).ToHashSet(), seen);
    }

    [Fact]
    public void Write_BatchSmallerThanInput_WritesEveryBatch()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path, new FindingStoreOptions { BatchSize = 7 });

        Assert.Equal(600, store.Write(TestFindings.Many(600)));
        Assert.Equal(600, store.Count());
    }

    [Fact]
    public void Write_StoresTheEcsDocumentByteForByte()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var f = TestFindings.Full();

        store.Write([f]);
        var stored = store.Get(f.Id)!;

        Assert.Equal(FindingJson.Write(f), stored.Json);
        Assert.Equal(f.RuleName, stored.RuleName);
        Assert.Equal((int)Severity.High, stored.Severity);
        Assert.Equal("00-1A-2B-3C-4D-5E", stored.DeviceId);
        Assert.Equal(f.Message, stored.ToFinding().Message);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1_000_000L)]
    [InlineData(long.MaxValue)]
    public void Write_ExtremeTimestamp_StoredAndFound(long micros)
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var f = TestFindings.Minimal() with { TimestampMicros = micros };

        Assert.Equal(1, store.Write([f]));

        Assert.Equal(micros, store.Get(f.Id)!.TimestampMicros);
        Assert.Single(store.Search(new FindingQuery()).Items);
    }

    [Fact]
    public void Write_FindingWithoutRequiredMember_ThrowsAndStoresNothing()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var bad = TestFindings.Minimal() with { RuleName = null! };

        Assert.Throws<ArgumentException>(() => store.Write([TestFindings.Full(), bad]));
        Assert.Equal(0, store.Count());
    }

    [Fact]
    public void Write_AfterDispose_Throws()
    {
        using var tmp = new TempDir();
        var store = FindingStoreOpenTests.Opened(tmp.Path);
        store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => store.Write([TestFindings.Minimal()]));
    }
}

public sealed class FindingStoreConcurrencyTests
{
    [Fact]
    public async Task Write_TwoStoresOnOneDirectoryAtOnce_BothComplete()
    {
        using var tmp = new TempDir();
        using var a = FindingStoreOpenTests.Opened(tmp.Path, new FindingStoreOptions { BatchSize = 500 });
        using var b = FindingStoreOpenTests.Opened(tmp.Path, new FindingStoreOptions { BatchSize = 500 });
        var all = TestFindings.Many(6000);
        var first = all.Take(4000).ToList();
        var second = all.Skip(2000).ToList(); // 2,000 in common: each is stored once, by whichever comes first

        var results = await Task.WhenAll(Task.Run(() => a.Write(first)), Task.Run(() => b.Write(second)));

        Assert.Equal(6000, results.Sum());
        Assert.Equal(6000, a.Count());
        var page = b.Search(new SecMon.Findings.Store.FindingQuery { Limit = 10_000 });
        Assert.Equal(all.Select(f => f.Id).ToHashSet(), page.Items.Select(i => i.Id).ToHashSet());
    }
}

public sealed class FindingStoreSearchBudgetTests
{
    [Fact]
    public void Search_CommonWordRarelySevere_FindsMatchesBeyondTheFirstCandidates()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        // 3,000 findings that all say "heartbeat": the newest 2,600 low, the oldest 400 high. The first page of
        // "heartbeat --severity high" lies beyond the 2,000 newest matches the store checks one by one.
        var findings = TestFindings.Many(3000).Select((f, i) => f with
        {
            Message = f.Message + " heartbeat",
            Severity = i < 400 ? Severity.High : Severity.Low,
        }).ToList();
        store.Write(findings);
        var expected = findings.Where(f => f.Severity == Severity.High).OrderByDescending(f => f.TimestampMicros).Select(f => f.Id).ToList();

        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = store.Search(new FindingQuery { Text = "heartbeat", MinSeverity = (int)Severity.High, Limit = 60, After = cursor });
            ids.AddRange(page.Items.Select(i => i.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(expected.ToHashSet(), ids.ToHashSet());
        Assert.Equal(expected.Count, ids.Count);
        Assert.Equal(expected.First(), ids.First());
    }
}
