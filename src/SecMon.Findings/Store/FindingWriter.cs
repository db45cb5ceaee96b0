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
    private const int ChunkSize = 256;

    // sqlite.org/rescode.html
    private const int SqliteRow = 100;
    private const int SqliteDone = 101;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _insert;
    private readonly sqlite3_stmt _insertText;
    private readonly sqlite3_stmt _idAt;
    private readonly Chunk[] _chunks = [new(), new()];

    public FindingWriter(SqliteConnection connection)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        _insert = Prepare(
            "INSERT OR IGNORE INTO findings(seq, id, ts, severity, rule_id, rule_name, device_id, source_ip, doc) " +
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
        _insertText = Prepare("INSERT INTO findings_fts(rowid, text) VALUES (?1, ?2)");
        _idAt = Prepare("SELECT id FROM findings WHERE seq = ?1");
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
            long seq = 0;
            var stored = false;
            var duplicate = false;
            for (var probe = 0; probe < RowKey.Slots && !stored && !duplicate; probe++)
            {
                seq = RowKey.Of(f.TimestampMicros, f.Id, probe);
                stored = InsertRow(f, seq, chunk.Doc(i));
                if (!stored)
                {
                    // Ignored: the slot holds either this very finding (a duplicate: skip it) or another finding of
                    // the same microsecond (try the next slot). The slot sequence of an id is fixed, so a finding
                    // written again always meets itself before a free slot.
                    duplicate = IdAt(seq) == f.Id;
                }
            }

            if (duplicate)
            {
                continue;
            }

            if (!stored)
            {
                throw new FindingStoreException(new StoreError(StoreErrorKind.Io, "",
                    $"more than {RowKey.Slots} findings at one microsecond ({f.TimestampMicros}): finding {f.Id} was not stored"));
            }

            Check(raw.sqlite3_bind_int64(_insertText, 1, seq));
            Check(raw.sqlite3_bind_text16(_insertText, 2, chunk.Text(i)));
            Step(_insertText, SqliteDone);
            inserted++;
        }

        return inserted;
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

    private string? IdAt(long seq)
    {
        Check(raw.sqlite3_bind_int64(_idAt, 1, seq));
        try
        {
            var rc = raw.sqlite3_step(_idAt);
            if (rc == SqliteRow)
            {
                return raw.sqlite3_column_text(_idAt, 0).utf8_to_string();
            }

            if (rc != SqliteDone)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }

            return null;
        }
        finally
        {
            raw.sqlite3_reset(_idAt);
        }
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
        raw.sqlite3_finalize(_idAt);
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
