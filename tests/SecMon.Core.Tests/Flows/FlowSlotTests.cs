using SecMon.Core.Flows;

namespace SecMon.Core.Tests.Flows;

public sealed class FlowSlotTests
{
    private static FlowContext Flow() => new()
    {
        FlowId = "0000000000000001",
        CommunityId = "1:x",
        Transport = "tcp",
        SourceIp = "10.0.0.5",
        SourcePort = 40000,
        DestinationIp = "10.0.0.1",
        DestinationPort = 1883,
        Direction = FlowDirection.ToServer,
        StartMicros = 0,
    };

    // Two slots for the whole class (slots are per process, allocated once, as consumers do in static fields).
    private static readonly FlowSlot First = FlowSlot.Allocate();
    private static readonly FlowSlot Second = FlowSlot.Allocate();

    [Fact]
    public void Allocate_EachCallAnotherIndex_WithinCapacity()
    {
        Assert.NotEqual(First.Index, Second.Index);
        Assert.InRange(First.Index, 0, FlowSlot.Capacity - 1);
        Assert.InRange(Second.Index, 0, FlowSlot.Capacity - 1);
    }

    [Fact]
    public void Slot_EachSlotKeepsItsOwnValue_PerFlowContext()
    {
        var flow = Flow();
        var reverse = flow.CreateReverse();
        var a = new object();
        var b = new object();
        var c = new object();

        flow.Slot(First) = a;
        reverse.Slot(First) = b;
        flow.Slot(Second) = c;

        Assert.Same(a, flow.Slot(First));
        Assert.Same(b, reverse.Slot(First));
        Assert.Same(c, flow.Slot(Second));
        Assert.Null(reverse.Slot(Second));
        Assert.Null(Flow().Slot(First));
    }
}
