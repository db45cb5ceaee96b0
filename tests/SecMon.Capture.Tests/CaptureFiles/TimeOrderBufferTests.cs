using SecMon.Capture.Sources;

namespace SecMon.Capture.Tests.CaptureFiles;

public sealed class TimeOrderBufferTests
{
    [Fact]
    public void Take_PacketsWrittenInBatchesPerInterface_ComeOutInCaptureTimeOrder()
    {
        // Interface 2's batch (times 50-52) was written before interface 1's (times 10-12).
        var buffer = new TimeOrderBuffer();
        long frame = 0;
        foreach (var (time, iface) in new[] { (50L, 2u), (51L, 2u), (52L, 2u), (10L, 1u), (11L, 1u), (12L, 1u) })
        {
            buffer.Add([(byte)time], 60, time, 1, iface, ++frame);
            Assert.False(buffer.Ready); // nothing is a window older than the newest yet
        }

        buffer.Add([99], 60, 10 + TimeOrderBuffer.WindowMicros, 1, 1, ++frame);
        Assert.True(buffer.Ready);
        var taken = new List<(long Time, long Frame, byte First)>();
        while (buffer.Ready)
        {
            var held = buffer.Take();
            taken.Add((held.TimestampMicros, held.FrameNumber, held.Data[0]));
            TimeOrderBuffer.Release(held);
        }

        Assert.Equal([(10L, 4L, (byte)10)], taken); // the rest are less than a window older than the newest
        Assert.Equal(6, buffer.Count);
    }

    [Fact]
    public void Ready_AtMaxPackets_HandsOverWhateverTheirTimes()
    {
        var buffer = new TimeOrderBuffer();
        for (var i = 0; i < TimeOrderBuffer.MaxPackets; i++)
        {
            buffer.Add([1], 60, 1000 - (i % 7), 1, 1, i + 1);
        }

        Assert.True(buffer.Ready);
        var first = buffer.Take();
        Assert.Equal(994, first.TimestampMicros); // the oldest held, the first of them read
        Assert.Equal(7, first.FrameNumber);
        TimeOrderBuffer.Release(first);
        Assert.False(buffer.Ready);
    }
}
