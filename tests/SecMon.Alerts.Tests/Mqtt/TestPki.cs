using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecMon.Pki.Ca;

namespace SecMon.Alerts.Tests.Mqtt;

/// <summary>
/// SecMon's own CA in a directory (as <c>secmon ca init</c> makes it), and PEM files issued by it as <c>secmon ca
/// issue</c> does: a broker certificate (server profile, for 127.0.0.1 and localhost) and a device certificate
/// (device profile) for SecMon's MQTT client; plus an unrelated self-signed CA for the negative cases.
/// </summary>
internal sealed class TestPki : IDisposable
{
    public TestPki(string directory)
    {
        Directory = directory;
        var options = new CaOptions { CaHome = Path.Combine(directory, "certs"), DataDirectory = Path.Combine(directory, "data"), Passphrase = "test passphrase" };
        CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 1000 } }, TimeProvider.System);
        Ca = CertificateAuthority.Open(options, TimeProvider.System);
        File.WriteAllText(Chain, string.Concat(Ca.Chain.Select(CertificateAuthority.ToPem)));
        Issue("server", "localhost", BrokerCert, BrokerKey);
        Issue("device", "secmon-sensor", ClientCert, ClientKey);

        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Other Root", otherKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var other = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(OtherCa, other.ExportCertificatePem());
    }

    public string Directory { get; }

    public CertificateAuthority Ca { get; }

    /// <summary>Issuing + root CA certificates (what mosquitto's cafile and outputs.mqtt.tls.ca_file take).</summary>
    public string Chain => Path.Combine(Directory, "chain.pem");

    public string BrokerCert => Path.Combine(Directory, "broker.crt.pem");

    public string BrokerKey => Path.Combine(Directory, "broker.key.pem");

    public string ClientCert => Path.Combine(Directory, "client.crt.pem");

    public string ClientKey => Path.Combine(Directory, "client.key.pem");

    /// <summary>A CA that issued nothing here.</summary>
    public string OtherCa => Path.Combine(Directory, "other-ca.pem");

    public void Dispose() => Ca.Dispose();

    private void Issue(string profile, string name, string certPath, string keyPath)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256).CreateSigningRequest();
        var server = profile == "server";
        var result = Ca.Issue(new IssueRequest
        {
            CsrDer = csr,
            Profile = Ca.FindProfile(profile)!,
            DeviceId = server ? null : name,
            DnsNames = server ? ["localhost"] : null,
            IpAddresses = server ? [IPAddress.Loopback] : null,
            Actor = "test",
        });
        Assert.True(result.Ok, result.Reason);
        File.WriteAllText(certPath, CertificateAuthority.ToPem(result.Certificate!));
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
    }
}
