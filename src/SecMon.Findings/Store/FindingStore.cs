using Microsoft.Data.Sqlite;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SQLitePCL;

namespace SecMon.Findings.Store;

/// <summary>
/// The embedded findings store: one SQLite database (WAL) in the data directory holding findings (keyed by
/// <c>event.id</c>, so writing a finding twice stores it once), the device inventory and the learned baseline model.
/// Thread-safe (calls are serialized); one instance per process and data directory is the intended use.
/// </summary>
public sealed partial class FindingStore : IFindingReader
{
    // The query commands read through _db alone (SQLite's C API, Statement); everything else goes through the
    // ADO.NET connection, which a store opened for queries opens only when a method needs it (Devices for 'show').
    private readonly sqlite3 _db;
    private SqliteConnection? _connection;
    private readonly bool _ownsDb;
    private readonly FindingStoreOptions _options;
    private readonly Lock _gate = new();
    // Prepared on the first Write: the query commands (findings search, show, stats) never write, and preparing the
    // insert statements was a few ms of their start-up (bench/README.md, "CLI start-up").
    private FindingWriter? _writer;
    private bool _disposed;

    private FindingStore(SqliteConnection? connection, sqlite3 db, string dataDirectory, string databasePath, FindingStoreOptions options)
    {
        _connection = connection;
        _db = db;
        _ownsDb = connection is null;
        _options = options;
        DataDirectory = dataDirectory;
        DatabasePath = databasePath;
    }

    /// <summary>The data directory (absolute).</summary>
    public string DataDirectory { get; }

    /// <summary>The database file (absolute).</summary>
    public string DatabasePath { get; }

    /// <summary>The schema version this build creates and reads.</summary>
    public static int SchemaVersion => Schema.CurrentVersion;

    /// <summary>
    /// Opens (and by default creates) the store in <paramref name="dataDirectory"/>, migrating an older schema.
    /// A database that is damaged, not SQLite, another application's, or from a newer SecMon is refused with
    /// a clear error and left byte-for-byte untouched.
    /// </summary>
    public static StoreOpenResult Open(string dataDirectory, FindingStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        options ??= new FindingStoreOptions();
        var result = OpenCore(dataDirectory, options);
        if (result.Error is { } error)
        {
            Log.Refused(options.Logger, error.Message);
        }

        return result;
    }

