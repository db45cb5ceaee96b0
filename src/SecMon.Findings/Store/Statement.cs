using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace SecMon.Findings.Store;

/// <summary>
/// A prepared statement on SQLite's C API, for the read path of the query commands (<c>secmon findings
/// search|show|stats</c>). Going through Microsoft.Data.Sqlite's connection string, command and reader cost each of
/// those commands about 40 ms of CPU at start-up (the connection string alone loads System.Data.Common,
/// System.ComponentModel and System.Text.RegularExpressions; bench/README.md, "CLI start-up"), a quarter of the
/// whole process. Errors are thrown as <see cref="SqliteException"/>, as the ADO.NET path throws them.
/// </summary>
internal sealed class Statement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;

    private Statement(sqlite3 db, sqlite3_stmt stmt)
    {
        _db = db;
        _stmt = stmt;
    }

    public static Statement Prepare(sqlite3 db, string sql)
    {
        Check(db, raw.sqlite3_prepare_v2(db, sql, out var stmt));
        return new Statement(db, stmt);
    }

    /// <summary>Binds the named parameters (<c>$name</c>) the SQL text uses; a value of another type than long, int
    /// or string is a programming error.</summary>
    public void Bind(IReadOnlyList<KeyValuePair<string, object>> parameters)
    {
        foreach (var (name, value) in parameters)
        {
            var index = raw.sqlite3_bind_parameter_index(_stmt, name);
            if (index == 0)
            {
                throw new ArgumentException($"the statement has no parameter {name}", nameof(parameters));
            }

            Check(_db, value switch
            {
                long l => raw.sqlite3_bind_int64(_stmt, index, l),
                int i => raw.sqlite3_bind_int(_stmt, index, i),
                string s => raw.sqlite3_bind_text(_stmt, index, s),
                _ => throw new ArgumentException($"parameter {name} is a {value.GetType().Name}", nameof(parameters)),
            });
        }
    }

    /// <summary>Binds a positional parameter (<c>?N</c>, from 1) to UTF-8 text (copied by SQLite).</summary>
    public void BindText(int index, ReadOnlySpan<byte> utf8) => Check(_db, raw.sqlite3_bind_text(_stmt, index, utf8));

    public void BindText(int index, string value) => Check(_db, raw.sqlite3_bind_text(_stmt, index, value));

    public void BindTextOrNull(int index, string? value) =>
        Check(_db, value is null ? raw.sqlite3_bind_null(_stmt, index) : raw.sqlite3_bind_text(_stmt, index, value));

    public void BindInt64(int index, long value) => Check(_db, raw.sqlite3_bind_int64(_stmt, index, value));

    /// <summary>Makes the statement ready to run again with new values (bindings are replaced one by one).</summary>
    public void Reset() => raw.sqlite3_reset(_stmt);

    /// <summary>Moves to the next row: false when there is none.</summary>
    public bool Step()
    {
        var rc = raw.sqlite3_step(_stmt);
        if (rc == raw.SQLITE_ROW)
        {
            return true;
        }

        if (rc == raw.SQLITE_DONE)
        {
            return false;
        }

        Check(_db, rc);
        return false;
    }

    public long Int64(int column) => raw.sqlite3_column_int64(_stmt, column);

    public int Int32(int column) => raw.sqlite3_column_int(_stmt, column);

    public bool IsNull(int column) => raw.sqlite3_column_type(_stmt, column) == raw.SQLITE_NULL;

    public string String(int column) => raw.sqlite3_column_text(_stmt, column).utf8_to_string();

    /// <summary>A text column's UTF-8 bytes, valid until the next step or reset.</summary>
    public ReadOnlySpan<byte> Utf8(int column) => raw.sqlite3_column_blob(_stmt, column);

    public string? NullableString(int column) => IsNull(column) ? null : String(column);

    public void Dispose() => _stmt.Dispose();

    /// <summary>Throws the <see cref="SqliteException"/> for an error result code (nothing for OK, ROW, DONE).</summary>
    public static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK && rc != raw.SQLITE_ROW && rc != raw.SQLITE_DONE)
        {
            Throw(db, rc);
        }
    }

    // Apart, so that a query that succeeds never loads SqliteException (and System.Data.Common with it).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Throw(sqlite3 db, int rc) => SqliteException.ThrowExceptionForRC(rc, db);

    /// <summary>Runs one statement that returns one integer (a PRAGMA, a count).</summary>
    public static long Scalar(sqlite3 db, string sql)
    {
        using var statement = Prepare(db, sql);
        return statement.Step() ? statement.Int64(0) : 0;
    }

    /// <summary>Runs statements that return nothing the caller needs (PRAGMA settings).</summary>
    public static void Execute(sqlite3 db, string sql) => Check(db, raw.sqlite3_exec(db, sql));
}
