using SecMon.Capture.Decoding;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Flows;

/// <summary>Consumers are told when a flow ends, whatever ends it; the memory budget evicts flows under pressure.</summary>
public sealed class FlowEndTests
{
    private readonly CaptureStats _stats = new();
    private readonly RecordingDiagnostics _diagnostics = new();
    private readonly RecordingFactory _factory = new();
    private readonly EndRecorder _ends = new();

    private sealed class EndRecorder : IEventSink
    {
        public List<FlowContext> Ended { get; } = [];

        public void Emit(ProtocolEvent e)
        {
        }

        public void FlowEnded(FlowContext toServer) => Ended.Add(toServer);
    }

    private PacketProcessor Create(CaptureOptions options) =>
        new(options, _stats, _diagnostics, _factory.Create, flowEnds: _ends);

    [Fact]
    public void Complete_OpenFlows_EndInStartTimeOrder_TiesByFlowId()
    {
        // Forty flows whose starts repeat (seven distinct times) and come out of order: the end of input closes them by
        // start time, and flows that started together by their flow id, whatever order the table holds them in.
        var p = Create(new CaptureOptions());
        var random = new Random(7);
        for (var i = 0; i < 40; i++)
        {
            var c = new TcpConversation(p, clientPort: (ushort)(50_000 + i)) { Now = TcpConversation.Start + random.Next(7) * 1_000 };
            c.Client(c.C(0), "x", advance: 0);
        }

        p.Complete(new PacketMeta(TcpConversation.Start + 10_000, 41, "test.pcap", 41));

        Assert.Equal(40, _ends.Ended.Count);
        var ended = _ends.Ended.Select(e => (e.StartMicros, e.FlowId)).ToList();
        Assert.Equal(ended.OrderBy(e => e.StartMicros).ThenBy(e => e.FlowId, StringComparer.Ordinal), ended);
        Assert.Equal(7, ended.Select(e => e.StartMicros).Distinct().Count());
    }

    [Fact]
    public void Process_FlowsEndByRstEvictionIdleAndEndOfInput_EachWithASessionToldOnceAfterItsClose()
    {
        var p = Create(new CaptureOptions { MaxFlows = 2, TcpIdleTimeoutMicros = 10_000_000 });
        var reset = new TcpConversation(p, clientPort: 50001);
        reset.Client(reset.C(0), "1");
        reset.Client(reset.C(1), "", TcpFlags.Rst);
        Assert.Equal(new[] { reset.Flow() }, Tuples());

        // A SYN that never carried data has no session: nothing to tell when it goes.
        var syn = new TcpConversation(p, clientPort: 50002) { Now = reset.Now };
        syn.Client(syn.ClientIsn, "", TcpFlags.Syn);
        var evicted = new TcpConversation(p, clientPort: 50003) { Now = syn.Now };
        evicted.Client(evicted.C(0), "3");
        var later = new TcpConversation(p, clientPort: 50004) { Now = evicted.Now };
        later.Client(later.C(0), "4"); // the table holds 2: 50003 forgot the closed flow, this one evicts the SYN (quiet first)
        var last = new TcpConversation(p, clientPort: 50005) { Now = later.Now };
        last.Client(last.C(0), "5"); // evicts 50003, the least recently seen that carried data
        Assert.Equal(new[] { reset.Flow(), evicted.Flow() }, Tuples());

        var idle = new TcpConversation(p, clientPort: 50006) { Now = last.Now + 20_000_000 };
        idle.Client(idle.C(0), "6"); // 50004 and 50005 idle for 20 s: expired
        p.Complete(idle.Meta);

        Assert.Equal(6, _stats.TcpFlows);
        Assert.Equal(new[] { reset.Flow(), evicted.Flow(), later.Flow(), last.Flow(), idle.Flow() }, Tuples());
        Assert.All(_ends.Ended, e => Assert.Equal(FlowDirection.ToServer, e.Direction));
        // Told after the session's close: the session of each ended flow was closed by then.
        Assert.Equal(5, _factory.Sessions.Count(s => s.Closes == 1));
    }

