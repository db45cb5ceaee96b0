using System.Formats.Asn1;
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

/// <summary>
/// Builds X.509 v2 CRLs (RFC 5280 §5) signed by the issuing CA. The revoked-certificates list is written with
/// <see cref="AsnWriter"/> straight into one buffer: BouncyCastle's generator allocates an object graph per
/// entry and took about 2 s for 100,000 entries, this takes about a tenth of that (bench/README.md "PKI").
/// The small fixed parts (issuer name, extensions) come from BouncyCastle's types.
/// </summary>
public static class CrlBuilder
{
    // crlEntryExtensions holding only a reasonCode (id-ce-cRLReasons 2.5.29.21, RFC 5280 §5.3.1), one per
    // CRLReason value: SEQUENCE { SEQUENCE { OID, OCTET STRING { ENUMERATED reason } } }. Encoded once:
    // writing the OID from its dotted string costs more than the rest of an entry.
    private static readonly byte[][] ReasonExtensions = Enumerable.Range(0, 11).Select(reason =>
    {
        var e = new AsnWriter(AsnEncodingRules.DER);
        using (e.PushSequence())
        using (e.PushSequence())
        {
            e.WriteObjectIdentifier("2.5.29.21");
            e.WriteOctetString([0x0A, 0x01, (byte)reason]);
        }

        return e.Encode();
    }).ToArray();

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
        var algorithm = issuerKey.SignatureAlgorithm.GetDerEncoded();
        var entries = revoked as IReadOnlyCollection<RevokedEntry> ?? revoked.ToList();
        // AsnWriter grows its buffer in small steps: size it up front (an entry is at most ~45 bytes).
        var w = new AsnWriter(AsnEncodingRules.DER, initialCapacity: 1024 + (entries.Count * 48));
        using (w.PushSequence())
        {
            w.WriteInteger(1); // v2
            w.WriteEncodedValue(algorithm);
            w.WriteEncodedValue(issuer.SubjectDN.GetDerEncoded());
            WriteTime(w, thisUpdate);
            WriteTime(w, nextUpdate);
            Span<byte> serial = stackalloc byte[20];
            var any = false;
            AsnWriter.Scope? list = null;
            foreach (var r in entries)
            {
                if (!any)
                {
                    list = w.PushSequence();
                    any = true;
                }

                if (!Convert.FromHexString(r.SerialHex, serial, out _, out var written).Equals(System.Buffers.OperationStatus.Done))
                {
                    throw new PkiException($"stored serial {r.SerialHex} is not hex");
                }

                using (w.PushSequence())
                {
                    w.WriteIntegerUnsigned(serial[..written]);
                    WriteTime(w, r.RevokedAt);
                    if (r.Reason != RevocationReason.Unspecified)
                    {
                        w.WriteEncodedValue(ReasonExtensions[(int)r.Reason]);
                    }
                }
            }

            list?.Dispose();
            var ext = new X509ExtensionsGenerator();
            ext.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(CertificateBuilder.KeyIdentifier(issuer.SubjectPublicKeyInfo)));
            ext.AddExtension(X509Extensions.CrlNumber, false, new CrlNumber(BigInteger.ValueOf(crlNumber)));
            using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                w.WriteEncodedValue(ext.Generate().GetDerEncoded());
            }
        }

        var tbs = w.Encode();
        var signature = issuerKey.Sign(tbs);
        var outer = new AsnWriter(AsnEncodingRules.DER, initialCapacity: tbs.Length + 200);
        using (outer.PushSequence())
        {
            outer.WriteEncodedValue(tbs);
            outer.WriteEncodedValue(algorithm);
            outer.WriteBitString(signature);
        }

        return outer.Encode();
    }

    // RFC 5280 §5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z.
    private static void WriteTime(AsnWriter w, DateTimeOffset t)
    {
        var utc = CertificateBuilder.TruncateToSeconds(t);
        if (utc.Year < 2050)
        {
            w.WriteUtcTime(utc);
        }
        else
        {
            w.WriteGeneralizedTime(utc, omitFractionalSeconds: true);
        }
    }
}
