using System.Text;
using Microsoft.Data.Sqlite;
using SecMon.Findings.Ecs;

namespace SecMon.Findings.Store;

public sealed partial class FindingStore
{
    // Findings deleted per transaction: short transactions let a sensor go on writing while old findings go.
    private const int PruneBatch = 5_000;

    /// <summary>How many stored findings have an <c>@timestamp</c> before <paramref name="beforeMicros"/>.</summary>
    public long CountBefore(long beforeMicros)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var cmd = Connection.CreateCommand();
                cmd.CommandText = "SELECT count(*) FROM findings WHERE seq < $bound";
                cmd.Parameters.AddWithValue("$bound", RowKey.Lowest(beforeMicros));
                return (long)cmd.ExecuteScalar()!;
            });
        }
    }

    /// <summary>
    /// Deletes every finding whose <c>@timestamp</c> is before <paramref name="beforeMicros"/> (retention), with
    /// its full-text entry, in transactions of a few thousand, oldest first; returns how many. The text index is
    /// contentless, so each entry is deleted with FTS5's 'delete' command and the text derived again from the
    /// stored document (<see cref="FindingText"/> is a pure function of the finding). Devices and baselines stay.
    /// The database file keeps its size; SQLite reuses the freed pages for new findings.
    /// </summary>
    /// <param name="beforeMicros">Capture time bound, UTC microseconds: older findings go.</param>
    /// <param name="progress">Called after each transaction with the number deleted so far.</param>
    /// <param name="cancellationToken">Stops between transactions (what was committed stays deleted).</param>
    /// <exception cref="FindingStoreException">The database could not be written; what was committed stays deleted.</exception>
    public long Prune(long beforeMicros, Action<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var bound = RowKey.Lowest(beforeMicros);
        long deleted = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            int n;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                n = Guard(() => PruneBatchBefore(bound));
            }

            if (n == 0)
            {
                return deleted;
            }

            deleted += n;
            progress?.Invoke(deleted);
        }

        return deleted;
    }

    private int PruneBatchBefore(long bound)
    {
        using var tx = Connection.BeginTransaction();
        using var select = Connection.CreateCommand();
        select.Transaction = tx;
        select.CommandText = "SELECT seq, doc, rule_id, severity, coalesce(device_id, '') FROM findings WHERE seq < $bound ORDER BY seq LIMIT $limit";
        select.Parameters.AddWithValue("$bound", bound);
        select.Parameters.AddWithValue("$limit", PruneBatch);
        var rows = new List<(long Seq, string Doc)>(PruneBatch);
        var groups = new Dictionary<(string Rule, long Severity, string Device), long>();
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add((reader.GetInt64(0), reader.GetString(1)));
                var key = (reader.GetString(2), reader.GetInt64(3), reader.GetString(4));
                groups[key] = groups.GetValueOrDefault(key) + 1;
            }
        }

        if (rows.Count == 0)
        {
            return 0;
        }

        using var deleteText = Connection.CreateCommand();
        deleteText.Transaction = tx;
        deleteText.CommandText = "INSERT INTO findings_fts(findings_fts, rowid, text) VALUES('delete', $seq, $text)";
        var seq = deleteText.Parameters.Add(new SqliteParameter { ParameterName = "$seq" });
        var text = deleteText.Parameters.Add(new SqliteParameter { ParameterName = "$text" });
        var sb = new StringBuilder(1024);
        foreach (var row in rows)
        {
            try
            {
                FindingText.Build(FindingJson.Read(row.Doc), sb);
            }
            catch (FormatException)
            {
                // A document edited by hand: its text cannot be derived, so its index entry stays (searches
                // join on the findings table and never return it). The row itself still goes.
                continue;
            }

            seq.Value = row.Seq;
            text.Value = sb.ToString();
            deleteText.ExecuteNonQuery();
        }

        using var delete = Connection.CreateCommand();
        delete.Transaction = tx;
        delete.CommandText = "DELETE FROM findings WHERE seq < $bound AND seq <= $last";
        delete.Parameters.AddWithValue("$bound", bound);
        delete.Parameters.AddWithValue("$last", rows[^1].Seq);
        var n = delete.ExecuteNonQuery();
        Uncount(tx, groups);
        tx.Commit();
        return n;
    }

    // Takes the pruned findings off the counts stats read (Schema v7). Their groups' newest finding and its rule name stay
    // as they are: a prune deletes oldest first, so a group that keeps any finding keeps its newest.
    private void Uncount(SqliteTransaction tx, Dictionary<(string Rule, long Severity, string Device), long> groups)
    {
        // Both statements run with the one set of parameters (Microsoft.Data.Sqlite runs a command's statements in turn).
        using var uncount = Connection.CreateCommand();
        uncount.Transaction = tx;
        uncount.CommandText =
            "UPDATE finding_counts SET n = n - $n WHERE rule_id = $rule AND severity = $severity AND device_id = $device;" +
            "DELETE FROM finding_counts WHERE rule_id = $rule AND severity = $severity AND device_id = $device AND n <= 0";
        var n = uncount.Parameters.Add(new SqliteParameter { ParameterName = "$n" });
        var rule = uncount.Parameters.Add(new SqliteParameter { ParameterName = "$rule" });
        var severity = uncount.Parameters.Add(new SqliteParameter { ParameterName = "$severity" });
        var device = uncount.Parameters.Add(new SqliteParameter { ParameterName = "$device" });
        foreach (var ((r, sev, d), count) in groups)
        {
            (n.Value, rule.Value, severity.Value, device.Value) = (count, r, sev, d);
            uncount.ExecuteNonQuery();
        }
    }
}
