using Microsoft.Data.Sqlite;
using SecMon.Core;

namespace SecMon.Api;

/// <summary>A finding's workflow state: what was last done to it, by which key, when.</summary>
/// <param name="FindingId">The finding's <c>event.id</c>.</param>
/// <param name="State">acknowledged, assigned or closed.</param>
/// <param name="Assignee">Who it is assigned to (the last assign), or null.</param>
/// <param name="Reason">Why it was closed, or null.</param>
/// <param name="By">The name of the API key that made the change.</param>
/// <param name="AtMicros">When (UTC microseconds).</param>
internal sealed record WorkflowState(string FindingId, string State, string? Assignee, string? Reason, string By, long AtMicros);

/// <summary>One audited write.</summary>
/// <param name="Seq">Its place in the log.</param>
/// <param name="AtMicros">When (UTC microseconds).</param>
/// <param name="By">The API key's name.</param>
/// <param name="Action">What (finding.acknowledge, finding.assign, finding.close, rule.disable, rule.enable, rules.reload).</param>
/// <param name="Target">The finding or rule id ("" for a reload).</param>
/// <param name="Detail">The assignee, the reason, or the outcome.</param>
internal sealed record AuditEntry(long Seq, long AtMicros, string By, string Action, string Target, string? Detail);

/// <summary>
/// The API's own state, in <c>DATA/api.db</c> (SQLite, WAL, mode 0600): the findings' workflow state, kept here
/// beside the findings whatever the findings store is (SQLite or Elasticsearch, where the documents stay as the
/// sensors wrote them), and the audit log of every write: append-only (triggers refuse UPDATE and DELETE).
/// Thread-safe (calls are serialized).
/// </summary>
internal sealed class ApiStateStore : IDisposable
{
    /// <summary>The database's name in the data directory.</summary>
    public const string FileName = "api.db";

    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    private ApiStateStore(SqliteConnection connection, string path)
    {
        _connection = connection;
        Path = path;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating) the database in <paramref name="dataDirectory"/>.</summary>
    /// <exception cref="SqliteException">The file is not a database or cannot be written.</exception>
    public static ApiStateStore Open(string dataDirectory)
    {
        var dir = System.IO.Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(dir);
        var path = System.IO.Path.Combine(dir, FileName);
        if (!File.Exists(path) && !OperatingSystem.IsWindows())
        {
            using (File.Create(path))
            {
            }

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        try
        {
            Execute(connection, """
                PRAGMA journal_mode = WAL;
                PRAGMA busy_timeout = 5000;
                CREATE TABLE IF NOT EXISTS workflow (
                    finding_id TEXT PRIMARY KEY,
                    state TEXT NOT NULL,
                    assignee TEXT,
                    reason TEXT,
                    updated_by TEXT NOT NULL,
                    updated_micros INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS audit (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_micros INTEGER NOT NULL,
                    key_name TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    detail TEXT);
                CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                """);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return new ApiStateStore(connection, path);
    }

    /// <summary>Records a workflow change and its audit entry in one transaction; returns the new state.</summary>
    public WorkflowState SetWorkflow(string findingId, string action, string? assignee, string? reason, string by, long atMicros)
    {
        lock (_gate)
        {
            var previous = GetCore(findingId);
            var state = action switch
            {
                "acknowledge" => "acknowledged",
                "assign" => "assigned",
                "close" => "closed",
                _ => throw new ArgumentException($"unknown action '{action}'", nameof(action)),
            };
            var next = new WorkflowState(findingId, state, assignee ?? previous?.Assignee, action == "close" ? reason : null, by, atMicros);
            using var tx = _connection.BeginTransaction();
            using (var upsert = _connection.CreateCommand())
            {
                upsert.Transaction = tx;
                upsert.CommandText = """
                    INSERT INTO workflow (finding_id, state, assignee, reason, updated_by, updated_micros) VALUES ($id, $state, $assignee, $reason, $by, $at)
                    ON CONFLICT (finding_id) DO UPDATE SET state = excluded.state, assignee = excluded.assignee, reason = excluded.reason,
                        updated_by = excluded.updated_by, updated_micros = excluded.updated_micros
                    """;
                upsert.Parameters.AddWithValue("$id", findingId);
                upsert.Parameters.AddWithValue("$state", next.State);
                upsert.Parameters.AddWithValue("$assignee", (object?)next.Assignee ?? DBNull.Value);
                upsert.Parameters.AddWithValue("$reason", (object?)next.Reason ?? DBNull.Value);
                upsert.Parameters.AddWithValue("$by", by);
                upsert.Parameters.AddWithValue("$at", atMicros);
                upsert.ExecuteNonQuery();
            }

            AuditCore(tx, atMicros, by, "finding." + action, findingId, assignee ?? reason);
            tx.Commit();
            return next;
        }
    }

    /// <summary>The workflow state of a finding, or null when nothing was done to it.</summary>
    public WorkflowState? GetWorkflow(string findingId)
    {
        lock (_gate)
        {
            return GetCore(findingId);
        }
    }

    /// <summary>Appends an audit entry.</summary>
    public void Audit(long atMicros, string by, string action, string target, string? detail)
    {
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            AuditCore(tx, atMicros, by, action, target, detail);
            tx.Commit();
        }
    }

    /// <summary>The audit log, oldest first (at most <paramref name="max"/> entries from <paramref name="afterSeq"/>).</summary>
    public IReadOnlyList<AuditEntry> ReadAudit(long afterSeq = 0, int max = 1000)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT seq, at_micros, key_name, action, target, detail FROM audit WHERE seq > $after ORDER BY seq LIMIT $max";
            cmd.Parameters.AddWithValue("$after", afterSeq);
            cmd.Parameters.AddWithValue("$max", max);
            using var r = cmd.ExecuteReader();
            var list = new List<AuditEntry>();
            while (r.Read())
            {
                list.Add(new AuditEntry(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5)));
            }

            return list;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _connection.Dispose();
        }
    }

    private WorkflowState? GetCore(string findingId)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT state, assignee, reason, updated_by, updated_micros FROM workflow WHERE finding_id = $id";
        cmd.Parameters.AddWithValue("$id", findingId);
        using var r = cmd.ExecuteReader();
        return r.Read()
            ? new WorkflowState(findingId, r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetInt64(4))
            : null;
    }

    private void AuditCore(SqliteTransaction tx, long atMicros, string by, string action, string target, string? detail)
    {
        using var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO audit (at_micros, key_name, action, target, detail) VALUES ($at, $by, $action, $target, $detail)";
        cmd.Parameters.AddWithValue("$at", atMicros);
        cmd.Parameters.AddWithValue("$by", by);
        cmd.Parameters.AddWithValue("$action", action);
        cmd.Parameters.AddWithValue("$target", target);
        cmd.Parameters.AddWithValue("$detail", (object?)detail ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Formats micros for JSON.</summary>
    public static string FormatTime(long micros) => Time.FormatMicros(micros);
}
