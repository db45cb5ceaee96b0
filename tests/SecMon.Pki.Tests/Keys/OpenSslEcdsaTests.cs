using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using SecMon.Pki.Keys;

namespace SecMon.Pki.Tests.Keys;

public class OpenSslEcdsaTests
{
    public static TheoryData<string, int, string, bool> Cases()
    {
        var data = new TheoryData<string, int, string, bool>();
        foreach (var (bits, hash) in new[] { (256, "SHA256"), (256, "SHA512"), (384, "SHA384") })
        {
            data.Add("Valid", bits, hash, true);
            data.Add("ValidCompressedPoint", bits, hash, true);
            data.Add("DataTampered", bits, hash, false);
            data.Add("SignatureTampered", bits, hash, false);
            data.Add("OtherKey", bits, hash, false);
            data.Add("PointOffCurve", bits, hash, false);
            data.Add("SignatureNotDer", bits, hash, false);
            data.Add("SignatureTrailingByte", bits, hash, false);
            data.Add("SignatureRZero", bits, hash, false);
        }

        return data;
    }

    [Fact]
    public void IsAvailable_OnLinux_LibcryptoPassesSelfTest()
    {
        // The CI machine is Linux with OpenSSL 3: the fast path must really be in use there.
        Assert.Equal(OperatingSystem.IsLinux(), OpenSslEcdsa.IsAvailable);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Verify_Case_AgreesWithBouncyCastle(string name, int bits, string hashName, bool expected)
    {
        var hash = new HashAlgorithmName(hashName);
        using var key = ECDsa.Create(bits == 256 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
        using var other = ECDsa.Create(bits == 256 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
        var message = "CertificationRequestInfo stand-in"u8.ToArray();
        var signature = key.SignData(message, hash, DSASignatureFormat.Rfc3279DerSequence);
        var q = (name == "OtherKey" ? other : key).ExportParameters(false).Q;
        byte[] point = name == "ValidCompressedPoint"
            ? [(byte)(0x02 | (q.Y![^1] & 1)), .. q.X!]
            : [0x04, .. q.X!, .. q.Y!];
        switch (name)
        {
            case "DataTampered":
                message[0] ^= 1;
                break;
            case "SignatureTampered":
                signature[^1] ^= 1;
                break;
            case "PointOffCurve":
                point[^1] ^= 1;
                break;
            case "SignatureNotDer":
                // The same SEQUENCE with its length in long form (BER, not DER: X.690 §10.1).
                signature = [0x30, 0x81, signature[1], .. signature[2..]];
                break;
            case "SignatureTrailingByte":
                signature = [.. signature, 0x00];
                break;
            case "SignatureRZero":
                signature = [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01];
                break;
        }

        var spki = new SubjectPublicKeyInfo(
            SubjectPublicKeyInfo.GetInstance(key.ExportSubjectPublicKeyInfo()).Algorithm, point);
        var digest = hashName switch
        {
            "SHA256" => SHA256.HashData(message),
            "SHA384" => SHA384.HashData(message),
            _ => SHA512.HashData(message),
        };

        var native = OpenSslEcdsa.Verify(bits, point, digest, signature);
        var bouncyCastle = BouncyCastle(spki, hash, message, signature);

        // Without libcrypto (not Linux) the native path declines and BouncyCastle alone decides.
        Assert.Equal(OpenSslEcdsa.IsAvailable ? expected : null, native);
        Assert.Equal(expected, bouncyCastle);
        Assert.Equal(expected, PublicKeys.Verify(spki, new AlgorithmIdentifier(SignatureOid(hashName)), message, signature));
    }

    [Theory]
    [InlineData("Hybrid", 256, 0x06)]
    [InlineData("Infinity", 256, 0x00)]
    [InlineData("P521", 521, 0x04)]
    public void Verify_FormOrCurveNotHandled_NullSoTheCallerFallsBack(string name, int bits, byte firstByte)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = key.ExportParameters(false).Q;
        byte[] point = name == "Infinity" ? [firstByte] : [firstByte, .. q.X!, .. q.Y!];
        var digest = SHA256.HashData("x"u8);

        Assert.Null(OpenSslEcdsa.Verify(bits, point, digest, key.SignHash(digest, DSASignatureFormat.Rfc3279DerSequence)));
    }

    private static bool BouncyCastle(SubjectPublicKeyInfo spki, HashAlgorithmName hash, byte[] message, byte[] signature)
    {
        try
        {
            return PublicKeys.VerifyEcdsaBouncyCastle(spki, hash, message, signature);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or FormatException)
        {
            // Malformed key or signature: BouncyCastle throws, PublicKeys.Verify answers false.
            return false;
        }
    }

    private static Org.BouncyCastle.Asn1.DerObjectIdentifier SignatureOid(string hash) => hash switch
    {
        "SHA256" => Org.BouncyCastle.Asn1.X9.X9ObjectIdentifiers.ECDsaWithSha256,
        "SHA384" => Org.BouncyCastle.Asn1.X9.X9ObjectIdentifiers.ECDsaWithSha384,
        _ => Org.BouncyCastle.Asn1.X9.X9ObjectIdentifiers.ECDsaWithSha512,
    };
}
