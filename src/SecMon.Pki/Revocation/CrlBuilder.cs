using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.X509;
using SecMon.Pki.Keys;
using SecMon.Pki.Profiles;
using SecMon.Pki.Store;

namespace SecMon.Pki.Revocation;

/// <summary>One revoked certificate on a CRL.</summary>
/// <param name="SerialHex">The serial (uppercase hex).</param>
/// <param name="RevokedAt">Revocation time.</param>
/// <param name="Reason">CRLReason.</param>
public readonly record struct RevokedEntry(string SerialHex, DateTimeOffset RevokedAt, RevocationReason Reason);

/// <summary>Builds X.509 v2 CRLs (RFC 5280 §5) signed by the issuing CA.</summary>
public static class CrlBuilder
{
    /// <summary>
    /// Builds and signs a CRL: version 2, the issuing CA's name, thisUpdate/nextUpdate, one entry per revoked
    /// certificate with its reasonCode (absent for unspecified, RFC 5280 §5.3.1), and the CRL number and
    /// authority key identifier extensions (both required, RFC 5280 §5.2.1 and §5.2.3). Returns the DER.
    /// </summary>
    public static byte[] Build(
        X509Certificate issuer, SigningKey issuerKey, long crlNumber, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate,
        IEnumerable<RevokedEntry> revoked)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(issuerKey);
        ArgumentNullException.ThrowIfNull(revoked);
        var gen = new V2TbsCertListGenerator();
        gen.SetSignature(issuerKey.SignatureAlgorithm);
        gen.SetIssuer(issuer.SubjectDN);
        gen.SetThisUpdate(new Time(CertificateBuilder.TruncateToSeconds(thisUpdate)));
        gen.SetNextUpdate(new Time(CertificateBuilder.TruncateToSeconds(nextUpdate)));
        foreach (var r in revoked)
        {
            var serial = new DerInteger(new BigInteger(1, Convert.FromHexString(r.SerialHex)));
            var time = new Time(CertificateBuilder.TruncateToSeconds(r.RevokedAt));
            if (r.Reason == RevocationReason.Unspecified)
            {
                gen.AddCrlEntry(new DerSequence(serial, time));
            }
            else
            {
                gen.AddCrlEntry(serial, time, (int)r.Reason);
            }
        }

        var ext = new X509ExtensionsGenerator();
        ext.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(CertificateBuilder.KeyIdentifier(issuer.SubjectPublicKeyInfo)));
        ext.AddExtension(X509Extensions.CrlNumber, false, new CrlNumber(BigInteger.ValueOf(crlNumber)));
        gen.SetExtensions(ext.Generate());
        var tbs = gen.GenerateTbsCertList();
        var signature = issuerKey.Sign(tbs.GetDerEncoded());
        return new DerSequence(tbs, issuerKey.SignatureAlgorithm, new DerBitString(signature)).GetDerEncoded();
    }
}
