using System.Buffers;
using System.Text;
using Microsoft.Data.Sqlite;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SQLitePCL;

namespace SecMon.Findings.Store;

/// <summary>
/// The insert path of <see cref="FindingStore.Write"/>, inside the caller's transaction. Two things make it fast:
/// statements are prepared once and driven through SQLite's C API (binding UTF-8 documents without copying them
/// into strings), and the CPU work per finding (its ECS document and indexed text) is done for the next chunk
/// on another thread while SQLite inserts the current one. It also keeps the counts by (rule, severity, device) that
/// stats read (<c>finding_counts</c>): added up per <see cref="Write"/> and stored once per group at its end.
/// </summary>
internal sealed class FindingWriter : IDisposable
{
    private const int ChunkSize = 1024;

    // sqlite.org/rescode.html
    private const int SqliteRow = 100;
    private const int SqliteDone = 101;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _insert;
    private readonly sqlite3_stmt _insertText;
    private readonly sqlite3_stmt _idExists;
    private readonly sqlite3_stmt _maxKey;
    private readonly sqlite3_stmt _minKey;
    private readonly sqlite3_stmt _gapKey;
    private readonly sqlite3_stmt? _count;
    private readonly Dictionary<(string Rule, int Severity, string Device), Group> _groups = [];
    private readonly HashSet<long> _fullMicros = [];
    private readonly Chunk[] _chunks = [new(), new()];

    /// <summary>Prepares the writer on <paramref name="connection"/>; <paramref name="count"/> false only for a database
    /// at a schema version before the counts table (tests that build old stores).</summary>
    public FindingWriter(SqliteConnection connection, bool count = true)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        _insert = Prepare(
            "INSERT OR IGNORE INTO findings(seq, id, ts, severity, rule_id, rule_name, device_id, source_ip, doc) " +
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
        _insertText = Prepare("INSERT INTO findings_fts(rowid, text) VALUES (?1, ?2)");
        _idExists = Prepare("SELECT 1 FROM findings WHERE id = ?1");
        _maxKey = Prepare("SELECT max(seq) FROM findings WHERE seq BETWEEN ?1 AND ?2");
        _minKey = Prepare("SELECT min(seq) FROM findings WHERE seq BETWEEN ?1 AND ?2");
        _gapKey = Prepare(
            "SELECT s.seq + 1 FROM findings s WHERE s.seq BETWEEN ?1 AND ?2 - 1 " +
            "AND NOT EXISTS (SELECT 1 FROM findings t WHERE t.seq = s.seq + 1) LIMIT 1");
        _count = count
            ? Prepare(
                "INSERT INTO finding_counts(rule_id, severity, device_id, rule_name, n, last_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6) " +
                "ON CONFLICT DO UPDATE SET n = n + excluded.n, " +
                "rule_name = CASE WHEN excluded.last_ts > last_ts OR (excluded.last_ts = last_ts AND excluded.rule_name > rule_name) " +
                "THEN excluded.rule_name ELSE rule_name END, last_ts = max(last_ts, excluded.last_ts)")
            : null;
    }

    /// <summary>Inserts findings[start..end) and returns how many were new.</summary>
    public int Write(IReadOnlyList<Finding> findings, int start, int end)
    {
        var inserted = 0;
        var current = 0;
        Task? pending = null;
        _chunks[0].Fill(findings, start, Math.Min(end, start + ChunkSize));
        try
        {
            for (var from = start; from < end; from += ChunkSize)
            {
                var next = from + ChunkSize;
                var chunk = _chunks[current];
                var other = _chunks[current ^ 1];
                if (next < end)
                {
                    pending = Task.Run(() => other.Fill(findings, next, Math.Min(end, next + ChunkSize)));
                }

                inserted += Insert(chunk);
                if (pending is not null)
                {
                    pending.GetAwaiter().GetResult();
                    pending = null;
                }

                current ^= 1;
            }

            StoreCounts(); // in the caller's transaction, with the findings counted
        }
        finally
        {
            // Never leave a chunk being filled behind: the next Write reuses it.
            if (pending is not null)
            {
                try
                {
                    pending.GetAwaiter().GetResult();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // The insert's own exception is the one to report.
                }
            }

            _groups.Clear(); // stored at the end of a Write that succeeded; the caller rolls back one that failed
        }

        return inserted;
    }

    private void Counted(Finding f)
    {
        if (_count is null)
        {
            return;
        }

        ref var g = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(
            _groups, (f.RuleId, (int)f.Severity, f.DeviceId ?? ""), out var existed);
        if (!existed || f.TimestampMicros > g.LastMicros
            || (f.TimestampMicros == g.LastMicros && string.CompareOrdinal(f.RuleName, g.RuleName) > 0))
        {
            (g.RuleName, g.LastMicros) = (f.RuleName, f.TimestampMicros);
        }

        g.Count++;
    }

