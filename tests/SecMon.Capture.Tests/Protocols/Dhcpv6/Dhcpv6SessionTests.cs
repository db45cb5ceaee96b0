using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dhcpv6;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using static SecMon.Capture.Tests.Protocols.Dhcpv6.Dhcpv6Messages;

namespace SecMon.Capture.Tests.Protocols.Dhcpv6;

public sealed class Dhcpv6SessionTests
{
    private readonly RecordingEventSink _events = new();
    private readonly RecordingDiagnosticSink _diagnostics = new();
    private readonly ProtocolServices _services;
    private readonly Dhcpv6Protocol _protocol = new();

    public Dhcpv6SessionTests() => _services = TestFlows.Services(_events, _diagnostics);

    private static string? Field(ProtocolEvent e, string name) =>
        e.Schema.TryGetField(name, out var f) && f.Read(e) is { IsMissing: false } v ? v.ToString() : null;

    [Fact]
    public void OnDatagram_Solicit_RequestEventWithEveryField()
    {
        var session = _protocol.CreateSession(TestFlows.Flow(547), _services);

        session.OnDatagram(FlowDirection.ToServer, Solicit(), TestFlows.Meta(1));

        var e = Assert.Single(_events.Events);
        Assert.Equal("dhcpv6.request", e.Type);
        Assert.Equal("dhcpv6", e.Schema.Protocol);
        Assert.Equal("solicit", Field(e, "dhcpv6.message_type"));
        Assert.Equal("1", Field(e, "dhcpv6.message_type_code"));
        Assert.Equal("0x562b6d", Field(e, "dhcpv6.transaction_id"));
        Assert.Equal("00:03:00:01:02:53:4d:00:00:20", Field(e, "dhcpv6.client_duid"));
        Assert.Equal("3", Field(e, "dhcpv6.client_duid_type"));
        Assert.Equal("02-53-4D-00-00-20", Field(e, "dhcpv6.client_mac"));
        Assert.Equal("thermostat-1", Field(e, "dhcpv6.hostname"));
        Assert.Equal("acme-thermo 2.1", Field(e, "dhcpv6.vendor_class"));
        Assert.Equal("32473", Field(e, "dhcpv6.vendor_enterprise"));
        Assert.Equal("23,24", Field(e, "dhcpv6.fingerprint"));
        Assert.Equal([23L, 24], ((Dhcpv6MessageEvent)e).OptionRequestList);
        Assert.Null(Field(e, "dhcpv6.server_duid"));
        Assert.Null(Field(e, "dhcpv6.addresses"));
        Assert.Equal("0", Field(e, "dhcpv6.address_count"));
        Assert.Null(Field(e, "dhcpv6.relay_hops"));
        Assert.Equal(FlowDirection.ToServer, e.Flow.Direction);
        Assert.Empty(_diagnostics.Diagnostics);
    }

    [Fact]
    public void OnDatagram_ReplyOnAnotherFlow_JoinedToItsRequestByXidAndDuid()
    {
        // The REQUEST goes fe80::client -> ff02::1:2, the REPLY fe80::server -> fe80::client: two flows, one run.
        var requests = _protocol.CreateSession(TestFlows.Flow(547), _services);
        var replies = _protocol.CreateSession(TestFlows.Flow(547), _services);
        var otherRun = _protocol.CreateSession(TestFlows.Flow(547), TestFlows.Services(new RecordingEventSink()));

        requests.OnDatagram(FlowDirection.ToServer, Message(3, 42, ClientId(), ServerId(), IaNa(1, IaAddress("2001:db8:1::108"))), TestFlows.Meta(1));
        replies.OnDatagram(FlowDirection.ToClient, Reply(42), TestFlows.Meta(2));
        replies.OnDatagram(FlowDirection.ToClient, Reply(43), TestFlows.Meta(3));
        replies.OnDatagram(FlowDirection.ToClient, Message(7, 42, ClientId([0, 4, .. new byte[16]])), TestFlows.Meta(4)); // another DUID
        otherRun.OnDatagram(FlowDirection.ToClient, Reply(42), TestFlows.Meta(5));

        Assert.Equal(["2001:db8:1::108"], ((Dhcpv6MessageEvent)_events.Events[0]).Addresses);
        var reply = _events.Events[1];
        Assert.Equal("dhcpv6.reply", reply.Type);
        Assert.Equal("reply", Field(reply, "dhcpv6.message_type"));
        Assert.Equal("request", Field(reply, "dhcpv6.request.message_type"));
        Assert.Equal(["2001:db8:1::108"], ((Dhcpv6MessageEvent)reply).Addresses);
        Assert.Equal("0", Field(reply, "dhcpv6.status_code"));
        Assert.Equal("success", Field(reply, "dhcpv6.status"));
        Assert.Equal("00:01:00:01:32:a7:28:52:02:53:4d:00:00:02", Field(reply, "dhcpv6.server_duid"));
        Assert.Equal("02-53-4D-00-00-20", Field(reply, "dhcpv6.client_mac"));
        Assert.Equal(FlowDirection.ToClient, reply.Flow.Direction);
        Assert.Null(Field(_events.Events[2], "dhcpv6.request.message_type")); // another xid
        Assert.Null(Field(_events.Events[3], "dhcpv6.request.message_type")); // another client
        Assert.Null(Field(_events.Events[3], "dhcpv6.client_mac")); // a DUID-UUID has no MAC
        Assert.Equal("4", Field(_events.Events[3], "dhcpv6.client_duid_type"));
        Assert.Equal(4, _events.Events.Count); // the other run's reply went to its own sink
    }

