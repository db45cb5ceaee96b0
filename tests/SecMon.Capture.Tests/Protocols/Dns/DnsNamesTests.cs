using SecMon.Capture.Protocols.Dns;

namespace SecMon.Capture.Tests.Protocols.Dns;

/// <summary>Registered domain by the last-two-labels rule with the built-in multi-part suffixes, and the entropy measure.</summary>
public sealed class DnsNamesTests
{
    [Theory]
    [InlineData("www.example.com", "example.com", "www", "com")]
    [InlineData("WWW.Example.COM", "example.com", "www", "com")]
    [InlineData("a.b.shop.example.co.uk", "example.co.uk", "a.b.shop", "co.uk")]
    [InlineData("example.co.uk", "example.co.uk", null, "co.uk")]
    [InlineData("co.uk", null, null, "co.uk")]
    [InlineData("wpad", "wpad", null, null)]
    [InlineData("sensor-7.local", "sensor-7.local", null, "local")]
    [InlineData("4.3.2.1.in-addr.arpa", "in-addr.arpa", "4.3.2.1", "arpa")]
    [InlineData(@"a\.b.example.com", "example.com", @"a\.b", "com")]
    [InlineData(@"x.a\.example.com", @"a\.example.com", "x", "com")]
    public void Split_Names_RegisteredDomainSubdomainSuffix(string name, string? registered, string? sub, string? tld)
    {
        var parts = DnsNames.Split(name);
        Assert.Equal(registered, parts.RegisteredDomain);
        Assert.Equal(sub, parts.Subdomain);
        Assert.Equal(tld, parts.TopLevelDomain);
        Assert.Equal(sub?.Length ?? 0, parts.SubdomainLength);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("aaaa", 0)]
    [InlineData("ab", 100)]          // two symbols, equally likely: 1 bit
    [InlineData("abcd", 200)]
    [InlineData("a.b.c.d", 200)]     // dots do not count
    [InlineData("abcdefghijklmnop", 400)]
    public void Entropy_KnownDistributions_HundredthsOfABit(string s, int expected) =>
        Assert.Equal(expected, DnsNames.Entropy(s));

    [Fact]
    public void Split_RandomBase32Label_HighEntropyOrdinaryNamesLow()
    {
        var tunnel = DnsNames.Split("ackpbdjxphv5wrzqwonwuot2o527f5x4u4ze7bmilbs.0.t.tunnel.example");
        Assert.True(tunnel.SubdomainEntropy >= 400, tunnel.ToString());
        var ordinary = DnsNames.Split("sensor-12.plant.example");
        Assert.True(ordinary.SubdomainEntropy < 350, ordinary.ToString());
    }
}
