using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecMon.Testing;

/// <summary>
/// A private CA and a server certificate it signed for 127.0.0.1 and localhost (ECDSA P-256, valid for a day), for
/// test servers on loopback that a client must trust through a configured CA (<c>ca_certificate</c>) rather than the
/// system's store. <see cref="CaPem"/> is the CA as an output's configuration names it.
/// </summary>
public sealed class LoopbackPki : IDisposable
{
    /// <summary>Makes the CA (named <paramref name="caName"/>) and the server certificate.</summary>
    public LoopbackPki(string caName = "SecMon test CA")
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        Ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var signed = serverRequest.Create(Ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
        using var withKey = signed.CopyWithPrivateKey(serverKey);
        Server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The CA certificate (with its key, which tests do not need to export).</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>The server certificate with its private key, for Kestrel's <c>UseHttps</c>.</summary>
    public X509Certificate2 Server { get; }

    /// <summary>The CA certificate in PEM.</summary>
    public string CaPem => Ca.ExportCertificatePem();

    /// <summary>The server certificate's SHA-256 fingerprint in hex (without colons).</summary>
    public string ServerFingerprint => Convert.ToHexString(SHA256.HashData(Server.RawData));

    /// <inheritdoc />
    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
    }
}