    private void StoreCounts()
    {
        if (_count is null || _groups.Count == 0)
        {
            return;
        }

        foreach (var ((rule, severity, device), g) in _groups)
        {
            Check(raw.sqlite3_bind_text16(_count, 1, rule));
            Check(raw.sqlite3_bind_int(_count, 2, severity));
            Check(raw.sqlite3_bind_text16(_count, 3, device));
            Check(raw.sqlite3_bind_text16(_count, 4, g.RuleName));
            Check(raw.sqlite3_bind_int64(_count, 5, g.Count));
            Check(raw.sqlite3_bind_int64(_count, 6, g.LastMicros));
            Step(_count, SqliteDone);
        }
    }

    private int Insert(Chunk chunk)
    {
        var inserted = 0;
        for (var i = 0; i < chunk.Count; i++)
        {
            var f = chunk.Items[i];
            var seq = RowKey.Of(f.TimestampMicros, f.Id);
            var stored = InsertRow(chunk, i, seq);
            for (var attempt = 0; !stored; attempt++)
            {
                if (attempt == 8)
                {
                    throw new FindingStoreException(new StoreError(StoreErrorKind.Io, "", $"finding {f.Id} could not be stored"));
                }

                // Ignored: either this event.id is stored already (a duplicate: skip it) or another finding of the
                // same microsecond holds the preferred key (take a free key of that microsecond).
                if (IdExists(f.Id))
                {
                    break;
                }

                seq = FreeKey(f.TimestampMicros);
                stored = InsertRow(chunk, i, seq);
            }

            if (!stored)
            {
                continue;
            }

            Check(raw.sqlite3_bind_int64(_insertText, 1, seq));
            Check(raw.sqlite3_bind_text(_insertText, 2, chunk.Field(i, Chunk.Text)));
            Step(_insertText, SqliteDone);
            Counted(f);
            inserted++;
        }

        return inserted;
    }

    // A free key at micros, or (when all 2,048 keys of that microsecond are taken: many findings stamped with one
    // time, as a capture with broken timestamps gives) at the next microsecond that has one. Full microseconds
    // are remembered, so such a run costs a few lookups per finding, not a rescan.
    private long FreeKey(long micros)
    {
        for (var m = Math.Clamp(micros, 0, RowKey.MaxMicros); m <= RowKey.MaxMicros; m++)
        {
            if (_fullMicros.Contains(m))
            {
                continue;
            }

            var lo = RowKey.Lowest(m);
            var hi = RowKey.Highest(m);
            var max = QueryKey(_maxKey, lo, hi);
            if (max is null)
            {
                return lo;
            }

            if (max < hi)
            {
                return max.Value + 1;
            }

            var min = QueryKey(_minKey, lo, hi);
            if (min > lo)
            {
                return min.Value - 1;
            }

            if (QueryKey(_gapKey, lo, hi) is { } gap)
            {
                return gap;
            }

            if (_fullMicros.Count > 100_000)
            {
                _fullMicros.Clear();
            }

            _fullMicros.Add(m);
        }

        throw new FindingStoreException(new StoreError(StoreErrorKind.Io, "",
            $"no free key for a finding at {micros} microseconds"));
    }

