using Microsoft.Data.Sqlite;
using SecMon.Core.Findings;
using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

public sealed class FindingStorePruneTests
{
    private const long Hour = 3_600_000_000L;

    [Fact]
    public void Prune_OlderFindings_GoWithTheirTextAndTheRestStaySearchable()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        store.Write([.. Enumerable.Range(0, 10).Select(Make)]);

        Assert.Equal(4, store.CountBefore(TestFindings.Base + (4 * Hour)));
        var progress = new List<long>();
        Assert.Equal(4, store.Prune(TestFindings.Base + (4 * Hour), progress.Add));

        Assert.Equal([4L], progress);
        Assert.Equal(6, store.Count());
        Assert.Empty(store.Search(new FindingQuery { Text = "word0003" }).Items);   // pruned: its own word
        Assert.Empty(store.Search(new FindingQuery { Text = "snoop-0001" }).Items); // pruned: its client id
        Assert.Single(store.Search(new FindingQuery { Text = "word0004" }).Items);
        Assert.Single(store.Search(new FindingQuery { Text = "snoop-0009" }).Items);
        Assert.Equal(6, store.Search(new FindingQuery { Text = "kitchen", Limit = 50 }).Items.Count);
        Assert.Equal(0, store.Prune(TestFindings.Base + (4 * Hour)));
    }

    [Fact]
    public void Prune_Everything_LeavesNoTermInTheTextIndex()
    {
        // The text index is contentless: a 'delete' with any other text than the one inserted would leave postings
        // behind. After pruning every finding (non-ASCII and a lone surrogate included) no term may remain.
        using var tmp = new TempDir();
        using (var store = FindingStoreOpenTests.Opened(tmp.Path))
        {
            store.Write([.. Enumerable.Range(0, 12_000).Select(Make), TestFindings.Full(), Odd()]);

            Assert.Equal(12_002, store.Prune(long.MaxValue / 4096));
            Assert.Equal(0, store.Count());
        }

        using var raw = new SqliteConnection($"Data Source={Path.Combine(tmp.Path, "secmon.db")};Pooling=False");
        raw.Open();
        using (var vocab = new SqliteCommand("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, findings_fts, 'row')", raw))
        {
            vocab.ExecuteNonQuery();
        }

        Assert.Equal(0L, Convert.ToInt64(new SqliteCommand("SELECT count(*) FROM temp.vocab", raw).ExecuteScalar()));
        using var integrity = new SqliteCommand("INSERT INTO findings_fts(findings_fts, rank) VALUES('integrity-check', 0)", raw);
        integrity.ExecuteNonQuery();
    }

    // One finding an hour; each with a word of its own, a client id, a user and a topic in its evidence.
    private static Finding Make(int i) => TestFindings.Full() with
    {
        Id = $"prune-{i:D6}",
        TimestampMicros = TestFindings.Base + (i * Hour),
        Message = $"kitchen sensor word{i:D4} subscribed to everything",
        Severity = i % 2 == 0 ? Severity.High : Severity.Medium,
        DeviceId = $"10.0.{i / 250}.{i % 250}",
        Evidence = new Dictionary<string, object>
        {
            ["mqtt.client_id"] = $"snoop-{i:D4}",
            ["mqtt.username"] = $"user{i % 7}",
            ["mqtt.topic_filters"] = new[] { "#", $"plant/{i}/#" },
            ["mqtt.protocol_level"] = 4L,
        },
    };

    // Text off the wire: accents, CJK, an emoji and a lone surrogate (stored as U+FFFD).
    private static Finding Odd() => TestFindings.Full() with
    {
        Id = "prune-odd",
        Message = "Gerät Küche 温度 \U0001F321 lone \uD800 end",
        Evidence = new Dictionary<string, object> { ["mqtt.client_id"] = "capteur-é\uDC00", ["mqtt.topic"] = "maison/température" },
        RelatedUser = ["jürgen"],
    };
}
