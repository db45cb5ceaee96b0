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
/// on another thread while SQLite inserts the current one.
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
    private readonly HashSet<long> _fullMicros = [];
    private readonly Chunk[] _chunks = [new(), new()];

    public FindingWriter(SqliteConnection connection)
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
        }

        return inserted;
    }

    private int Insert(Chunk chunk)
    {
        var inserted = 0;
        for (var i = 0; i < chunk.Count; i++)
        {
            var f = chunk.Items[i];
            var seq = RowKey.Of(f.TimestampMicros, f.Id);
            var stored = InsertRow(f, seq, chunk.Doc(i));
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
                stored = InsertRow(f, seq, chunk.Doc(i));
            }

            if (!stored)
            {
                continue;
            }

            Check(raw.sqlite3_bind_int64(_insertText, 1, seq));
            Check(raw.sqlite3_bind_text16(_insertText, 2, chunk.Text(i)));
            Step(_insertText, SqliteDone);
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

    private bool InsertRow(Finding f, long seq, ReadOnlySpan<byte> doc)
    {
        Check(raw.sqlite3_bind_int64(_insert, 1, seq));
        Check(raw.sqlite3_bind_text16(_insert, 2, f.Id));
        Check(raw.sqlite3_bind_int64(_insert, 3, f.TimestampMicros));
        Check(raw.sqlite3_bind_int(_insert, 4, (int)f.Severity));
        Check(raw.sqlite3_bind_text16(_insert, 5, f.RuleId));
        Check(raw.sqlite3_bind_text16(_insert, 6, f.RuleName));
        Check(f.DeviceId is null ? raw.sqlite3_bind_null(_insert, 7) : raw.sqlite3_bind_text16(_insert, 7, f.DeviceId));
        var sourceIp = FindingText.CanonicalIp(f.SourceIp);
        Check(sourceIp is null ? raw.sqlite3_bind_null(_insert, 8) : raw.sqlite3_bind_text16(_insert, 8, sourceIp));
        Check(raw.sqlite3_bind_text(_insert, 9, doc));
        Step(_insert, SqliteDone);
        return raw.sqlite3_changes(_db) == 1;
    }

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
    }

    /// <summary>A chunk of findings with their ECS documents (UTF-8, back to back) and indexed texts.</summary>
    private sealed class Chunk
    {
        private readonly ArrayBufferWriter<byte> _docs = new(ChunkSize * 1536);
        private readonly int[] _docEnds = new int[ChunkSize];
        private readonly StringBuilder _text = new(512);
        private readonly int[] _textEnds = new int[ChunkSize];
        private char[] _texts = new char[ChunkSize * 256];
        private int _textLength;

        public Finding[] Items { get; } = new Finding[ChunkSize];

        public int Count { get; private set; }

        public void Fill(IReadOnlyList<Finding> findings, int from, int to)
        {
            _docs.ResetWrittenCount();
            _textLength = 0;
            Count = to - from;
            for (var i = 0; i < Count; i++)
            {
                var f = findings[from + i];
                Items[i] = f;
                FindingJson.Write(f, _docs);
                _docEnds[i] = _docs.WrittenCount;
                FindingText.Build(f, _text);
                if (_textLength + _text.Length > _texts.Length)
                {
                    Array.Resize(ref _texts, Math.Max(_texts.Length * 2, _textLength + _text.Length));
                }

                _text.CopyTo(0, _texts, _textLength, _text.Length);
                _textLength += _text.Length;
                _textEnds[i] = _textLength;
            }

            Array.Clear(Items, Count, ChunkSize - Count);
        }

        public ReadOnlySpan<byte> Doc(int i)
        {
            var start = i == 0 ? 0 : _docEnds[i - 1];
            return _docs.WrittenSpan[start.._docEnds[i]];
        }

        public ReadOnlySpan<char> Text(int i)
        {
            var start = i == 0 ? 0 : _textEnds[i - 1];
            return _texts.AsSpan(start, _textEnds[i] - start);
        }
    }
}
