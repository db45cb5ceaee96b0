using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.X509;
using SecMon.Pki.Revocation;
using SecMon.Pki.Store;

namespace SecMon.Pki.Tests.Revocation;

public class CrlBuilderTests
{
    [Fact]
    public void Build_Entries_ParsedByBouncyCastleWithReasonsNumberAndSignature()
    {
        using var t = new TestCa();
        var at = TestCa.Start;
        RevokedEntry[] entries =
        [
            new("0A1B2C3D4E5F60718293A4B5C6D7E8F9", at, RevocationReason.Unspecified),
            new("FF00112233445566778899AABBCCDDEE", at.AddMinutes(1), RevocationReason.KeyCompromise),
            new("01", at.AddMinutes(2), RevocationReason.Superseded),
        ];

        var der = CrlBuilder.Build(t.Ca.IssuingCertificate, t.Ca.IssuingKey, 42, at, at.AddHours(24), entries);

        var crl = new X509Crl(der);
        crl.Verify(t.Ca.IssuingCertificate.GetPublicKey());
        Assert.Equal(2, crl.Version);
        Assert.Equal(at.UtcDateTime, crl.ThisUpdate);
        Assert.Equal(at.AddHours(24).UtcDateTime, crl.NextUpdate!.Value);
        Assert.Equal(42, DerInteger.GetInstance(crl.GetExtensionParsedValue(X509Extensions.CrlNumber)).IntValueExact);
        Assert.NotNull(crl.GetExtensionValue(X509Extensions.AuthorityKeyIdentifier));
        var unspecified = crl.GetRevokedCertificate(new BigInteger("0A1B2C3D4E5F60718293A4B5C6D7E8F9", 16))!;
        Assert.Null(unspecified.GetExtensionValue(X509Extensions.ReasonCode)); // RFC 5280 §5.3.1: absent for unspecified
        var compromised = crl.GetRevokedCertificate(new BigInteger("FF00112233445566778899AABBCCDDEE", 16))!;
        Assert.Equal(1, DerEnumerated.GetInstance(compromised.GetExtensionParsedValue(X509Extensions.ReasonCode)).IntValueExact);
        Assert.Equal(at.AddMinutes(1).UtcDateTime, compromised.RevocationDate);
        var superseded = crl.GetRevokedCertificate(BigInteger.One)!;
        Assert.Equal(4, DerEnumerated.GetInstance(superseded.GetExtensionParsedValue(X509Extensions.ReasonCode)).IntValueExact);
        Assert.Equal(3, crl.GetRevokedCertificates().Count);
    }

    [Fact]
    public void Build_NoEntries_OmitsTheListAndStillParses()
    {
        using var t = new TestCa();

        var crl = new X509Crl(CrlBuilder.Build(t.Ca.IssuingCertificate, t.Ca.IssuingKey, 1, TestCa.Start, TestCa.Start.AddHours(1), []));

        crl.Verify(t.Ca.IssuingCertificate.GetPublicKey());
        Assert.Null(crl.GetRevokedCertificates());
    }

    [Fact]
    public void Build_After2049_UsesGeneralizedTime()
    {
        using var t = new TestCa();
        var late = new DateTimeOffset(2050, 1, 2, 3, 4, 5, TimeSpan.Zero);

        var der = CrlBuilder.Build(t.Ca.IssuingCertificate, t.Ca.IssuingKey, 1, TestCa.Start, late, [new("05", late, RevocationReason.KeyCompromise)]);

        var list = CertificateList.GetInstance(der);
        Assert.IsType<Asn1GeneralizedTime>(list.NextUpdate.ToAsn1Object());
        Assert.IsType<Asn1UtcTime>(list.ThisUpdate.ToAsn1Object());
        Assert.Equal(late.UtcDateTime, new X509Crl(der).NextUpdate!.Value);
    }
}
