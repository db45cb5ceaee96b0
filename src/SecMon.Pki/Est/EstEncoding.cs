using System.Buffers;
using System.Buffers.Text;
using System.Formats.Asn1;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Cms;
using PkcsObjectIdentifiers = Org.BouncyCastle.Asn1.Pkcs.PkcsObjectIdentifiers;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.X509;

namespace SecMon.Pki.Est;

/// <summary>
/// EST body encodings: RFC 7030 §4 says bodies are base64 with <c>Content-Transfer-Encoding: base64</c>;
/// RFC 8951 §3 clarifies that the base64 is what counts whatever the header says, and that whitespace and
/// line breaks in it are ignored. A body that is plainly binary DER (not base64) is accepted too, as many
/// deployed clients send it.
/// </summary>
public static class EstEncoding
{
    /// <summary>Decodes a request body to DER. False when it is neither base64 nor DER, or is empty.</summary>
    public static bool TryDecodeBody(ReadOnlySpan<byte> body, out byte[] der)
    {
        der = [];
        if (body.IsEmpty)
        {
            return false;
        }

        // Strip ASCII whitespace (RFC 8951 §3: line breaks are allowed anywhere in the base64).
        var compact = ArrayPool<byte>.Shared.Rent(body.Length);
        try
        {
            var n = 0;
            var base64 = true;
            foreach (var b in body)
            {
                if (b is (byte)' ' or (byte)'\r' or (byte)'\n' or (byte)'\t')
                {
                    continue;
                }

                if (!IsBase64Char(b))
                {
                    base64 = false;
                    break;
                }

                compact[n++] = b;
            }

            if (base64 && n > 0)
            {
                var output = new byte[Base64.GetMaxDecodedFromUtf8Length(n)];
                if (Base64.DecodeFromUtf8(compact.AsSpan(0, n), output, out _, out var written) == OperationStatus.Done && written > 0)
                {
                    der = output[..written];
                    return true;
                }

                return false;
            }

            // Binary DER: a SEQUENCE with a definite length.
            if (body[0] == 0x30 && body.Length > 2)
            {
                der = body.ToArray();
                return true;
            }

            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compact);
        }
    }

    /// <summary>Base64 with line breaks every 64 characters (RFC 7030 examples), as ASCII bytes.</summary>
    public static byte[] EncodeBody(ReadOnlySpan<byte> der)
    {
        var b64 = Convert.ToBase64String(der, Base64FormattingOptions.None);
        var sb = new System.Text.StringBuilder(b64.Length + (b64.Length / 64) + 2);
        for (var i = 0; i < b64.Length; i += 64)
        {
            sb.Append(b64, i, Math.Min(64, b64.Length - i)).Append("\r\n");
        }

        return System.Text.Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>
    /// A certs-only CMS SignedData (RFC 5652 §5; RFC 7030 §4.1.3 and §4.2.3, "degenerate" PKCS#7):
    /// no signers, no content, the certificates in the certificates field.
    /// </summary>
    public static byte[] CertsOnly(IEnumerable<X509Certificate> certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);

        // Written around each certificate's DER as it is (BouncyCastle keeps the encoding made when the
        // certificate was stored) instead of re-encoding the certificate structures: measured, the re-encoding
        // was most of the cost of an enrollment's answer. DER: the SET OF certificates is sorted (X.690 §11.6).
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(SignedDataOid);
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0)))
            using (writer.PushSequence())
            {
                writer.WriteInteger(1);
                using (writer.PushSetOf())
                {
                    // digestAlgorithms: none
                }

                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(DataOid);
                }

                using (writer.PushSetOf(new Asn1Tag(TagClass.ContextSpecific, 0)))
                {
                    foreach (var c in certificates)
                    {
                        writer.WriteEncodedValue(c.GetEncoded());
                    }
                }

                using (writer.PushSetOf())
                {
                    // signerInfos: none
                }
            }
        }

        return writer.Encode();
    }

    // RFC 5652 §5.1 id-signedData and §4 id-data.
    private const string SignedDataOid = "1.2.840.113549.1.7.2";
    private const string DataOid = "1.2.840.113549.1.7.1";

    /// <summary>Reads the certificates out of a certs-only PKCS#7 (the device client's side).</summary>
    public static IReadOnlyList<X509Certificate> ReadCertsOnly(byte[] der)
    {
        var ci = ContentInfo.GetInstance(Asn1Object.FromByteArray(der));
        var sd = SignedData.GetInstance(ci.Content);
        var list = new List<X509Certificate>();
        foreach (var c in sd.Certificates)
        {
            list.Add(new X509Certificate(Org.BouncyCastle.Asn1.X509.X509CertificateStructure.GetInstance(c)));
        }

        return list;
    }

    /// <summary>
    /// The CSR attributes (RFC 7030 §4.5.2, CsrAttrs ::= SEQUENCE OF AttrOrOID) SecMon asks for: an EC
    /// P-256 key (an Attribute id-ecPublicKey with the curve) signed with ecdsa-with-SHA256.
    /// </summary>
    public static byte[] CsrAttributes() => new DerSequence(
        X9ObjectIdentifiers.ECDsaWithSha256,
        new DerSequence(X9ObjectIdentifiers.IdECPublicKey, new DerSet(X9ObjectIdentifiers.Prime256v1)),
        PkcsObjectIdentifiers.Pkcs9AtExtensionRequest).GetDerEncoded();

    private static bool IsBase64Char(byte b) =>
        b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'+' or (byte)'/' or (byte)'=';
}