    [Fact]
    public void Process_HeapAboveTheBudgetsShare_EvictsAnEighthOfTheFlowsCountedAndTold()
    {
        // A budget of 1 MiB: any test process's heap is above its share, so the first look evicts.
        var p = Create(new CaptureOptions { MaxFlows = 4096, MemoryBudgetBytes = 1L << 20 });
        var flows = OpenFlows(p, 1000);
        Assert.Equal(1000, p.Flows.Count);

        // Exactly one look at the heap happens within the next MemoryCheckPackets packets (1,000 were sent so far); a
        // collection first, so that there is a measure to look at. The flows have been idle for 20 s by then.
        GC.Collect();
        flows[^1].Conversation.Now += 2 * PacketProcessor.PressureIdleMicros;
        SendOn(flows[^1], PacketProcessor.MemoryCheckPackets);

        Assert.Equal(125, _stats.PressureFlowEvictions);
        Assert.Equal(125, _stats.FlowEvictions);
        Assert.Equal(875, p.Flows.Count);
        Assert.Equal(125, _ends.Ended.Count);
        // The least recently seen go first: the first flows opened.
        Assert.Equal(flows.Take(125).Select(f => f.Flow()), Tuples());
        var report = Assert.Single(_diagnostics.Of(DiagnosticKind.ResourceLimit));
        Assert.Contains("memory budget", report, StringComparison.Ordinal);

        // The table's bound is lowered to what is left: new flows push out old ones instead of growing the table.
        var more = OpenFlows(p, 100, firstPort: 30000, start: flows[^1].Now);
        Assert.Equal(875, p.Flows.Count);
        Assert.Equal(225, _stats.FlowEvictions);
        Assert.Equal(125, _stats.PressureFlowEvictions);
        Assert.Contains(p.Flows.All, f => f.ToServer.SourcePort == more[^1].ClientPort);
    }

    [Fact]
    public void Process_HeapAboveTheBudgetsShareButEveryFlowInUse_NoneCut()
    {
        // Flows seen within the last PressureIdleMicros are in use: evicting them would only restart them mid-stream.
        var p = Create(new CaptureOptions { MaxFlows = 4096, MemoryBudgetBytes = 1L << 20 });
        var flows = OpenFlows(p, 1000);

        GC.Collect();
        SendOn(flows[^1], PacketProcessor.MemoryCheckPackets);

        Assert.Equal(0, _stats.PressureFlowEvictions);
        Assert.Equal(1000, p.Flows.Count);
        Assert.Empty(_diagnostics.Of(DiagnosticKind.ResourceLimit));
    }

    [Fact]
    public void Process_HeapWithinTheBudget_NoFlowEvicted()
    {
        var p = Create(new CaptureOptions { MaxFlows = 4096, MemoryBudgetBytes = 64L << 30 });
        var flows = OpenFlows(p, 1000);

        GC.Collect();
        SendOn(flows[^1], 2 * PacketProcessor.MemoryCheckPackets);

        Assert.Equal(0, _stats.PressureFlowEvictions);
        Assert.Equal(1000, p.Flows.Count);
        Assert.Empty(_ends.Ended);
    }

    [Theory]
    [InlineData(256L << 20, 65_536)]
    [InlineData(512L << 20, 131_072)]
    [InlineData(32L << 20, 8_192)]
    public void ForMemoryBudget_FlowsFollowTheBudget_DefaultIsTheDefaultBound(long budget, int flows)
    {
        var options = CaptureOptions.ForMemoryBudget(budget);

        Assert.Equal(flows, options.MaxFlows);
        Assert.Equal(budget, options.MemoryBudgetBytes);
        Assert.Equal(new CaptureOptions().MaxFlows, CaptureOptions.ForMemoryBudget(CaptureOptions.DefaultMemoryBudgetBytes).MaxFlows);
        Assert.Equal(10_000, CaptureOptions.Scaled(10_000, CaptureOptions.DefaultMemoryBudgetBytes, min: 100));
        Assert.Equal(20_000, CaptureOptions.Scaled(10_000, 512L << 20, min: 100));
    }

    private List<(string, int)> Tuples() => [.. _ends.Ended.Select(e => (e.SourceIp, e.SourcePort))];

    private static List<Opened> OpenFlows(PacketProcessor p, int n, int firstPort = 20000, long start = TcpConversation.Start)
    {
        var flows = new List<Opened>();
        for (var i = 0; i < n; i++)
        {
            var port = (ushort)(firstPort + i);
            var c = new TcpConversation(p, clientPort: port) { Now = start + (i * 10) };
            c.Client(c.C(0), "x");
            flows.Add(new Opened(c, port));
        }

        return flows;
    }

    private static void SendOn(Opened flow, int packets)
    {
        for (var i = 1; i <= packets; i++)
        {
            flow.Conversation.Client(flow.Conversation.C(i), "y", advance: 1);
        }
    }

    private sealed record Opened(TcpConversation Conversation, ushort ClientPort)
    {
        public long Now => Conversation.Now;

        public (string, int) Flow() => Conversation.Flow();
    }
}

internal static class ConversationTuples
{
    /// <summary>The client end of a conversation as the flow's to-server context names it.</summary>
    public static (string, int) Flow(this TcpConversation c) => ("10.0.0.2", c.ClientPort);
}
