using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Capture.Protocols;
using SecMon.Capture.Tests.Decoding;
using SecMon.Capture.Tests.Flows;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests;

public sealed class PacketProcessorTests
{
    private readonly CaptureStats _stats = new();
    private readonly RecordingDiagnostics _diagnostics = new();
    private readonly RecordingFactory _factory = new();

    private PacketProcessor Create(CaptureOptions? options = null, Func<FlowContext, IStreamSession?>? factory = null) =>
        new(options ?? new CaptureOptions(), _stats, _diagnostics, factory ?? _factory.Create);

    private static PacketMeta Meta(long n = 1) => new(1_700_000_000_000_000 + n, n, "capture.pcap", n);

    [Fact]
    public void Process_FramesThatAreNotTcpOrUdp_AreCountedAndReportedByKind()
    {
        var p = Create();
        var tcp = TestFrames.Ethernet(TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 6, TestFrames.Tcp(50000, 1883, 1, 0, TcpFlags.Syn, [])));
        var arp = TestFrames.Ethernet(new byte[28], 0x0806);
        var icmp = TestFrames.Ethernet(TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 1, new byte[8]));
        var frag6 = TestFrames.Ipv6("2001:db8::1", "2001:db8::2", 17, new byte[16], (44, [0x00, 0x09, 0, 0, 0, 1]));
        var badVersion = (byte[])tcp.Clone();
        badVersion[14] = 0x75;

        p.Process(LinkTypes.Ethernet, arp, arp.Length, Meta(1));
        p.Process(LinkTypes.Ethernet, icmp, icmp.Length, Meta(2));
        p.Process(LinkTypes.Ipv6, frag6, frag6.Length, Meta(3));
        p.Process(LinkTypes.Ethernet, tcp.AsSpan(0, 30), tcp.Length, Meta(4));
        p.Process(LinkTypes.Ethernet, badVersion, badVersion.Length, Meta(5));
        p.Process(147, tcp, tcp.Length, Meta(6));

        Assert.Equal(1, _stats.NonIpFrames);
        Assert.Equal(1, _stats.OtherTransport);
        Assert.Equal(1, _stats.IpFragments); // an IPv6 fragment (offset 8, more to come): held for reassembly
        Assert.Equal(1, p.Defragmenter.PendingDatagrams);
        Assert.Equal(1, _stats.TruncatedFrames);
        Assert.Equal(1, _stats.MalformedFrames);
        Assert.Equal(1, _stats.UnknownLinkType);
        Assert.Equal(0, _stats.Flows);
        Assert.Equal(0, _stats.Packets); // counted by the source loop, not here
        Assert.Equal(0, _stats.Bytes);
        Assert.Equal(
            [DiagnosticKind.TruncatedFrame, DiagnosticKind.MalformedFrame, DiagnosticKind.UnknownLinkType],
            _diagnostics.Reports.Select(r => r.Kind));
        Assert.Contains("IPv4 header needs 20 bytes, only 16 captured", _diagnostics.Reports[0].Message, StringComparison.Ordinal);
        Assert.True(_stats.InputDamaged);
    }

    [Fact]
    public void Process_FlowContext_CarriesTupleMacsIdsAndObserver()
    {
        var p = Create();
        var c = new TcpConversation(p, vlan: 42);
        c.Handshake();
        c.Client(c.C(0), "x");

        var flow = Assert.Single(_factory.Sessions).Flow;
        Assert.Equal("tcp", flow.Transport);
        Assert.Equal("10.0.0.2", flow.SourceIp);
        Assert.Equal(50000, flow.SourcePort);
        Assert.Equal("10.0.0.1", flow.DestinationIp);
        Assert.Equal(1883, flow.DestinationPort);
        Assert.Equal("00-1A-2B-3C-4D-5E", flow.SourceMac);
        Assert.Equal("02-00-00-00-00-01", flow.DestinationMac);
        Assert.Equal(42, flow.VlanId);
        Assert.Equal(FlowDirection.ToServer, flow.Direction);
        Assert.Equal(TcpConversation.Start + 1000, flow.StartMicros);
        Assert.Equal("test.pcap", flow.Observer);
        Assert.Matches("^[0-9a-f]{16}$", flow.FlowId);
        Assert.Equal(FlowIdentity.ComputeCommunityId(IpAddress.Parse("10.0.0.1"), 1883, IpAddress.Parse("10.0.0.2"), 50000, 6), flow.CommunityId);
        var reverse = flow.Reverse!;
        Assert.Same(flow, reverse.Reverse);
        Assert.Equal("10.0.0.1", reverse.SourceIp);
        Assert.Equal(FlowDirection.ToClient, reverse.Direction);
        Assert.Equal(flow.FlowId, reverse.FlowId);
    }

    [Fact]
    public void Process_TimeStampsGoingBack_FlowsSeenSinceAreNotIdle()
    {
        // A merged capture whose second part is an hour earlier than its first (Wireshark's grpc_web.pcapng): the flows
        // of the earlier part must not be taken for idle against the later part's clock at each of their packets
        // (before: every packet of such a flow closed it as idle and started it again, mid-stream).
        var p = Create();
        var late = new TcpConversation(p, clientPort: 40000);
        late.Now += 3_600_000_000;
        late.Handshake();
        var early = new TcpConversation(p, clientPort: 40001);
        early.Handshake();
        for (var i = 0; i < 5; i++)
        {
            early.Client(early.C(i), "x", advance: 2_000_000); // one sweep interval (1 s) apart and more
        }

        Assert.Equal(2, _stats.TcpFlows);
        Assert.Equal(0, _stats.FlowTimeouts);
        Assert.Equal(0, _stats.MidStreamFlows);
        Assert.Equal(2, p.Flows.OpenCount);
    }

    [Fact]
    public void Process_SameTupleOnTwoVlans_TwoFlows()
    {
        var p = Create();
        new TcpConversation(p, vlan: 10).Handshake();
        new TcpConversation(p, vlan: 20).Handshake();

        Assert.Equal(2, _stats.TcpFlows);
        Assert.Equal(2, p.Flows.Count);
    }

    [Fact]
    public void Process_Ipv6Conversation_ReassemblesLikeIpv4()
    {
        var p = Create();
        var c = new TcpConversation(p, clientIp: "fd00::2", serverIp: "fd00::1");
        c.Handshake();
        c.Client(c.C(3), "def");
        c.Client(c.C(0), "abc");

        var session = Assert.Single(_factory.Sessions);
        Assert.Equal("abcdef", session.Text(FlowDirection.ToServer));
        Assert.Equal("fd00::2", session.Flow.SourceIp);
    }

    [Fact]
    public void Process_SameCaptureTwice_GivesTheSameFlowIds()
    {
        static List<string> Run(long start)
        {
            var factory = new RecordingFactory();
            var p = new PacketProcessor(new CaptureOptions(), new CaptureStats(), new RecordingDiagnostics(), factory.Create);
            foreach (var port in new ushort[] { 50001, 50002, 50003 })
            {
                var c = new TcpConversation(p, clientPort: port) { Now = start + port };
                c.Handshake();
                c.Client(c.C(0), "hi");
            }

            return [.. factory.Sessions.Select(s => s.Flow.FlowId + "/" + s.Flow.CommunityId)];
        }

        var first = Run(TcpConversation.Start);
        var second = Run(TcpConversation.Start);
        var shifted = Run(TcpConversation.Start + 1);

        Assert.Equal(first, second);
        Assert.Equal(3, first.Distinct().Count());
        Assert.Empty(first.Intersect(shifted));
        Assert.Equal(first.Select(x => x.Split('/')[1]), shifted.Select(x => x.Split('/')[1])); // Community ID has no time
    }

    [Fact]
    public void Process_FragmentedTcpSegment_IsReassembledAndDelivered()
    {
        var p = Create();
        var c = new TcpConversation(p);
        c.Handshake();
        var payload = new byte[3000];
        new Random(7).NextBytes(payload);
        var tcp = TestFrames.Tcp(50000, 1883, c.C(0), c.S(0), TcpFlags.Ack | TcpFlags.Psh, payload);
        (int Offset, int Length, bool More)[] pieces = [(1480, 1480, true), (2960, tcp.Length - 2960, false), (0, 1480, true)];
        foreach (var (offset, length, more) in pieces)
        {
            var ip = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 6, tcp.AsSpan(offset, length), id: 99, moreFragments: more, fragmentOffset: offset);
            var frame = TestFrames.Ethernet(ip);
            p.Process(LinkTypes.Ethernet, frame, frame.Length, Meta(10));
        }

        Assert.Equal(payload, Assert.Single(_factory.Sessions).Bytes(FlowDirection.ToServer));
        Assert.Equal(3, _stats.IpFragments);
        Assert.Equal(1, _stats.IpReassembled);
        Assert.Equal(0, p.Defragmenter.BufferedBytes);
    }

    [Fact]
    public void Process_FragmentedIpv6Datagram_IsReassembledFromTheFirstFragmentsHeaders()
    {
        // A destination options header after the fragment header (RFC 8200 §4.1 order), then UDP; out of order; only the
        // first fragment's next header counts (the others say 17, which would misread the options as UDP).
        var session = new RecordingDatagrams();
        var p = new PacketProcessor(new CaptureOptions(), _stats, _diagnostics, _factory.Create, _ => session);
        var text = new string('c', 3000);
        byte[] options = [17, 0, 1, 4, 0, 0, 0, 0];
        var part = options.Concat(TestFrames.Udp(40000, 5683, System.Text.Encoding.ASCII.GetBytes(text))).ToArray();
        (int Offset, int Length, bool More, byte Next)[] pieces = [(1232, 1232, true, 17), (2464, part.Length - 2464, false, 17), (0, 1232, true, 60)];
        foreach (var (offset, length, more, next) in pieces)
        {
            var frame = Ipv6Fragment("2001:db8::2", "2001:db8::1", next, part.AsSpan(offset, length), offset, more, 0xbd56ac23);
            p.Process(LinkTypes.Ipv6, frame, frame.Length, Meta(10));
        }

        Assert.Equal([$"ToServer {text}"], session.Seen);
        Assert.Equal(3, _stats.IpFragments);
        Assert.Equal(1, _stats.IpReassembled);
        Assert.Equal(1, _stats.UdpFlows);
        Assert.Equal(0, p.Defragmenter.BufferedBytes);
    }

    [Fact]
    public void Process_OverlappingIpv6Fragments_AreDroppedAndReportedAsMalformed()
    {
        // RFC 5722: a host discards a datagram whose fragments overlap; a sensor that kept either copy could be fooled.
        var session = new RecordingDatagrams();
        var p = new PacketProcessor(new CaptureOptions(), _stats, _diagnostics, _factory.Create, _ => session);
        var udp = TestFrames.Udp(40000, 53, new byte[40]);
        var first = Ipv6Fragment("2001:db8::2", "2001:db8::1", 17, udp.AsSpan(0, 24), 0, true, 7);
        var overlap = Ipv6Fragment("2001:db8::2", "2001:db8::1", 17, udp.AsSpan(16, 32), 16, false, 7);

        p.Process(LinkTypes.Ipv6, first, first.Length, Meta(1));
        p.Process(LinkTypes.Ipv6, overlap, overlap.Length, Meta(2));

        Assert.Empty(session.Seen);
        Assert.Equal(1, _stats.IpFragmentDrops);
        Assert.Equal(0, _stats.UdpFlows);
        Assert.Contains("IPv6 fragment (id 7) bytes 16-48 overlap", Assert.Single(_diagnostics.Of(DiagnosticKind.MalformedFrame)), StringComparison.Ordinal);
    }

    [Fact]
    public void Process_FragmentHeaderInsideAReassembledIpv6Datagram_IsMalformed()
    {
        var p = Create();
        byte[] inner = [17, 0, 0x00, 0x09, 0, 0, 0, 2, .. TestFrames.Udp(40000, 53, new byte[8])];
        var head = Ipv6Fragment("2001:db8::2", "2001:db8::1", 44, inner.AsSpan(0, 16), 0, true, 1);
        var tail = Ipv6Fragment("2001:db8::2", "2001:db8::1", 44, inner.AsSpan(16), 16, false, 1);
        var atomic = TestFrames.Ipv6("2001:db8::2", "2001:db8::1", 17, TestFrames.Udp(40000, 53, new byte[8]), (44, [0, 0, 0, 0, 0, 3]));

        p.Process(LinkTypes.Ipv6, head, head.Length, Meta(1));
        p.Process(LinkTypes.Ipv6, tail, tail.Length, Meta(1));
        p.Process(LinkTypes.Ipv6, atomic, atomic.Length, Meta(2));

        Assert.Contains("holds another fragment header", Assert.Single(_diagnostics.Of(DiagnosticKind.MalformedFrame)), StringComparison.Ordinal);
        Assert.Equal(2, _stats.IpFragments); // the atomic fragment (RFC 6946) is a whole packet, not a fragment
        Assert.Equal(1, _stats.UdpFlows);
    }

    private static byte[] Ipv6Fragment(string source, string destination, byte next, ReadOnlySpan<byte> part, int offset, bool more, uint id)
    {
        var field = (ushort)(offset | (more ? 1 : 0));
        byte[] header = [(byte)(field >> 8), (byte)field, (byte)(id >> 24), (byte)(id >> 16), (byte)(id >> 8), (byte)id];
        return TestFrames.Ipv6(source, destination, next, part, (44, header));
    }

    [Fact]
    public void Complete_TcpDataOneWayWithNoPacketBack_CountedAsOneSided()
    {
        var p = Create();
        var oneWay = new TcpConversation(p, clientPort: 50001);
        oneWay.Client(oneWay.C(0), "", TcpFlags.Syn);
        oneWay.Client(oneWay.C(0), "hello", TcpFlags.Ack | TcpFlags.Psh, ack: oneWay.S(0));
        var synOnly = new TcpConversation(p, clientPort: 50002);
        synOnly.Client(synOnly.C(0), "", TcpFlags.Syn);
        var both = new TcpConversation(p, clientPort: 50003);
        both.Handshake();
        both.Client(both.C(0), "hello", TcpFlags.Ack | TcpFlags.Psh, ack: both.S(0));

        p.Complete(Meta(20));

        Assert.Equal(3, _stats.TcpFlows);
        Assert.Equal(1, _stats.OneSidedTcpFlows); // not the SYN without payload, not the conversation
    }

    [Fact]
    public void Process_OverlappingFragments_AreDroppedAndReportedAsMalformed()
    {
        var p = Create();
        var udp = TestFrames.Udp(40000, 5683, new byte[40]);
        var first = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, udp.AsSpan(0, 24), id: 5, moreFragments: true);
        var overlap = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, udp.AsSpan(16, 32), id: 5, moreFragments: false, fragmentOffset: 16);

        p.Process(LinkTypes.Ipv4, first, first.Length, Meta(1));
        p.Process(LinkTypes.Ipv4, overlap, overlap.Length, Meta(2));

        Assert.Equal(1, _stats.IpFragmentDrops);
        Assert.Equal(1, _stats.MalformedFrames);
        Assert.Equal(0, _stats.UdpFlows);
        Assert.Contains("overlap", Assert.Single(_diagnostics.Of(DiagnosticKind.MalformedFrame)), StringComparison.Ordinal);
    }

    [Fact]
    public void Process_FragmentBufferFull_OldestDatagramDroppedAndReported()
    {
        var p = Create(new CaptureOptions { MaxFragmentBytes = 5000 });
        for (ushort id = 1; id <= 3; id++)
        {
            var fragment = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, new byte[16], id: id, moreFragments: true);
            p.Process(LinkTypes.Ipv4, fragment, fragment.Length, Meta(id));
        }

        Assert.Equal(1, _stats.IpFragmentDrops);
        var message = Assert.Single(_diagnostics.Of(DiagnosticKind.ResourceLimit));
        Assert.Contains("MaxFragmentBytes 5000", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_Udp_TrackedCountedHandedToTheDatagramSessionAndClosedAtTheEnd()
    {
        var session = new RecordingDatagrams();
        var created = new List<FlowContext>();
        var p = new PacketProcessor(new CaptureOptions(), _stats, _diagnostics, _factory.Create,
            flow => { created.Add(flow); return session; });
        var request = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, TestFrames.Udp(40000, 5683, "GET"u8));
        var response = TestFrames.Ipv4("10.0.0.1", "10.0.0.2", 17, TestFrames.Udp(5683, 40000, "2.05"u8));

        p.Process(LinkTypes.Ipv4, request, request.Length, Meta(1));
        p.Process(LinkTypes.Ipv4, response, response.Length, Meta(2));
        p.Complete(Meta(3));

        Assert.Equal(["ToServer GET", "ToClient 2.05", "close"], session.Seen);
        var flow = Assert.Single(created);
        Assert.Equal(("10.0.0.2", 40000, FlowDirection.ToServer), (flow.SourceIp, flow.SourcePort, flow.Direction));
        Assert.Equal(1, _stats.UdpFlows);
        Assert.Equal(1, _stats.Flows);
        Assert.Empty(_factory.Sessions);
        Assert.True(flow.OpenerSeen);
    }

    [Fact]
    public void Process_UdpIdleTimeout_ClosesTheDatagramSession()
    {
        var session = new RecordingDatagrams();
        var p = new PacketProcessor(new CaptureOptions { UdpIdleTimeoutMicros = 5_000_000 }, _stats, _diagnostics, _factory.Create, _ => session);
        var request = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, TestFrames.Udp(40000, 5683, "GET"u8));
        var later = TestFrames.Ipv4("10.0.0.3", "10.0.0.1", 17, TestFrames.Udp(40001, 5683, "GET"u8));

        p.Process(LinkTypes.Ipv4, request, request.Length, Meta(1));
        p.Process(LinkTypes.Ipv4, later, later.Length, Meta(2) with { TimestampMicros = 1_700_000_060_000_000 });

        Assert.Equal(["ToServer GET", "close", "ToServer GET"], session.Seen);
        Assert.Equal(1, _stats.FlowTimeouts);
    }

    [Fact]
    public void Process_DatagramSessionThrows_ReportedOnceAndTheFlowIsNoLongerDissected()
    {
        var calls = 0;
        var p = new PacketProcessor(new CaptureOptions(), _stats, _diagnostics, _factory.Create, _ => new ThrowingDatagrams(() => calls++));
        var request = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, TestFrames.Udp(40000, 5683, "GET"u8));

        p.Process(LinkTypes.Ipv4, request, request.Length, Meta(1));
        p.Process(LinkTypes.Ipv4, request, request.Length, Meta(2));
        p.Complete(Meta(3));

        Assert.Equal(1, calls);
        Assert.Equal(1, _stats.MalformedMessages);
        var message = Assert.Single(_diagnostics.Of(DiagnosticKind.MalformedProtocol));
        Assert.DoesNotContain("secret", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_FactoryDeclines_PayloadIgnoredButFlowTrackedAndClosedByFin()
    {
        var calls = 0;
        var p = Create(factory: _ => { calls++; return null; });
        var c = new TcpConversation(p);
        c.Handshake();
        c.Client(c.C(0), "data", TcpFlags.Ack | TcpFlags.Fin);
        c.Client(c.C(0), "data", TcpFlags.Ack | TcpFlags.Fin);
        c.Server(c.S(0), "", TcpFlags.Ack | TcpFlags.Fin, c.C(5));

        Assert.Equal(1, calls);
        var flow = Assert.Single(p.Flows.All);
        Assert.Equal(FlowCloseReason.Fin, flow.CloseReason);
        Assert.Equal(8, flow.PayloadBytesToServer);
        Assert.Equal(0, p.ReassemblyBufferedBytes);
    }

    [Fact]
    public void Process_SessionThrows_IsDetachedReportedAndOtherFlowsContinue()
    {
        var good = new RecordingFactory();
        var p = Create(factory: f => f.SourcePort == 50001 ? new ThrowingSession() : good.Create(f));
        var bad = new TcpConversation(p, clientPort: 50001);
        var fine = new TcpConversation(p, clientPort: 50002);
        bad.Client(bad.C(0), "boom");
        bad.Client(bad.C(4), "again");
        fine.Client(fine.C(0), "works");

        Assert.Equal("works", Assert.Single(good.Sessions).Text(FlowDirection.ToServer));
        var message = Assert.Single(_diagnostics.Of(DiagnosticKind.MalformedProtocol));
        Assert.Contains("InvalidOperationException", message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret payload", message, StringComparison.Ordinal);
        Assert.Equal(1, _stats.MalformedMessages);
    }

    [Fact]
    public void Complete_OpenFlows_ClosedInStartOrderWithPendingFragmentsDropped()
    {
        var order = new List<int>();
        var p = Create(factory: f => new OrderSession(order, f.SourcePort));
        foreach (var port in new ushort[] { 50003, 50001, 50002 })
        {
            var c = new TcpConversation(p, clientPort: port) { Now = TcpConversation.Start + (port * 10) };
            c.Client(c.C(0), "x");
        }

        var fragment = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, new byte[16], id: 1, moreFragments: true);
        p.Process(LinkTypes.Ipv4, fragment, fragment.Length, Meta(99));

        p.Complete(Meta(100));

        Assert.Equal([50001, 50002, 50003], order);
        Assert.Equal(0, p.Flows.Count);
        Assert.Equal(1, _stats.IpFragmentDrops);
    }

    [Fact]
    public void Process_InOrderSteadyState_AllocatesNothingPerPacket()
    {
        var p = Create(factory: _ => new NullSession());
        var c = new TcpConversation(p);
        c.Handshake();
        var segment = new byte[512];
        var frames = new byte[64][];
        for (var i = 0; i < frames.Length; i++)
        {
            frames[i] = c.Frame(true, c.C(i * 512L), segment, TcpFlags.Ack | TcpFlags.Psh, c.S(0));
        }

        var meta = new PacketMeta(TcpConversation.Start + 10_000, 10, "steady.pcap", 10);
        p.Process(LinkTypes.Ethernet, frames[0], frames[0].Length, meta); // warm-up: creates the session
        for (var i = 1; i < 32; i++)
        {
            p.Process(LinkTypes.Ethernet, frames[i], frames[i].Length, meta);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 32; i < frames.Length; i++)
        {
            p.Process(LinkTypes.Ethernet, frames[i], frames[i].Length, meta);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(1, _stats.TcpFlows);
    }

    private sealed class RecordingDatagrams : IDatagramSession
    {
        public List<string> Seen { get; } = [];

        public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta) =>
            Seen.Add($"{direction} {System.Text.Encoding.ASCII.GetString(payload)}");

        public void OnClose(in PacketMeta meta) => Seen.Add("close");
    }

    private sealed class ThrowingDatagrams(Action called) : IDatagramSession
    {
        public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta)
        {
            called();
            throw new InvalidOperationException("secret payload");
        }

        public void OnClose(in PacketMeta meta) => throw new InvalidOperationException("secret");
    }

    private sealed class ThrowingSession : IStreamSession
    {
        public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta) =>
            throw new InvalidOperationException("secret payload");

        public void OnGap(FlowDirection direction, long length, in PacketMeta meta) => throw new InvalidOperationException();

        public void OnClose(in PacketMeta meta) => throw new InvalidOperationException();
    }

    private sealed class NullSession : IStreamSession
    {
        public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
        {
        }

        public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
        {
        }

        public void OnClose(in PacketMeta meta)
        {
        }
    }

    private sealed class OrderSession(List<int> order, int port) : IStreamSession
    {
        public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
        {
        }

        public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
        {
        }

        public void OnClose(in PacketMeta meta) => order.Add(port);
    }
}
