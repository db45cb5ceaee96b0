using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Security;

namespace SecMon.Pki.Keys;

/// <summary>What a SubjectPublicKeyInfo holds: the key type, the curve or modulus size.</summary>
/// <param name="Algorithm">The matching key type, or null when it is none the CA accepts.</param>
/// <param name="Description">Human text for refusals: <c>EC secp521r1</c>, <c>RSA 1024</c>.</param>
public readonly record struct PublicKeyDescription(KeyAlgorithm? Algorithm, string Description);

/// <summary>
/// Inspection and signature verification of public keys from CSRs and certificates. Every CSR brings a key
/// never seen before, so what counts is import + verify of a fresh key. ECDSA on P-256 and P-384 is verified
/// by OpenSSL's libcrypto called directly (<see cref="OpenSslEcdsa"/>: ~110 µs for a fresh P-256 key, against
/// ~300 µs for BouncyCastle's <c>CustomNamedCurves</c> and ~280 µs for .NET's <see cref="ECDsa"/>, whose
/// import runs EC_KEY_check_key with a full scalar multiplication that a cofactor-1 curve does not need);
/// where libcrypto is not available, by BouncyCastle. RSA (cheap either way) is verified by .NET.
/// </summary>
public static class PublicKeys
{
    /// <summary>Says which key type <paramref name="spki"/> is, without throwing on malformed keys.</summary>
    public static PublicKeyDescription Describe(SubjectPublicKeyInfo spki)
    {
        ArgumentNullException.ThrowIfNull(spki);
        var oid = spki.Algorithm.Algorithm;
        if (oid.Equals(X9ObjectIdentifiers.IdECPublicKey))
        {
            // RFC 5480 §2.1.1: parameters are a namedCurve OID (implicit and explicit curves are not allowed).
            if (spki.Algorithm.Parameters is not DerObjectIdentifier curve)
            {
                return new(null, "EC with explicit or missing curve parameters");
            }

            // A BIT STRING with unused bits is not an octet string: BouncyCastle throws on GetOctets.
            var pointLength = spki.PublicKey.PadBits == 0 ? spki.PublicKey.GetBytes().Length : -1;
            if (curve.Equals(X9ObjectIdentifiers.Prime256v1))
            {
                return pointLength is 65 or 33 ? new(KeyAlgorithm.EcdsaP256, "EC P-256") : new(null, "EC P-256 with a malformed point");
            }

            if (curve.Equals(SecObjectIdentifiers.SecP384r1))
            {
                return pointLength is 97 or 49 ? new(KeyAlgorithm.EcdsaP384, "EC P-384") : new(null, "EC P-384 with a malformed point");
            }

            return new(null, "EC curve " + CurveName(curve));
        }

        if (oid.Equals(PkcsObjectIdentifiers.RsaEncryption))
        {
            int bits;
            try
            {
                var rsa = RsaPublicKeyStructure.GetInstance(spki.ParsePublicKey());
                bits = rsa.Modulus.BitLength;
            }
            catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or InvalidOperationException)
            {
                return new(null, "RSA with a malformed key");
            }

            KeyAlgorithm? alg = bits switch
            {
                2048 => KeyAlgorithm.Rsa2048,
                3072 => KeyAlgorithm.Rsa3072,
                4096 => KeyAlgorithm.Rsa4096,
                _ => null,
            };
            return new(alg, "RSA " + bits);
        }

