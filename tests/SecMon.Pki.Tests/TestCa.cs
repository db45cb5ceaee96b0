using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using SecMon.Pki.Ca;

namespace SecMon.Pki.Tests;

/// <summary>A CA in a temporary directory on a fake clock (2026-11-24T08:00:00Z), with a cheap KDF.</summary>
internal sealed class TestCa : IDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 11, 24, 8, 0, 0, TimeSpan.Zero);
    public const string Passphrase = "correct horse battery staple";

    public TestCa(CaSettings? settings = null)
    {
        Dir = Directory.CreateTempSubdirectory("secmon-pki-test-").FullName;
        Time = new FakeTimeProvider(Start);
        Options = new CaOptions { CaHome = Path.Combine(Dir, "certs"), DataDirectory = Path.Combine(Dir, "data"), Passphrase = Passphrase };
        CaInitializer.Init(Options, new CaInitOptions { Settings = settings ?? new CaSettings { KdfIterations = 1000 } }, Time);
        Ca = CertificateAuthority.Open(Options, Time);
    }

    public string Dir { get; }

    public FakeTimeProvider Time { get; }

    public CaOptions Options { get; }

    public CertificateAuthority Ca { get; }

    public X509Certificate2 RootDotNet => X509CertificateLoader.LoadCertificate(Ca.Root!.GetEncoded());

    public X509Certificate2 IssuingDotNet => X509CertificateLoader.LoadCertificate(Ca.IssuingCertificate.GetEncoded());

    /// <summary>A CSR made by .NET's CertificateRequest (independent of SecMon's code).</summary>
    public static byte[] Csr(string subject, Action<CertificateRequest>? edit = null, AsymmetricAlgorithm? key = null)
    {
        using var owned = key is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        var k = key ?? owned!;
        var req = k switch
        {
            ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
            RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => throw new ArgumentException("only ECDsa and RSA keys", nameof(key)),
        };
        edit?.Invoke(req);
        return req.CreateSigningRequest();
    }

    /// <summary>Verifies a leaf against the CA with X509Chain, custom trust root, fixed time, and an EKU.</summary>
    public (bool Ok, string Status) VerifyChain(byte[] leafDer, string ekuOid, DateTimeOffset? at = null)
    {
        using var leaf = X509CertificateLoader.LoadCertificate(leafDer);
        using var root = RootDotNet;
        using var issuing = IssuingDotNet;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.ExtraStore.Add(issuing);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = (at ?? Time.GetUtcNow()).UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ekuOid));
        var ok = chain.Build(leaf);
        return (ok, string.Join("; ", chain.ChainStatus.Select(s => s.Status + ":" + s.StatusInformation)));
    }

    public void Dispose()
    {
        Ca.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
