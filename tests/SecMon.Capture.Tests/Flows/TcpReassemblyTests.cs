using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Flows;

/// <summary>TCP reassembly on synthetic hostile streams, through the whole packet path, with a recording session.</summary>
public sealed class TcpReassemblyTests
{
    private const FlowDirection ToServer = FlowDirection.ToServer;
    private const FlowDirection ToClient = FlowDirection.ToClient;

    private readonly CaptureStats _stats = new();
    private readonly RecordingDiagnostics _diagnostics = new();
    private readonly RecordingFactory _factory = new();
    private PacketProcessor _processor;
    private TcpConversation _c;

    public TcpReassemblyTests()
    {
        _processor = Create(new CaptureOptions());
        _c = new TcpConversation(_processor);
    }

    private RecordingSession Session => Assert.Single(_factory.Sessions);

    private PacketProcessor Create(CaptureOptions options)
    {
        _processor = new PacketProcessor(options, _stats, _diagnostics, _factory.Create);
        _c = new TcpConversation(_processor);
        return _processor;
    }

    [Fact]
    public void Process_InOrderWithHandshake_DeliversBothDirections()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "hello ", ack: _c.S(0));
        _c.Client(_c.C(6), "world", ack: _c.S(0));
        _c.Server(_c.S(0), "ok", ack: _c.C(11));

        Assert.Equal("hello world", Session.Text(ToServer));
        Assert.Equal("ok", Session.Text(ToClient));
        Assert.Empty(Session.Gaps);
        Assert.True(Session.Flow.OpenerSeen);
        Assert.Equal("10.0.0.2", Session.Flow.SourceIp);
        Assert.Equal(1883, Session.Flow.DestinationPort);
        Assert.Equal(0, _stats.MidStreamFlows);
        Assert.Equal(0, _stats.OutOfOrderSegments + _stats.Retransmissions + _stats.Overlaps);
    }

    [Fact]
    public void Process_ReorderedSegments_DeliversInSequenceOrder()
    {
        _c.Handshake();
        _c.Client(_c.C(10), "3333");
        _c.Client(_c.C(0), "11111");
        _c.Client(_c.C(5), "22222");

        Assert.Equal("11111222223333", Session.Text(ToServer));
        Assert.Equal(1, _stats.OutOfOrderSegments);
        Assert.Equal(0, _processor.ReassemblyBufferedBytes);
    }

    [Fact]
    public void Process_DuplicatedSegment_CountsRetransmissionAndDeliversOnce()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "abc");
        _c.Client(_c.C(0), "abc");
        _c.Client(_c.C(3), "def");
        _c.Client(_c.C(3), "def");

        Assert.Equal("abcdef", Session.Text(ToServer));
        Assert.Equal(2, _stats.Retransmissions);
    }

    [Fact]
    public void Process_OverlapWithBufferedData_FirstCopyWinsAndConflictIsCounted()
    {
        _c.Handshake();
        _c.Client(_c.C(10), "AAAAAAAAAA");        // bytes 10-20, buffered first
        _c.Client(_c.C(0), "0123456789XXXXX");    // bytes 0-15: 10-15 conflict with the buffered copy

        Assert.Equal("0123456789AAAAAAAAAA", Session.Text(ToServer));
        Assert.Equal(1, _stats.Overlaps);
        Assert.Equal(1, _stats.OverlapConflicts);
    }

    [Fact]
    public void Process_OverlapWithSameBytes_CountsOverlapWithoutConflict()
    {
        _c.Handshake();
        _c.Client(_c.C(5), "56789");
        _c.Client(_c.C(0), "0123456");

        Assert.Equal("0123456789", Session.Text(ToServer));
        Assert.Equal(1, _stats.Overlaps);
        Assert.Equal(0, _stats.OverlapConflicts);
    }

    [Fact]
    public void Process_TwoBufferedSegmentsOverlapping_FirstBufferedWins()
    {
        _c.Handshake();
        _c.Client(_c.C(10), "BBBBBBBBBB");   // 10-20
        _c.Client(_c.C(15), "ccccccccccc");  // 15-26: 15-20 conflicts, 20-26 new
        _c.Client(_c.C(0), "aaaaaaaaaa");    // 0-10 fills the hole

        Assert.Equal("aaaaaaaaaaBBBBBBBBBBcccccc", Session.Text(ToServer));
        Assert.Equal(1, _stats.OverlapConflicts);
    }

    [Fact]
    public void Process_OverlapWithDeliveredData_DeliversOnlyTheNewTail()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "0123456789");
        _c.Client(_c.C(5), "zzzzzABCDE"); // 5-10 already delivered: the delivered copy stands

        Assert.Equal("0123456789ABCDE", Session.Text(ToServer));
        Assert.Equal(1, _stats.Overlaps);
    }

    [Fact]
    public void Process_DroppedSegmentThenAckPastIt_ReportsGapAndDeliversTheRest()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "AAAAA");
        _c.Client(_c.C(10), "CCCCC");          // bytes 5-10 never captured
        Assert.Equal("AAAAA", Session.Text(ToServer));

        _c.Server(_c.S(0), "", ack: _c.C(15)); // the server acknowledges all 15 bytes

        Assert.Equal(["data ToServer AAAAA", "gap ToServer 5", "data ToServer CCCCC"], Session.Events);
        Assert.Equal(1, _stats.ReassemblyGaps);
        Assert.Equal(5, _stats.ReassemblyGapBytes);
        var message = Assert.Single(_diagnostics.Of(DiagnosticKind.ReassemblyGap));
        Assert.Contains("5 bytes missing at seq 1006", message, StringComparison.Ordinal);
        Assert.Contains("acknowledged", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_AckNotPastTheHole_DeclaresNothing()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "AAAAA");
        _c.Client(_c.C(10), "CCCCC");
        _c.Server(_c.S(0), "", ack: _c.C(5));

        Assert.Empty(Session.Gaps);
        Assert.Equal("AAAAA", Session.Text(ToServer));
    }

    [Fact]
    public void Complete_HoleNeverFilled_ReportsGapDeliversBufferedThenCloses()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "AAAAA");
        _c.Client(_c.C(8), "CC");

        _processor.Complete(_c.Meta);

        Assert.Equal(["data ToServer AAAAA", "gap ToServer 3", "data ToServer CC", "close"], Session.Events);
        Assert.Equal(0, _processor.ReassemblyBufferedBytes);
        Assert.Equal(0, _processor.Flows.Count);
    }

    [Fact]
    public void Process_OneByteSegmentsShuffled_DeliversTheStream()
    {
        _c.Handshake();
        var text = "one byte at a time";
        var order = Enumerable.Range(0, text.Length).OrderBy(i => (i * 7919) % text.Length).ToArray();
        foreach (var i in order)
        {
            _c.Client(_c.C(i), text[i].ToString());
        }

        Assert.Equal(text, Session.Text(ToServer));
    }

    [Fact]
    public void Process_SequenceWrapsAcross2To32_DeliversInOrder()
    {
        _c.ClientIsn = 0xFFFFFFF0;
        _c.Handshake();
        // client bytes 0..40 span sequence numbers 0xFFFFFFF1 .. 0x00000018
        _c.Client(_c.C(30), "dddddddddd");
        _c.Client(_c.C(10), "bbbbbbbbbb");
        _c.Client(_c.C(0), "aaaaaaaaaa");
        _c.Client(_c.C(20), "cccccccccc");

        Assert.Equal("aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd", Session.Text(ToServer));
        Assert.Empty(Session.Gaps);
        Assert.Equal(0, _stats.OutOfWindowSegments);
    }

    [Fact]
    public void Process_MidStreamWrapAndAckGap_HandlesSerialArithmetic()
    {
        // No handshake; the stream starts 4 bytes before 2^32, and a hole straddles the wrap.
        _c.Client(0xFFFFFFFC, "wxyz");
        _c.Client(0x00000004, "EFGH");                    // 0..4 missing
        _c.Server(777, "", ack: 0x00000008);

        Assert.Equal(["data ToServer wxyz", "gap ToServer 4", "data ToServer EFGH"], Session.Events);
    }

    [Fact]
    public void Process_MidStreamServerSpeaksFirst_InfersClientFromPortsAndStartsAtFirstSegment()
    {
        _c.Server(90_000, "SRV");            // the broker (port 1883) sends first: capture started mid-stream
        _c.Client(123_456, "CLI");
        _c.Client(123_459, "ENT");

        Assert.Equal("CLIENT", Session.Text(ToServer));
        Assert.Equal("SRV", Session.Text(ToClient));
        Assert.False(Session.Flow.OpenerSeen);
        Assert.Equal("10.0.0.2", Session.Flow.SourceIp);
        Assert.Equal(50000, Session.Flow.SourcePort);
        Assert.Equal(1, _stats.MidStreamFlows);
    }

    [Fact]
    public void Process_SynAckSeenFirst_DestinationIsTheClientAndBothStreamsStartAtTheirBeginning()
    {
        _c.Server(_c.ServerIsn, "", TcpFlags.Syn | TcpFlags.Ack, _c.C(0));
        _c.Client(_c.C(3), "lo");              // arrives before bytes 0-3
        _c.Client(_c.C(0), "hel");

        Assert.Equal("hello", Session.Text(ToServer));
        Assert.Equal("10.0.0.2", Session.Flow.SourceIp);
        Assert.False(Session.Flow.OpenerSeen);
    }

    [Fact]
    public void Process_FinFromBothSides_ClosesOnceAndLastAckDoesNotStartANewFlow()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "bye", TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin, _c.S(0));
        _c.Server(_c.S(0), "", TcpFlags.Ack | TcpFlags.Fin, _c.C(4));
        Assert.Equal(1, Session.Closes);
        _c.Client(_c.C(4), "", TcpFlags.Ack, _c.S(1));

        Assert.Equal(["data ToServer bye", "close"], Session.Events);
        Assert.Equal(1, _stats.Flows);
        var flow = Assert.Single(_processor.Flows.All);
        Assert.Equal(FlowCloseReason.Fin, flow.CloseReason);
    }

    [Fact]
    public void Process_FinBeforeMissingData_WaitsForTheDataThenCloses()
    {
        _c.Handshake();
        _c.Client(_c.C(3), "def", TcpFlags.Ack | TcpFlags.Fin);   // FIN arrives ahead of bytes 0-3
        _c.Server(_c.S(0), "", TcpFlags.Ack | TcpFlags.Fin, _c.C(0));
        Assert.Equal(0, Session.Closes);
        _c.Client(_c.C(0), "abc");

        Assert.Equal("abcdef", Session.Text(ToServer));
        Assert.Equal(1, Session.Closes);
    }

    [Fact]
    public void Process_ServerFinBeforeAnyPayload_FlowStillClosesOnTheClientFin()
    {
        _c.Handshake();
        _c.Server(_c.S(0), "", TcpFlags.Ack | TcpFlags.Fin, _c.C(0)); // half-close before the session exists
        _c.Client(_c.C(0), "late", TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin, _c.S(1));

        Assert.Equal(["data ToServer late", "close"], Session.Events);
    }

    [Fact]
    public void Process_Rst_DeliversBufferedDataWithGapAndCloses()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "ab");
        _c.Client(_c.C(4), "ef");
        _c.Server(_c.S(0), "", TcpFlags.Rst | TcpFlags.Ack, _c.C(2));

        Assert.Equal(["data ToServer ab", "gap ToServer 2", "data ToServer ef", "close"], Session.Events);
        Assert.Equal(FlowCloseReason.Rst, Assert.Single(_processor.Flows.All).CloseReason);
        Assert.Equal(0, _processor.ReassemblyBufferedBytes);
    }

    [Fact]
    public void Process_BlindRstFarOutsideTheWindow_IsIgnored()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "ab");
        _c.Server(_c.S(0) + 0x7000_0000u, "", TcpFlags.Rst);

        Assert.Equal(0, Session.Closes);
        Assert.Equal(1, _stats.OutOfWindowSegments);
    }

    [Fact]
    public void Process_SegmentBeyondTheMaximumWindow_IsDroppedAsOutOfWindow()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "ok");
        _c.Client(_c.C(0) + (1u << 30) + 100, "junk");
        _c.Client(_c.C(2), "!");

        Assert.Equal("ok!", Session.Text(ToServer));
        Assert.Equal(1, _stats.OutOfWindowSegments);
        Assert.Equal(0, _processor.ReassemblyBufferedBytes);
    }

    [Fact]
    public void Process_PerStreamBufferBoundHit_DeclaresTheHoleAGapAndCounts()
    {
        // A 100-byte segment is charged 128 (pool bucket) + 64 = 192 bytes: five fit in 1000, the sixth does not.
        Create(new CaptureOptions { MaxStreamBufferBytes = 1000 });
        _c.Handshake();
        for (var i = 1; i <= 6; i++)
        {
            _c.Client(_c.C(i * 100), new string((char)('a' + i), 100));
        }

        Assert.Equal(1, _stats.ReassemblyOverflows);
        Assert.Equal((ToServer, 100L), Assert.Single(Session.Gaps));
        Assert.Equal(600, Session.Bytes(ToServer).Length);
        Assert.Contains(_diagnostics.Of(DiagnosticKind.ResourceLimit), m => m.Contains("MaxStreamBufferBytes", StringComparison.Ordinal));
        Assert.Equal(0, _processor.ReassemblyBufferedBytes);
    }

    [Fact]
    public void Process_TotalBufferBoundHit_OtherFlowsCannotGrowPastIt()
    {
        Create(new CaptureOptions { MaxTotalStreamBufferBytes = 600 });
        var a = new TcpConversation(_processor, clientPort: 50001);
        var b = new TcpConversation(_processor, clientPort: 50002);
        a.Handshake();
        b.Handshake();
        a.Client(a.C(100), new string('a', 100)); // 192 charged
        a.Client(a.C(300), new string('a', 100)); // 384
        a.Client(a.C(500), new string('a', 100)); // 576
        Assert.Equal(576, _processor.ReassemblyBufferedBytes);

        b.Client(b.C(100), new string('b', 100)); // does not fit: flow b's hole becomes a gap at once

        Assert.Equal(1, _stats.ReassemblyOverflows);
        Assert.Contains(_diagnostics.Of(DiagnosticKind.ResourceLimit), m => m.Contains("MaxTotalStreamBufferBytes", StringComparison.Ordinal));
        var sessionB = _factory.Sessions[1];
        Assert.Equal([(ToServer, 100L)], sessionB.Gaps);
        Assert.Equal(new string('b', 100), sessionB.Text(ToServer));
        Assert.True(_processor.ReassemblyBufferedBytes <= 600);
    }

    [Fact]
    public void Process_SnapLengthCutSegment_DeliversCapturedPartAndGapsTheRest()
    {
        _c.Handshake();
        _c.Send(true, _c.C(0), "0123456789"u8, captureCut: 4);
        _c.Client(_c.C(10), "next");

        Assert.Equal(["data ToServer 012345", "gap ToServer 4", "data ToServer next"], Session.Events);
        Assert.Equal(0, _stats.TruncatedFrames);
    }

    [Fact]
    public void Process_SynWithNewIsnOnOpenFlow_ClosesTheOldConnectionAndStartsANewOne()
    {
        _c.Handshake();
        _c.Client(_c.C(0), "first");
        var firstId = _factory.Sessions[0].Flow.FlowId;
        _c.ClientIsn = 900_000;
        _c.Handshake();
        _c.Client(_c.C(0), "second");

        Assert.Equal(2, _factory.Sessions.Count);
        Assert.Equal(1, _factory.Sessions[0].Closes);
        Assert.Equal("second", _factory.Sessions[1].Text(ToServer));
        Assert.NotEqual(firstId, _factory.Sessions[1].Flow.FlowId);
        Assert.Equal(2, _stats.TcpFlows);
    }

    [Fact]
    public void Process_RetransmittedSyn_KeepsTheFlow()
    {
        _c.Client(_c.ClientIsn, "", TcpFlags.Syn);
        _c.Client(_c.ClientIsn, "", TcpFlags.Syn);
        _c.Server(_c.ServerIsn, "", TcpFlags.Syn | TcpFlags.Ack, _c.C(0));
        _c.Client(_c.C(0), "x");

        Assert.Equal(1, _stats.TcpFlows);
        Assert.Equal("x", Session.Text(ToServer));
    }

    [Fact]
    public void Process_DataOnSyn_TcpFastOpen_StartsAfterTheSyn()
    {
        _c.Client(_c.ClientIsn, "tfo", TcpFlags.Syn);
        _c.Client(_c.C(3), "++");

        Assert.Equal("tfo++", Session.Text(ToServer));
    }

    [Fact]
    public void Process_RandomPermutationsAndDuplicates_DeliverExactlyTheOriginalBytes()
    {
        // Property: however the segments of a stream are reordered, duplicated or re-cut into overlapping
        // pieces (with consistent content), the session receives exactly the original bytes, without gaps.
        var random = new Random(20_240_601);
        for (var round = 0; round < 150; round++)
        {
            _factory.Sessions.Clear();
            Create(new CaptureOptions());
            _c.ClientIsn = (uint)random.NextInt64(0, 1L << 32);
            var original = new byte[random.Next(1, 3000)];
            random.NextBytes(original);

            var pieces = new List<(int Offset, int Length)>();
            for (var o = 0; o < original.Length;)
            {
                var n = Math.Min(random.Next(1, 200), original.Length - o);
                pieces.Add((o, n));
                o += n;
            }

            var extra = random.Next(0, pieces.Count + 1);
            for (var i = 0; i < extra; i++)
            {
                var start = random.Next(0, original.Length);
                pieces.Add((start, Math.Min(random.Next(1, 300), original.Length - start))); // overlapping re-cut
            }

            var shuffled = pieces.OrderBy(_ => random.Next()).ToList();
            _c.Handshake();
            foreach (var (offset, length) in shuffled)
            {
                _c.Send(true, _c.C(offset), original.AsSpan(offset, length));
            }

            var session = Assert.Single(_factory.Sessions);
            Assert.Equal(original, session.Bytes(ToServer));
            Assert.Empty(session.Gaps);
            Assert.Equal(0, _processor.ReassemblyBufferedBytes);
        }

        Assert.Equal(0, _stats.OverlapConflicts);
        Assert.Equal(0, _stats.ReassemblyGaps);
    }
}
