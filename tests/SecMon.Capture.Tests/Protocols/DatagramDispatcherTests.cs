using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dns;
using SecMon.Capture.Tests.Protocols.Dns;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols;

/// <summary>
/// Which protocol a UDP flow goes to: the first probe that claims a datagram; when none does, the protocol whose port
/// the flow goes to, so that a damaged message there is reported as malformed instead of passing unseen; on any
/// other port, nothing.
/// </summary>
public sealed class DatagramDispatcherTests
{
    // A DNS header cut short (7 of its 12 bytes): no probe claims it.
    private static readonly byte[] Broken = [0x12, 0x34, 0x01, 0x00, 0, 1, 0];

    [Fact]
    public void OnDatagram_UnclaimedOnAProtocolsPort_GoesToThatProtocolAndIsMalformed()
    {
        var events = new RecordingEventSink();
        var services = TestFlows.Services(events);
        var dispatcher = new DatagramDispatcher(TestFlows.Flow(serverPort: 53), services, ProtocolCatalogue.Shipped.Datagram);

        dispatcher.OnDatagram(FlowDirection.ToServer, Broken, TestFlows.Meta(1));

        Assert.Equal("dns", dispatcher.Protocol?.Name);
        Assert.Single(events.Events.OfType<DnsMalformedEvent>());
        Assert.Equal(1, services.Stats.MalformedMessages);
    }

    [Fact]
    public void OnDatagram_UnclaimedOnAnotherPort_LeftUnclassified()
    {
        var events = new RecordingEventSink();
        var services = TestFlows.Services(events);
        var dispatcher = new DatagramDispatcher(TestFlows.Flow(serverPort: 40_000), services, ProtocolCatalogue.Shipped.Datagram);

        for (var i = 0; i < DatagramDispatcher.MaxProbedDatagrams + 1; i++)
        {
            dispatcher.OnDatagram(FlowDirection.ToServer, Broken, TestFlows.Meta(i + 1));
        }

        Assert.Null(dispatcher.Protocol);
        Assert.Empty(events.Events);
        Assert.Equal(0, services.Stats.MalformedMessages);
    }

    [Fact]
    public void OnDatagram_ClaimedByContent_OnAnyPort()
    {
        var events = new RecordingEventSink();
        var dispatcher = new DatagramDispatcher(TestFlows.Flow(serverPort: 40_000), TestFlows.Services(events), ProtocolCatalogue.Shipped.Datagram);

        dispatcher.OnDatagram(FlowDirection.ToServer, DnsWire.Query(7, "a.example").ToArray(), TestFlows.Meta(1));

        Assert.Equal("dns", dispatcher.Protocol?.Name);
        Assert.Single(events.Events.OfType<DnsQueryEvent>());
    }
}
