using SecMon.Core.Devices;

namespace SecMon.Core.Tests.Devices;

public sealed class MacAddressTests
{
    [Theory]
    [InlineData("00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5E")]
    [InlineData("00-1A-2B-3C-4D-5E", "00-1A-2B-3C-4D-5E")]
    [InlineData("00-1a-2b-3c-4d-5e", "00-1A-2B-3C-4D-5E")]
    [InlineData("001a.2b3c.4d5e", "00-1A-2B-3C-4D-5E")]
    [InlineData("  02:00:00:00:00:05 ", "02-00-00-00-00-05")]
    [InlineData("ff:ff:ff:ff:ff:ff", "FF-FF-FF-FF-FF-FF")]
    public void TryParse_CommonNotations_EcsForm(string text, string expected)
    {
        Assert.True(MacAddress.TryParse(text, out var mac));
        Assert.Equal(expected, mac.ToString());
    }

    [Theory]
    [InlineData("00:1a:2b-3c:4d:5e")]   // Mixed separators
    [InlineData("00:1a:2b:3c:4d")]      // Truncated
    [InlineData("00:1a:2b:3c:4d:5e:6f")] // Overlong
    [InlineData("00:1g:2b:3c:4d:5e")]   // NotHex
    [InlineData("+0:1a:2b:3c:4d:5e")]   // Sign
    [InlineData("001a2b3c4d5e")]        // NoSeparators
    [InlineData("10.0.0.5")]
    [InlineData("")]
    public void TryParse_Malformed_False(string text) => Assert.False(MacAddress.TryParse(text, out _));

    [Theory]
    [InlineData("02-00-00-00-00-05", true)]
    [InlineData("00-00-00-00-00-00", false)] // Loopback and cooked captures
    [InlineData("FF-FF-FF-FF-FF-FF", false)] // Broadcast
    [InlineData("01-00-5E-00-00-FB", false)] // IPv4 multicast
    [InlineData("33-33-00-00-00-01", false)] // IPv6 multicast
    public void IsUsable_UnicastNonZeroOnly(string text, bool usable)
    {
        Assert.True(MacAddress.TryParse(text, out var mac));
        Assert.Equal(usable, mac.IsUsable);
    }
}

public sealed class DeviceIdTests
{
    [Theory]
    [InlineData("02:00:00:00:00:05", "10.0.0.5", "02-00-00-00-00-05", true)]
    [InlineData("02-00-00-00-00-05", "10.0.0.5", "02-00-00-00-00-05", true)]
    [InlineData("00-00-00-00-00-00", "127.0.0.2", "127.0.0.2", false)]
    [InlineData("FF-FF-FF-FF-FF-FF", "10.0.0.255", "10.0.0.255", false)]
    [InlineData("01-00-5E-00-00-FB", "10.0.0.9", "10.0.0.9", false)]                // Multicast
    [InlineData("0B-00-00-00-00-01", "10.0.0.9", "10.0.0.9", false)]                // Multicast (I/G bit of a letter)
    [InlineData("0A-00-00-00-00-01", "10.0.0.9", "0A-00-00-00-00-01", true)]
    [InlineData("0a-00-00-00-00-01", "10.0.0.9", "0A-00-00-00-00-01", true)]        // Not ECS form: parsed
    [InlineData(null, "2001:db8::5", "2001:db8::5", false)]
    [InlineData("garbage", "10.0.0.5", "10.0.0.5", false)]
    public void ForEnd_MacWhenUsableElseIp(string? mac, string ip, string expected, bool isMac)
    {
        var id = DeviceId.ForEnd(mac, ip);

        Assert.Equal(expected, id.Value);
        Assert.Equal(isMac, id.IsMac);
    }

    [Fact]
    public void ForEnd_EcsMac_KeepsTheCapturesString()
    {
        var mac = "02-00-00-00-00-05";

        Assert.Same(mac, DeviceId.ForEnd(mac, "10.0.0.5").Value);
    }

    [Theory]
    [InlineData("00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5E")]
    [InlineData("001a.2b3c.4d5e", "00-1A-2B-3C-4D-5E")]
    [InlineData(" 10.0.0.5 ", "10.0.0.5")]
    [InlineData("2001:DB8:0:0::1", "2001:db8::1")]
    public void TryParseAddress_MacOrIp_Canonical(string text, string expected)
    {
        Assert.True(DeviceId.TryParseAddress(text, out var id));
        Assert.Equal(expected, id.Value);
    }

    [Theory]
    [InlineData("10.0.0.0/8")]
    [InlineData("meter-17")]
    [InlineData("")]
    public void TryParseAddress_NotAnAddress_False(string text) => Assert.False(DeviceId.TryParseAddress(text, out _));

    [Theory]
    [InlineData("00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5E")]
    [InlineData(" meter-17", " meter-17")] // Not a MAC: as given
    [InlineData("10.0.0.5", "10.0.0.5")]
    public void Normalize_MacToEcsOtherwiseAsGiven(string text, string expected) => Assert.Equal(expected, DeviceId.Normalize(text));

    [Theory]
    [InlineData("meter-17", true)]
    [InlineData("00-1A-2B-3C-4D-5E", true)]
    [InlineData("fe80::1", true)]
    [InlineData("::1", false)]        // Starts with a separator
    [InlineData("-meter", false)]
    [InlineData("meter 17", false)]   // Would need escaping in a URI
    [InlineData("meter/17", false)]
    [InlineData("CN=x,O=y", false)]   // Would need escaping in a DN
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsValidName_CertificateSafeCharacters(string? id, bool valid) => Assert.Equal(valid, DeviceId.IsValidName(id));

    [Fact]
    public void IsValidName_64CharactersAtMost()
    {
        Assert.True(DeviceId.IsValidName(new string('a', 64)));
        Assert.False(DeviceId.IsValidName(new string('a', 65)));
    }

    [Fact]
    public void Urn_PrefixesTheId() => Assert.Equal("urn:secmon:device:meter-17", DeviceId.Urn("meter-17"));
}
