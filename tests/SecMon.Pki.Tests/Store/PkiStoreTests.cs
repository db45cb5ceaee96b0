using Microsoft.Data.Sqlite;
using SecMon.Pki.Store;

namespace SecMon.Pki.Tests.Store;

public sealed class PkiStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-store-").FullName;

    [Fact]
    public void Open_NewDatabase_MigratedToLatestAndReopenable()
    {
        using (var store = PkiStore.Open(_dir))
        {
            Assert.Equal(PkiStore.LatestSchemaVersion, store.SchemaVersion);
        }

        using var again = PkiStore.Open(_dir);
        Assert.Equal(PkiStore.LatestSchemaVersion, again.SchemaVersion);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, PkiStore.FileName)));
    }

    [Fact]
    public void Open_NewerSchema_Refused()
    {
        using (var store = PkiStore.Open(_dir))
        {
        }

        Raw("PRAGMA user_version = 999");
        var e = Assert.Throws<PkiException>(() => PkiStore.Open(_dir));
        Assert.Contains("newer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyAudit_UntouchedChain_Ok()
    {
        using var store = Populated();

        var v = store.VerifyAudit();

        Assert.True(v.Ok, v.Problem);
        Assert.Equal(5, v.VerifiedRows);
        Assert.Equal(store.ReadAudit()[^1].Hash, v.HeadHash);
    }

    [Fact]
    public void Audit_UpdateOrDelete_RefusedByTriggers()
    {
        using var store = Populated();

        Assert.Throws<SqliteException>(() => Raw("UPDATE audit SET detail = 'x' WHERE seq = 2"));
        Assert.Throws<SqliteException>(() => Raw("DELETE FROM audit WHERE seq = 2"));
    }

    [Fact]
    public void VerifyAudit_EditedRow_DetectedAtThatRow()
    {
        using var store = Populated();

        Raw("DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'reason=superseded' WHERE seq = 3");
        var v = store.VerifyAudit();

        Assert.False(v.Ok);
        Assert.Equal(3, v.FirstBadSeq);
        Assert.Contains("edited", v.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyAudit_RowEditedAndRehashed_DetectedAtNextRow()
    {
        using var store = Populated();
        var row = store.ReadAudit()[2];
        var forged = PkiStore.ComputeAuditHash(row.PrevHash, row.Seq, row.TimeMicros, row.Action, row.Actor, row.DeviceId, row.Serial, row.Outcome, "forged");

        Raw($"DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'forged', hash = '{forged}' WHERE seq = 3");
        var v = store.VerifyAudit();

        Assert.False(v.Ok);
        Assert.Equal(4, v.FirstBadSeq);
    }

    [Fact]
    public void VerifyAudit_DeletedRow_Detected()
    {
        using var store = Populated();

        Raw("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2");
        var v = store.VerifyAudit();

        Assert.False(v.Ok);
        Assert.Equal(2, v.FirstBadSeq);
    }

    [Fact]
    public void ComputeAuditHash_NullAndEmptyDetail_Differ()
    {
        var a = PkiStore.ComputeAuditHash(PkiStore.GenesisHash, 1, 0, "a", "b", null, null, "ok", null);
        var b = PkiStore.ComputeAuditHash(PkiStore.GenesisHash, 1, 0, "a", "b", null, null, "ok", "");

        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Audit_TwoStoresInterleavedAndARolledBackWrite_ChainStaysContiguous()
    {
        // The server and the CLI each hold a connection with prepared statements; the chain head must be read
        // inside each write transaction, never remembered, and a rolled-back write must leave nothing behind.
        using var server = Populated();
        using var cli = PkiStore.Open(_dir);
        var t = TestCa.Start.AddMinutes(1);

        var a = server.Audit(t, AuditActions.Issue, "est:127.0.0.1", "d3", "CC", "ok", null);
        var b = cli.Audit(t, AuditActions.Revoke, "cli", "d3", "CC", "ok", "reason=superseded");
        Assert.Throws<InvalidOperationException>(() => server.Write<bool>(tx =>
        {
            PkiStore.AppendAudit(tx, t, AuditActions.Issue, "est:127.0.0.1", "d4", "DD", "ok", null);
            throw new InvalidOperationException("abort");
        }));
        var c = server.Audit(t, AuditActions.Issue, "est:127.0.0.1", "d4", "DD", "ok", null);
        var d = cli.Audit(t, AuditActions.Refuse, "cli", null, null, "refused", null);

        Assert.Equal([6L, 7L, 8L, 9L], new[] { a.Seq, b.Seq, c.Seq, d.Seq });
        Assert.Equal(b.Hash, c.PrevHash);
        Assert.Equal(c.Hash, d.PrevHash);
        var v = server.VerifyAudit();
        Assert.True(v.Ok, v.Problem);
        Assert.Equal(9, v.VerifiedRows);
        Assert.Null(d.Detail);
        Assert.Null(server.ReadAudit()[^1].Detail);
    }

    [Fact]
    public void GetToken_RepeatedAndAfterConsume_SeesEachChange()
    {
        using var store = PkiStore.Open(_dir);
        var t = TestCa.Start;
        foreach (var id in new[] { "aaaaaaaaaaaa", "bbbbbbbbbbbb" })
        {
            store.Write(tx =>
            {
                PkiStore.InsertToken(tx, new EnrollmentTokenRecord { Id = id, SecretHash = [1, 2], DeviceId = "d-" + id, Profile = "device", CreatedAt = t, ExpiresAt = t.AddHours(1) });
                return true;
            });
        }

        Assert.Equal("d-aaaaaaaaaaaa", store.GetToken("aaaaaaaaaaaa")!.DeviceId);
        Assert.Equal("d-bbbbbbbbbbbb", store.GetToken("bbbbbbbbbbbb")!.DeviceId);
        Assert.Null(store.GetToken("cccccccccccc"));
        Assert.True(store.Write(tx => PkiStore.ConsumeToken(tx, "aaaaaaaaaaaa", t, "AA")));
        Assert.False(store.Write(tx => PkiStore.ConsumeToken(tx, "aaaaaaaaaaaa", t, "BB")));
        Assert.NotNull(store.GetToken("aaaaaaaaaaaa")!.UsedAt);
        Assert.Null(store.GetToken("bbbbbbbbbbbb")!.UsedAt);
    }

    public void Dispose() => Directory.Delete(_dir, true);

    private PkiStore Populated()
    {
        var store = PkiStore.Open(_dir);
        var t = TestCa.Start;
        store.Audit(t, AuditActions.TokenCreate, "cli", "d1", null, "ok", "token 1");
        store.Audit(t.AddSeconds(1), AuditActions.Issue, "est:127.0.0.1", "d1", "AA", "ok", "profile=device");
        store.Audit(t.AddSeconds(2), AuditActions.Revoke, "cli", "d1", "AA", "ok", "reason=keyCompromise");
        store.Audit(t.AddSeconds(3), AuditActions.Refuse, "est:127.0.0.1", null, null, "refused", "401 unknown token");
        store.Audit(t.AddSeconds(4), AuditActions.Issue, "cli", "d2", "BB", "ok", null);
        return store;
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
