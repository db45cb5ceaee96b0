using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Detection.Inventory;
using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Inventory;

/// <summary>
/// <see cref="DeviceFactKind.Mac"/>: a MAC given in the payload (DHCP's chaddr) names the device an event's facts
/// describe, whatever addresses the frame carried (0.0.0.0 to 255.255.255.255, a relay, a broadcast reply).
/// </summary>
public sealed class DeviceInventoryPayloadMacTests
{
    private const string Mac = "02-53-4D-00-00-10";

    private static readonly EventSchema Request = FakeSchemas.DhcpRequest;

    private static readonly EventSchema Reply = FakeSchemas.DhcpReply;

    [Fact]
    public void Observe_DiscoverFromZeroToBroadcast_FactsOnTheChaddrDevice_NoDeviceForTheAddresses()
    {
        var inv = new DeviceInventory();
        var discover = FakeFlows.Create(clientIp: "0.0.0.0", serverIp: "255.255.255.255", serverPort: 67, clientPort: 68, clientMac: Mac, serverMac: "FF-FF-FF-FF-FF-FF");

        inv.Observe(TestEvent.Of(Request, discover, T0, 1, ("dhcp.client_mac", Mac), ("dhcp.hostname", "thermostat-1"), ("dhcp.vendor_class", "acme 2.1")));

        var device = Assert.Single(inv.Devices);
        Assert.Equal(Mac, device.Id);
        Assert.Equal(["thermostat-1"], device.IdentitiesOf("dhcp.hostname"));
        Assert.Equal(["acme 2.1"], device.ValuesOf("dhcp.vendor_class"));
        Assert.Empty(device.Ips);
        Assert.Empty(device.Peers);
        Assert.Equal(["dhcp"], device.Protocols);
    }

    [Fact]
    public void Observe_BroadcastReplyFromServer_AssignedAddressOnTheChaddrDevice_ServerKeepsItsOwn()
    {
        var inv = new DeviceInventory();
        // The server's OFFER to 255.255.255.255:68: the flow's client end is the broadcast, the event goes to_client.
        var offer = FakeFlows.Create(clientIp: "255.255.255.255", serverIp: "192.0.2.1", serverPort: 67, clientPort: 68,
            clientMac: "FF-FF-FF-FF-FF-FF", serverMac: "02-53-4D-00-00-01").Reverse!;

        inv.Observe(TestEvent.Of(Reply, offer, T0, 1, ("dhcp.client_mac", Mac), ("dhcp.assigned_address", "192.0.2.82")));

        Assert.Equal(["02-53-4D-00-00-01", Mac], inv.Devices.Select(d => d.Id).Order(StringComparer.Ordinal));
        var client = inv.Devices.Single(d => d.Id == Mac);
        Assert.Equal(["192.0.2.82"], client.ValuesOf("dhcp.assigned_address"));
        Assert.Equal(["192.0.2.1"], client.Peers);
        Assert.Empty(client.Ips);
        var server = inv.Devices.Single(d => d.Id != Mac);
        Assert.True(server.IsServer);
        Assert.Empty(server.ValuesOf("dhcp.assigned_address"));
        Assert.Equal(["192.0.2.1"], server.Ips);
    }

    [Fact]
    public void Observe_ManyClientsOnOneBroadcastFlow_EachMacGetsItsOwnFacts()
    {
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "255.255.255.255", serverIp: "192.0.2.1", serverPort: 67, clientPort: 68,
            clientMac: "FF-FF-FF-FF-FF-FF", serverMac: "02-53-4D-00-00-01").Reverse!;

        for (var i = 0; i < 3; i++)
        {
            inv.Observe(TestEvent.Of(Reply, flow, T0 + i, i + 1, ("dhcp.client_mac", $"02-53-4D-00-00-1{i}"), ("dhcp.assigned_address", "192.0.2.82")));
        }

        Assert.Equal(3, inv.Devices.Count(d => d.ValuesOf("dhcp.assigned_address").SequenceEqual(["192.0.2.82"])));
    }

    [Fact]
    public void Observe_RelayedRequest_FactsOnTheChaddrDevice_RelayAddressNotItsIp()
    {
        var inv = new DeviceInventory();
        // A relay (10.0.0.254, its own MAC) forwards the client's request to the server: the frame is the relay's.
        var relayed = FakeFlows.Create(clientIp: "10.0.0.254", serverIp: "192.0.2.1", serverPort: 67, clientPort: 67,
            clientMac: "02-00-00-00-00-FE", serverMac: "02-53-4D-00-00-01");

        inv.Observe(TestEvent.Of(Request, relayed, T0, 1, ("dhcp.client_mac", Mac), ("dhcp.hostname", "thermostat-1")));

        var device = inv.Devices.Single(d => d.Id == Mac);
        Assert.Equal(["thermostat-1"], device.IdentitiesOf("dhcp.hostname"));
        Assert.Empty(device.Ips);
        Assert.Empty(inv.Devices.Single(d => d.Id == "02-00-00-00-00-FE").IdentitiesOf("dhcp.hostname"));
    }

    [Fact]
    public void Observe_UnicastRenewal_TheFramesAddressIsTheDevicesIp()
    {
        var inv = new DeviceInventory();
        var renew = FakeFlows.Create(clientIp: "192.0.2.82", serverIp: "192.0.2.1", serverPort: 67, clientPort: 68, clientMac: Mac, serverMac: "02-53-4D-00-00-01");

        inv.Observe(TestEvent.Of(Request, renew, T0, 1, ("dhcp.client_mac", Mac), ("dhcp.hostname", "thermostat-1")));

        Assert.Equal(["192.0.2.82"], inv.Devices.Single(d => d.Id == Mac).Ips);
    }

    [Fact]
    public void Observe_PayloadMacMissingOrUnusable_TheFlowDecidesAsWithoutTheFact()
    {
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "192.0.2.82", serverIp: "192.0.2.1", serverPort: 67, clientPort: 68, clientMac: Mac);

        inv.Observe(TestEvent.Of(Request, flow, T0, 1, ("dhcp.hostname", "a")));
        inv.Observe(TestEvent.Of(Request, flow, T0 + 1, 2, ("dhcp.client_mac", "FF-FF-FF-FF-FF-FF"), ("dhcp.hostname", "b")));
        inv.Observe(TestEvent.Of(Request, flow, T0 + 2, 3, ("dhcp.client_mac", "not a mac"), ("dhcp.hostname", "c")));

        Assert.Equal(["a", "b", "c"], inv.Devices.Single(d => d.Id == Mac).IdentitiesOf("dhcp.hostname"));
        Assert.DoesNotContain(inv.Devices, d => d.Id == "FF-FF-FF-FF-FF-FF");
    }

    [Theory]
    [InlineData("0.0.0.0", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("224.0.0.251", false)]
    [InlineData("239.255.255.250", false)]
    [InlineData("::", false)]
    [InlineData("ff02::fb", false)]
    [InlineData("192.0.2.1", true)]
    [InlineData("223.1.1.1", true)]
    [InlineData("240.0.0.1", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("fe80::1", true)]
    public void IsHostAddress_UnspecifiedBroadcastMulticast_False(string ip, bool expected) =>
        Assert.Equal(expected, DeviceInventory.IsHostAddress(ip));
}
