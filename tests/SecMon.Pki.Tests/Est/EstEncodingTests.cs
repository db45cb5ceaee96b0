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
    public void CsrAttributes_IsSequenceOfAttrOrOid()
    {
        var reader = new System.Formats.Asn1.AsnReader(EstEncoding.CsrAttributes(), System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();

        Assert.Equal("1.2.840.10045.4.3.2", reader.ReadObjectIdentifier());
        var attr = reader.ReadSequence();
        Assert.Equal("1.2.840.10045.2.1", attr.ReadObjectIdentifier());
        Assert.Equal("1.2.840.10045.3.1.7", attr.ReadSetOf().ReadObjectIdentifier());
    }
}
