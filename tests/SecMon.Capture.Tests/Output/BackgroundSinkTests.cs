using SecMon.Capture.Output;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Output;

public sealed class BackgroundSinkTests
{
    private sealed class Recorder : IEventSink
    {
        public List<long> Packets { get; } = [];

        public int ThreadId { get; private set; }

        public long FailAt { get; init; } = -1;

        public void Emit(ProtocolEvent e)
        {
            ThreadId = Environment.CurrentManagedThreadId;
            if (e.PacketNumber == FailAt)
            {
                throw new InvalidDataException("rule blew up");
            }

            Packets.Add(e.PacketNumber);
        }
    }

    /// <summary>Records a tick as packet number -1, in the order it came.</summary>
    private sealed class TickRecorder : ITickSink
    {
        public int Count;

        public List<long> Seen { get; } = [];

        public void Emit(ProtocolEvent e) => Add(e.PacketNumber);

        public void Tick() => Add(-1);

        private void Add(long n)
        {
            Seen.Add(n);
            Interlocked.Increment(ref Count);
        }
    }

    /// <summary>Records events by packet number and flow ends as "end FLOWID", in the order they came.</summary>
    private sealed class EndRecorder : IEventSink
    {
        public List<string> Seen { get; } = [];

        public void Emit(ProtocolEvent e) => Seen.Add(e.PacketNumber.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public void FlowEnded(Core.Flows.FlowContext toServer) => Seen.Add("end " + toServer.FlowId);
    }

    [Fact]
    public void FlowEnded_BetweenEvents_DeliveredInOrderWithThem()
    {
        var inner = new EndRecorder();
        using var sink = new BackgroundSink(inner, "test-sink");
        var a = FakeFlows.Create(flowId: "aaaa");
        var b = FakeFlows.Create(flowId: "bbbb");
        var expected = new List<string>();
        for (var i = 1; i <= 3000; i++)
        {
            sink.Emit(Event(i));
            expected.Add(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (i % 1000 == 0)
            {
                // Crosses batch boundaries (1,024 items): the end stays after the events emitted before it.
                var ended = i == 2000 ? b : a;
                sink.FlowEnded(ended);
                expected.Add("end " + ended.FlowId);
            }
        }

        sink.Complete();

        Assert.Equal(expected, inner.Seen);
    }

    private static TestEvent Event(long packet) =>
        TestEvent.Of(FakeSchemas.MqttDisconnect, FakeFlows.Create(), packet, packet);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1023)]
    [InlineData(1024)]
    [InlineData(1025)]
    [InlineData(200_000)] // more than the queue holds: the producer must wait, not drop
    public void Complete_EveryEventDeliveredOnceInOrder_OnAnotherThread(int count)
    {
        var inner = new Recorder();
        using var sink = new BackgroundSink(inner, "test-sink");
        for (var i = 1; i <= count; i++)
        {
            sink.Emit(Event(i));
        }

        sink.Complete();

        Assert.Equal(count, inner.Packets.Count);
        Assert.True(inner.Packets.SequenceEqual(Enumerable.Range(1, count).Select(i => (long)i)), "events out of order");
        if (count > 0)
        {
            Assert.NotEqual(Environment.CurrentManagedThreadId, inner.ThreadId);
        }
    }

    [Fact]
    public void Complete_SinkThrew_FailureReportedAndProducerNeverBlocks()
    {
        var inner = new Recorder { FailAt = 10 };
        using var sink = new BackgroundSink(inner, "test-sink");
        for (var i = 1; i <= 300_000; i++)
        {
            sink.Emit(Event(i));
        }

        // Live capture polls this to stop instead of capturing without detection.
        Assert.True(SpinWait.SpinUntil(() => sink.HasFailed, TimeSpan.FromSeconds(10)), "the failure was not noticed");
        var ex = Assert.Throws<InvalidOperationException>(sink.Complete);

        Assert.IsType<InvalidDataException>(ex.InnerException);
        Assert.Contains("test-sink", ex.Message, StringComparison.Ordinal);
        Assert.Equal(9, inner.Packets.Count);
    }

    [Fact]
    public void Complete_Twice_SecondIsANoOp()
    {
        var inner = new Recorder();
        using var sink = new BackgroundSink(inner, "test-sink");
        sink.Emit(Event(1));

        sink.Complete();
        sink.Complete();

        Assert.Single(inner.Packets);
        Assert.False(sink.HasFailed);
    }

    [Fact]
    public void Tick_HandsOverAShortBatchAndTicksAfterIt_InOrder()
    {
        var inner = new TickRecorder();
        using var sink = new BackgroundSink(inner, "test-sink");
        sink.Emit(Event(1));
        sink.Emit(Event(2));
        sink.Emit(Event(3));

        sink.Tick();

        // Without Complete: the tick alone must bring the three events (a batch holds 1,024) to the sink.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref inner.Count) == 4, TimeSpan.FromSeconds(10)), "tick did not hand over");
        sink.Tick(); // nothing new: a tick alone
        sink.Emit(Event(4));
        sink.Complete();
        sink.Tick(); // after Complete: ignored

        Assert.Equal([1L, 2, 3, -1, -1, 4], inner.Seen);
    }

    [Fact]
    public void Tick_SinkWithoutTick_EventsStillDelivered()
    {
        var inner = new Recorder();
        using var sink = new BackgroundSink(inner, "test-sink");
        sink.Emit(Event(1));

        sink.Tick();
        sink.Complete();

        Assert.Equal([1L], inner.Packets);
    }
}
