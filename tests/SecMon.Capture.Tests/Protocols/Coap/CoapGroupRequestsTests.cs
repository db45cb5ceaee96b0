using SecMon.Capture.Protocols.Coap;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Coap;

public sealed class CoapGroupRequestsTests
{
    [Theory]
    [InlineData("224.0.1.187", true)]
    [InlineData("239.255.255.250", true)]
    [InlineData("ff02::fd", true)]
    [InlineData("FF05::FD", true)]
    [InlineData("192.0.2.31", false)]
    [InlineData("240.0.0.1", false)]
    [InlineData("2001:db8::fd", false)]
    [InlineData("fe80::1", false)]
    [InlineData("", false)]
    public void IsMulticast_TheGroupRangesOnly(string address, bool expected) =>
        Assert.Equal(expected, CoapGroupRequests.IsMulticast(address));

    [Fact]
    public void Find_ByRequesterPortVlanAndToken_WithinTheLifetime_BoundedToTheNewest()
    {
        var groups = new CoapGroupRequests();
        var line = new CoapRequestLine("GET", null, null, "/.well-known/core", null, null);
        groups.Add(Context("192.0.2.40", 37308, "224.0.1.187", 5683), 1, 1, "01", line, 1_000_000);

        Assert.NotNull(groups.Find(Context("192.0.2.31", 5683, "192.0.2.40", 37308), 1, 1, 4_000_000));
        Assert.Null(groups.Find(Context("192.0.2.31", 5683, "192.0.2.40", 37309), 1, 1, 4_000_000)); // another port
        Assert.Null(groups.Find(Context("192.0.2.31", 5683, "192.0.2.40", 37308), 2, 1, 4_000_000)); // another token
        Assert.Null(groups.Find(Context("192.0.2.31", 5683, "192.0.2.40", 37308, vlan: 20), 1, 1, 4_000_000)); // another cell
        Assert.Null(groups.Find(Context("192.0.2.31", 5683, "192.0.2.40", 37308), 1, 1, 1_000_000 + CoapGroupRequests.LifetimeMicros + 1));

        for (var i = 0; i < CoapGroupRequests.MaxEntries; i++)
        {
            groups.Add(Context("192.0.2.40", 40000 + i, "224.0.1.187", 5683), 1, 1, "01", line, 2_000_000);
        }

        Assert.Null(groups.Find(Context("192.0.2.31", 5683, "192.0.2.40", 37308), 1, 1, 4_000_000)); // the oldest went first
        Assert.NotNull(groups.Find(Context("192.0.2.31", 5683, "192.0.2.40", 40000), 1, 1, 4_000_000));
    }

    private static FlowContext Context(string source, int sourcePort, string destination, int destinationPort, int? vlan = null) =>
        FakeFlows.Create(clientIp: source, clientPort: sourcePort, serverIp: destination, serverPort: destinationPort, vlanId: vlan);
}
