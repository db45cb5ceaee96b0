using Microsoft.Data.Sqlite;
using SecMon.Pki.Store;

namespace SecMon.Pki.Tests.Store;

/// <summary>The keyed audit log: HMACs that someone who can rewrite pki.db but lacks the passphrase cannot recompute.</summary>
public sealed class AuditKeyTests : IDisposable
{
    private const string Passphrase = "audit key test passphrase";
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-audit-key-").FullName;

    private string KeyPath => Path.Combine(_dir, "certs", "audit.key.json");

    [Fact]
    public void VerifyAudit_KeyedUntouched_OkWithMacsFromRowOne()
    {
        using var store = Keyed();
        Populate(store);

        var v = store.VerifyAudit(AuditKey.Load(KeyPath, Passphrase));

        Assert.True(v.Ok, v.Problem);
        Assert.True(v.MacsVerified);
        Assert.Equal(1, v.FirstMacRow);
        Assert.Equal(5, v.VerifiedRows);
        Assert.All(store.ReadAudit(), a => Assert.Matches("^[0-9a-f]{64}$", a.Mac!));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
        Assert.DoesNotContain(Passphrase, File.ReadAllText(KeyPath), StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyAudit_RowEditedAndEveryHashRecomputed_PlainChainPassesMacFails()
    {
        using var store = Keyed();
        Populate(store);

        // What an attacker with write access to pki.db can do: edit row 3 and recompute every hash after it.
        Rewrite(store, 3, "reason=superseded");
        var plain = store.VerifyAudit();
        var keyed = store.VerifyAudit(AuditKey.Load(KeyPath, Passphrase));

        Assert.True(plain.Ok, "the plain hash chain cannot see this rewrite: " + plain.Problem);
        Assert.False(keyed.Ok);
        Assert.Equal(3, keyed.FirstBadSeq);
        Assert.Contains("MAC does not verify", keyed.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyAudit_MacsStrippedFromTheEnd_Fails()
    {
        using var store = Keyed();
        Populate(store);

        Raw("DROP TRIGGER audit_no_update; UPDATE audit SET mac = NULL WHERE seq >= 4");
        var withKey = store.VerifyAudit(AuditKey.Load(KeyPath, Passphrase));
        var withoutKey = store.VerifyAudit();

        Assert.False(withKey.Ok);
        Assert.Equal(4, withKey.FirstBadSeq);
        Assert.False(withoutKey.Ok);
        Assert.Contains("no MAC", withoutKey.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyAudit_LegacyRowsThenKey_LegacyPrefixThenKeyedRows()
    {
        using (var legacy = PkiStore.Open(_dir))
        {
            Populate(legacy); // rows 1-5 as written before the key existed
        }

        using var store = Keyed();
        store.Audit(TestCa.Start.AddMinutes(1), AuditActions.Issue, "cli", "d3", "CC", "ok", null);
        store.Audit(TestCa.Start.AddMinutes(2), AuditActions.Revoke, "cli", "d3", "CC", "ok", null);
        var key = AuditKey.Load(KeyPath, Passphrase);

        var v = store.VerifyAudit(key);

        Assert.True(v.Ok, v.Problem);
        Assert.Equal(6, key.KeyedFrom);
        Assert.Equal(6, v.FirstMacRow);
        Assert.Equal(7, v.VerifiedRows);
        Assert.All(store.ReadAudit().Take(5), a => Assert.Null(a.Mac));

        // The first keyed row's MAC covers the legacy prefix through its hash: rewriting a legacy row breaks it.
        Rewrite(store, 2, "forged");
        var after = store.VerifyAudit(key);
        Assert.False(after.Ok);
        Assert.Equal(6, after.FirstBadSeq);
    }

    [Fact]
    public void AppendAudit_KeyedLogWithoutKey_RefusedNothingWritten()
    {
        using (var store = Keyed())
        {
            Populate(store);
        }

        using var plain = PkiStore.Open(_dir);
        var e = Assert.Throws<PkiException>(() => plain.Audit(TestCa.Start, AuditActions.Issue, "cli", null, null, "ok", null));
        Assert.Contains("keyed", e.Message, StringComparison.Ordinal);
        Assert.Equal(5, plain.ReadAudit().Count);

        File.Delete(KeyPath);
        using var rekeyed = Keyed();
        var missing = Assert.Throws<PkiException>(() => rekeyed.Audit(TestCa.Start, AuditActions.Issue, "cli", null, null, "ok", null));
        Assert.Contains("missing", missing.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(KeyPath));
    }

    [Fact]
    public void Load_WrongPassphraseOrEditedKeyedFrom_Refused()
    {
        using (var store = Keyed())
        {
            Populate(store);
        }

        Assert.Throws<PkiException>(() => AuditKey.Load(KeyPath, "not the passphrase"));
        File.WriteAllText(KeyPath, File.ReadAllText(KeyPath).Replace("\"keyedFrom\": 1", "\"keyedFrom\": 4", StringComparison.Ordinal));
        var e = Assert.Throws<PkiException>(() => AuditKey.Load(KeyPath, Passphrase));
        Assert.Contains("cannot decrypt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyAudit_ExpectHead_FoundWhileRowsAreAppendedNotAfterTruncation()
    {
        using var store = Keyed();
        Populate(store);
        var key = AuditKey.Load(KeyPath, Passphrase);
        var head = store.VerifyAudit(key).HeadHash;

        store.Audit(TestCa.Start.AddMinutes(1), AuditActions.Issue, "cli", "d3", "CC", "ok", null);
        Assert.Equal(5, store.VerifyAudit(key, head).ExpectedHeadSeq);

        Raw("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= 5");
        var v = store.VerifyAudit(key, head);
        Assert.True(v.Ok, v.Problem); // a shorter chain is still a valid chain...
        Assert.Null(v.ExpectedHeadSeq); // ...but the head kept elsewhere is gone from it
    }

    public void Dispose() => Directory.Delete(_dir, true);

    private PkiStore Keyed()
    {
        var store = PkiStore.Open(_dir);
        store.UseAuditKey(new AuditKeySource(KeyPath, Passphrase, 1000));
        return store;
    }

    private static void Populate(PkiStore store)
    {
        var t = TestCa.Start;
        store.Audit(t, AuditActions.TokenCreate, "cli", "d1", null, "ok", "token 1");
        store.Audit(t.AddSeconds(1), AuditActions.Issue, "est:127.0.0.1", "d1", "AA", "ok", "profile=device");
        store.Audit(t.AddSeconds(2), AuditActions.Revoke, "cli", "d1", "AA", "ok", "reason=keyCompromise");
        store.Audit(t.AddSeconds(3), AuditActions.Refuse, "est:127.0.0.1", null, null, "refused", "401 unknown token");
        store.Audit(t.AddSeconds(4), AuditActions.Issue, "cli", "d2", "BB", "ok", null);
    }

    // Sets row seq's detail and recomputes that row's hash and every later prev_hash and hash (MACs untouched).
    private void Rewrite(PkiStore store, long seq, string detail)
    {
        var rows = store.ReadAudit();
        var prev = seq == 1 ? PkiStore.GenesisHash : rows[(int)seq - 2].Hash;
        var sql = new System.Text.StringBuilder("DROP TRIGGER IF EXISTS audit_no_update;");
        foreach (var r in rows.Where(r => r.Seq >= seq))
        {
            var d = r.Seq == seq ? detail : r.Detail;
            var hash = PkiStore.ComputeAuditHash(prev, r.Seq, r.TimeMicros, r.Action, r.Actor, r.DeviceId, r.Serial, r.Outcome, d);
            sql.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"UPDATE audit SET detail = {(d is null ? "NULL" : "'" + d + "'")}, prev_hash = '{prev}', hash = '{hash}' WHERE seq = {r.Seq};");
            prev = hash;
        }

        Raw(sql.ToString());
    }

    private void Raw(string sql)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(_dir, PkiStore.FileName)};Pooling=false");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
