using Org.BouncyCastle.X509;
using SecMon.Pki.Ca;
using SecMon.Pki.Est;
using SecMon.Pki.Store;

namespace SecMon.Pki.Tests.Ca;

/// <summary>
/// Revocation all or nothing and its repair, revoking a device's certificates, renewals superseded then revoked
/// after the grace period, and tokens (passphrase, batches, revocation). Real SQLite, real files, a fake clock.
/// </summary>
public class RevocationLifecycleTests
{
    private static IssuedCertificate Issue(TestCa t, string device, string? renewedFrom = null) =>
        t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=" + device), Profile = t.Ca.FindProfile("device")!, DeviceId = device, Actor = "test", RenewedFrom = renewedFrom }).Record!;

    private static bool Listed(byte[] crlDer, string serial) =>
        new X509Crl(crlDer).GetRevokedCertificate(new Org.BouncyCastle.Math.BigInteger(serial, 16)) is not null;

    private static CertificateAuthority OpenWithPassphrase(TestCa t, string passphrase) =>
        CertificateAuthority.Open(t.Options with { Passphrase = passphrase }, t.Time);

    [Fact]
    public void RevokeSerial_WrongPassphrase_NothingWrittenAndRetryRevokes()
    {
        using var t = new TestCa();
        var cert = Issue(t, "sensor-1");
        var crlBefore = t.Ca.Store.LatestCrl()!.Value;
        var pemBefore = File.ReadAllBytes(t.Ca.Paths.CrlPem);
        var auditBefore = t.Ca.Store.ReadAudit().Count;

        using (var wrong = OpenWithPassphrase(t, "not the passphrase"))
        {
            var e = Assert.Throws<PkiException>(() => wrong.RevokeSerial(cert.Serial, RevocationReason.KeyCompromise, "test"));
            Assert.Contains("wrong passphrase", e.Message, StringComparison.Ordinal);
        }

        Assert.False(t.Ca.Store.GetCertificate(cert.Serial)!.IsRevoked);
        Assert.Equal(crlBefore.Number, t.Ca.Store.LatestCrl()!.Value.Number);
        Assert.Equal(pemBefore, File.ReadAllBytes(t.Ca.Paths.CrlPem));
        Assert.Equal(auditBefore, t.Ca.Store.ReadAudit().Count);

        var retry = t.Ca.RevokeSerial(cert.Serial, RevocationReason.KeyCompromise, "test")!;
        Assert.Equal([cert.Serial], retry.Revoked.Select(c => c.Serial));
        Assert.Equal(crlBefore.Number + 1, retry.Crl!.Number);
        Assert.True(Listed(File.ReadAllBytes(t.Ca.Paths.CrlDer), cert.Serial));
    }

    [Fact]
    public void RevokeSerial_HalfRevokedRecord_RetryReissuesCrlThatListsIt()
    {
        using var t = new TestCa();
        var cert = Issue(t, "sensor-1");
        // What an older secmon left after a wrong passphrase: the row revoked, no CRL listing it.
        t.Ca.Store.Write(tx => PkiStore.RevokeCertificate(tx, cert.Serial, t.Time.GetUtcNow(), RevocationReason.KeyCompromise));
        var stale = t.Ca.Store.LatestCrl()!.Value;
        Assert.False(Listed(stale.Der, cert.Serial));

        t.Time.Advance(TimeSpan.FromMinutes(1));
        var retry = t.Ca.RevokeSerial(cert.Serial, RevocationReason.KeyCompromise, "test")!;

        Assert.Empty(retry.Revoked);
        Assert.Equal([cert.Serial], retry.Repaired.Select(c => c.Serial));
        Assert.True(retry.CrlChanged);
        Assert.Equal(stale.Number + 1, retry.Crl!.Number);
        Assert.True(Listed(t.Ca.Store.LatestCrl()!.Value.Der, cert.Serial));
        Assert.True(Listed(File.ReadAllBytes(t.Ca.Paths.CrlDer), cert.Serial));
        Assert.Contains(t.Ca.Store.ReadAudit(), a => a.Action == AuditActions.Crl && a.Serial == cert.Serial && a.Detail!.Contains("repair", StringComparison.Ordinal));

        // A third run finds nothing to repair and signs no CRL.
        var third = t.Ca.RevokeSerial(cert.Serial, RevocationReason.KeyCompromise, "test")!;
        Assert.Null(third.Crl);
        Assert.False(third.CrlChanged);
        Assert.Equal([cert.Serial], third.AlreadyRevoked.Select(c => c.Serial));
    }

