using System.Net;
using SecMon.Api;

namespace SecMon.Tests.Api;

public sealed class ConnectionGuardTests
{
    [Fact]
    public void AddressKey_Ipv4AndItsMappedForm_OneKey_Ipv6ByItsSlash64()
    {
        Assert.Equal(Key("192.0.2.7"), Key("::ffff:192.0.2.7"));
        Assert.NotEqual(Key("192.0.2.7"), Key("192.0.2.8"));
        Assert.Equal(Key("2001:db8:1:2::1"), Key("2001:db8:1:2:ffff:ffff:ffff:ffff")); // one host can hold a whole /64
        Assert.NotEqual(Key("2001:db8:1:2::1"), Key("2001:db8:1:3::1"));
        Assert.NotEqual(Key("::c000:207"), Key("192.0.2.7")); // an IPv6 address whose low bits spell the IPv4 one
        Assert.NotEqual(Key("0.0.0.1"), Key("::1"));
        Assert.Equal(UInt128.MaxValue, ConnectionGuard.AddressKey(null));
    }

    [Fact]
    public void TryEnter_PerAddressThenTotal_BoundsHoldAndLeavingFreesAPlace()
    {
        var guard = new ConnectionGuard("est", perAddress: 2, total: 3, TimeProvider.System);
        var (a, b, c) = (Key("192.0.2.1"), Key("192.0.2.2"), Key("192.0.2.3"));

        Assert.True(guard.TryEnter(a, out _));
        Assert.True(guard.TryEnter(a, out _));
        Assert.False(guard.TryEnter(a, out var perAddress));
        Assert.True(perAddress);
        Assert.True(guard.TryEnter(b, out _));
        Assert.False(guard.TryEnter(c, out perAddress)); // three open: the listener's bound
        Assert.False(perAddress);
        Assert.Equal(3, guard.Open);

        guard.Leave(a);
        Assert.True(guard.TryEnter(c, out _));
        Assert.False(guard.TryEnter(a, out _));
        guard.Leave(b);
        Assert.True(guard.TryEnter(a, out _));
        Assert.False(guard.TryEnter(a, out perAddress));
        Assert.True(perAddress);
    }

    private static UInt128 Key(string address) => ConnectionGuard.AddressKey(new IPEndPoint(IPAddress.Parse(address), 443));
}
