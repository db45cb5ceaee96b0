using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace SecMon.Pki.Store;

/// <summary>
/// The CA's state in SQLite (<c>pki.db</c> in the data directory): issued certificates and their revocation,
/// enrollment tokens, CRLs, pending enrollments and the hash-chained audit log. One connection, serialized
/// by a lock; writers take SQLite's write lock up front (BEGIN IMMEDIATE) so that the CLI and a running
/// server can share the file, and the audit chain is extended from the row read inside that transaction.
/// </summary>
public sealed class PkiStore : IDisposable
{
    /// <summary>File name of the database inside the data directory.</summary>
    public const string FileName = "pki.db";

    /// <summary>The hash a chain starts from (the "previous hash" of row 1).</summary>
    public static readonly string GenesisHash = new('0', 64);

    // Schema migrations, applied in order; PRAGMA user_version records how many ran. Append, never edit.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE certificates (
            serial TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            profile TEXT NOT NULL,
            subject TEXT NOT NULL,
            not_before INTEGER NOT NULL,
            not_after INTEGER NOT NULL,
            issued_at INTEGER NOT NULL,
            der BLOB NOT NULL,
            renewed_from TEXT,
            revoked_at INTEGER,
            revocation_reason INTEGER
        );
        CREATE INDEX certificates_device ON certificates(device_id);
        CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE revoked_at IS NOT NULL;
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            secret_hash BLOB NOT NULL,
            device_id TEXT NOT NULL,
            profile TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            used_serial TEXT
        );
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            time INTEGER NOT NULL,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            device_id TEXT,
            serial TEXT,
            outcome TEXT NOT NULL,
            detail TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TABLE crls (
            number INTEGER PRIMARY KEY,
            this_update INTEGER NOT NULL,
            next_update INTEGER NOT NULL,
            der BLOB NOT NULL
        );
        CREATE TABLE pending (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            profile TEXT NOT NULL,
            csr_hash TEXT NOT NULL,
            client TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            status TEXT NOT NULL
        );
        CREATE INDEX pending_device ON pending(device_id, csr_hash);
        """,
        // 2: tokens can be revoked before use; renewals are found from the certificate they supersede.
        """
        ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
        CREATE INDEX certificates_renewed_from ON certificates(renewed_from) WHERE renewed_from IS NOT NULL;
        """,
        // 3: the audit log is keyed (AuditKey): mac = HMAC-SHA256(key, hash); NULL on rows written before the key.
        "ALTER TABLE audit ADD COLUMN mac TEXT;",
    ];

    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();

    private PkiStore(SqliteConnection connection)
    {
        _connection = connection;
    }

    /// <summary>The schema version (number of migrations applied).</summary>
    public static int LatestSchemaVersion => Migrations.Length;

    /// <summary>Opens (creating if needed) <c>pki.db</c> in <paramref name="dataDirectory"/> and migrates it.</summary>
    /// <exception cref="PkiException">The directory cannot be created or the database is not a SecMon PKI database.</exception>
    public static PkiStore Open(string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        try
        {
            Directory.CreateDirectory(dataDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PkiException($"{dataDirectory}: cannot create the data directory ({e.Message}); pass --data DIR.", e);
        }

        var path = Path.Combine(dataDirectory, FileName);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            connection.Open();
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
            var store = new PkiStore(connection);
            store.Migrate();
            return store;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new PkiException($"{path}: cannot open the PKI database ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Opens an existing <c>pki.db</c> for commands that only read (<c>ca list</c>, <c>ca token list</c>): never
    /// creates the data directory or the database, so a wrong <c>--data</c> is reported, not papered over.
    /// </summary>
    /// <exception cref="PkiException">There is no <c>pki.db</c> in <paramref name="dataDirectory"/>, or it cannot be opened.</exception>
    public static PkiStore OpenExisting(string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            throw new PkiException($"{path}: no CA here (no PKI database); run `secmon ca init`, or pass --data DIR.");
        }

        return Open(dataDirectory);
    }

    /// <summary>The schema version of the open database.</summary>
    public int SchemaVersion
    {
        get
        {
            lock (_lock)
            {
                return Convert.ToInt32(Scalar(_connection, "PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> in one write transaction (BEGIN IMMEDIATE); rolls back if it throws.</summary>
    public T Write<T>(Func<SqliteTransaction, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            var result = work(tx);
            tx.Commit();
            return result;
        }
    }

    /// <summary>Runs <paramref name="work"/> with the connection for reading.</summary>
    public T Read<T>(Func<SqliteConnection, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_lock)
        {
            return work(_connection);
        }
    }

    // ---- audit ----------------------------------------------------------------------------------------

    /// <summary>
    /// Keys this store's audit appends: from now on every row appended through it carries a MAC (the key is loaded,
    /// or made for a log that has none, at the first append). <c>CertificateAuthority.Open</c> calls it.
    /// </summary>
    public void UseAuditKey(AuditKeySource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        lock (_lock)
        {
            AuditKeySources.AddOrUpdate(_connection, source);
        }
    }

    /// <summary>
    /// Loads the audit key now (or makes it, for a log without one), instead of at the first append: a server
    /// pays the key derivation at start, not inside its first request, and a wrong passphrase stops it there.
    /// Does nothing for a store without <see cref="UseAuditKey"/>.
    /// </summary>
    /// <exception cref="PkiException">No passphrase, the wrong one, or the key file is missing from a keyed log.</exception>
    public void PrepareAuditKey() => Write(tx =>
    {
        if (AuditKeySources.TryGetValue(tx.Connection!, out var source))
        {
            using var r = Prepared(tx.Connection!, tx, "SELECT seq, hash, mac FROM audit ORDER BY seq DESC LIMIT 1").ExecuteReader();
            var (next, keyed) = r.Read() ? (r.GetInt64(0) + 1, !r.IsDBNull(2)) : (1L, false);
            source.Get(next, keyed);
        }

        return 0;
    });

    /// <summary>
    /// Appends a row to the audit log inside <paramref name="tx"/>: hash = SHA-256(prev_hash || fields),
    /// each field length-prefixed so that no two rows encode alike, and mac = HMAC(audit key, hash) when the
    /// store has an audit key (<see cref="UseAuditKey"/>). A store without one appends unkeyed rows only to a
    /// log that has no MACs yet (tests, a log from before the key).
    /// </summary>
    /// <exception cref="PkiException">The log is keyed and the key is not available (no passphrase, wrong one, missing file).</exception>
    public static AuditEntry AppendAudit(
        SqliteTransaction tx, DateTimeOffset time, string action, string actor, string? deviceId, string? serial, string outcome, string? detail)
    {
        ArgumentNullException.ThrowIfNull(tx);
        var conn = tx.Connection!;
        long seq = 1;
        var prev = GenesisHash;
        var keyed = false;
        using (var r = Prepared(conn, tx, "SELECT seq, hash, mac FROM audit ORDER BY seq DESC LIMIT 1").ExecuteReader())
        {
            if (r.Read())
            {
                seq = r.GetInt64(0) + 1;
                prev = r.GetString(1);
                keyed = !r.IsDBNull(2);
            }
        }

        var micros = SecMon.Core.Time.ToUnixMicros(time);
        var hash = ComputeAuditHash(prev, seq, micros, action, actor, deviceId, serial, outcome, detail);
        string? mac = null;
        if (AuditKeySources.TryGetValue(conn, out var source))
        {
            mac = source.Get(seq, keyed).Mac(hash);
        }
        else if (keyed)
        {
            throw new PkiException("the audit log is keyed: append through the CA opened with its passphrase.");
        }

        {
            var cmd = Prepared(conn, tx,
                "INSERT INTO audit (seq, time, action, actor, device_id, serial, outcome, detail, prev_hash, hash, mac) VALUES ($s,$t,$a,$ac,$d,$se,$o,$de,$p,$h,$m)");
            cmd.Parameters.AddWithValue("$s", seq);
            cmd.Parameters.AddWithValue("$t", micros);
            cmd.Parameters.AddWithValue("$a", action);
            cmd.Parameters.AddWithValue("$ac", actor);
            cmd.Parameters.AddWithValue("$d", (object?)deviceId ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$se", (object?)serial ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$o", outcome);
            cmd.Parameters.AddWithValue("$de", (object?)detail ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$p", prev);
            cmd.Parameters.AddWithValue("$h", hash);
            cmd.Parameters.AddWithValue("$m", (object?)mac ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }

        return new AuditEntry
        {
            Seq = seq, TimeMicros = micros, Action = action, Actor = actor, DeviceId = deviceId, Serial = serial,
            Outcome = outcome, Detail = detail, PrevHash = prev, Hash = hash, Mac = mac,
        };
    }

    /// <summary>Appends one audit row in its own transaction.</summary>
    public AuditEntry Audit(DateTimeOffset time, string action, string actor, string? deviceId, string? serial, string outcome, string? detail) =>
        Write(tx => AppendAudit(tx, time, action, actor, deviceId, serial, outcome, detail));

    /// <summary>The hash of one audit row given the previous row's hash.</summary>
    public static string ComputeAuditHash(
        string prevHash, long seq, long timeMicros, string action, string actor, string? deviceId, string? serial, string outcome, string? detail)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> num = stackalloc byte[8];
        AppendField(h, prevHash);
        BinaryPrimitives.WriteInt64BigEndian(num, seq);
        h.AppendData(num);
        BinaryPrimitives.WriteInt64BigEndian(num, timeMicros);
        h.AppendData(num);
        AppendField(h, action);
        AppendField(h, actor);
        AppendField(h, deviceId);
        AppendField(h, serial);
        AppendField(h, outcome);
        AppendField(h, detail);
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    /// <summary>Reads audit rows in order (all, or the last <paramref name="limit"/>).</summary>
    public IReadOnlyList<AuditEntry> ReadAudit(int? limit = null) => Read(conn =>
    {
        var sql = limit is null
            ? "SELECT seq, time, action, actor, device_id, serial, outcome, detail, prev_hash, hash, mac FROM audit ORDER BY seq"
            : "SELECT * FROM (SELECT seq, time, action, actor, device_id, serial, outcome, detail, prev_hash, hash, mac FROM audit ORDER BY seq DESC LIMIT $l) ORDER BY seq";
        using var cmd = Command(conn, null, sql);
        if (limit is not null)
        {
            cmd.Parameters.AddWithValue("$l", limit.Value);
        }

        using var r = cmd.ExecuteReader();
        var list = new List<AuditEntry>();
        while (r.Read())
        {
            list.Add(ReadAuditRow(r));
        }

        return (IReadOnlyList<AuditEntry>)list;
    });

    /// <summary>
    /// Walks the audit log and checks every link: sequence numbers contiguous from 1, each row's prev_hash
    /// equal to the previous row's hash, each hash recomputed from the row, and with <paramref name="key"/> each
    /// row's MAC from <see cref="AuditKey.KeyedFrom"/> on. An edited, inserted or deleted row breaks the chain at
    /// that row; one edited with every later hash recomputed breaks the MACs (which need the key). Rows before
    /// the key are a legacy prefix, checked by the hash chain only. Without a key only the hashes are checked
    /// (<see cref="AuditVerification.MacsVerified"/> false). Removing rows from the end leaves a shorter valid
    /// chain: give a head kept elsewhere as <paramref name="expectHead"/>, and <see cref="AuditVerification.ExpectedHeadSeq"/>
    /// says which verified row has that hash (null: none, rows were removed or the log rewritten).
    /// </summary>
    public AuditVerification VerifyAudit(AuditKey? key = null, string? expectHead = null) => Read(conn =>
    {
        using var cmd = Command(conn, null, "SELECT seq, time, action, actor, device_id, serial, outcome, detail, prev_hash, hash, mac FROM audit ORDER BY seq");
        using var r = cmd.ExecuteReader();
        long expected = 1;
        var prev = GenesisHash;
        long? firstMac = null;
        long? headSeq = null;
        var want = expectHead?.Trim().ToLowerInvariant();
        AuditVerification Broken(long seq, string problem) =>
            new(false, expected - 1, seq, problem, prev) { FirstMacRow = firstMac, MacsVerified = key is not null, ExpectedHeadSeq = headSeq };
        while (r.Read())
        {
            var e = ReadAuditRow(r);
            if (e.Seq != expected)
            {
                return Broken(expected, $"row {expected} is missing (next row is {e.Seq})");
            }

            if (!string.Equals(e.PrevHash, prev, StringComparison.Ordinal))
            {
                return Broken(e.Seq, $"row {e.Seq}: prev_hash does not match row {e.Seq - 1}'s hash");
            }

            var computed = ComputeAuditHash(e.PrevHash, e.Seq, e.TimeMicros, e.Action, e.Actor, e.DeviceId, e.Serial, e.Outcome, e.Detail);
            if (!string.Equals(computed, e.Hash, StringComparison.Ordinal))
            {
                return Broken(e.Seq, $"row {e.Seq}: contents do not match its hash (the row was edited)");
            }

            firstMac ??= e.Mac is null ? null : e.Seq;
            if (firstMac is not null && e.Mac is null)
            {
                return Broken(e.Seq, $"row {e.Seq} has no MAC but row {firstMac} before it has (rows were rewritten without the audit key)");
            }

            // Every MAC present is checked, not only from KeyedFrom on (a data directory started afresh under an
            // existing key has MACs below it).
            if (key is not null && (e.Seq >= key.KeyedFrom || e.Mac is not null) && !key.Verify(e.Hash, e.Mac))
            {
                return Broken(e.Seq, e.Mac is null
                    ? $"row {e.Seq} has no MAC but the audit key covers rows from {key.KeyedFrom} (rows were rewritten without the key)"
                    : $"row {e.Seq}: its MAC does not verify with the audit key (the row or one before it was rewritten and rehashed)");
            }

            prev = e.Hash;
            if (string.Equals(e.Hash, want, StringComparison.Ordinal))
            {
                headSeq = e.Seq;
            }

            expected++;
        }

        return new AuditVerification(true, expected - 1, null, null, prev) { FirstMacRow = firstMac, MacsVerified = key is not null, ExpectedHeadSeq = headSeq };
    });

    // ---- certificates -------------------------------------------------------------------------------------

    /// <summary>Stores an issued certificate inside <paramref name="tx"/>.</summary>
    public static void InsertCertificate(SqliteTransaction tx, IssuedCertificate c)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(c);
        var cmd = Prepared(tx.Connection!, tx,
            "INSERT INTO certificates (serial, device_id, profile, subject, not_before, not_after, issued_at, der, renewed_from) VALUES ($s,$d,$p,$su,$nb,$na,$ia,$der,$rf)");
        cmd.Parameters.AddWithValue("$s", c.Serial);
        cmd.Parameters.AddWithValue("$d", c.DeviceId);
        cmd.Parameters.AddWithValue("$p", c.Profile);
        cmd.Parameters.AddWithValue("$su", c.Subject);
        cmd.Parameters.AddWithValue("$nb", c.NotBefore.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$na", c.NotAfter.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$ia", c.IssuedAt.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$der", c.Der);
        cmd.Parameters.AddWithValue("$rf", (object?)c.RenewedFrom ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    /// <summary>One certificate by serial (uppercase hex), or null.</summary>
    public IssuedCertificate? GetCertificate(string serial) => Read(conn =>
    {
        var cmd = Prepared(conn, null, CertificateColumns + " WHERE c.serial = $s");
        cmd.Parameters.AddWithValue("$s", serial);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadCertificateRow(r) : null;
    });

    /// <summary>One certificate by serial inside <paramref name="tx"/>, or null.</summary>
    public static IssuedCertificate? GetCertificate(SqliteTransaction tx, string serial)
    {
        ArgumentNullException.ThrowIfNull(tx);
        using var cmd = Command(tx.Connection!, tx, CertificateColumns + " WHERE c.serial = $s");
        cmd.Parameters.AddWithValue("$s", serial);
        return ReadCertificates(cmd).FirstOrDefault();
    }

    /// <summary>Certificates, newest first, optionally for one device and/or only revoked ones.</summary>
    public IReadOnlyList<IssuedCertificate> ListCertificates(string? deviceId = null, bool revokedOnly = false, int limit = 1000) => Read(conn =>
    {
        var sql = CertificateColumns + " WHERE ($d IS NULL OR c.device_id = $d) AND ($r = 0 OR c.revoked_at IS NOT NULL) ORDER BY c.issued_at DESC, c.rowid DESC LIMIT $l";
        using var cmd = Command(conn, null, sql);
        cmd.Parameters.AddWithValue("$d", (object?)deviceId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$r", revokedOnly ? 1 : 0);
        cmd.Parameters.AddWithValue("$l", limit);
        using var r = cmd.ExecuteReader();
        var list = new List<IssuedCertificate>();
        while (r.Read())
        {
            list.Add(ReadCertificateRow(r));
        }

        return (IReadOnlyList<IssuedCertificate>)list;
    });

    /// <summary>
    /// The certificates of a device that are neither revoked nor expired at <paramref name="now"/> (superseded
    /// ones included: they still open the door until revoked), inside <paramref name="tx"/>.
    /// </summary>
    public static IReadOnlyList<IssuedCertificate> ListValidForDevice(SqliteTransaction tx, string deviceId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(tx);
        using var cmd = Command(tx.Connection!, tx, CertificateColumns + " WHERE c.device_id = $d AND c.revoked_at IS NULL AND c.not_after >= $n ORDER BY c.issued_at, c.rowid");
        cmd.Parameters.AddWithValue("$d", deviceId);
        cmd.Parameters.AddWithValue("$n", now.ToUnixTimeSeconds());
        return ReadCertificates(cmd);
    }

    /// <summary>
    /// Superseded certificates whose grace period has passed at <paramref name="now"/>: not revoked, not expired,
    /// renewed by a certificate issued at or before <paramref name="now"/> - <paramref name="grace"/>.
    /// </summary>
    public static IReadOnlyList<IssuedCertificate> ListSupersededDue(SqliteTransaction tx, DateTimeOffset now, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(tx);
        using var cmd = Command(tx.Connection!, tx, SupersededDueSql);
        cmd.Parameters.AddWithValue("$n", now.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$cut", (now - grace).ToUnixTimeSeconds());
        return ReadCertificates(cmd);
    }

    /// <summary>True when some superseded certificate's grace period has passed (cheap enough to poll every second).</summary>
    public bool AnySupersededDue(DateTimeOffset now, TimeSpan grace) => Read(conn =>
    {
        using var cmd = Command(conn, null, "SELECT EXISTS (" + SupersededDueSql + ")");
        cmd.Parameters.AddWithValue("$n", now.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$cut", (now - grace).ToUnixTimeSeconds());
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0;
    });

    private const string SupersededDueSql =
        CertificateColumns + " WHERE c.revoked_at IS NULL AND c.not_after >= $n AND EXISTS " +
        "(SELECT 1 FROM certificates n WHERE n.renewed_from = c.serial AND n.issued_at <= $cut) ORDER BY c.issued_at, c.rowid";

    private static List<IssuedCertificate> ReadCertificates(SqliteCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var list = new List<IssuedCertificate>();
        while (r.Read())
        {
            list.Add(ReadCertificateRow(r));
        }

        return list;
    }

    /// <summary>Marks a certificate revoked inside <paramref name="tx"/>; false when unknown or already revoked.</summary>
    public static bool RevokeCertificate(SqliteTransaction tx, string serial, DateTimeOffset time, RevocationReason reason)
    {
        ArgumentNullException.ThrowIfNull(tx);
        using var cmd = Command(tx.Connection!, tx,
            "UPDATE certificates SET revoked_at = $t, revocation_reason = $r WHERE serial = $s AND revoked_at IS NULL");
        cmd.Parameters.AddWithValue("$t", time.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$r", (int)reason);
        cmd.Parameters.AddWithValue("$s", serial);
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>Revoked certificates that have not yet expired at <paramref name="now"/> (RFC 5280 §3.3: an
    /// expired certificate may leave the CRL): serial, revocation time, reason.</summary>
    public IReadOnlyList<(string Serial, DateTimeOffset RevokedAt, RevocationReason Reason)> ListRevoked(DateTimeOffset now) =>
        Read(conn => ListRevoked(conn, null, now));

    /// <summary>The same inside <paramref name="tx"/>, so a CRL can be built from the rows the transaction just changed.</summary>
    public static IReadOnlyList<(string Serial, DateTimeOffset RevokedAt, RevocationReason Reason)> ListRevoked(SqliteTransaction tx, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(tx);
        return ListRevoked(tx.Connection!, tx, now);
    }

    private static List<(string Serial, DateTimeOffset RevokedAt, RevocationReason Reason)> ListRevoked(SqliteConnection conn, SqliteTransaction? tx, DateTimeOffset now)
    {
        using var cmd = Command(conn, tx,
            "SELECT serial, revoked_at, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL AND not_after >= $n ORDER BY revoked_at, serial");
        cmd.Parameters.AddWithValue("$n", now.ToUnixTimeSeconds());
        using var r = cmd.ExecuteReader();
        var list = new List<(string, DateTimeOffset, RevocationReason)>();
        while (r.Read())
        {
            list.Add((r.GetString(0), DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(1)), (RevocationReason)r.GetInt32(2)));
        }

        return list;
    }

    // ---- tokens -------------------------------------------------------------------------------------------

    /// <summary>Stores a token inside <paramref name="tx"/>.</summary>
    public static void InsertToken(SqliteTransaction tx, EnrollmentTokenRecord t)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(t);
        using var cmd = Command(tx.Connection!, tx,
            "INSERT INTO tokens (id, secret_hash, device_id, profile, created_at, expires_at) VALUES ($i,$h,$d,$p,$c,$e)");
        cmd.Parameters.AddWithValue("$i", t.Id);
        cmd.Parameters.AddWithValue("$h", t.SecretHash);
        cmd.Parameters.AddWithValue("$d", t.DeviceId);
        cmd.Parameters.AddWithValue("$p", t.Profile);
        cmd.Parameters.AddWithValue("$c", t.CreatedAt.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$e", t.ExpiresAt.ToUnixTimeSeconds());
        cmd.ExecuteNonQuery();
    }

    private const string TokenColumns = "SELECT id, secret_hash, device_id, profile, created_at, expires_at, used_at, used_serial, revoked_at FROM tokens";

    /// <summary>A token by id, or null.</summary>
    public EnrollmentTokenRecord? GetToken(string id) => Read(conn =>
    {
        var cmd = Prepared(conn, null, TokenColumns + " WHERE id = $i");
        cmd.Parameters.AddWithValue("$i", id);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadTokenRow(r) : null;
    });

    /// <summary>
    /// Tokens, newest first: all of them, or only those still usable at <paramref name="now"/> (unused, unrevoked,
    /// unexpired) when <paramref name="all"/> is false.
    /// </summary>
    public IReadOnlyList<EnrollmentTokenRecord> ListTokens(bool all, DateTimeOffset now, int limit = 1000) => Read(conn =>
    {
        using var cmd = Command(conn, null,
            TokenColumns + " WHERE $all = 1 OR (used_at IS NULL AND revoked_at IS NULL AND expires_at > $n) ORDER BY created_at DESC, rowid DESC LIMIT $l");
        cmd.Parameters.AddWithValue("$all", all ? 1 : 0);
        cmd.Parameters.AddWithValue("$n", now.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$l", limit);
        using var r = cmd.ExecuteReader();
        var list = new List<EnrollmentTokenRecord>();
        while (r.Read())
        {
            list.Add(ReadTokenRow(r));
        }

        return (IReadOnlyList<EnrollmentTokenRecord>)list;
    });

    /// <summary>Marks an unused token revoked inside <paramref name="tx"/>; false when unknown, used or already revoked.</summary>
    public static bool RevokeToken(SqliteTransaction tx, string id, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(tx);
        using var cmd = Command(tx.Connection!, tx, "UPDATE tokens SET revoked_at = $t WHERE id = $i AND used_at IS NULL AND revoked_at IS NULL");
        cmd.Parameters.AddWithValue("$t", time.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$i", id);
        return cmd.ExecuteNonQuery() == 1;
    }

    private static EnrollmentTokenRecord ReadTokenRow(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        SecretHash = (byte[])r[1],
        DeviceId = r.GetString(2),
        Profile = r.GetString(3),
        CreatedAt = DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(4)),
        ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(5)),
        UsedAt = r.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(6)),
        UsedSerial = r.IsDBNull(7) ? null : r.GetString(7),
        RevokedAt = r.IsDBNull(8) ? null : DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(8)),
    };

    /// <summary>Marks a token used inside <paramref name="tx"/>; false when it was already used or was revoked meanwhile (a race lost).</summary>
    public static bool ConsumeToken(SqliteTransaction tx, string id, DateTimeOffset time, string serial)
    {
        ArgumentNullException.ThrowIfNull(tx);
        var cmd = Prepared(tx.Connection!, tx, "UPDATE tokens SET used_at = $t, used_serial = $s WHERE id = $i AND used_at IS NULL AND revoked_at IS NULL");
        cmd.Parameters.AddWithValue("$t", time.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$s", serial);
        cmd.Parameters.AddWithValue("$i", id);
        return cmd.ExecuteNonQuery() == 1;
    }

    // ---- CRLs ---------------------------------------------------------------------------------------------

    /// <summary>The next CRL number (RFC 5280 §5.2.3: monotonically increasing) inside <paramref name="tx"/>.</summary>
    public static long NextCrlNumber(SqliteTransaction tx)
    {
        ArgumentNullException.ThrowIfNull(tx);
        return Convert.ToInt64(Scalar(tx.Connection!, "SELECT COALESCE(MAX(number), 0) + 1 FROM crls", tx), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Stores a CRL inside <paramref name="tx"/> and drops older ones (only the latest is served).</summary>
    public static void InsertCrl(SqliteTransaction tx, long number, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, byte[] der)
    {
        ArgumentNullException.ThrowIfNull(tx);
        using (var cmd = Command(tx.Connection!, tx, "INSERT INTO crls (number, this_update, next_update, der) VALUES ($n,$t,$u,$d)"))
        {
            cmd.Parameters.AddWithValue("$n", number);
            cmd.Parameters.AddWithValue("$t", thisUpdate.ToUnixTimeSeconds());
            cmd.Parameters.AddWithValue("$u", nextUpdate.ToUnixTimeSeconds());
            cmd.Parameters.AddWithValue("$d", der);
            cmd.ExecuteNonQuery();
        }

        using (var cmd = Command(tx.Connection!, tx, "DELETE FROM crls WHERE number < $n"))
        {
            cmd.Parameters.AddWithValue("$n", number);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>The latest CRL (number, this/next update, DER), or null before the first.</summary>
    public (long Number, DateTimeOffset ThisUpdate, DateTimeOffset NextUpdate, byte[] Der)? LatestCrl() => Read(conn =>
    {
        using var cmd = Command(conn, null, "SELECT number, this_update, next_update, der FROM crls ORDER BY number DESC LIMIT 1");
        using var r = cmd.ExecuteReader();
        if (!r.Read())
        {
            return ((long, DateTimeOffset, DateTimeOffset, byte[])?)null;
        }

        return (r.GetInt64(0), DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(1)), DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(2)), (byte[])r[3]);
    });

    /// <summary>The latest CRL's number and times without its body (cheap to poll), or null before the first.</summary>
    public (long Number, DateTimeOffset ThisUpdate, DateTimeOffset NextUpdate)? LatestCrlInfo() => Read(conn =>
    {
        using var cmd = Command(conn, null, "SELECT number, this_update, next_update FROM crls ORDER BY number DESC LIMIT 1");
        using var r = cmd.ExecuteReader();
        if (!r.Read())
        {
            return ((long, DateTimeOffset, DateTimeOffset)?)null;
        }

        return (r.GetInt64(0), DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(1)), DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(2)));
    });

    /// <summary>The latest CRL number only (cheap: servers poll it to notice revocations made by the CLI).</summary>
    public long LatestCrlNumber() => Read(conn =>
        Convert.ToInt64(Scalar(conn, "SELECT COALESCE(MAX(number), 0) FROM crls"), System.Globalization.CultureInfo.InvariantCulture));

    // ---- pending enrollments ------------------------------------------------------------------------------

    /// <summary>The pending enrollment for a device and CSR, or null.</summary>
    public PendingEnrollment? FindPending(string deviceId, string csrHash) => Read(conn =>
    {
        using var cmd = Command(conn, null, PendingColumns + " WHERE device_id = $d AND csr_hash = $h ORDER BY id DESC LIMIT 1");
        cmd.Parameters.AddWithValue("$d", deviceId);
        cmd.Parameters.AddWithValue("$h", csrHash);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadPendingRow(r) : null;
    });

    /// <summary>Pending enrollments (status <c>pending</c>), oldest first.</summary>
    public IReadOnlyList<PendingEnrollment> ListPending() => Read(conn =>
    {
        using var cmd = Command(conn, null, PendingColumns + " WHERE status = 'pending' ORDER BY id");
        using var r = cmd.ExecuteReader();
        var list = new List<PendingEnrollment>();
        while (r.Read())
        {
            list.Add(ReadPendingRow(r));
        }

        return (IReadOnlyList<PendingEnrollment>)list;
    });

    /// <summary>Records a pending enrollment inside <paramref name="tx"/>; returns its id.</summary>
    public static long InsertPending(SqliteTransaction tx, string deviceId, string profile, string csrHash, string client, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(tx);
        using var cmd = Command(tx.Connection!, tx,
            "INSERT INTO pending (device_id, profile, csr_hash, client, created_at, status) VALUES ($d,$p,$h,$c,$t,'pending') RETURNING id");
        cmd.Parameters.AddWithValue("$d", deviceId);
        cmd.Parameters.AddWithValue("$p", profile);
        cmd.Parameters.AddWithValue("$h", csrHash);
        cmd.Parameters.AddWithValue("$c", client);
        cmd.Parameters.AddWithValue("$t", time.ToUnixTimeSeconds());
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Sets a pending enrollment's status inside <paramref name="tx"/>; false when no row changed.</summary>
    public static bool SetPendingStatus(SqliteTransaction tx, long id, string fromStatus, string toStatus)
    {
        ArgumentNullException.ThrowIfNull(tx);
        using var cmd = Command(tx.Connection!, tx, "UPDATE pending SET status = $to WHERE id = $i AND status = $from");
        cmd.Parameters.AddWithValue("$to", toStatus);
        cmd.Parameters.AddWithValue("$i", id);
        cmd.Parameters.AddWithValue("$from", fromStatus);
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>One pending enrollment by id, or null.</summary>
    public PendingEnrollment? GetPending(long id) => Read(conn =>
    {
        using var cmd = Command(conn, null, PendingColumns + " WHERE id = $i");
        cmd.Parameters.AddWithValue("$i", id);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadPendingRow(r) : null;
    });

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            if (PreparedStatements.TryGetValue(_connection, out var statements))
            {
                foreach (var cmd in statements.Values)
                {
                    cmd.Dispose();
                }

                PreparedStatements.Remove(_connection);
            }

            _connection.Dispose();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    // The renewal that superseded a certificate is the row whose renewed_from names it (indexed).
    private const string CertificateColumns =
        "SELECT c.serial, c.device_id, c.profile, c.subject, c.not_before, c.not_after, c.issued_at, c.der, c.renewed_from, c.revoked_at, c.revocation_reason, " +
        "s.serial, s.issued_at FROM certificates c " +
        "LEFT JOIN certificates s ON s.rowid = (SELECT n.rowid FROM certificates n WHERE n.renewed_from = c.serial ORDER BY n.issued_at, n.rowid LIMIT 1)";

    private const string PendingColumns = "SELECT id, device_id, profile, csr_hash, client, created_at, status FROM pending";

    private void Migrate()
    {
        lock (_lock)
        {
            var version = Convert.ToInt32(Scalar(_connection, "PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
            if (version > Migrations.Length)
            {
                throw new PkiException($"the PKI database has schema version {version}, newer than this secmon ({Migrations.Length}); upgrade secmon.");
            }

            for (var i = version; i < Migrations.Length; i++)
            {
                using var tx = _connection.BeginTransaction(deferred: false);
                using (var cmd = Command(_connection, tx, Migrations[i]))
                {
                    cmd.ExecuteNonQuery();
                }

                using (var cmd = Command(_connection, tx, $"PRAGMA user_version = {i + 1}"))
                {
                    cmd.ExecuteNonQuery();
                }

                tx.Commit();
            }
        }
    }

    private static IssuedCertificate ReadCertificateRow(SqliteDataReader r) => new()
    {
        Serial = r.GetString(0),
        DeviceId = r.GetString(1),
        Profile = r.GetString(2),
        Subject = r.GetString(3),
        NotBefore = DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(4)),
        NotAfter = DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(5)),
        IssuedAt = DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(6)),
        Der = (byte[])r[7],
        RenewedFrom = r.IsDBNull(8) ? null : r.GetString(8),
        RevokedAt = r.IsDBNull(9) ? null : DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(9)),
        RevocationReason = r.IsDBNull(10) ? RevocationReason.Unspecified : (RevocationReason)r.GetInt32(10),
        SupersededBy = r.IsDBNull(11) ? null : r.GetString(11),
        SupersededAt = r.IsDBNull(12) ? null : DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(12)),
    };

    private static PendingEnrollment ReadPendingRow(SqliteDataReader r) => new()
    {
        Id = r.GetInt64(0),
        DeviceId = r.GetString(1),
        Profile = r.GetString(2),
        CsrHash = r.GetString(3),
        Client = r.GetString(4),
        CreatedAt = DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(5)),
        Status = r.GetString(6),
    };

    private static AuditEntry ReadAuditRow(SqliteDataReader r) => new()
    {
        Seq = r.GetInt64(0),
        TimeMicros = r.GetInt64(1),
        Action = r.GetString(2),
        Actor = r.GetString(3),
        DeviceId = r.IsDBNull(4) ? null : r.GetString(4),
        Serial = r.IsDBNull(5) ? null : r.GetString(5),
        Outcome = r.GetString(6),
        Detail = r.IsDBNull(7) ? null : r.GetString(7),
        PrevHash = r.GetString(8),
        Hash = r.GetString(9),
        Mac = r.IsDBNull(10) ? null : r.GetString(10),
    };

    private static void AppendField(IncrementalHash h, string? value)
    {
        Span<byte> len = stackalloc byte[4];
        if (value is null)
        {
            // A null and an empty string must hash differently: -1 marks null.
            BinaryPrimitives.WriteInt32BigEndian(len, -1);
            h.AppendData(len);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        BinaryPrimitives.WriteInt32BigEndian(len, bytes.Length);
        h.AppendData(len);
        h.AppendData(bytes);
    }

    // Statements an enrollment, an OCSP look-up or an audit append runs, prepared once per connection and
    // reused: measured (bench/README.md "PKI"), preparing them anew each time (SQLite's parser and planner)
    // was a large part of an enrollment's store time. A connection is used by one thread at a time (the
    // store's lock, or the caller's own serialization for a connection it owns), and closing it finalizes
    // the statements (Microsoft.Data.Sqlite disposes a connection's commands on Close).
    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> PreparedStatements = new();

    // The audit key of a store's connection: AppendAudit is static (it runs inside callers' transactions) and finds
    // the key through the connection, as it finds its prepared statements.
    private static readonly ConditionalWeakTable<SqliteConnection, AuditKeySource> AuditKeySources = new();

    /// <summary>A cached prepared command for constant <paramref name="sql"/>, its parameters cleared. Not to be disposed by the caller.</summary>
    private static SqliteCommand Prepared(SqliteConnection conn, SqliteTransaction? tx, string sql)
    {
        var cache = PreparedStatements.GetValue(conn, _ => new Dictionary<string, SqliteCommand>(StringComparer.Ordinal));
        if (!cache.TryGetValue(sql, out var cmd))
        {
            cmd = Command(conn, tx, sql);
            cache[sql] = cmd;
        }

        cmd.Transaction = tx;
        cmd.Parameters.Clear();
        return cmd;
    }

    private static SqliteCommand Command(SqliteConnection conn, SqliteTransaction? tx, string sql)
    {
        var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
#pragma warning disable CA2100 // SQL text is constant (migrations and fixed statements); values are parameters.
        cmd.CommandText = sql;
#pragma warning restore CA2100
        return cmd;
    }

    private static void Execute(SqliteConnection conn, string sql)
    {
        using var cmd = Command(conn, null, sql);
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection conn, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = Command(conn, tx, sql);
        return cmd.ExecuteScalar();
    }
}

/// <summary>The result of <see cref="PkiStore.VerifyAudit"/>.</summary>
/// <param name="Ok">True when every link holds.</param>
/// <param name="VerifiedRows">Rows verified before the first break (all rows when <paramref name="Ok"/>).</param>
/// <param name="FirstBadSeq">The first row that does not verify, or null.</param>
/// <param name="Problem">What is wrong, or null.</param>
/// <param name="HeadHash">The hash of the last verified row (keep a copy elsewhere to detect truncation).</param>
public sealed record AuditVerification(bool Ok, long VerifiedRows, long? FirstBadSeq, string? Problem, string HeadHash)
{
    /// <summary>The first row that carries a MAC (rows before it are the unkeyed legacy prefix), or null when none does.</summary>
    public long? FirstMacRow { get; init; }

    /// <summary>True when the MACs were checked with the audit key (false: the hash chain only).</summary>
    public bool MacsVerified { get; init; }

    /// <summary>
    /// The verified row whose hash is the expected head given to <see cref="PkiStore.VerifyAudit"/>, or null: a head
    /// recorded earlier is still in the log (rows appended since are fine); null means rows were removed from the end
    /// or the log was rewritten.
    /// </summary>
    public long? ExpectedHeadSeq { get; init; }
}
