using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto;

namespace SecMon.Pki.Keys;

/// <summary>
/// A private key that signs certificates, CRLs, OCSP responses and CSRs. The private-key operation runs in
/// .NET's <see cref="ECDsa"/>/<see cref="RSA"/> (OpenSSL underneath), measured at about 40,000 P-256
/// signatures/s per core against about 7,000/s for BouncyCastle's fastest curve (bench/README.md "PKI");
/// every ASN.1 structure around it is built by BouncyCastle through <see cref="SignatureFactory"/>.
/// </summary>
public sealed class SigningKey : IDisposable
{
    private readonly AsymmetricAlgorithm _key;

    private SigningKey(AsymmetricAlgorithm key, KeyAlgorithm algorithm)
    {
        _key = key;
        Algorithm = algorithm;
        SubjectPublicKeyInfoDer = key.ExportSubjectPublicKeyInfo();
        PublicKeyInfo = SubjectPublicKeyInfo.GetInstance(SubjectPublicKeyInfoDer);
        (SignatureAlgorithm, Hash) = algorithm switch
        {
            KeyAlgorithm.EcdsaP256 => (new AlgorithmIdentifier(X9ObjectIdentifiers.ECDsaWithSha256), HashAlgorithmName.SHA256),
            KeyAlgorithm.EcdsaP384 => (new AlgorithmIdentifier(X9ObjectIdentifiers.ECDsaWithSha384), HashAlgorithmName.SHA384),
            // RFC 4055 §5: the parameters of sha256WithRSAEncryption are NULL.
            _ => (new AlgorithmIdentifier(PkcsObjectIdentifiers.Sha256WithRsaEncryption, DerNull.Instance), HashAlgorithmName.SHA256),
        };
        SignatureFactory = new DotNetSignatureFactory(this);
    }

    /// <summary>The key type.</summary>
    public KeyAlgorithm Algorithm { get; }

    /// <summary>The DER SubjectPublicKeyInfo of the public half.</summary>
    public byte[] SubjectPublicKeyInfoDer { get; }

    /// <summary>The public half as BouncyCastle's structure (for certificate and CSR builders).</summary>
    public SubjectPublicKeyInfo PublicKeyInfo { get; }

    /// <summary>The signature algorithm this key signs with (ecdsa-with-SHA256/384, sha256WithRSAEncryption).</summary>
    public AlgorithmIdentifier SignatureAlgorithm { get; }

    /// <summary>The digest used with <see cref="SignatureAlgorithm"/>.</summary>
    public HashAlgorithmName Hash { get; }

    /// <summary>A BouncyCastle signature factory that signs with this key.</summary>
    public ISignatureFactory SignatureFactory { get; }

    /// <summary>The .NET key (for <c>X509Certificate2.CopyWithPrivateKey</c> when serving TLS).</summary>
    public AsymmetricAlgorithm Key => _key;

    /// <summary>Creates a fresh key.</summary>
    public static SigningKey Generate(KeyAlgorithm algorithm) => algorithm switch
    {
        KeyAlgorithm.EcdsaP256 => new SigningKey(ECDsa.Create(ECCurve.NamedCurves.nistP256), algorithm),
        KeyAlgorithm.EcdsaP384 => new SigningKey(ECDsa.Create(ECCurve.NamedCurves.nistP384), algorithm),
        _ => new SigningKey(RSA.Create(algorithm.RsaBits()), algorithm),
    };

