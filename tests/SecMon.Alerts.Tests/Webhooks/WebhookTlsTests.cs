using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecMon.Alerts.Webhooks;

namespace SecMon.Alerts.Tests.Webhooks;

/// <summary>A receiver on a private PKI (<c>ca_certificate</c>): its certificate is trusted when it chains to the named
/// CA, and refused without it or with another CA, so no finding reaches a receiver SecMon could not authenticate.</summary>
public sealed class WebhookTlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-webhook-tls-").FullName;
    private readonly (X509Certificate2 Ca, X509Certificate2 Leaf) _pki = TestPki("SecMon test receivers CA");

    public void Dispose()
    {
        _pki.Ca.Dispose();
        _pki.Leaf.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Deliver_ReceiverCertificateChainsToTheConfiguredCa_EveryFindingDeliveredAndVerified()
    {
        var secret = WebhookTesting.NewSecret();
        await using var receiver = await WebhookReceiver.StartHttpsAsync(_pki.Leaf, secret);
        using var ca = X509CertificateLoader.LoadCertificate(_pki.Ca.RawData); // the public certificate only, as from a PEM file
        var options = WebhookTesting.Options(receiver.Url, secret) with { CaCertificate = ca };
        var (spooled, sink) = WebhookTesting.Spooled(options, _dir);
        var findings = WebhookTesting.MakeFindings(5);

        using (sink)
        using (spooled)
        {
            WebhookTesting.Deliver(spooled, findings);
        }

        Assert.Equal(findings.Select(f => f.Id).Order(), receiver.Accepted().Keys.Order());
        Assert.All(receiver.Deliveries, d => Assert.True(d.VerifiedBySecret[0]));
    }

    [Fact]
    public async Task Write_NoCaConfigured_ThePrivateCertificateIsRefusedAndNothingIsSent()
    {
        var secret = WebhookTesting.NewSecret();
        await using var receiver = await WebhookReceiver.StartHttpsAsync(_pki.Leaf, secret);
        using var sink = new WebhookSink(WebhookTesting.Options(receiver.Url, secret), TimeProvider.System);

        var result = sink.Write(WebhookTesting.MakeFindings(2), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.True(result.Transient, result.Error);
        Assert.Empty(receiver.Deliveries);
    }

    [Fact]
    public async Task Write_AnotherCaConfigured_RefusedAndNothingIsSent()
    {
        var secret = WebhookTesting.NewSecret();
        await using var receiver = await WebhookReceiver.StartHttpsAsync(_pki.Leaf, secret);
        var (otherCa, otherLeaf) = TestPki("Another CA");
        using (otherCa)
        using (otherLeaf)
        {
            using var sink = new WebhookSink(WebhookTesting.Options(receiver.Url, secret) with { CaCertificate = otherCa }, TimeProvider.System);

            var result = sink.Write(WebhookTesting.MakeFindings(2), CancellationToken.None);

            Assert.False(result.Succeeded);
            Assert.Empty(receiver.Deliveries);
        }
    }

    // A CA and a server certificate for 127.0.0.1 and localhost that it signed (ECDSA P-256), the leaf with its key.
    private static (X509Certificate2 Ca, X509Certificate2 Leaf) TestPki(string caName)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=127.0.0.1", leafKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        leafRequest.CertificateExtensions.Add(names.Build());
        leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var signed = leafRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
        using var withKey = signed.CopyWithPrivateKey(leafKey);
        var leaf = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return (ca, leaf);
    }
}