    [Fact]
    public void RevokeSerial_CrlFilesStale_RewrittenFromStore()
    {
        using var t = new TestCa();
        var cert = Issue(t, "sensor-1");
        t.Ca.RevokeSerial(cert.Serial, RevocationReason.Unspecified, "test");
        File.WriteAllText(t.Ca.Paths.CrlPem, "stale\n");

        var again = t.Ca.RevokeSerial(cert.Serial, RevocationReason.Unspecified, "test")!;

        Assert.Null(again.Crl);
        Assert.True(again.FilesRewritten);
        Assert.Contains("BEGIN X509 CRL", File.ReadAllText(t.Ca.Paths.CrlPem), StringComparison.Ordinal);
    }

    [Fact]
    public void RevokeDevice_SeveralCertificates_AllRevokedOneCrlOthersUntouched()
    {
        using var t = new TestCa();
        var old = Issue(t, "sensor-1");
        t.Time.Advance(TimeSpan.FromDays(31)); // old has expired: nothing to revoke there
        var a = Issue(t, "sensor-1");
        var b = Issue(t, "sensor-1", renewedFrom: a.Serial);
        var other = Issue(t, "sensor-2");
        var before = t.Ca.Store.LatestCrl()!.Value.Number;

        var r = t.Ca.RevokeDevice("sensor-1", RevocationReason.CessationOfOperation, "test");

        Assert.Equal(new[] { a.Serial, b.Serial }.Order(), r.Revoked.Select(c => c.Serial).Order());
        Assert.Equal(before + 1, r.Crl!.Number);
        Assert.Equal(before + 1, t.Ca.Store.LatestCrl()!.Value.Number);
        var der = File.ReadAllBytes(t.Ca.Paths.CrlDer);
        Assert.True(Listed(der, a.Serial));
        Assert.True(Listed(der, b.Serial));
        Assert.False(Listed(der, other.Serial));
        Assert.False(t.Ca.Store.GetCertificate(old.Serial)!.IsRevoked);
        Assert.False(t.Ca.Store.GetCertificate(other.Serial)!.IsRevoked);
        Assert.Empty(t.Ca.RevokeDevice("no-such-device", RevocationReason.Unspecified, "test").AlreadyRevoked);
    }

    [Fact]
    public void Renewal_PreviousSuperseded_RevokedOnlyAfterGrace()
    {
        // 72-hour CRLs: the half-life (36 h) does not trigger a regeneration inside this test.
        using var t = new TestCa(new CaSettings { KdfIterations = 1000, CrlValidityHours = 72, SupersedeGrace = "24h" });
        var first = Issue(t, "sensor-1");
        t.Time.Advance(TimeSpan.FromHours(1));
        var renewed = Issue(t, "sensor-1", renewedFrom: first.Serial);

        var listed = t.Ca.Store.GetCertificate(first.Serial)!;
        Assert.Equal(renewed.Serial, listed.SupersededBy);
        Assert.Equal(CertificateLifecycle.Superseded, listed.StateAt(t.Time.GetUtcNow()));
        Assert.Equal(CertificateLifecycle.Valid, t.Ca.Store.GetCertificate(renewed.Serial)!.StateAt(t.Time.GetUtcNow()));

        t.Time.Advance(TimeSpan.FromHours(23));
        Assert.False(t.Ca.RefreshCrlIfDue());
        Assert.False(t.Ca.Store.GetCertificate(first.Serial)!.IsRevoked);

        t.Time.Advance(TimeSpan.FromHours(1));
        Assert.True(t.Ca.RefreshCrlIfDue());
        var after = t.Ca.Store.GetCertificate(first.Serial)!;
        Assert.Equal(CertificateLifecycle.Revoked, after.StateAt(t.Time.GetUtcNow()));
        Assert.Equal(RevocationReason.Superseded, after.RevocationReason);
        Assert.True(Listed(File.ReadAllBytes(t.Ca.Paths.CrlDer), first.Serial));
        Assert.False(t.Ca.Store.GetCertificate(renewed.Serial)!.IsRevoked);
        Assert.False(t.Ca.RefreshCrlIfDue());
    }

    [Fact]
    public void GenerateCrl_ZeroGrace_SupersededRevokedAtOnce()
    {
        using var t = new TestCa(new CaSettings { KdfIterations = 1000, SupersedeGrace = "0s" });
        var first = Issue(t, "sensor-1");
        Issue(t, "sensor-1", renewedFrom: first.Serial);

        var crl = t.Ca.GenerateCrl();

        Assert.Equal([first.Serial], crl.SupersededRevoked.Select(c => c.Serial));
        Assert.True(Listed(crl.Der, first.Serial));
    }

