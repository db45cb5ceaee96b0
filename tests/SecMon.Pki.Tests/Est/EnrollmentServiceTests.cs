using System.Security.Cryptography;
using SecMon.Pki.Ca;
using SecMon.Pki.Est;
using SecMon.Pki.Store;

namespace SecMon.Pki.Tests.Est;

public class EnrollmentServiceTests
{
    private static readonly EstCredentials Anonymous = new() { ClientAddress = "127.0.0.1" };

    [Fact]
    public void SimpleEnroll_ValidToken_IssuesAndConsumesToken()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions());
        var (token, _) = t.Ca.CreateToken("sensor-42", TimeSpan.FromHours(1), "device", "test");

        var r = est.SimpleEnroll(null, TestCa.Csr("CN=sensor-42"), Anonymous with { Token = token });

        Assert.Equal(EnrollmentOutcome.Issued, r.Outcome);
        Assert.Equal("CN=sensor-42", r.Certificate!.SubjectDN.ToString());
        var audit = t.Ca.Store.ReadAudit(2);
        Assert.Equal([AuditActions.TokenUse, AuditActions.Issue], audit.Select(a => a.Action));
        var again = est.SimpleEnroll(null, TestCa.Csr("CN=sensor-42"), Anonymous with { Token = token });
        Assert.Equal(EnrollmentOutcome.Unauthorized, again.Outcome);
        Assert.Contains("already used", again.Reason, StringComparison.Ordinal);
    }

    public static TheoryData<string, EnrollmentOutcome, string> Refusals => new()
    {
        { "NoToken", EnrollmentOutcome.Unauthorized, "token is required" },
        { "WrongSecret", EnrollmentOutcome.Unauthorized, "unknown token" },
        { "Expired", EnrollmentOutcome.Unauthorized, "expired" },
        { "OtherDevice", EnrollmentOutcome.BadRequest, "does not match" },
        { "Garbage", EnrollmentOutcome.BadRequest, "malformed" },
        { "CaTrue", EnrollmentOutcome.BadRequest, "CA:TRUE" },
        { "UnknownLabel", EnrollmentOutcome.NotFound, "unknown label" },
        { "WrongLabel", EnrollmentOutcome.Forbidden, "profile" },
        { "Oversized", EnrollmentOutcome.PayloadTooLarge, "too large" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void SimpleEnroll_Bad_RefusedAuditedNothingIssued(string label, EnrollmentOutcome expected, string reason)
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions());
        var (token, _) = t.Ca.CreateToken("sensor-42", TimeSpan.FromHours(1), "device", "test");
        var csr = TestCa.Csr("CN=sensor-42");
        string? estLabel = null;
        var creds = Anonymous with { Token = token };
        switch (label)
        {
            case "NoToken": creds = Anonymous; break;
            case "WrongSecret": creds = Anonymous with { Token = token[..13] + new string('A', token.Length - 13) }; break;
            case "Expired": t.Time.Advance(TimeSpan.FromHours(2)); break;
            case "OtherDevice": csr = TestCa.Csr("CN=sensor-43"); break;
            case "Garbage": csr = RandomNumberGenerator.GetBytes(300); csr[0] = 0x30; break;
            case "CaTrue": csr = TestCa.Csr("CN=sensor-42", r => r.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true))); break;
            case "UnknownLabel": estLabel = "nope"; break;
            case "WrongLabel": estLabel = "server"; break;
            case "Oversized": csr = new byte[20_000]; break;
        }

        var certsBefore = t.Ca.Store.ListCertificates().Count;
        var r = est.SimpleEnroll(estLabel, csr, creds);

        Assert.Equal(expected, r.Outcome);
        Assert.Contains(reason, r.Reason, StringComparison.Ordinal);
        Assert.Equal(certsBefore, t.Ca.Store.ListCertificates().Count);
        var last = t.Ca.Store.ReadAudit(1).Single();
        Assert.Equal(AuditActions.Refuse, last.Action);
        Assert.DoesNotContain(token.Split('.')[1], last.Detail ?? "", StringComparison.Ordinal);
        Assert.True(t.Ca.Store.VerifyAudit().Ok);
    }

    [Fact]
    public void SimpleEnroll_ServerLabelAndServerToken_IssuesServerAuthForTheBoundName()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions());
        var (token, _) = t.Ca.CreateToken("broker.lan", TimeSpan.FromHours(1), "server", "test");
        var (token2, _) = t.Ca.CreateToken("broker2.lan", TimeSpan.FromHours(1), "server", "test");

        var r = est.SimpleEnroll("server", TestCa.Csr("CN=broker.lan"), Anonymous with { Token = token });
        var wrongName = est.SimpleEnroll("server", TestCa.Csr("CN=bank.example"), Anonymous with { Token = token2 });
        var wrongLabel = est.SimpleEnroll("device", TestCa.Csr("CN=broker2.lan"), Anonymous with { Token = token2 });

        Assert.Equal(EnrollmentOutcome.Issued, r.Outcome);
        Assert.True(t.VerifyChain(r.Certificate!.GetEncoded(), "1.3.6.1.5.5.7.3.1").Ok);
        using var cert = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(r.Certificate.GetEncoded());
        Assert.True(cert.MatchesHostname("broker.lan"));
        Assert.Equal(EnrollmentOutcome.BadRequest, wrongName.Outcome);
        Assert.Equal(EnrollmentOutcome.Forbidden, wrongLabel.Outcome);
    }

    [Fact]
    public void SimpleReenroll_CurrentCertificate_RenewsSameSubject()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions());
        var first = Enroll(t, est, "sensor-42");

        var r = est.SimpleReenroll(null, TestCa.Csr("CN=sensor-42"), Anonymous with { ClientCertificate = first.GetEncoded() });

        Assert.Equal(EnrollmentOutcome.Issued, r.Outcome);
        Assert.Equal(first.SubjectDN.ToString(), r.Certificate!.SubjectDN.ToString());
        var record = t.Ca.Store.GetCertificate(Profiles.CertificateBuilder.SerialHex(r.Certificate.SerialNumber))!;
        Assert.Equal(Profiles.CertificateBuilder.SerialHex(first.SerialNumber), record.RenewedFrom);
        Assert.Equal(AuditActions.Renew, t.Ca.Store.ReadAudit(1).Single().Action);
    }

    [Fact]
    public void SimpleReenroll_DifferentSubject_BadRequest()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions());
        var first = Enroll(t, est, "sensor-42");

        var r = est.SimpleReenroll(null, TestCa.Csr("CN=sensor-99"), Anonymous with { ClientCertificate = first.GetEncoded() });

        Assert.Equal(EnrollmentOutcome.BadRequest, r.Outcome);
    }

    [Fact]
    public void SimpleReenroll_RevokedExpiredOrForeign_Forbidden()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions());
        var revoked = Enroll(t, est, "sensor-1");
        t.Ca.Revoke(Profiles.CertificateBuilder.SerialHex(revoked.SerialNumber), RevocationReason.KeyCompromise, "test");
        var r1 = est.SimpleReenroll(null, TestCa.Csr("CN=sensor-1"), Anonymous with { ClientCertificate = revoked.GetEncoded() });
        Assert.Equal(EnrollmentOutcome.Forbidden, r1.Outcome);
        Assert.Contains("revoked", r1.Reason, StringComparison.Ordinal);

        using var foreignKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var foreign = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=sensor-2", foreignKey, HashAlgorithmName.SHA256)
            .CreateSelfSigned(TestCa.Start.AddDays(-1), TestCa.Start.AddDays(1));
        var r2 = est.SimpleReenroll(null, TestCa.Csr("CN=sensor-2"), Anonymous with { ClientCertificate = foreign.RawData });
        Assert.Equal(EnrollmentOutcome.Forbidden, r2.Outcome);
        Assert.Contains("not issued by this CA", r2.Reason, StringComparison.Ordinal);

        var expiring = Enroll(t, est, "sensor-3");
        t.Time.Advance(TimeSpan.FromDays(31));
        var r3 = est.SimpleReenroll(null, TestCa.Csr("CN=sensor-3"), Anonymous with { ClientCertificate = expiring.GetEncoded() });
        Assert.Equal(EnrollmentOutcome.Forbidden, r3.Outcome);
        Assert.Contains("expired", r3.Reason, StringComparison.Ordinal);

        var r4 = est.SimpleReenroll(null, TestCa.Csr("CN=sensor-3"), Anonymous);
        Assert.Equal(EnrollmentOutcome.Unauthorized, r4.Outcome);
    }

    [Fact]
    public void SimpleEnroll_ApprovalMode_PendingUntilApproved()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions { RequireApproval = true });
        var (token, _) = t.Ca.CreateToken("sensor-42", TimeSpan.FromHours(1), "device", "test");
        var csr = TestCa.Csr("CN=sensor-42");
        var creds = Anonymous with { Token = token };

        var r1 = est.SimpleEnroll(null, csr, creds);
        Assert.Equal(EnrollmentOutcome.Pending, r1.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(60), r1.RetryAfter);
        Assert.Equal(EnrollmentOutcome.Pending, est.SimpleEnroll(null, csr, creds).Outcome);
        var pending = Assert.Single(t.Ca.Store.ListPending());

        Assert.True(t.Ca.DecidePending(pending.Id, approve: true, "test"));
        var r3 = est.SimpleEnroll(null, csr, creds);

        Assert.Equal(EnrollmentOutcome.Issued, r3.Outcome);
        Assert.Empty(t.Ca.Store.ListPending());
    }

    [Fact]
    public void SimpleEnroll_RateLimitPerClient_TooManyRequestsWithRetryAfter()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions { ClientPerSecond = 1, ClientBurst = 2 });

        est.SimpleEnroll(null, [], Anonymous);
        est.SimpleEnroll(null, [], Anonymous);
        var r = est.SimpleEnroll(null, [], Anonymous);

        Assert.Equal(EnrollmentOutcome.TooManyRequests, r.Outcome);
        Assert.NotNull(r.RetryAfter);
        Assert.NotEqual(EnrollmentOutcome.TooManyRequests, est.SimpleEnroll(null, [], Anonymous with { ClientAddress = "10.0.0.2" }).Outcome);
        t.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotEqual(EnrollmentOutcome.TooManyRequests, est.SimpleEnroll(null, [], Anonymous).Outcome);
    }

    [Fact]
    public void SimpleEnroll_RateLimitPerToken_TooManyRequests()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions { TokenPerMinute = 2 });
        var (token, _) = t.Ca.CreateToken("sensor-42", TimeSpan.FromHours(1), "device", "test");
        var bad = TestCa.Csr("CN=wrong");

        est.SimpleEnroll(null, bad, Anonymous with { Token = token });
        est.SimpleEnroll(null, bad, Anonymous with { Token = token, ClientAddress = "10.0.0.3" });
        var r = est.SimpleEnroll(null, bad, Anonymous with { Token = token, ClientAddress = "10.0.0.4" });

        Assert.Equal(EnrollmentOutcome.TooManyRequests, r.Outcome);
    }

    [Fact]
    public void SimpleEnroll_WrongSecretsForTheTokenIdFromOneAddress_RightTokenFromAnotherStillIssued()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions { TokenPerMinute = 10 });
        var (token, record) = t.Ca.CreateToken("sensor-42", TimeSpan.FromHours(1), "device", "test");
        var stranger = Anonymous with { ClientAddress = "192.0.2.66" };
        var csr = TestCa.Csr("CN=sensor-42");

        // A stranger who knows the token id (it is in logs and audit rows) sends wrong secrets for it.
        var outcomes = Enumerable.Range(0, 25)
            .Select(i => est.SimpleEnroll(null, csr, stranger with { Token = record.Id + "." + new string((char)('A' + i), 43) }).Outcome)
            .ToList();

        Assert.Equal(10, outcomes.Count(o => o == EnrollmentOutcome.Unauthorized));
        Assert.Equal(15, outcomes.Count(o => o == EnrollmentOutcome.TooManyRequests)); // guessing stays limited
        Assert.Equal(EnrollmentOutcome.TooManyRequests, est.SimpleEnroll(null, csr, stranger with { Token = token }).Outcome);
        var device = est.SimpleEnroll(null, csr, Anonymous with { ClientAddress = "10.0.0.42", Token = token });
        Assert.Equal(EnrollmentOutcome.Issued, device.Outcome);
        Assert.Contains(t.Ca.Store.ReadAudit(), a => a.Action == AuditActions.Refuse && a.Detail!.StartsWith("429 too many failed token attempts from this address", StringComparison.Ordinal));

        // A minute later the stranger's budget has refilled.
        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(EnrollmentOutcome.Unauthorized, est.SimpleEnroll(null, csr, stranger with { Token = record.Id + ".wrong" }).Outcome);
    }

    [Fact]
    public void ServerKeyGen_Token_ReturnsKeyMatchingCertificate()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions());
        var (token, _) = t.Ca.CreateToken("sensor-42", TimeSpan.FromHours(1), "device", "test");

        var r = est.ServerKeyGen(null, TestCa.Csr("CN=sensor-42"), Anonymous with { Token = token });

        Assert.Equal(EnrollmentOutcome.Issued, r.Outcome);
        using var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(r.PrivateKeyPkcs8, out _);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), r.Certificate!.SubjectPublicKeyInfo.GetDerEncoded());
    }

    [Fact]
    public void CaCerts_CertsOnlyPkcs7_HoldsIssuingAndRoot()
    {
        using var t = new TestCa();
        var est = new EnrollmentService(t.Ca, new EstOptions());

        var cms = new Org.BouncyCastle.Cms.CmsSignedData(est.CaCerts);
        var certs = cms.GetCertificates().EnumerateMatches(null).ToList();

        Assert.Equal(2, certs.Count);
        Assert.Empty(cms.GetSignerInfos().GetSigners());
        Assert.Contains(certs, c => c.Equals(t.Ca.Root));
        Assert.Contains(certs, c => c.Equals(t.Ca.IssuingCertificate));
    }

    private static Org.BouncyCastle.X509.X509Certificate Enroll(TestCa t, EnrollmentService est, string device)
    {
        var (token, _) = t.Ca.CreateToken(device, TimeSpan.FromHours(1), "device", "test");
        var r = est.SimpleEnroll(null, TestCa.Csr("CN=" + device), Anonymous with { Token = token });
        Assert.Equal(EnrollmentOutcome.Issued, r.Outcome);
        return r.Certificate!;
    }
}