    private static StoreOpenResult OpenCore(string dataDirectory, FindingStoreOptions options)
    {
        var dir = Path.GetFullPath(dataDirectory);
        var dbPath = Path.Combine(dir, FindingStoreOptions.DatabaseFileName);

        if (File.Exists(dir))
        {
            return Fail(StoreErrorKind.NotWritable, dir,
                $"the data directory '{dir}' is a file, not a directory: choose another directory with --data DIR");
        }

        if (!Directory.Exists(dir))
        {
            if (!options.CreateIfMissing)
            {
                return Fail(StoreErrorKind.Missing, dir,
                    $"no findings store in '{dir}' (the directory does not exist): run 'secmon analyze FILE' first, or point --data at the directory it wrote");
            }

            try
            {
                Directory.CreateDirectory(dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return Fail(StoreErrorKind.NotWritable, dir,
                    $"cannot create the data directory '{dir}': {ex.Message} Choose a writable directory with --data DIR");
            }
        }

        SqliteHeader header;
        try
        {
            header = SqliteHeader.Read(dbPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail(StoreErrorKind.NotWritable, dbPath, $"cannot read '{dbPath}': {ex.Message}");
        }

        if (!header.Exists && !options.CreateIfMissing)
        {
            return Fail(StoreErrorKind.Missing, dbPath,
                $"no findings store in '{dir}' (no {FindingStoreOptions.DatabaseFileName}): run 'secmon analyze FILE' first, or point --data at the directory it wrote");
        }

        if (header.Exists && !header.Empty)
        {
            if (!header.Valid)
            {
                return Fail(StoreErrorKind.Corrupt, dbPath, CorruptMessage(dbPath, "it is not a SQLite database"));
            }

            if (header.ApplicationId != 0 && header.ApplicationId != Schema.ApplicationId)
            {
                return Fail(StoreErrorKind.Foreign, dbPath, ForeignMessage(dbPath));
            }

            if (header.UserVersion > Schema.CurrentVersion || header.UserVersion < 0)
            {
                return Fail(StoreErrorKind.NewerSchema, dbPath, NewerMessage(dbPath, header.UserVersion));
            }
        }

        if (options.QueryOnly && header.Exists && header.UserVersion == Schema.CurrentVersion)
        {
            return OpenForQueries(dir, dbPath, options);
        }

        return OpenConnected(dir, dbPath, options);
    }

    // Opens (creating, migrating) the store on Microsoft.Data.Sqlite's connection. Apart from OpenCore, which the query
    // commands run too: a method naming the ADO.NET types loads Microsoft.Data.Sqlite and System.Data.Common when it is
    // first called, and the query path needs neither (bench/README.md, "Session 14: start-up").
    private static StoreOpenResult OpenConnected(string dir, string dbPath, FindingStoreOptions options)
    {
        SqliteConnection? connection = null;
        try
        {
            connection = OpenConnection(dbPath, SqliteOpenMode.ReadWriteCreate);

            // Read-only checks first: nothing below writes until the file is known to be a SecMon store that
            // this build understands. Reading sqlite_schema parses page 1 and the schema, which fails on a damaged file.
            var appId = (int)Scalar(connection, "PRAGMA application_id");
            var version = (int)Scalar(connection, "PRAGMA user_version");
            var objects = Scalar(connection, "SELECT count(*) FROM sqlite_schema");
            if (appId != 0 && appId != Schema.ApplicationId || appId == 0 && objects > 0 || appId == Schema.ApplicationId && version == 0)
            {
                connection.Dispose();
                return Fail(StoreErrorKind.Foreign, dbPath, ForeignMessage(dbPath));
            }

            if (version > Schema.CurrentVersion || version < 0)
            {
                connection.Dispose();
                return Fail(StoreErrorKind.NewerSchema, dbPath, NewerMessage(dbPath, version));
            }

            // 16 KiB pages: a finding's document is about 1 KiB, so 4 KiB pages split often; larger pages cut the
            // B-tree work per insert (measured in bench/Findings). Only takes effect on a new, empty database.
            if (objects == 0)
            {
                Execute(connection, "PRAGMA page_size = 16384");
            }

            // WAL: readers (secmon findings) never block the writer (secmon analyze / serve), and commits are
            // sequential appends. synchronous=NORMAL is durable against process crashes; a power loss may lose
            // the last transactions but never corrupts the database (sqlite.org/wal.html §"Performance Considerations").
            Execute(connection, "PRAGMA journal_mode = WAL");
            Execute(connection, "PRAGMA synchronous = NORMAL");
            // Checkpoint every 16,384 pages (256 MiB of WAL) rather than SQLite's 1,000: pages that batch after
            // batch rewrites (index leaves, FTS5 segments) are copied into the database once per checkpoint, not
            // once per batch; the WAL is cut back to 64 MiB after each. Measured in bench/Findings.
            Execute(connection, "PRAGMA wal_autocheckpoint = 16384");
            Execute(connection, "PRAGMA journal_size_limit = 67108864");
            Execute(connection, QueryPragmas(options));
            var upgrading = version != 0 && version != Schema.CurrentVersion;
            if (upgrading)
            {
                options.Upgrading?.Invoke($"upgrading the findings store {dbPath} from schema version {version} to " +
                    $"{Schema.CurrentVersion}, once (it can read every finding: about 5 s per million)");
            }

            Schema.Migrate(connection, version, Schema.CurrentVersion);
            if (upgrading)
            {
                Log.Migrated(options.Logger, dbPath, version, Schema.CurrentVersion);
            }

            var store = new FindingStore(connection, connection.Handle!, dir, dbPath, options);
            Log.Opened(options.Logger, dbPath, Schema.CurrentVersion);
            return new StoreOpenResult { Store = store };
        }
        catch (SqliteException ex)
        {
            connection?.Dispose();
            return new StoreOpenResult { Error = Classify(ex, dbPath) };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            connection?.Dispose();
            return Fail(StoreErrorKind.NotWritable, dbPath, $"cannot open '{dbPath}': {ex.Message}");
        }
    }

    // A store of this build's schema, opened for the query commands on SQLite's C API (see Statement): the same
    // checks as the ADO.NET path, no migration (a store of another version takes that path) and no write.
    private static StoreOpenResult OpenForQueries(string dir, string dbPath, FindingStoreOptions options)
    {
        sqlite3? db = null;
        try
        {
            Batteries_V2.Init();
            var rc = raw.sqlite3_open_v2(dbPath, out db, raw.SQLITE_OPEN_READWRITE, null);
            Statement.Check(db, rc);
            var appId = (int)Statement.Scalar(db, "PRAGMA application_id");
            var version = (int)Statement.Scalar(db, "PRAGMA user_version");
            var objects = Statement.Scalar(db, "SELECT count(*) FROM sqlite_schema");
            if (appId != Schema.ApplicationId || version != Schema.CurrentVersion || objects == 0)
            {
                // Not plainly a store of this build (the header changed since it was read, or it is foreign or
                // empty): the ADO.NET path decides, with its messages.
                db.Dispose();
                return OpenCore(dir, options with { QueryOnly = false });
            }

            Statement.Execute(db, QueryPragmas(options));
            Log.Opened(options.Logger, dbPath, Schema.CurrentVersion);
            return new StoreOpenResult { Store = new FindingStore(null, db, dir, dbPath, options) };
        }
        catch (Exception ex) when (ex is SqliteException sqlite)
        {
            db?.Dispose();
            return new StoreOpenResult { Error = Classify(sqlite, dbPath) };
        }
    }

    // The settings every connection to the store gets (OpenCore adds the writer's). busy_timeout: another secmon (a
    // second analyze, or serve) may hold the write lock for a batch: wait for it rather than fail (the insert path
    // drives SQLite directly, so SQLite's own busy handler must do the waiting). mmap_size: reads map the database file
    // into memory instead of copying pages through read() (sqlite.org/mmap.html; measured in bench/Findings).
    private static string QueryPragmas(FindingStoreOptions options) =>
        $"PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 30000; PRAGMA mmap_size = 1073741824; PRAGMA cache_size = {-Math.Max(2, options.CacheMiB) * 1024};";

    private static SqliteConnection OpenConnection(string dbPath, SqliteOpenMode mode)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = dbPath,
            Mode = mode,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // The ADO.NET connection; a store opened for queries opens its own on first use.
    private SqliteConnection Connection
    {
        get
        {
            if (_connection is null)
            {
                var connection = OpenConnection(DatabasePath, SqliteOpenMode.ReadWrite);
                Execute(connection, QueryPragmas(_options));
                _connection = connection;
            }

            return _connection;
        }
    }

    /// <summary>
    /// Stores <paramref name="findings"/> in transactions of <see cref="FindingStoreOptions.BatchSize"/> and returns how
    /// many were new. A finding whose <c>event.id</c> is already stored (at its timestamp) is skipped, so writing
    /// the same findings again stores nothing twice.
    /// </summary>
    /// <exception cref="FindingStoreException">The database could not be written (disk full, read-only, damaged).</exception>
    public int Write(IReadOnlyList<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        foreach (var f in findings)
        {
            // Required members can still be null when a record was built by reflection or deserialization.
            if (f is null || string.IsNullOrEmpty(f.Id) || f.RuleId is null || f.RuleName is null || f.Message is null
                || f.Category is null || f.EventType is null || f.RelatedIp is null || f.RelatedUser is null || f.Evidence is null)
            {
                throw new ArgumentException("every finding needs an id, a rule id and name, and a message", nameof(findings));
            }
        }

        var inserted = 0;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var batch = Math.Max(1, _options.BatchSize);
            for (var start = 0; start < findings.Count; start += batch)
            {
                var end = Math.Min(findings.Count, start + batch);
                inserted += Guard(() =>
                {
                    using var tx = Connection.BeginTransaction();
                    _writer ??= new FindingWriter(Connection);
                    var n = _writer.Write(findings, start, end);
                    tx.Commit();
                    return n;
                });
            }
        }

        return inserted;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                // Lets SQLite refresh planner statistics where they are stale (sqlite.org/lang_analyze.html).
                Statement.Execute(_db, "PRAGMA optimize");
            }
            catch (Exception ex) when (ex is SqliteException)
            {
                // Closing must not fail because statistics could not be written (read-only file system).
            }

            _writer?.Dispose();
            _connection?.Dispose();
            if (_ownsDb)
            {
                _db.Dispose();
            }
        }
    }

    // The read path catches SqliteException in a filter, not with 'catch (SqliteException)': a typed catch clause's
    // type is loaded when its method is first called (ReadyToRun), which loaded Microsoft.Data.Sqlite and
    // System.Data.Common (SqliteException's base) for every query command although a query that succeeds needs
    // neither (bench/README.md, "Session 14: start-up"). The filter's type test runs only when something is thrown.
    private T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is SqliteException sqlite)
        {
            throw new FindingStoreException(Classify(sqlite, DatabasePath), sqlite);
        }
    }

    private static StoreError Classify(SqliteException ex, string dbPath)
    {
        // Primary result codes (sqlite.org/rescode.html): 8 READONLY, 11 CORRUPT, 13 FULL, 14 CANTOPEN, 26 NOTADB.
        return (ex.SqliteErrorCode & 0xFF) switch
        {
            11 or 26 => new StoreError(StoreErrorKind.Corrupt, dbPath, CorruptMessage(dbPath, ex.Message)),
            8 or 14 or 23 => new StoreError(StoreErrorKind.NotWritable, dbPath,
                $"cannot open or write '{dbPath}' ({ex.Message}): make it and the data directory writable by this user, or choose another directory with --data DIR"),
            13 => new StoreError(StoreErrorKind.Io, dbPath, $"the disk holding '{dbPath}' is full: free some space and run again"),
            _ => new StoreError(StoreErrorKind.Io, dbPath, $"database error on '{dbPath}': {ex.Message}"),
        };
    }

    private static string CorruptMessage(string dbPath, string detail) =>
        $"'{dbPath}' is damaged or not a database ({detail}); it was left untouched: move it aside (or restore a backup) and run again";

    private static string ForeignMessage(string dbPath) =>
        $"'{dbPath}' is a SQLite database but not a SecMon store; it was left untouched: choose another directory with --data DIR";

    private static string NewerMessage(string dbPath, int version) =>
        $"'{dbPath}' has schema version {version}, newer than this secmon understands ({Schema.CurrentVersion}); it was left untouched: use a newer secmon, or choose another directory with --data DIR";

    private static StoreOpenResult Fail(StoreErrorKind kind, string path, string message) =>
        new() { Error = new StoreError(kind, path, message) };

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
