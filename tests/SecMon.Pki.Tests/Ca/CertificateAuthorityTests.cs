using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecMon.Pki.Ca;
using SecMon.Pki.Keys;
using SecMon.Pki.Profiles;
using SecMon.Pki.Store;

namespace SecMon.Pki.Tests.Ca;

public class CertificateAuthorityTests
{
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    [Fact]
    public void Init_Defaults_P384RootP256IssuingKeysEncrypted0600()
    {
        using var t = new TestCa();
        var paths = new CaPaths(t.Options.CaHome);

        using var root = t.RootDotNet;
        using var issuing = t.IssuingDotNet;
        Assert.Equal("1.3.132.0.34", root.GetECDsaPublicKey()!.ExportParameters(false).Curve.Oid.Value); // secp384r1
        Assert.Equal("1.2.840.10045.3.1.7", issuing.GetECDsaPublicKey()!.ExportParameters(false).Curve.Oid.Value); // prime256v1
        foreach (var key in new[] { paths.RootKey, paths.IssuingKey, paths.OcspKey })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", File.ReadAllText(key), StringComparison.Ordinal);
        }

        var bc = issuing.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(bc.CertificateAuthority);
        Assert.True(bc.HasPathLengthConstraint);
        Assert.Equal(0, bc.PathLengthConstraint);
        Assert.True(File.Exists(paths.CrlDer));
        Assert.Equal(2, CertificateAuthority.ParseCertificates(File.ReadAllBytes(paths.Chain)).Count);
    }

    [Fact]
    public void Init_RsaOption_Rsa3072Keys()
    {
        using var t = new TestCa(new CaSettings { KdfIterations = 1000, RootKey = "rsa-3072", IssuingKey = "rsa-3072" });

        using var root = t.RootDotNet;
        Assert.Equal(3072, root.GetRSAPublicKey()!.KeySize);
        Assert.Equal(KeyAlgorithm.Rsa3072, t.Ca.IssuingKey.Algorithm);
        var leaf = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=dev-rsa"), Profile = t.Ca.FindProfile("device")!, DeviceId = "dev-rsa", Actor = "test" });
        Assert.True(t.VerifyChain(leaf.Certificate!.GetEncoded(), ClientAuth).Ok);
    }

    [Fact]
    public void Init_Twice_Refused()
    {
        using var t = new TestCa();

        var e = Assert.Throws<PkiException>(() => CaInitializer.Init(t.Options, new CaInitOptions(), t.Time));
        Assert.Contains("already exists", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue_DeviceProfile_HasTheProfileExtensionsAndVerifies()
    {
        using var t = new TestCa();

        var r = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-42"), Profile = t.Ca.FindProfile("device")!, DeviceId = "sensor-42", Actor = "test" });

        Assert.True(r.Ok, r.Reason);
        using var cert = X509CertificateLoader.LoadCertificate(r.Certificate!.GetEncoded());
        Assert.Equal("CN=sensor-42", cert.Subject);
        Assert.Equal(TestCa.Start.AddDays(30).UtcDateTime, cert.NotAfter.ToUniversalTime());
        var ku = cert.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.True(ku.Critical);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, ku.KeyUsages);
        var eku = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal([ClientAuth], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        Assert.False(cert.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["sensor-42"], san.EnumerateDnsNames());
        Assert.Contains("URI:urn:secmon:device:sensor-42", SanText(san), StringComparison.Ordinal);
        var cdp = cert.Extensions["2.5.29.31"];
        Assert.NotNull(cdp);
        Assert.Contains("http://localhost:8080/pki/crl", System.Text.Encoding.ASCII.GetString(cdp!.RawData), StringComparison.Ordinal);
        var aia = cert.Extensions.OfType<X509AuthorityInformationAccessExtension>().Single();
        Assert.Equal(["http://localhost:8080/pki/ocsp"], aia.EnumerateOcspUris());
        var (ok, status) = t.VerifyChain(r.Certificate.GetEncoded(), ClientAuth);
        Assert.True(ok, status);
        Assert.False(t.VerifyChain(r.Certificate.GetEncoded(), ServerAuth).Ok);
    }

    [Fact]
    public void Issue_Serials_Are128BitRandomAndDistinct()
    {
        using var t = new TestCa();
        var serials = new HashSet<string>();
        var longest = 0;
        for (var i = 0; i < 50; i++)
        {
            var r = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=d" + i), Profile = t.Ca.FindProfile("device")!, DeviceId = "d" + i, Actor = "test" });
            using var cert = X509CertificateLoader.LoadCertificate(r.Certificate!.GetEncoded());
            var serialBytes = cert.SerialNumberBytes.ToArray();
            Assert.InRange(serialBytes.Length, 1, 17); // DER INTEGER of 128 random bits: up to 16 bytes + a sign byte
            longest = Math.Max(longest, serialBytes.Length);
            Assert.True(serials.Add(cert.SerialNumber));
        }

        Assert.True(longest >= 16, "50 random 128-bit serials should include one with 16+ bytes");
    }

    [Fact]
    public void Issue_ServerProfile_ServerAuthWithDnsAndIpNames()
    {
        using var t = new TestCa();

        var r = t.Ca.Issue(new IssueRequest
        {
            CsrDer = TestCa.Csr("CN=broker.local"),
            Profile = t.Ca.FindProfile("server")!,
            DnsNames = ["broker.local", "localhost"],
            IpAddresses = [System.Net.IPAddress.Loopback],
            Actor = "test",
        });

        Assert.True(r.Ok, r.Reason);
        using var cert = X509CertificateLoader.LoadCertificate(r.Certificate!.GetEncoded());
        Assert.True(cert.MatchesHostname("localhost"));
        Assert.True(cert.MatchesHostname("127.0.0.1"));
        Assert.True(t.VerifyChain(r.Certificate.GetEncoded(), ServerAuth).Ok);
    }

    [Fact]
    public void Issue_RefusedCsr_NothingStoredAndAudited()
    {
        using var t = new TestCa();
        var before = t.Ca.Store.ListCertificates().Count;

        var r = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=other"), Profile = t.Ca.FindProfile("device")!, DeviceId = "sensor-42", Actor = "test" });

        Assert.False(r.Ok);
        Assert.Equal(before, t.Ca.Store.ListCertificates().Count);
        var last = t.Ca.Store.ReadAudit(1).Single();
        Assert.Equal(AuditActions.Refuse, last.Action);
        Assert.Equal("refused", last.Outcome);
    }

    [Fact]
    public void Token_StoredHashed_OneTimeAndExpires()
    {
        using var t = new TestCa();
        var (token, record) = t.Ca.CreateToken("sensor-42", TimeSpan.FromHours(24), "device", "test");

        var secret = token.Split('.')[1];
        Assert.DoesNotContain(secret, System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(Path.Combine(t.Options.DataDirectory, "pki.db"))), StringComparison.Ordinal);
        Assert.Equal(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)), t.Ca.Store.GetToken(record.Id)!.SecretHash);
        Assert.True(t.Ca.CheckToken(token).Ok);
        Assert.False(t.Ca.CheckToken(token[..^1] + (token[^1] == 'A' ? 'B' : 'A')).Ok);
        Assert.False(t.Ca.CheckToken("garbage").Ok);

        var issued = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-42"), Profile = t.Ca.FindProfile("device")!, DeviceId = "sensor-42", Actor = "test", ConsumeTokenId = record.Id });
        Assert.True(issued.Ok);
        Assert.Contains("already used", t.Ca.CheckToken(token).Reason, StringComparison.Ordinal);
        var again = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-42"), Profile = t.Ca.FindProfile("device")!, DeviceId = "sensor-42", Actor = "test", ConsumeTokenId = record.Id });
        Assert.False(again.Ok);

        var (token2, _) = t.Ca.CreateToken("sensor-43", TimeSpan.FromHours(24), "device", "test");
        t.Time.Advance(TimeSpan.FromHours(24));
        Assert.Contains("expired", t.Ca.CheckToken(token2).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Revoke_KnownSerial_OnNewCrlWithReason()
    {
        using var t = new TestCa();
        var r = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-42"), Profile = t.Ca.FindProfile("device")!, DeviceId = "sensor-42", Actor = "test" });
        var serial = r.Record!.Serial;
        var before = t.Ca.Store.LatestCrl()!.Value.Number;

        Assert.True(t.Ca.Revoke(serial, RevocationReason.KeyCompromise, "test"));
        Assert.False(t.Ca.Revoke(serial, RevocationReason.KeyCompromise, "test"));
        Assert.False(t.Ca.Revoke("ABCDEF", RevocationReason.KeyCompromise, "test"));

        var crl = t.Ca.Store.LatestCrl()!.Value;
        Assert.True(crl.Number > before);
        var parsed = new Org.BouncyCastle.X509.X509Crl(crl.Der);
        parsed.Verify(t.Ca.IssuingCertificate.GetPublicKey());
        var entry = parsed.GetRevokedCertificate(r.Certificate!.SerialNumber);
        Assert.NotNull(entry);
        Assert.Equal(File.ReadAllBytes(t.Ca.Paths.CrlDer), crl.Der);
        Assert.Contains(t.Ca.Store.ReadAudit(), a => a.Action == AuditActions.Revoke && a.Serial == serial && a.Outcome == "ok");
    }

    [Fact]
    public void RefreshCrlIfDue_BeforeAndAfterHalfLife_RegeneratesOnlyWhenDue()
    {
        using var t = new TestCa(); // 24-hour CRLs
        var first = t.Ca.Store.LatestCrl()!.Value;

        t.Time.Advance(TimeSpan.FromHours(11));
        Assert.False(t.Ca.RefreshCrlIfDue());
        t.Time.Advance(TimeSpan.FromHours(2));
        Assert.True(t.Ca.RefreshCrlIfDue());

        var second = t.Ca.Store.LatestCrl()!.Value;
        Assert.Equal(first.Number + 1, second.Number);
        Assert.Equal(TestCa.Start.AddHours(13), second.ThisUpdate);
        Assert.Equal(TestCa.Start.AddHours(37), second.NextUpdate);
    }

    [Fact]
    public void OfflineRoot_IssuingCsrThenImport_Works()
    {
        var dir = Directory.CreateTempSubdirectory("secmon-offline-").FullName;
        try
        {
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TestCa.Start);
            var options = new CaOptions { CaHome = Path.Combine(dir, "certs"), DataDirectory = Path.Combine(dir, "data"), Passphrase = "pw" };
            CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 1000 }, IssuingCsrOnly = true }, time);
            var paths = new CaPaths(options.CaHome);
            Assert.False(File.Exists(paths.RootKey));

            // The "offline root": a separate key and a .NET CertificateRequest signing the issuing CSR.
            using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            var rootReq = new CertificateRequest("CN=Offline Root", rootKey, HashAlgorithmName.SHA384);
            rootReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            rootReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            using var root = rootReq.CreateSelfSigned(TestCa.Start.AddDays(-1), TestCa.Start.AddYears(10));
            var csr = CertificateRequest.LoadSigningRequestPem(File.ReadAllText(paths.IssuingCsr), HashAlgorithmName.SHA256);
            csr.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            csr.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            using var issuing = csr.Create(root, TestCa.Start.AddDays(-1), TestCa.Start.AddYears(5), [1, 2, 3, 4]);
            File.WriteAllText(Path.Combine(dir, "issuing.pem"), issuing.ExportCertificatePem());
            File.WriteAllText(Path.Combine(dir, "root.pem"), root.ExportCertificatePem());

            CaInitializer.Import(options, Path.Combine(dir, "issuing.pem"), Path.Combine(dir, "root.pem"), time);

            using var ca = CertificateAuthority.Open(options, time);
            var r = ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-1"), Profile = ca.FindProfile("device")!, DeviceId = "sensor-1", Actor = "test" });
            Assert.True(r.Ok, r.Reason);
            Assert.Equal(root.Subject, ca.Root!.SubjectDN.ToString());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Import_CertificateForAnotherKey_Refused()
    {
        var dir = Directory.CreateTempSubdirectory("secmon-offline-").FullName;
        try
        {
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TestCa.Start);
            var options = new CaOptions { CaHome = Path.Combine(dir, "certs"), DataDirectory = Path.Combine(dir, "data"), Passphrase = "pw" };
            CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 1000 }, IssuingCsrOnly = true }, time);
            using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var rootReq = new CertificateRequest("CN=Offline Root", rootKey, HashAlgorithmName.SHA256);
            rootReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            using var root = rootReq.CreateSelfSigned(TestCa.Start.AddDays(-1), TestCa.Start.AddYears(10));
            using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var other = new CertificateRequest("CN=Other", otherKey, HashAlgorithmName.SHA256);
            other.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            using var wrong = other.Create(root, TestCa.Start.AddDays(-1), TestCa.Start.AddYears(5), [9]);
            File.WriteAllText(Path.Combine(dir, "issuing.pem"), wrong.ExportCertificatePem());
            File.WriteAllText(Path.Combine(dir, "root.pem"), root.ExportCertificatePem());

            var e = Assert.Throws<PkiException>(() => CaInitializer.Import(options, Path.Combine(dir, "issuing.pem"), Path.Combine(dir, "root.pem"), time));
            Assert.Contains("not for this CA's issuing key", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string SanText(X509SubjectAlternativeNameExtension san)
    {
        // GeneralNames: read the URIs ([6] IA5String) independently of SecMon's code.
        var reader = new AsnReader(san.RawData, AsnEncodingRules.DER).ReadSequence();
        var parts = new List<string>();
        while (reader.HasData)
        {
            var tag = reader.PeekTag();
            if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue == 6)
            {
                parts.Add("URI:" + reader.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 6)));
            }
            else
            {
                reader.ReadEncodedValue();
            }
        }

        return string.Join(",", parts);
    }
}
