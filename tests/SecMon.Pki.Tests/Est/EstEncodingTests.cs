using SecMon.Pki.Est;

namespace SecMon.Pki.Tests.Est;

public class EstEncodingTests
{
    [Fact]
    public void TryDecodeBody_Base64WithLineBreaks_Decoded()
    {
        var der = TestCa.Csr("CN=a");
        var b64 = Convert.ToBase64String(der, Base64FormattingOptions.InsertLineBreaks) + "\r\n";

        Assert.True(EstEncoding.TryDecodeBody(System.Text.Encoding.ASCII.GetBytes(b64), out var back));
        Assert.Equal(der, back);
    }

    [Fact]
    public void TryDecodeBody_BinaryDer_Accepted()
    {
        var der = TestCa.Csr("CN=a");

        Assert.True(EstEncoding.TryDecodeBody(der, out var back));
        Assert.Equal(der, back);
    }

    [Theory]
    [InlineData("Empty", "")]
    [InlineData("NotBase64NotDer", "hello world!")]
    [InlineData("BadPadding", "QUJD=A")]
    public void TryDecodeBody_Bad_False(string label, string body)
    {
        Assert.False(EstEncoding.TryDecodeBody(System.Text.Encoding.ASCII.GetBytes(body), out _), label);
    }

    [Fact]
    public void EncodeBody_LinesOf64_RoundTrips()
    {
        var der = new byte[200];
        new Random(1).NextBytes(der);

        var body = System.Text.Encoding.ASCII.GetString(EstEncoding.EncodeBody(der));

        Assert.All(body.Split("\r\n", StringSplitOptions.RemoveEmptyEntries), l => Assert.True(l.Length <= 64));
        Assert.Equal(der, Convert.FromBase64String(body.Replace("\r\n", "", StringComparison.Ordinal)));
    }

    [Fact]
    public void CertsOnly_ChainAndOneCertificate_SameBytesAsBouncyCastleCmsAndReadBack()
    {
        using var ca = new TestCa();
        var chain = ca.Ca.Chain;
        var issued = ca.Ca.Issue(new SecMon.Pki.Ca.IssueRequest
        {
            CsrDer = TestCa.Csr("CN=sensor-1"),
            Profile = ca.Ca.FindProfile("device")!,
            DeviceId = "sensor-1",
            Actor = "test",
        }).Certificate!;

        foreach (var certs in new[] { chain, [issued], [.. chain, issued] })
        {
            var der = EstEncoding.CertsOnly(certs);

            Assert.Equal(BouncyCastleCertsOnly(certs), der);
            Assert.Equal(certs.Select(c => c.GetEncoded()).Order(ByteOrder.Instance), EstEncoding.ReadCertsOnly(der).Select(c => c.GetEncoded()).Order(ByteOrder.Instance));
        }
    }

    [Fact]
    public void CsrAttributes_IsSequenceOfAttrOrOid()
    {
        var reader = new System.Formats.Asn1.AsnReader(EstEncoding.CsrAttributes(), System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();

        Assert.Equal("1.2.840.10045.4.3.2", reader.ReadObjectIdentifier());
        var attr = reader.ReadSequence();
        Assert.Equal("1.2.840.10045.2.1", attr.ReadObjectIdentifier());
        Assert.Equal("1.2.840.10045.3.1.7", attr.ReadSetOf().ReadObjectIdentifier());
    }

    // What CertsOnly was before it wrote the DER itself: BouncyCastle's CMS types (the reference encoding).
    private static byte[] BouncyCastleCertsOnly(IEnumerable<Org.BouncyCastle.X509.X509Certificate> certificates)
    {
        var certs = new Org.BouncyCastle.Asn1.Asn1EncodableVector();
        foreach (var c in certificates)
        {
            certs.Add(c.CertificateStructure);
        }

        var signedData = new Org.BouncyCastle.Asn1.Cms.SignedData(
            Org.BouncyCastle.Asn1.DerInteger.One,
            new Org.BouncyCastle.Asn1.DerSet(),
            new Org.BouncyCastle.Asn1.Cms.ContentInfo(Org.BouncyCastle.Asn1.Cms.CmsObjectIdentifiers.Data, null),
            new Org.BouncyCastle.Asn1.DerSet(certs),
            null,
            new Org.BouncyCastle.Asn1.DerSet());
        return new Org.BouncyCastle.Asn1.Cms.ContentInfo(Org.BouncyCastle.Asn1.Cms.CmsObjectIdentifiers.SignedData, signedData).GetDerEncoded();
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
