using System.Runtime.Versioning;
using Microsoft.Data.Sqlite;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Store;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Pki;

/// <summary>
/// <c>secmon ca audit verify [--expect-head HASH]</c> as an operator runs it, against a log rewritten the way someone
/// with write access to pki.db but not the CA passphrase can: rows edited with every plain hash recomputed, rows cut.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class CaAuditVerifyTests : IDisposable
{
    private const string Passphrase = "audit verify test passphrase";
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-audit-verify-").FullName;

    private string Data => Path.Combine(_dir, "data");

    [Fact]
    public async Task Verify_UntouchedThenAppendedThenRowEditedAndRehashed_OkOkThenBroken()
    {
        await InitWithRows();

        var (ok, okOut, okErr) = await Ca("audit", "verify");
        Assert.True(ok == 0, okErr);
        var head = Head(okOut);
        Assert.Contains("HMACs verified from row 1", okOut, StringComparison.Ordinal);

        await Ca("token", "create", "--device", "later-dev");
        var (grown, grownOut, grownErr) = await Ca("audit", "verify", "--expect-head", head);
        Assert.True(grown == 0, grownErr);
        Assert.Contains("1 rows appended since", grownOut, StringComparison.Ordinal);

        // Edit row 2 and recompute every hash after it, as the plain chain allows.
        RewriteDetail(2, "token 000000000000 profile=device expires=2099-01-01T00:00:00Z");
        var (broken, _, brokenErr) = await Ca("audit", "verify");
        Assert.Equal(65, broken);
        Assert.Contains("BROKEN at row 2", brokenErr, StringComparison.Ordinal);
        Assert.Contains("MAC does not verify", brokenErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_RowsCutFromTheEnd_OkWithoutHeadFailsWithExpectHead()
    {
        await InitWithRows();
        var (_, okOut, _) = await Ca("audit", "verify");
        var head = Head(okOut);

        Sql("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)");
        var (plain, plainOut, plainErr) = await Ca("audit", "verify");
        var (expect, _, expectErr) = await Ca("audit", "verify", "--expect-head", head);
        var (wrongPassphrase, _, wrongErr) = await Tools.RunAsync("dotnet", SecMonRunner.Command(
            "ca", "audit", "verify", "--ca-home", Path.Combine(_dir, "certs"), "--data", Data, "--passphrase-file", WritePassphrase("wrong")), TimeSpan.FromSeconds(90));
        var (badHash, _, _) = await Ca("audit", "verify", "--expect-head", "not-a-hash");

        Assert.True(plain == 0, plainErr); // a shorter chain is a valid chain...
        Assert.NotEqual(head, Head(plainOut));
        Assert.Equal(65, expect); // ...that no longer holds the head kept elsewhere
        Assert.Contains($"head {head} is NOT in the log", expectErr, StringComparison.Ordinal);
        Assert.Equal(66, wrongPassphrase);
        Assert.Contains("cannot decrypt the audit key", wrongErr, StringComparison.Ordinal);
        Assert.Equal(64, badHash);
    }

    public void Dispose() => Directory.Delete(_dir, true);

    private async Task InitWithRows()
    {
        var (init, _, initErr) = await Ca("init", "--kdf-iterations", "10000");
        Assert.True(init == 0, initErr);
        foreach (var device in new[] { "dev-a", "dev-b", "dev-c" })
        {
            var (code, _, err) = await Ca("token", "create", "--device", device);
            Assert.True(code == 0, err);
        }

        Assert.True(File.Exists(Path.Combine(_dir, "certs", "audit.key.json")));
    }

    private Task<(int ExitCode, string StdOut, string StdErr)> Ca(params string[] args) =>
        Tools.RunAsync("dotnet", SecMonRunner.Command(["ca", .. args, "--ca-home", Path.Combine(_dir, "certs"), "--data", Data, "--passphrase-file", WritePassphrase(Passphrase)]),
            TimeSpan.FromSeconds(90));

    private string WritePassphrase(string passphrase)
    {
        var path = Path.Combine(_dir, "passphrase-" + (passphrase == Passphrase ? "right" : "wrong"));
        File.WriteAllText(path, passphrase + "\n");
        return path;
    }

    private static string Head(string verifyOutput)
    {
        var at = verifyOutput.LastIndexOf("head ", StringComparison.Ordinal);
        Assert.True(at >= 0, verifyOutput);
        var head = verifyOutput[(at + 5)..].Trim();
        Assert.Matches("^[0-9a-f]{64}$", head);
        return head;
    }

    private void RewriteDetail(long seq, string detail)
    {
        IReadOnlyList<AuditEntry> rows;
        using (var store = PkiStore.Open(Data))
        {
            rows = store.ReadAudit();
        }

        var prev = seq == 1 ? PkiStore.GenesisHash : rows[(int)seq - 2].Hash;
        var sql = new System.Text.StringBuilder("DROP TRIGGER audit_no_update;");
        foreach (var r in rows.Where(r => r.Seq >= seq))
        {
            var d = r.Seq == seq ? detail : r.Detail;
            var hash = PkiStore.ComputeAuditHash(prev, r.Seq, r.TimeMicros, r.Action, r.Actor, r.DeviceId, r.Serial, r.Outcome, d);
            sql.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"UPDATE audit SET detail = {(d is null ? "NULL" : "'" + d + "'")}, prev_hash = '{prev}', hash = '{hash}' WHERE seq = {r.Seq};");
            prev = hash;
        }

        Sql(sql.ToString());
    }

    private void Sql(string sql)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(Data, PkiStore.FileName)};Pooling=false");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