    /// <summary>
    /// Reads a PEM private key: <c>ENCRYPTED PRIVATE KEY</c> (PKCS#8 with PBES2, needs the passphrase),
    /// <c>PRIVATE KEY</c>, <c>EC PRIVATE KEY</c> or <c>RSA PRIVATE KEY</c>.
    /// </summary>
    /// <exception cref="PkiException">The PEM is damaged, the passphrase is wrong or the key type is not supported.</exception>
    public static SigningKey FromPem(string pem, ReadOnlySpan<char> passphrase, string source)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var encrypted = pem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal);
        if (encrypted && passphrase.IsEmpty)
        {
            throw new PkiException($"{source}: the key is encrypted; set SECMON_CA_PASSPHRASE or pass --passphrase-file FILE.");
        }

        // The PEM does not say which algorithm is inside an encrypted PKCS#8; try EC, then RSA (the wrong
        // one fails without side effects; only RSA CA keys pay a second key derivation, once at load).
        AsymmetricAlgorithm? key = null;
        CryptographicException? last = null;
        foreach (var candidate in new Func<AsymmetricAlgorithm>[] { () => ECDsa.Create(), () => RSA.Create() })
        {
            var k = candidate();
            try
            {
                Import(k, pem, passphrase, encrypted);
                key = k;
                break;
            }
            catch (CryptographicException e)
            {
                last = e;
                k.Dispose();
            }
            catch (ArgumentException e)
            {
                k.Dispose();
                throw new PkiException($"{source}: not a PEM private key ({e.Message}).", e);
            }
        }

        if (key is null)
        {
            throw new PkiException(encrypted
                ? $"{source}: cannot decrypt the private key (wrong passphrase, or the file is damaged)."
                : $"{source}: not a readable private key ({last?.Message}).", last!);
        }

        return new SigningKey(key, Classify(key, source));
    }

    /// <summary>Reads an unencrypted PKCS#8 DER private key.</summary>
    public static SigningKey FromPkcs8(ReadOnlySpan<byte> pkcs8, string source)
    {
        var pem = PemEncoding.WriteString("PRIVATE KEY", pkcs8);
        return FromPem(pem, default, source);
    }

    /// <summary>
    /// The key as PEM <c>ENCRYPTED PRIVATE KEY</c>: PKCS#8 EncryptedPrivateKeyInfo, PBES2 with PBKDF2-HMAC-SHA256
    /// (<paramref name="iterations"/> rounds) and AES-256-CBC (RFC 8018 §6.2). OpenSSL reads it.
    /// </summary>
    public string ExportEncryptedPem(ReadOnlySpan<char> passphrase, int iterations)
    {
        if (passphrase.IsEmpty)
        {
            throw new PkiException("An empty passphrase cannot protect a CA key; set SECMON_CA_PASSPHRASE or --passphrase-file.");
        }

        var pbe = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, iterations);
        return _key.ExportEncryptedPkcs8PrivateKeyPem(passphrase, pbe);
    }

    /// <summary>The key as unencrypted PEM <c>PRIVATE KEY</c> (device keys, which the device's own software reads).</summary>
    public string ExportPem() => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>The key as unencrypted PKCS#8 DER (EST serverkeygen, RFC 7030 §4.4.2).</summary>
    public byte[] ExportPkcs8() => _key.ExportPkcs8PrivateKey();

    /// <summary>Signs <paramref name="data"/> with <see cref="SignatureAlgorithm"/>; ECDSA signatures are DER (RFC 3279 §2.2.3).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => _key switch
    {
        ECDsa ec => ec.SignData(data, Hash, DSASignatureFormat.Rfc3279DerSequence),
        RSA rsa => rsa.SignData(data.ToArray(), Hash, RSASignaturePadding.Pkcs1),
        _ => throw new InvalidOperationException("unsupported key"),
    };

    /// <summary>Signs a precomputed digest of <see cref="Hash"/>.</summary>
    public byte[] SignHash(ReadOnlySpan<byte> hash) => _key switch
    {
        ECDsa ec => ec.SignHash(hash, DSASignatureFormat.Rfc3279DerSequence),
        RSA rsa => rsa.SignHash(hash.ToArray(), Hash, RSASignaturePadding.Pkcs1),
        _ => throw new InvalidOperationException("unsupported key"),
    };

    /// <summary>True when <paramref name="spkiDer"/> is this key's public half.</summary>
    public bool MatchesPublicKey(ReadOnlySpan<byte> spkiDer) => spkiDer.SequenceEqual(SubjectPublicKeyInfoDer);

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();

    private static void Import(AsymmetricAlgorithm key, string pem, ReadOnlySpan<char> passphrase, bool encrypted)
    {
        if (encrypted)
        {
            key.ImportFromEncryptedPem(pem, passphrase);
        }
        else
        {
            key.ImportFromPem(pem);
        }
    }

    private static KeyAlgorithm Classify(AsymmetricAlgorithm key, string source)
    {
        if (key is ECDsa ec)
        {
            var p = ec.ExportParameters(false);
            var oid = p.Curve.Oid?.Value;
            if (oid == P256Oid || p.Curve.Oid?.FriendlyName is "nistP256" or "ECDSA_P256")
            {
                return KeyAlgorithm.EcdsaP256;
            }

            if (oid == P384Oid || p.Curve.Oid?.FriendlyName is "nistP384" or "ECDSA_P384")
            {
                return KeyAlgorithm.EcdsaP384;
            }

            key.Dispose();
            throw new PkiException($"{source}: EC curve {oid ?? "(explicit)"} is not supported (P-256 or P-384).");
        }

        var bits = key.KeySize;
        var alg = bits switch
        {
            2048 => KeyAlgorithm.Rsa2048,
            3072 => KeyAlgorithm.Rsa3072,
            4096 => KeyAlgorithm.Rsa4096,
            _ => (KeyAlgorithm?)null,
        };
        if (alg is null)
        {
            key.Dispose();
            throw new PkiException($"{source}: RSA {bits} is not supported (2048, 3072 or 4096).");
        }

        return alg.Value;
    }

    private static readonly string P256Oid = X9ObjectIdentifiers.Prime256v1.Id;
    private static readonly string P384Oid = Org.BouncyCastle.Asn1.Sec.SecObjectIdentifiers.SecP384r1.Id;
}
