using SecMon.Capture.Decoding;
using SecMon.Core.Devices;

namespace SecMon.Capture.Tests.Decoding;

public sealed class AddressTests
{
    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("0.0.0.0")]
    [InlineData("2001:db8::1")]
    [InlineData("fe80::200:86ff:fe05:80da")]
    [InlineData("::1")]
    [InlineData("::ffff:10.1.2.3")]
    public void ToString_ParsedAddress_RoundTripsToCanonicalText(string text)
    {
        Assert.Equal(text, IpAddress.Parse(text).ToString());
    }

    [Fact]
    public void CompareTo_Addresses_OrderLikeTheirWireBytes()
    {
        Assert.True(IpAddress.Parse("10.0.0.2").CompareTo(IpAddress.Parse("10.0.0.10")) < 0);
        Assert.True(IpAddress.Parse("128.0.0.1").CompareTo(IpAddress.Parse("9.255.255.255")) > 0);
        Assert.True(IpAddress.Parse("2001:db8::1").CompareTo(IpAddress.Parse("2001:db8:0:0:1::")) < 0);
        Assert.True(IpAddress.Parse("255.255.255.255").CompareTo(IpAddress.Parse("::")) < 0);
        Assert.Equal(IpAddress.Parse("fd00::1"), IpAddress.Parse("fd00:0::1"));
    }

    [Fact]
    public void WriteTo_V4AndV6_WritesWireBytes()
    {
        Span<byte> b = stackalloc byte[16];
        Assert.Equal(4, IpAddress.Parse("192.168.1.52").WriteTo(b));
        Assert.Equal(new byte[] { 192, 168, 1, 52 }, b[..4].ToArray());
        Assert.Equal(16, IpAddress.Parse("2001:db8::1").WriteTo(b));
        Assert.Equal(System.Net.IPAddress.Parse("2001:db8::1").GetAddressBytes(), b.ToArray());
    }

    [Fact]
    public void MacAddress_ToString_UsesEcsUpperCaseHyphens()
    {
        var mac = MacAddress.Read([0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]);
        Assert.Equal("00-1A-2B-3C-4D-5E", mac.ToString());
        Assert.Equal("FF-FF-FF-FF-FF-FF", MacAddress.Read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).ToString());
    }
}
