using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Ocsp;
using SecMon.Pki.Ca;
using SecMon.Pki.Revocation;
using SecMon.Pki.Store;

namespace SecMon.Pki.Tests.Revocation;

public class OcspResponderTests
{
    [Fact]
    public void Respond_GoodThenRevoked_SignedByDelegatedResponder()
    {
        using var t = new TestCa();
        var issued = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-42"), Profile = t.Ca.FindProfile("device")!, DeviceId = "sensor-42", Actor = "test" });
        var responder = t.Ca.CreateOcspResponder();
        var request = Request(t, issued.Certificate!.SerialNumber, nonce: null);

        var good = Parse(responder.Respond(request), t);
        Assert.Same(CertificateStatus.Good, good.Responses[0].GetCertStatus());

        t.Ca.Revoke(issued.Record!.Serial, RevocationReason.KeyCompromise, "test");
        responder.Invalidate();
        var revoked = Parse(responder.Respond(request), t);
        var status = Assert.IsType<RevokedStatus>(revoked.Responses[0].GetCertStatus());
        Assert.Equal((int)RevocationReason.KeyCompromise, status.RevocationReason);
    }

    [Fact]
    public void Respond_UnknownSerial_Unknown()
    {
        using var t = new TestCa();
        var responder = t.Ca.CreateOcspResponder();

        var resp = Parse(responder.Respond(Request(t, Org.BouncyCastle.Math.BigInteger.ValueOf(12345), null)), t);

        Assert.IsType<UnknownStatus>(resp.Responses[0].GetCertStatus());
    }

    [Fact]
    public void Respond_WithNonce_EchoesItAndIsNotCached()
    {
        using var t = new TestCa();
        var issued = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-42"), Profile = t.Ca.FindProfile("device")!, DeviceId = "sensor-42", Actor = "test" });
        var responder = t.Ca.CreateOcspResponder();
        var nonce = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

        var resp = Parse(responder.Respond(Request(t, issued.Certificate!.SerialNumber, nonce)), t);
        _ = responder.Respond(Request(t, issued.Certificate!.SerialNumber, nonce));

        var ext = resp.ResponseExtensions.GetExtension(OcspResponder.NonceOid);
        Assert.Equal(nonce, Asn1OctetString.GetInstance(ext.GetParsedValue()).GetOctets());
        Assert.Equal(0, responder.CacheHits);
    }

    [Fact]
    public void Respond_SameRequestWithoutNonce_ServedFromCacheUntilInvalidated()
    {
        using var t = new TestCa();
        var issued = t.Ca.Issue(new IssueRequest { CsrDer = TestCa.Csr("CN=sensor-42"), Profile = t.Ca.FindProfile("device")!, DeviceId = "sensor-42", Actor = "test" });
        var responder = t.Ca.CreateOcspResponder();
        var request = Request(t, issued.Certificate!.SerialNumber, null);

        var first = responder.Respond(request);
        var second = responder.Respond(request);

        Assert.Equal(first, second);
        Assert.Equal(1, responder.CacheHits);
        t.Time.Advance(TimeSpan.FromMinutes(31)); // past half of the 60-minute validity: re-signed
        Assert.NotEqual(first, responder.Respond(request));
    }

    [Theory]
    [InlineData("Garbage", "6869")]
    [InlineData("Empty", "")]
    [InlineData("TruncatedSequence", "3082")]
    public void Respond_Malformed_MalformedRequestStatus(string label, string hex)
    {
        using var t = new TestCa();
        var responder = t.Ca.CreateOcspResponder();

        var resp = new OcspResp(responder.Respond(Convert.FromHexString(hex)));

        Assert.True(resp.Status == OcspRespStatus.MalformedRequest, label);
    }

    private static byte[] Request(TestCa t, Org.BouncyCastle.Math.BigInteger serial, byte[]? nonce)
    {
        var gen = new OcspReqGenerator();
        gen.AddRequest(new CertificateID(CertificateID.DigestSha1, t.Ca.IssuingCertificate, serial));
        if (nonce is not null)
        {
            var ext = new X509ExtensionsGenerator();
            ext.AddExtension(OcspResponder.NonceOid, false, new DerOctetString(nonce));
            gen.SetRequestExtensions(ext.Generate());
        }

        return gen.Generate().GetEncoded();
    }

    private static BasicOcspResp Parse(byte[] der, TestCa t)
    {
        var resp = new OcspResp(der);
        Assert.Equal(OcspRespStatus.Successful, resp.Status);
        var basic = (BasicOcspResp)resp.GetResponseObject();
        var signer = basic.GetCerts().Single();
        Assert.True(basic.Verify(signer.GetPublicKey()));
        signer.Verify(t.Ca.IssuingCertificate.GetPublicKey());
        Assert.Contains("1.3.6.1.5.5.7.3.9", signer.GetExtendedKeyUsage().Select(o => o.Id)); // id-kp-OCSPSigning
        return basic;
    }
}