    [Fact]
    public void OnDatagram_RelayedSolicitWithDuidLlt_InnerMessageHopsAndMac()
    {
        var session = _protocol.CreateSession(TestFlows.Flow(547), _services);

        session.OnDatagram(FlowDirection.ToServer, Relay(12, 0, Message(1, 7, ClientId(DuidLlt), Fqdn("cam-7.site.example"), VendorClass(9, "a", "", "b"))), TestFlows.Meta(1));

        var e = Assert.Single(_events.Events);
        Assert.Equal("dhcpv6.request", e.Type);
        Assert.Equal("1", Field(e, "dhcpv6.relay_hops"));
        Assert.Equal("02-53-4D-00-00-02", Field(e, "dhcpv6.client_mac"));
        Assert.Equal("cam-7.site.example", Field(e, "dhcpv6.hostname"));
        Assert.Equal("a,b", Field(e, "dhcpv6.vendor_class"));
    }

    [Fact]
    public void OnDatagram_FqdnInARelease_NotReadAsRfc4704Says()
    {
        var session = _protocol.CreateSession(TestFlows.Flow(547), _services);

        session.OnDatagram(FlowDirection.ToServer, Message(8, 1, ClientId(), Fqdn("thermostat-1")), TestFlows.Meta(1));

        Assert.Null(Field(Assert.Single(_events.Events), "dhcpv6.hostname"));
    }

    [Fact]
    public void OnDatagram_Malformed_CountedAndReportedNoEvent()
    {
        var session = _protocol.CreateSession(TestFlows.Flow(547), _services);

        session.OnDatagram(FlowDirection.ToServer, Message(1, 1, ClientId(), Option(6, 0, 23, 0)), TestFlows.Meta(9));

        Assert.Empty(_events.Events);
        Assert.Equal(1, _services.Stats.MalformedMessages);
        var d = Assert.Single(_diagnostics.Diagnostics);
        Assert.Contains("dhcpv6: option 6 (option request)", d.Message, StringComparison.Ordinal);
        Assert.Equal(9, d.SourcePacketNumber);
    }

    [Fact]
    public void OnDatagram_MoreAddressesThanTheBound_ListCutCountKept()
    {
        var protocol = new Dhcpv6Protocol(new Dhcpv6Options { MaxAddresses = 2 });
        var session = protocol.CreateSession(TestFlows.Flow(547), _services);

        session.OnDatagram(FlowDirection.ToClient, Message(7, 1, ClientId(), IaNa(1, IaAddress("2001:db8::1"), IaAddress("2001:db8::2"), IaAddress("2001:db8::3"))), TestFlows.Meta(1));

        var e = (Dhcpv6MessageEvent)Assert.Single(_events.Events);
        Assert.Equal(["2001:db8::1", "2001:db8::2"], e.Addresses);
        Assert.Equal(3, e.AddressCount);
    }

    [Fact]
    public void OnDatagram_MoreRequestsThanTheBound_OldestForgotten()
    {
        var protocol = new Dhcpv6Protocol(new Dhcpv6Options { MaxTransactions = 16 });
        var session = protocol.CreateSession(TestFlows.Flow(547), _services);
        for (uint xid = 0; xid < 20; xid++)
        {
            session.OnDatagram(FlowDirection.ToServer, Message(1, xid, ClientId()), TestFlows.Meta(xid + 1));
        }

        session.OnDatagram(FlowDirection.ToClient, Message(2, 0, ClientId()), TestFlows.Meta(30));
        session.OnDatagram(FlowDirection.ToClient, Message(2, 19, ClientId()), TestFlows.Meta(31));

        Assert.Null(Field(_events.Events[^2], "dhcpv6.request.message_type"));
        Assert.Equal("solicit", Field(_events.Events[^1], "dhcpv6.request.message_type"));
    }

    [Fact]
    public void Schemas_DeclareTheDeviceFacts()
    {
        var request = Dhcpv6MessageEvent.RequestSchema.Facts;
        Assert.Contains(request, f => f.Kind == Core.Devices.DeviceFactKind.Mac && f.Field == "dhcpv6.client_mac");
        Assert.Contains(request, f => f.Kind == Core.Devices.DeviceFactKind.Identity && f.Field == "dhcpv6.client_duid");
        Assert.Contains(request, f => f.Kind == Core.Devices.DeviceFactKind.Identity && f.Field == "dhcpv6.hostname");
        Assert.Contains(request, f => f.Kind == Core.Devices.DeviceFactKind.Values && f.Field == "dhcpv6.fingerprint");
        Assert.Contains(Dhcpv6MessageEvent.ReplySchema.Facts, f => f.Kind == Core.Devices.DeviceFactKind.Values && f.Field == "dhcpv6.addresses");
        Assert.Contains(Dhcpv6MessageEvent.ReplySchema.Fields, f => f.Name == "dhcpv6.request.message_type");
        Assert.DoesNotContain(Dhcpv6MessageEvent.RequestSchema.Fields, f => f.Name == "dhcpv6.request.message_type");
    }
}
