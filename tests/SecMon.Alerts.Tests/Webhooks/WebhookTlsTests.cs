using System.Security.Cryptography.X509Certificates;
using SecMon.Alerts.Tests.Mqtt;
using SecMon.Alerts.Webhooks;
using SecMon.Core;

namespace SecMon.Alerts.Tests.Webhooks;

/// <summary>A receiver on a private PKI (<c>ca_certificate</c>), here SecMon's own CA (its issuing CA and root in one
/// PEM bundle, as <c>secmon ca</c> gives them): the receiver is trusted when its certificate chains to that CA, and
/// refused without it or with another CA, so no finding reaches a receiver SecMon could not authenticate.</summary>
public sealed class WebhookTlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-webhook-tls-").FullName;
    private readonly TestPki _pki;
    private readonly X509Certificate2 _receiverCertificate;

    public WebhookTlsTests()
    {
        _pki = new TestPki(Path.Combine(_dir, "pki"));
        using var pem = X509Certificate2.CreateFromPemFile(_pki.BrokerCert, _pki.BrokerKey); // a server profile for 127.0.0.1
        _receiverCertificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    public void Dispose()
    {
        _receiverCertificate.Dispose();
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Deliver_ReceiverCertificateIssuedBySecMonsCa_EveryFindingDeliveredAndVerified()
    {
        var secret = WebhookTesting.NewSecret();
        await using var receiver = await WebhookReceiver.StartHttpsAsync(_receiverCertificate, secret);
        var options = WebhookTesting.Options(receiver.Url, secret) with { CaCertificate = TlsTrust.Load(_pki.Chain) };
        var (spooled, sink) = WebhookTesting.Spooled(options, Path.Combine(_dir, "spool"));
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
    public async Task Write_NoCaConfigured_TheReceiversCertificateIsRefusedAndNothingIsSent()
    {
        var secret = WebhookTesting.NewSecret();
        await using var receiver = await WebhookReceiver.StartHttpsAsync(_receiverCertificate, secret);
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
        await using var receiver = await WebhookReceiver.StartHttpsAsync(_receiverCertificate, secret);
        var options = WebhookTesting.Options(receiver.Url, secret) with { CaCertificate = TlsTrust.Load(_pki.OtherCa) };
        using var sink = new WebhookSink(options, TimeProvider.System);

        var result = sink.Write(WebhookTesting.MakeFindings(2), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Empty(receiver.Deliveries);
    }
}
