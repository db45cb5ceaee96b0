using SecMon.Detection.Engine;
using SecMon.Testing;

namespace SecMon.Detection.Tests.Engine;

public sealed class FlowScratchTests
{
    [Fact]
    public void MemoAndNote_ManyDetectorsInAnyOrder_EachFindsItsOwnEntry()
    {
        // More detectors than the scratch holds in itself: the rest live in its arrays, found the same way.
        var flow = FakeFlows.Create();
        var scratch = FlowScratch.Of(flow, owner: this);
        int[] detectors = [7, 0, 31, 2, 19, 4, 5, 11, 3, 40];
        foreach (var d in detectors)
        {
            scratch.SetMemo(d, $"memo {d}");
        }

        foreach (var d in detectors.Reverse())
        {
            scratch.Remember(d, default, handle: new object(), value: $"value {d}");
            scratch.SetNote(d, $"note {d}");
        }

        Assert.Equal(detectors.Length, scratch.Count);
        Assert.All(detectors, d =>
        {
            Assert.Equal($"memo {d}", scratch.Memo(d));
            Assert.Equal($"note {d}", scratch.Note(d));
        });
        Assert.Null(scratch.Memo(1));
        Assert.Null(scratch.Note(41));
        Assert.Same(scratch, FlowScratch.Of(flow, owner: this));
    }
}
