using System.Security.Cryptography.X509Certificates;
using SecMon.Pki.Ca;
using SecMon.Pki.Profiles;
using SecMon.Pki.Revocation;
using SecMon.Pki.Store;

namespace SecMon.Pki.Tests.Ca;

/// <summary>
/// The analyst profile and <see cref="CertificateAuthority.CheckAnalyst"/>: what an analyst's certificate carries (read
/// back with .NET's X509 types, not SecMon's), and each reason a certificate presented to the API is refused.
/// </summary>
public sealed class AnalystCertificateTests
{
    private static byte[] IssueAnalyst(TestCa ca, string name, AnalystScope scope, double days = 30)
    {
        var r = ca.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=" + name), Profile = CertificateProfile.Analyst(scope, days), Actor = "test" });
        Assert.True(r.Ok, r.Reason);
        Assert.Equal("analyst-" + scope.ToString().ToLowerInvariant(), r.Record!.Profile);
        return r.Certificate!.GetEncoded();
    }

    [Theory]
    [InlineData(AnalystScope.Read, "2.25.149903159829431189965334111918146012786.2.1")]
    [InlineData(AnalystScope.Write, "2.25.149903159829431189965334111918146012786.2.2")]
    [InlineData(AnalystScope.Admin, "2.25.149903159829431189965334111918146012786.2.3")]
    public void Issue_AnalystProfile_ClientAuthAnalystEkuScopePolicyAndName(AnalystScope scope, string policyOid)
    {
        using var ca = new TestCa();
        var der = IssueAnalyst(ca, "alice", scope);

        using var cert = X509CertificateLoader.LoadCertificate(der);
        Assert.Equal("CN=alice", cert.Subject);
        var eku = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).ToList();
        Assert.Equal(["1.3.6.1.5.5.7.3.2", "2.25.149903159829431189965334111918146012786.1"], eku);
        var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("urn:secmon:analyst:alice", System.Text.Encoding.ASCII.GetString(san.RawData), StringComparison.Ordinal);
        var policies = cert.Extensions.Single(e => e.Oid!.Value == "2.5.29.32");
        var reader = new System.Formats.Asn1.AsnReader(policies.RawData, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
        var info = reader.ReadSequence();
        Assert.Equal(policyOid, info.ReadObjectIdentifier());
        Assert.False(reader.HasData);
        Assert.True(ca.VerifyChain(der, "1.3.6.1.5.5.7.3.2").Ok);

        var check = ca.Ca.CheckAnalyst(der);
        Assert.True(check.Ok, check.Reason);
        Assert.Equal(scope, check.Scope);
        Assert.Equal("CN=alice", check.Subject);
    }

    [Fact]
    public void CheckAnalyst_DeviceCertificate_Refused()
    {
        using var ca = new TestCa();
        var r = ca.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-1"), Profile = ca.Ca.FindProfile("device")!, DeviceId = "sensor-1", Actor = "test" });
        Assert.True(r.Ok, r.Reason);

        var check = ca.Ca.CheckAnalyst(r.Certificate!.GetEncoded());
        Assert.False(check.Ok);
        Assert.Null(check.Scope);
        Assert.StartsWith("the client certificate is not an analyst's", check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckAnalyst_AnotherCasAnalyst_Refused()
    {
        using var ca = new TestCa();
        using var other = new TestCa();
        var der = IssueAnalyst(other, "eve", AnalystScope.Admin);
        Assert.True(other.Ca.CheckAnalyst(der).Ok);

        var check = ca.Ca.CheckAnalyst(der);
        Assert.False(check.Ok);
        Assert.Equal("the client certificate was not issued by this SecMon CA", check.Reason);
    }

    [Fact]
    public void CheckAnalyst_Expired_RefusedAfterNotAfterOnly()
    {
        using var ca = new TestCa();
        var der = IssueAnalyst(ca, "bob", AnalystScope.Read, days: 2);
        ca.Time.Advance(TimeSpan.FromDays(2) - TimeSpan.FromMinutes(1));
        Assert.True(ca.Ca.CheckAnalyst(der).Ok);

        ca.Time.Advance(TimeSpan.FromMinutes(2));
        var check = ca.Ca.CheckAnalyst(der);
        Assert.False(check.Ok);
        Assert.StartsWith("the client certificate expired at 2026-11-26T08:00:00Z", check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckAnalyst_Revoked_RefusedAndOcspSaysRevoked()
    {
        using var ca = new TestCa();
        var der = IssueAnalyst(ca, "mallory", AnalystScope.Write);
        Assert.True(ca.Ca.CheckAnalyst(der).Ok);

        var revoked = ca.Ca.RevokeDevice("mallory", RevocationReason.KeyCompromise, "test");
        Assert.Single(revoked.Revoked);
        var check = ca.Ca.CheckAnalyst(der);
        Assert.False(check.Ok);
        Assert.StartsWith("the client certificate was revoked at", check.Reason, StringComparison.Ordinal);
        Assert.Equal(CertificateState.Revoked, ca.Ca.LookupStatus(check.Serial!).State);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x01 })]
    [InlineData(new byte[] { 0x30, 0x82, 0xFF, 0xFF, 0x00 })]
    public void CheckAnalyst_NotACertificate_RefusedWithoutThrowing(byte[] der)
    {
        using var ca = new TestCa();
        var check = ca.Ca.CheckAnalyst(der);
        Assert.False(check.Ok);
        Assert.Equal("the client certificate cannot be read", check.Reason);
    }

    [Fact]
    public void CheckAnalyst_CertificateNotInTheStore_Refused()
    {
        // Signed by the issuing key with the analyst profile, but not recorded (as a certificate made with the key outside
        // the CA's issuance would be): the records are what revocation and the audit log rest on.
        using var ca = new TestCa();
        var key = ca.Ca.IssuingKey;
        using var ec = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var spki = Org.BouncyCastle.Asn1.X509.SubjectPublicKeyInfo.GetInstance(ec.ExportSubjectPublicKeyInfo());
        var cert = CertificateBuilder.IssueEndEntity(CertificateProfile.Analyst(AnalystScope.Admin, 30), CertificateNames.ForAnalyst("ghost"), spki,
            ca.Ca.IssuingCertificate, key, ca.Time.GetUtcNow(), null, null);

        var check = ca.Ca.CheckAnalyst(cert.GetEncoded());
        Assert.False(check.Ok);
        Assert.Equal("the client certificate is not in this CA's records of analysts' certificates", check.Reason);
    }
}