    private long? QueryKey(sqlite3_stmt stmt, long lo, long hi)
    {
        Check(raw.sqlite3_bind_int64(stmt, 1, lo));
        Check(raw.sqlite3_bind_int64(stmt, 2, hi));
        try
        {
            var rc = raw.sqlite3_step(stmt);
            if (rc == SqliteRow)
            {
                return raw.sqlite3_column_type(stmt, 0) == 5 /* SQLITE_NULL */ ? null : raw.sqlite3_column_int64(stmt, 0);
            }

            if (rc != SqliteDone)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }

            return null;
        }
        finally
        {
            raw.sqlite3_reset(stmt);
        }
    }

    private bool IdExists(string id)
    {
        Check(raw.sqlite3_bind_text16(_idExists, 1, id));
        try
        {
            var rc = raw.sqlite3_step(_idExists);
            if (rc is not (SqliteRow or SqliteDone))
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }

            return rc == SqliteRow;
        }
        finally
        {
            raw.sqlite3_reset(_idExists);
        }
    }

    // Every text is bound as the UTF-8 the chunk encoded on the filling thread: the database's encoding is UTF-8,
    // so SQLite stores the bytes as they are instead of converting UTF-16 (an allocation and a character loop per
    // value) on this thread, the one that bounds the insert rate.
    private bool InsertRow(Chunk chunk, int i, long seq)
    {
        var f = chunk.Items[i];
        Check(raw.sqlite3_bind_int64(_insert, 1, seq));
        Check(raw.sqlite3_bind_text(_insert, 2, chunk.Field(i, Chunk.Id)));
        Check(raw.sqlite3_bind_int64(_insert, 3, f.TimestampMicros));
        Check(raw.sqlite3_bind_int(_insert, 4, (int)f.Severity));
        Check(raw.sqlite3_bind_text(_insert, 5, chunk.Field(i, Chunk.RuleId)));
        Check(raw.sqlite3_bind_text(_insert, 6, chunk.Field(i, Chunk.RuleName)));
        BindOptional(_insert, 7, chunk, i, Chunk.DeviceId);
        BindOptional(_insert, 8, chunk, i, Chunk.SourceIp);
        Check(raw.sqlite3_bind_text(_insert, 9, chunk.Field(i, Chunk.Doc)));
        Step(_insert, SqliteDone);
        return raw.sqlite3_changes(_db) == 1;
    }

    private void BindOptional(sqlite3_stmt stmt, int index, Chunk chunk, int i, int field) =>
        Check(chunk.IsNull(i, field) ? raw.sqlite3_bind_null(stmt, index) : raw.sqlite3_bind_text(stmt, index, chunk.Field(i, field)));

    private void Step(sqlite3_stmt stmt, int expected)
    {
        try
        {
            var rc = raw.sqlite3_step(stmt);
            if (rc != expected)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
        }
        finally
        {
            raw.sqlite3_reset(stmt);
        }
    }

    private void Check(int rc)
    {
        if (rc != 0)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    private sqlite3_stmt Prepare(string sql)
    {
        var rc = raw.sqlite3_prepare_v2(_db, sql, out var stmt);
        Check(rc);
        return stmt;
    }

    public void Dispose()
    {
        raw.sqlite3_finalize(_insert);
        raw.sqlite3_finalize(_insertText);
        raw.sqlite3_finalize(_idExists);
        raw.sqlite3_finalize(_maxKey);
        raw.sqlite3_finalize(_minKey);
        raw.sqlite3_finalize(_gapKey);
        if (_count is not null)
        {
            raw.sqlite3_finalize(_count);
        }
    }

    private struct Group
    {
        public long Count;
        public long LastMicros;
        public string RuleName;
    }

    /// <summary>A chunk of findings with everything bound for them encoded as UTF-8, back to back in one buffer:
    /// the ECS document, the indexed text and the text columns.</summary>
    private sealed class Chunk
    {
        public const int Doc = 0;
        public const int Text = 1;
        public const int Id = 2;
        public const int RuleId = 3;
        public const int RuleName = 4;
        public const int DeviceId = 5;
        public const int SourceIp = 6;
        private const int Fields = 7;

        private readonly ArrayBufferWriter<byte> _bytes = new(ChunkSize * 2048);

        // Per finding and field: where its bytes start in _bytes and how long they are (-1: SQL NULL).
        private readonly int[] _starts = new int[ChunkSize * Fields];
        private readonly int[] _lengths = new int[ChunkSize * Fields];
        private readonly StringBuilder _text = new(512);
        private char[] _chars = new char[512];

        public Finding[] Items { get; } = new Finding[ChunkSize];

        public int Count { get; private set; }

        public void Fill(IReadOnlyList<Finding> findings, int from, int to)
        {
            _bytes.ResetWrittenCount();
            Count = to - from;
            for (var i = 0; i < Count; i++)
            {
                var f = findings[from + i];
                Items[i] = f;
                var start = _bytes.WrittenCount;
                FindingJson.Write(f, _bytes);
                Mark(i, Doc, start);

                // Encoded in one piece: the builder's chunks may split a surrogate pair, which encoding chunk by
                // chunk would turn into two U+FFFD.
                FindingText.Build(f, _text);
                if (_chars.Length < _text.Length)
                {
                    _chars = new char[Math.Max(_text.Length, _chars.Length * 2)];
                }

                _text.CopyTo(0, _chars, _text.Length);
                start = _bytes.WrittenCount;
                Encode(_chars.AsSpan(0, _text.Length));
                Mark(i, Text, start);
                Add(i, Id, f.Id);
                Add(i, RuleId, f.RuleId);
                Add(i, RuleName, f.RuleName);
                Add(i, DeviceId, f.DeviceId);
                Add(i, SourceIp, FindingText.CanonicalIp(f.SourceIp));
            }

            Array.Clear(Items, Count, ChunkSize - Count);
        }

        public ReadOnlySpan<byte> Field(int i, int field)
        {
            var k = (i * Fields) + field;
            return _bytes.WrittenSpan.Slice(_starts[k], Math.Max(0, _lengths[k]));
        }

        public bool IsNull(int i, int field) => _lengths[(i * Fields) + field] < 0;

        private void Add(int i, int field, string? value)
        {
            var start = _bytes.WrittenCount;
            if (value is null)
            {
                _starts[(i * Fields) + field] = start;
                _lengths[(i * Fields) + field] = -1;
                return;
            }

            Encode(value);
            Mark(i, field, start);
        }

        private void Mark(int i, int field, int start)
        {
            _starts[(i * Fields) + field] = start;
            _lengths[(i * Fields) + field] = _bytes.WrittenCount - start;
        }

        // Lone surrogates become U+FFFD, as SQLite's own UTF-16 to UTF-8 conversion of bind_text16 does.
        private void Encode(ReadOnlySpan<char> chars)
        {
            var written = Encoding.UTF8.GetBytes(chars, _bytes.GetSpan(Encoding.UTF8.GetMaxByteCount(chars.Length)));
            _bytes.Advance(written);
        }
    }
}
