using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecMon.Pki.Keys;
using SecMon.Pki.Policy;
using SecMon.Pki.Profiles;

namespace SecMon.Pki.Tests.Policy;

public class CsrPolicyTests
{
    private static readonly CsrPolicy Policy = new([KeyAlgorithm.EcdsaP256, KeyAlgorithm.EcdsaP384, KeyAlgorithm.Rsa2048, KeyAlgorithm.Rsa3072]);
    private static readonly CsrExpectation Device42 = new(CertificateProfile.Device(30), "sensor-42");

    [Fact]
    public void Check_ValidP256Csr_Accepted()
    {
        var r = Policy.Check(TestCa.Csr("CN=sensor-42"), Device42);

        Assert.True(r.Ok, r.Reason);
        Assert.Equal("sensor-42", r.Accepted!.CommonName);
        Assert.Equal(KeyAlgorithm.EcdsaP256, r.Accepted.KeyAlgorithm);
    }

    [Fact]
    public void Check_MatchingSans_Accepted()
    {
        var csr = TestCa.Csr("CN=sensor-42", req =>
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("sensor-42");
            san.AddUri(new Uri("urn:secmon:device:sensor-42"));
            req.CertificateExtensions.Add(san.Build());
        });

        var r = Policy.Check(csr, Device42);

        Assert.True(r.Ok, r.Reason);
        Assert.Equal(["sensor-42"], r.Accepted!.DnsNames);
    }

    [Fact]
    public void Check_Rsa2048_Accepted()
    {
        using var rsa = RSA.Create(2048);
        var r = Policy.Check(TestCa.Csr("CN=sensor-42", key: rsa), Device42);

        Assert.True(r.Ok, r.Reason);
        Assert.Equal(KeyAlgorithm.Rsa2048, r.Accepted!.KeyAlgorithm);
    }

    public static TheoryData<string, Func<byte[]>, string> Refused => new()
    {
        { "Garbage", () => "this is not a CSR at all, just text"u8.ToArray(), "malformed" },
        { "Empty", () => [], "empty" },
        { "Truncated", () => TestCa.Csr("CN=sensor-42")[..100], "malformed" },
        { "TrailingBytes", () => [.. TestCa.Csr("CN=sensor-42"), 0x00, 0x00], "trailing" },
        { "Oversized", () => TestCa.Csr("CN=sensor-42", req => req.CertificateExtensions.Add(new X509Extension("1.3.6.1.4.1.99999.2", new byte[20000], false))), "too large" },
        { "OtherDevice", () => TestCa.Csr("CN=sensor-43"), "does not match the enrolled device id" },
        { "NoCn", () => TestCa.Csr("O=Acme"), "no CN" },
        { "TwoCns", () => TestCa.Csr("CN=sensor-42, CN=sensor-43"), "more than one CN" },
        { "SanOtherDns", () => TestCa.Csr("CN=sensor-42", req => { var b = new SubjectAlternativeNameBuilder(); b.AddDnsName("evil.example"); req.CertificateExtensions.Add(b.Build()); }), "SAN DNS:evil.example" },
        { "SanOtherUrn", () => TestCa.Csr("CN=sensor-42", req => { var b = new SubjectAlternativeNameBuilder(); b.AddUri(new Uri("urn:secmon:device:sensor-43")); req.CertificateExtensions.Add(b.Build()); }), "SAN URI" },
        { "SanIp", () => TestCa.Csr("CN=sensor-42", req => { var b = new SubjectAlternativeNameBuilder(); b.AddIpAddress(System.Net.IPAddress.Loopback); req.CertificateExtensions.Add(b.Build()); }), "IP address" },
        { "CaTrue", () => TestCa.Csr("CN=sensor-42", req => req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true))), "CA:TRUE" },
        { "UnknownCritical", () => TestCa.Csr("CN=sensor-42", req => req.CertificateExtensions.Add(new X509Extension("1.3.6.1.4.1.99999.1", new byte[] { 0x05, 0x00 }, true))), "unknown critical extension" },
        { "BadSignature", BadSignature, "does not verify" },
        { "KeyBitStringPadBits", KeyWithPadBits, "malformed point" },
        { "Rsa1024", () => { using var k = RSA.Create(1024); return TestCa.Csr("CN=sensor-42", key: k); }, "RSA 1024" },
        { "P521", () => { using var k = ECDsa.Create(ECCurve.NamedCurves.nistP521); return TestCa.Csr("CN=sensor-42", key: k); }, "key type not allowed" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Check_BadCsr_RefusedWithReason(string label, Func<byte[]> csr, string reasonFragment)
    {
        var r = Policy.Check(csr(), Device42);

        Assert.False(r.Ok, label);
        Assert.Contains(reasonFragment, r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_UnknownNonCriticalExtension_Accepted()
    {
        var csr = TestCa.Csr("CN=sensor-42", req => req.CertificateExtensions.Add(new X509Extension("1.3.6.1.4.1.99999.1", new byte[] { 0x05, 0x00 }, false)));

        Assert.True(Policy.Check(csr, Device42).Ok);
    }

    [Fact]
    public void Check_ServerProfileWithAllowedNames_AcceptsOnlyThose()
    {
        var expect = new CsrExpectation(CertificateProfile.Server(90), null, ["broker.local"]);
        var good = TestCa.Csr("CN=broker.local");
        var bad = TestCa.Csr("CN=broker.local", req => { var b = new SubjectAlternativeNameBuilder(); b.AddDnsName("bank.example"); req.CertificateExtensions.Add(b.Build()); });

        Assert.True(Policy.Check(good, expect).Ok);
        Assert.Contains("bank.example", Policy.Check(bad, expect).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_RandomBytes_NeverThrows()
    {
        var rng = new Random(7);
        var valid = TestCa.Csr("CN=sensor-42");
        for (var i = 0; i < 500; i++)
        {
            var mutated = (byte[])valid.Clone();
            mutated[rng.Next(mutated.Length)] = (byte)rng.Next(256);
            mutated[rng.Next(mutated.Length)] = (byte)rng.Next(256);
            var r = Policy.Check(mutated, Device42);
            Assert.True(r.Ok || r.Reason is not null);
        }
    }

    // The public key's BIT STRING claims unused bits (03 42 01 04 ... instead of 03 42 00 04 ...): BouncyCastle
    // refuses to read such a string as octets, which once escaped Check as an exception (a 500 and no audit row).
    private static byte[] KeyWithPadBits()
    {
        var csr = TestCa.Csr("CN=sensor-42");
        var at = csr.AsSpan().IndexOf(new byte[] { 0x03, 0x42, 0x00, 0x04 });
        Assert.True(at > 0, "P-256 key BIT STRING not found in the test CSR");
        csr[at + 2] = 0x01;
        return csr;
    }

    private static byte[] BadSignature()
    {
        var csr = TestCa.Csr("CN=sensor-42");
        // The signature BIT STRING ends the CSR: flip a bit in its last byte (an ECDSA s value).
        csr[^1] ^= 0x01;
        return csr;
    }
}
