using System.Net;
using Microsoft.Extensions.Time.Testing;
using SecMon.Alerts.Webhooks;

namespace SecMon.Alerts.Tests.Webhooks;

public sealed class WebhookAddressPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.8.9.10", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("::", "unspecified")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("::ffff:169.254.169.254", "link-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("255.255.255.255", "reserved or broadcast")]
    [InlineData("10.1.2.3", null)]
    [InlineData("192.168.1.10", null)]
    [InlineData("93.184.216.34", null)]
    [InlineData("2606:2800:220:1::1", null)]
    public void Refusal_DefaultPolicy_RefusesLoopbackLinkLocalUnspecifiedMulticastOnly(string address, string? expected) =>
        Assert.Equal(expected, new WebhookAddressPolicy([], blockPrivate: false).Refusal(IPAddress.Parse(address)));

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("172.20.0.1")]
    [InlineData("192.168.1.10")]
    [InlineData("100.64.0.1")]
    [InlineData("fd12::1")]
    public void Refusal_BlockPrivate_RefusesPrivateRanges(string address) =>
        Assert.Equal("private", new WebhookAddressPolicy([], blockPrivate: true).Refusal(IPAddress.Parse(address)));

    [Fact]
    public void Refusal_AddressNamedInAllowList_Allowed()
    {
        var policy = new WebhookAddressPolicy([IPNetwork.Parse("127.0.0.1/32"), IPNetwork.Parse("10.9.0.0/16")], blockPrivate: true);
        Assert.Null(policy.Refusal(IPAddress.Parse("127.0.0.1")));
        Assert.Null(policy.Refusal(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.Null(policy.Refusal(IPAddress.Parse("10.9.3.4")));
        Assert.Equal("loopback", policy.Refusal(IPAddress.Parse("127.0.0.2")));
        Assert.Equal("private", policy.Refusal(IPAddress.Parse("10.8.3.4")));
    }

    [Fact]
    public void CircuitBreaker_FailuresThenCoolDownThenProbe_OpensHalfOpensAndCloses()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var breaker = new CircuitBreaker(3, TimeSpan.FromSeconds(30), time);
        breaker.Failure();
        breaker.Failure();
        Assert.Equal(CircuitState.Closed, breaker.State);
        breaker.Failure();
        Assert.Equal(CircuitState.Open, breaker.State);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(CircuitState.Open, breaker.State);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
        breaker.Failure(); // the probe failed: another cool-down
        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.Equal(2, breaker.Opened);
        time.Advance(TimeSpan.FromSeconds(30));
        breaker.Success();
        Assert.Equal(CircuitState.Closed, breaker.State);
        breaker.Failure();
        Assert.Equal(CircuitState.Closed, breaker.State); // the count started again
    }

    [Theory]
    [InlineData("SECMON-MQTT-*", "SECMON-MQTT-0001", true)]
    [InlineData("secmon-mqtt-0001", "SECMON-MQTT-0001", true)]
    [InlineData("*-0001", "SECMON-TLS-0001", true)]
    [InlineData("SECMON-?QTT-0001", "SECMON-MQTT-0001", true)]
    [InlineData("SECMON-MQTT-*", "SECMON-TLS-0001", false)]
    [InlineData("SECMON-MQTT", "SECMON-MQTT-0001", false)]
    [InlineData("*a*b*c", "xxaxxbxxc", true)]
    [InlineData("*a*b*c", "xxaxxbxxcd", false)]
    public void Glob_Patterns_MatchWholeText(string pattern, string text, bool expected) =>
        Assert.Equal(expected, Glob.Matches(pattern, text));
}