    [Fact]
    public void Open_BadSupersedeGraceInSettings_RefusedNamingIt()
    {
        using var t = new TestCa();
        (t.Ca.Settings with { SupersedeGrace = "a while" }).Save(t.Ca.Paths.Settings);

        var e = Assert.Throws<PkiException>(() => CertificateAuthority.Open(t.Options, t.Time));

        Assert.Contains("supersedeGrace \"a while\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateToken_WrongPassphrase_RefusedAndNothingStored()
    {
        using var t = new TestCa();
        using var wrong = OpenWithPassphrase(t, "wrong");

        Assert.Throws<PkiException>(() => wrong.CreateToken("sensor-1", TimeSpan.FromHours(1), "device", "test"));
        using var noPassphrase = CertificateAuthority.Open(t.Options with { Passphrase = null }, t.Time);
        Assert.Throws<PkiException>(() => noPassphrase.CreateToken("sensor-1", TimeSpan.FromHours(1), "device", "test"));

        Assert.Empty(t.Ca.Store.ListTokens(all: true, t.Time.GetUtcNow()));
        Assert.DoesNotContain(t.Ca.Store.ReadAudit(), a => a.Action == AuditActions.TokenCreate);
    }

    [Fact]
    public void CreateTokens_OneBadRequest_NoneCreated()
    {
        using var t = new TestCa();

        var e = Assert.Throws<PkiException>(() => t.Ca.CreateTokens(
            [new TokenRequest("sensor-1", TimeSpan.FromHours(1), "device"), new TokenRequest("bad id!", TimeSpan.FromHours(1), "device")], "test"));

        Assert.Contains("bad id!", e.Message, StringComparison.Ordinal);
        Assert.Empty(t.Ca.Store.ListTokens(all: true, t.Time.GetUtcNow()));
    }

    [Fact]
    public void RevokeToken_Unused_EnrollmentRefusedAndStatesListed()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions());
        var made = t.Ca.CreateTokens(
            [new TokenRequest("sensor-1", TimeSpan.FromHours(1), "device"), new TokenRequest("sensor-2", TimeSpan.FromHours(1), "device"),
             new TokenRequest("sensor-3", TimeSpan.FromMinutes(5), "device")], "test");
        var (revokedText, revoked) = made[0];
        var (usedText, used) = made[1];
        Assert.Equal(EnrollmentOutcome.Issued, est.SimpleEnroll(null, TestCa.Csr("CN=sensor-2"), new EstCredentials { ClientAddress = "127.0.0.1", Token = usedText }).Outcome);

        Assert.Equal(TokenRevocation.Revoked, t.Ca.RevokeToken(revoked.Id, "test"));
        Assert.Equal(TokenRevocation.AlreadyRevoked, t.Ca.RevokeToken(revoked.Id, "test"));
        Assert.Equal(TokenRevocation.AlreadyUsed, t.Ca.RevokeToken(used.Id, "test"));
        Assert.Equal(TokenRevocation.Unknown, t.Ca.RevokeToken("0123456789ab", "test"));

        var refused = est.SimpleEnroll(null, TestCa.Csr("CN=sensor-1"), new EstCredentials { ClientAddress = "127.0.0.1", Token = revokedText });
        Assert.Equal(EnrollmentOutcome.Unauthorized, refused.Outcome);
        Assert.Contains("revoked", refused.Reason, StringComparison.Ordinal);
        Assert.Empty(t.Ca.Store.ListCertificates("sensor-1"));

        t.Time.Advance(TimeSpan.FromMinutes(10));
        var now = t.Time.GetUtcNow();
        var states = t.Ca.Store.ListTokens(all: true, now).ToDictionary(r => r.DeviceId, r => r.StateAt(now));
        Assert.Equal(TokenState.Revoked, states["sensor-1"]);
        Assert.Equal(TokenState.Used, states["sensor-2"]);
        Assert.Equal(TokenState.Expired, states["sensor-3"]);
        Assert.Empty(t.Ca.Store.ListTokens(all: false, now));
        Assert.Contains(t.Ca.Store.ReadAudit(), a => a.Action == AuditActions.TokenRevoke && a.Outcome == "ok" && a.Detail == "token " + revoked.Id);
    }

    [Fact]
    public void ConsumeToken_RevokedBetweenCheckAndIssue_NotConsumed()
    {
        using var t = new TestCa();
        var (_, record) = t.Ca.CreateToken("sensor-1", TimeSpan.FromHours(1), "device", "test");
        t.Ca.RevokeToken(record.Id, "test");

        var r = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-1"), Profile = t.Ca.FindProfile("device")!, DeviceId = "sensor-1", Actor = "test", ConsumeTokenId = record.Id });

        Assert.False(r.Ok);
        Assert.Empty(t.Ca.Store.ListCertificates("sensor-1"));
    }

    [Fact]
    public void OpenExisting_NoDatabase_RefusedAndNothingCreated()
    {
        var dir = Path.Combine(Path.GetTempPath(), "secmon-no-ca-" + Guid.NewGuid().ToString("N"));

        var e = Assert.Throws<PkiException>(() => PkiStore.OpenExisting(dir));

        Assert.Contains("no CA here", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }
}