        return new(null, "key algorithm " + oid.Id);
    }

    /// <summary>
    /// Verifies <paramref name="signature"/> over <paramref name="data"/> with the public key
    /// <paramref name="spkiDer"/> and the signature algorithm <paramref name="signatureAlgorithm"/>.
    /// Returns false (never throws) for a bad signature, a malformed key or an unsupported algorithm
    /// (SHA-1 and MD5 based signatures are not accepted).
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> spkiDer, AlgorithmIdentifier signatureAlgorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(signatureAlgorithm);
        var (family, hash) = SignatureAlgorithmOf(signatureAlgorithm.Algorithm);
        try
        {
            switch (family)
            {
                case 'e':
                    return VerifyEcdsa(SubjectPublicKeyInfo.GetInstance(Asn1Object.FromByteArray(spkiDer.ToArray())), hash, data, signature);

                case 'r':
                {
                    using var rsa = RSA.Create();
                    rsa.ImportSubjectPublicKeyInfo(spkiDer, out _);
                    return rsa.VerifyData(data, signature, hash, RSASignaturePadding.Pkcs1);
                }

                default:
                    return false;
            }
        }
        catch (CryptographicException)
        {
            return false;
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or InvalidOperationException or FormatException)
        {
            // BouncyCastle's decoders throw these for a malformed key, point or DER signature.
            return false;
        }
    }

    /// <summary>As <see cref="Verify(ReadOnlySpan{byte}, AlgorithmIdentifier, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>, with the key already parsed.</summary>
    public static bool Verify(SubjectPublicKeyInfo spki, AlgorithmIdentifier signatureAlgorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(spki);
        ArgumentNullException.ThrowIfNull(signatureAlgorithm);
        var (family, hash) = SignatureAlgorithmOf(signatureAlgorithm.Algorithm);
        if (family != 'e')
        {
            return Verify(spki.GetDerEncoded(), signatureAlgorithm, data, signature);
        }

        try
        {
            return VerifyEcdsa(spki, hash, data, signature);
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }

    // ECDSA: OpenSSL's libcrypto directly where it is available (P-256 and P-384; see OpenSslEcdsa), else
    // BouncyCastle. May throw for malformed input; the callers catch.
    private static bool VerifyEcdsa(SubjectPublicKeyInfo spki, HashAlgorithmName hash, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (spki.Algorithm.Algorithm.Equals(X9ObjectIdentifiers.IdECPublicKey) && spki.Algorithm.Parameters is DerObjectIdentifier curve)
        {
            var bits = curve.Equals(X9ObjectIdentifiers.Prime256v1) ? 256 : curve.Equals(SecObjectIdentifiers.SecP384r1) ? 384 : 0;
            Span<byte> digest = stackalloc byte[64];
            var length = hash.Name switch
            {
                "SHA256" => SHA256.HashData(data, digest),
                "SHA384" => SHA384.HashData(data, digest),
                "SHA512" => SHA512.HashData(data, digest),
                _ => 0,
            };
            if (bits != 0 && length != 0 && OpenSslEcdsa.Verify(bits, spki.PublicKey.GetOctets(), digest[..length], signature) is { } verified)
            {
                return verified;
            }
        }

        return VerifyEcdsaBouncyCastle(spki, hash, data, signature);
    }

    /// <summary>ECDSA verification by BouncyCastle (<c>CustomNamedCurves</c> through <see cref="PublicKeyFactory"/>). May throw for malformed input.</summary>
    internal static bool VerifyEcdsaBouncyCastle(SubjectPublicKeyInfo spki, HashAlgorithmName hash, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        var key = PublicKeyFactory.CreateKey(spki);
        if (key is not Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters)
        {
            return false;
        }

        var signer = SignerUtilities.GetSigner(hash.Name + "withECDSA");
        signer.Init(false, key);
        signer.BlockUpdate(data);
        return signer.VerifySignature(signature.ToArray());
    }

    /// <summary>True when the signature algorithm is one the CA accepts (ECDSA or RSA PKCS#1 v1.5 with SHA-2).</summary>
    public static bool IsAcceptedSignatureAlgorithm(DerObjectIdentifier oid) => SignatureAlgorithmOf(oid).Family != '\0';

    /// <summary>Whether a signature algorithm fits a key type (an ECDSA signature from an RSA key is refused).</summary>
    public static bool SignatureFitsKey(DerObjectIdentifier signatureOid, KeyAlgorithm key)
    {
        var family = SignatureAlgorithmOf(signatureOid).Family;
        return key.IsEcdsa() ? family == 'e' : family == 'r';
    }

    private static (char Family, HashAlgorithmName Hash) SignatureAlgorithmOf(DerObjectIdentifier oid)
    {
        if (oid.Equals(X9ObjectIdentifiers.ECDsaWithSha256))
        {
            return ('e', HashAlgorithmName.SHA256);
        }

        if (oid.Equals(X9ObjectIdentifiers.ECDsaWithSha384))
        {
            return ('e', HashAlgorithmName.SHA384);
        }

        if (oid.Equals(X9ObjectIdentifiers.ECDsaWithSha512))
        {
            return ('e', HashAlgorithmName.SHA512);
        }

        if (oid.Equals(PkcsObjectIdentifiers.Sha256WithRsaEncryption))
        {
            return ('r', HashAlgorithmName.SHA256);
        }

        if (oid.Equals(PkcsObjectIdentifiers.Sha384WithRsaEncryption))
        {
            return ('r', HashAlgorithmName.SHA384);
        }

        if (oid.Equals(PkcsObjectIdentifiers.Sha512WithRsaEncryption))
        {
            return ('r', HashAlgorithmName.SHA512);
        }

        return ('\0', default);
    }

    private static string CurveName(DerObjectIdentifier curve)
    {
        var name = ECNamedCurveTable.GetName(curve);
        return name ?? curve.Id;
    }
}
