using SecMon.Core.Flows;

namespace SecMon.Core.Tests.Flows;

public sealed class FlowContextTests
{
    [Fact]
    public void CreateReverse_MadeFromIds_SharesTheFlowWideFactsAndComputesIdsOnce()
    {
        var ids = new CountingIds();
        var flow = new FlowContext(ids, "10.0.0.2", 5000, "10.0.0.1", 53, FlowDirection.ToServer)
        {
            Transport = "udp", StartMicros = 42, SourceMac = "02-00-00-00-00-02", VlanId = 7, OpenerSeen = true, Observer = "eth0",
        };

        var reverse = flow.CreateReverse();

        Assert.Same(ids, reverse.Ids);
        Assert.Equal(("udp", 42L, (int?)7, true, "eth0"), (reverse.Transport, reverse.StartMicros, reverse.VlanId, reverse.OpenerSeen, reverse.Observer));
        Assert.Equal(("10.0.0.1", 53, "10.0.0.2", 5000), (reverse.SourceIp, reverse.SourcePort, reverse.DestinationIp, reverse.DestinationPort));
        Assert.Equal(("02-00-00-00-00-02", (string?)null), (reverse.DestinationMac, reverse.SourceMac));
        Assert.Equal(("flow-1", "community-1"), (flow.FlowId, flow.CommunityId));
        Assert.Equal(("flow-1", "community-1"), (reverse.FlowId, reverse.CommunityId));
        Assert.Equal((1, 1), (ids.FlowIds, ids.CommunityIds));
    }

    [Fact]
    public void CreateReverse_GivenAsText_KeepsTheTextAndItsOwnFacts()
    {
        var a = Text("f1", "10.0.0.2", observer: "a.pcap");
        var b = Text("f2", "10.0.0.3", observer: null);

        var reverse = a.CreateReverse();

        Assert.Null(a.Ids);
        Assert.Null(reverse.Ids);
        Assert.Equal(("f1", "1:f1", "a.pcap", (int?)3), (reverse.FlowId, reverse.CommunityId, reverse.Observer, reverse.VlanId));
        Assert.Equal(("f2", "1:f2", (string?)null, (int?)3), (b.FlowId, b.CommunityId, b.Observer, b.VlanId));
    }

    [Fact]
    public void FlowId_GivenToAContextMadeFromIds_Refused() =>
        Assert.Throws<InvalidOperationException>(() =>
            new FlowContext(new CountingIds(), "10.0.0.2", 1, "10.0.0.1", 2, FlowDirection.ToServer) { FlowId = "other" });

    [Fact]
    public void Facts_FromASourceThatComputesThem_ReadFromItAndNotGivenAgain()
    {
        var ids = new ComputingIds();
        var flow = new FlowContext(ids, "10.0.0.2", 1, "10.0.0.1", 2, FlowDirection.ToServer);

        Assert.Equal(("tcp", 9L, (int?)5, true), (flow.Transport, flow.StartMicros, flow.VlanId, flow.OpenerSeen));
        Assert.Equal(("tcp", 9L, (int?)5, true), (flow.CreateReverse().Transport, flow.Reverse!.StartMicros, flow.Reverse.VlanId, flow.Reverse.OpenerSeen));
        Assert.Throws<InvalidOperationException>(() => new FlowContext(ids, "10.0.0.2", 1, "10.0.0.1", 2, FlowDirection.ToServer) { VlanId = 3 });
        Assert.Throws<InvalidOperationException>(() => new FlowContext(ids, "10.0.0.2", 1, "10.0.0.1", 2, FlowDirection.ToServer) { Transport = "udp" });
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(65_536)]
    public void Port_OutsideWhatTheWireCarries_Refused(int port)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlowContext(new ComputingIds(), "10.0.0.2", port, "10.0.0.1", 2, FlowDirection.ToServer));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlowContext(new ComputingIds(), "10.0.0.2", 2, "10.0.0.1", port, FlowDirection.ToServer));
        Assert.Equal(65_535, new FlowContext(new ComputingIds(), "10.0.0.2", 65_535, "10.0.0.1", 0, FlowDirection.ToServer).SourcePort);
    }

    private static FlowContext Text(string id, string source, string? observer) => new()
    {
        FlowId = id, CommunityId = "1:" + id, Transport = "tcp", SourceIp = source, SourcePort = 1,
        DestinationIp = "10.0.0.1", DestinationPort = 2, Direction = FlowDirection.ToServer, StartMicros = 9, VlanId = 3,
        Observer = observer,
    };

    private sealed class ComputingIds : FlowIds
    {
        protected internal override string Transport => "tcp";

        protected internal override long StartMicros => 9;

        protected internal override int? VlanId => 5;

        protected internal override bool OpenerSeen => true;

        protected override string ComputeFlowId() => "flow";

        protected override string ComputeCommunityId() => "community";
    }

    private sealed class CountingIds : StoredFlowIds
    {
        public int FlowIds { get; private set; }

        public int CommunityIds { get; private set; }

        protected override string ComputeFlowId() => "flow-" + ++FlowIds;

        protected override string ComputeCommunityId() => "community-" + ++CommunityIds;
    }
}
