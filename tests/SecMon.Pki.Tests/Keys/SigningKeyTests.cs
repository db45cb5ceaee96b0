using System.Security.Cryptography;
using SecMon.Pki.Keys;

namespace SecMon.Pki.Tests.Keys;

public class SigningKeyTests
{
    [Theory]
    [InlineData(KeyAlgorithm.EcdsaP256)]
    [InlineData(KeyAlgorithm.EcdsaP384)]
    [InlineData(KeyAlgorithm.Rsa3072)]
    public void ExportEncryptedPem_RoundTrip_SameKeyAndAlgorithm(KeyAlgorithm algorithm)
    {
        using var key = SigningKey.Generate(algorithm);
        var pem = key.ExportEncryptedPem("pass phrase", 1000);

        Assert.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", pem, StringComparison.Ordinal);
        Assert.DoesNotContain("-----BEGIN PRIVATE KEY-----", pem, StringComparison.Ordinal);
        using var back = SigningKey.FromPem(pem, "pass phrase", "test");
        Assert.Equal(algorithm, back.Algorithm);
        Assert.True(back.MatchesPublicKey(key.SubjectPublicKeyInfoDer));
    }

    [Fact]
    public void FromPem_WrongPassphrase_ThrowsPkiException()
    {
        using var key = SigningKey.Generate(KeyAlgorithm.EcdsaP256);
        var pem = key.ExportEncryptedPem("right", 1000);

        var e = Assert.Throws<PkiException>(() => SigningKey.FromPem(pem, "wrong", "ca.key"));
        Assert.Contains("wrong passphrase", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_EncryptedWithoutPassphrase_SaysHowToGiveIt()
    {
        using var key = SigningKey.Generate(KeyAlgorithm.EcdsaP256);
        var pem = key.ExportEncryptedPem("right", 1000);

        var e = Assert.Throws<PkiException>(() => SigningKey.FromPem(pem, default, "ca.key"));
        Assert.Contains("SECMON_CA_PASSPHRASE", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportEncryptedPem_UsesPbes2WithAes256AndPbkdf2Sha256()
    {
        using var key = SigningKey.Generate(KeyAlgorithm.EcdsaP256);
        var pem = key.ExportEncryptedPem("x", 1234);
        var der = Convert.FromBase64String(string.Concat(pem.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal))));
        var info = Org.BouncyCastle.Asn1.Pkcs.EncryptedPrivateKeyInfo.GetInstance(der);
        var alg = info.EncryptionAlgorithm;

        Assert.Equal("1.2.840.113549.1.5.13", alg.Algorithm.Id); // PBES2, RFC 8018 §6.2
        var pbes2 = Org.BouncyCastle.Asn1.Pkcs.PbeS2Parameters.GetInstance(alg.Parameters);
        Assert.Equal("2.16.840.1.101.3.4.1.42", pbes2.EncryptionScheme.Algorithm.Id); // aes256-CBC
        var kdf = Org.BouncyCastle.Asn1.Pkcs.Pbkdf2Params.GetInstance(pbes2.KeyDerivationFunc.Parameters);
        Assert.Equal(1234, kdf.IterationCount.IntValue);
        Assert.Equal("1.2.840.113549.2.9", kdf.Prf.Algorithm.Id); // hmacWithSHA256
    }

    [Fact]
    public void Sign_EcdsaP256_VerifiesWithDotNetPublicKey()
    {
        using var key = SigningKey.Generate(KeyAlgorithm.EcdsaP256);
        var data = "hello"u8.ToArray();
        var sig = key.Sign(data);

        using var pub = ECDsa.Create();
        pub.ImportSubjectPublicKeyInfo(key.SubjectPublicKeyInfoDer, out _);
        Assert.True(pub.VerifyData(data, sig, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.True(PublicKeys.Verify(key.SubjectPublicKeyInfoDer, key.SignatureAlgorithm, data, sig));
        sig[^1] ^= 1;
        Assert.False(PublicKeys.Verify(key.SubjectPublicKeyInfoDer, key.SignatureAlgorithm, data, sig));
    }

    [Fact]
    public void WritePrivate_NewFile_HasMode0600()
    {
        var dir = Directory.CreateTempSubdirectory("secmon-keyfile-").FullName;
        try
        {
            var path = Path.Combine(dir, "k.pem");
            SecureFiles.WritePrivate(path, "secret");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal("secret", File.ReadAllText(path));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
