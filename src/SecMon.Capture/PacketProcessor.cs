using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Capture.Protocols;
using SecMon.Capture.Scans;
using SecMon.Core.Flows;

namespace SecMon.Capture;

/// <summary>
/// The packet path of the capture engine: decode a frame, find or create its flow, reassemble TCP, hand the
/// bytes to the flow's protocol session. One instance per capture run, used from one thread. Allocation-free per
/// packet in the steady state (existing flows, in-order data); a new flow allocates its contexts once (its ids are
/// computed when first read).
/// Never throws for bad input: a malformed, truncated or unsupported frame is counted in <see cref="CaptureStats"/>
/// and reported through <see cref="IDiagnosticSink"/>. Counts everything except Packets and Bytes (the source
/// loop counts those). This file decodes and dispatches; the flows' lifecycle lives beside the flow table in Flows/:
/// PacketProcessor.Lifecycle.cs (create, count, expire, evict, close), .Tcp.cs (connections) and .Udp.cs (datagrams).
/// </summary>
internal sealed partial class PacketProcessor
{
    /// <summary>Idle flows are looked for when capture time has moved on by this much (not per packet).</summary>
    public const long SweepIntervalMicros = 1_000_000;

    /// <summary>A TCP flow closed by FIN or RST stays known this long, so the last ACKs and retransmitted FINs do
    /// not start a new flow. A new SYN on the same tuple replaces it at once.</summary>
    public const long ClosedLingerMicros = 10_000_000;

    private readonly CaptureOptions _options;
    private readonly CaptureStats _stats;
    private readonly IDiagnosticSink _diagnostics;
    private readonly Func<FlowContext, IStreamSession?> _tcpSessionFactory;
    private readonly Func<FlowContext, IDatagramSession?>? _udpSessionFactory;
    private readonly Func<ushort, int> _servicePortRank;
    private readonly LinkDispatcher? _link;
    private readonly FlowTable _flows;
    private readonly IpDefragmenter _defragmenter;
    private readonly ReassemblyContext _reassembly;
    private readonly List<Flow> _expired = [];
    private readonly List<Flow> _lingered = [];
    private readonly int _maxFlows;
    // The flow table's bound now: MaxFlows, lowered while the managed heap is above the memory budget's share.
    private int _flowCap;
    private int _sinceMemoryCheck;
    private int _lastCollections = -1;
    private readonly AddressNames _names = new();
    private readonly LinkAddresses _linkAddresses = new();
    private readonly RoutedAddresses _routed = new();
    private readonly DuplicateFilter _duplicates = new();
    private readonly ScanDetector? _scans;
    private readonly IEventSink? _flowEnds;
    private readonly Hosts.HostTracker? _hosts;
    private long _nowMicros = long.MinValue;
    private long _lastSweepMicros = long.MinValue;

    /// <summary>Creates the packet path.</summary>
    /// <param name="options">Limits and timeouts.</param>
    /// <param name="stats">Counters to update.</param>
    /// <param name="diagnostics">Where malformed input, gaps and hit limits are reported.</param>
    /// <param name="tcpSessionFactory">Given the to-server context of a TCP flow when its first payload arrives;
    /// returns the protocol session, or null to ignore the flow's payload (it is still tracked and counted).</param>
    /// <param name="udpSessionFactory">The same for UDP flows, asked on a flow's first datagram; null: UDP flows are
    /// tracked and counted only.</param>
    /// <param name="servicePortRank">How strongly each port marks a server (to tell the sides of a flow whose opening was
    /// not seen); default: the shipped catalogue's (<see cref="ProtocolCatalogue.ServicePortRank"/>).</param>
    /// <param name="scans">The scan detector fed from new flows and their first answers; null: none.</param>
    /// <param name="link">Where non-IP frames go (ARP); null: they are only counted.</param>
    /// <param name="flowEnds">Told when a flow that had a protocol session ends (<see cref="IEventSink.FlowEnded"/>), so
    /// the consumers of its events forget their state of it; null: no one.</param>
    /// <param name="hosts">Told the first packet of each direction of a flow (hosts seen in IP traffic); null: none.</param>
    public PacketProcessor(CaptureOptions options, CaptureStats stats, IDiagnosticSink diagnostics,
                           Func<FlowContext, IStreamSession?> tcpSessionFactory,
                           Func<FlowContext, IDatagramSession?>? udpSessionFactory = null,
                           Func<ushort, int>? servicePortRank = null,
                           ScanDetector? scans = null,
                           LinkDispatcher? link = null,
                           IEventSink? flowEnds = null,
                           Hosts.HostTracker? hosts = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(diagnostics);
        ArgumentNullException.ThrowIfNull(tcpSessionFactory);
        _options = options;
        _stats = stats;
        _diagnostics = diagnostics;
        _tcpSessionFactory = tcpSessionFactory;
        _udpSessionFactory = udpSessionFactory;
        _servicePortRank = servicePortRank ?? ProtocolCatalogue.Shipped.ServicePortRank;
        _link = link;
        _maxFlows = Math.Max(1, options.MaxFlows);
        _flowCap = _maxFlows;
        // Sized for the flow limit at once (16 bytes a slot, two slots a flow: 2 MB for the default 65,536), not grown
        // from a few thousand: each doubling rehashed every flow held (a cache miss on each) and left the old array
        // to the collector, and a busy segment reaches the limit within seconds (bench/README.md, "Session 33").
        _flows = new FlowTable(_maxFlows);
        _defragmenter = new IpDefragmenter(options, stats);
        _reassembly = new ReassemblyContext(options, stats, diagnostics);
        _scans = scans;
        _flowEnds = flowEnds;
        _hosts = hosts;
    }

    /// <summary>The flow table (for tests and the run summary).</summary>
    public FlowTable Flows => _flows;

    /// <summary>Bytes buffered out of order across all TCP streams, as charged against the bound.</summary>
    public long ReassemblyBufferedBytes => _reassembly.BufferedBytes;

    /// <summary>The IP defragmenter (for tests and the run summary).</summary>
    public IpDefragmenter Defragmenter => _defragmenter;

    /// <summary>The scan detector, if any (for tests and the run summary).</summary>
    public ScanDetector? Scans => _scans;

    /// <summary>One frame: decode, flow lookup, reassembly, hand-off. Never throws for bad input.</summary>
    /// <param name="linkType">pcap LINKTYPE of the frame.</param>
    /// <param name="frame">The captured bytes (valid only during the call).</param>
    /// <param name="originalLength">The frame's length on the wire.</param>
    /// <param name="meta">Where and when the frame was seen.</param>
    public void Process(int linkType, ReadOnlySpan<byte> frame, int originalLength, in PacketMeta meta)
    {
        AdvanceClock(meta);
        if (++_sinceMemoryCheck >= MemoryCheckPackets)
        {
            CheckMemory(meta);
        }

        if (originalLength > frame.Length)
        {
            _stats.SnapCutFrames++;
            _stats.SnapCutBytes += originalLength - frame.Length;
        }

        var result = PacketDecoder.Decode(linkType, frame, originalLength, out var packet, out var error);
        if (meta.Interface != 0 && !packet.Cooked)
        {
            packet.Interface = meta.Interface; // the file's interface (pcapng); a cooked v2 frame's own index stands
        }

        if (packet.Tunnels > 0)
        {
            _stats.Decapsulated++;
        }

        try
        {
            if (result is DecodeResult.Ipv4Fragment or DecodeResult.Ipv6Fragment)
            {
                var outcome = _defragmenter.Add(packet.Source, packet.Destination, packet.FragmentId, packet.Protocol,
                    packet.FragmentOffset, packet.MoreFragments, packet.Payload, meta.TimestampMicros, out var datagram,
                    out var protocol, out error);
                if (_defragmenter.LastEvicted > 0)
                {
                    _diagnostics.Report(DiagnosticKind.ResourceLimit, meta,
                        $"IP fragment buffer full (MaxFragmentBytes {_options.MaxFragmentBytes}): dropped the {_defragmenter.LastEvicted} oldest incomplete datagram(s)");
                }

                switch (outcome)
                {
                    case FragmentOutcome.Completed:
                        packet.MoreFragments = false;
                        packet.FragmentOffset = 0;
                        result = result == DecodeResult.Ipv4Fragment
                            ? PacketDecoder.DecodeTransport(protocol, datagram, 0, ref packet, out error)
                            : PacketDecoder.DecodeReassembledIpv6(protocol, datagram, ref packet, out error);
                        break;
                    case FragmentOutcome.DroppedMalformed:
                        _stats.MalformedFrames++;
                        _diagnostics.Report(DiagnosticKind.MalformedFrame, meta, error!);
                        return;
                    case FragmentOutcome.DroppedLimit:
                        _diagnostics.Report(DiagnosticKind.ResourceLimit, meta, error!);
                        return;
                    default:
                        return; // pending or duplicate
                }
            }

            if (result is DecodeResult.Ok or DecodeResult.OtherTransport)
            {
                // What each interface of a cooked capture sees is learned from every copy; the packet is analysed once.
                _linkAddresses.Learn(packet); // returns at once unless the frame has the sender's MAC only
                if (result == DecodeResult.OtherTransport && packet.HasSourceMac && RoutedAddresses.IsInitial(packet.Ttl))
                {
                    _routed.OnLink(packet.Source, packet.Segment); // neighbour discovery, pings from the segment
                }

                if (_duplicates.IsCopy(ref packet, meta.TimestampMicros))
                {
                    _stats.DuplicateFrames++; // the capture saw this packet twice (two interfaces, two mirrored ports)
                    return;
                }
            }

            switch (result)
            {
                case DecodeResult.Ok when packet.Protocol == PacketDecoder.ProtocolTcp:
                    ProcessTcp(ref packet, meta);
                    break;
                case DecodeResult.Ok:
                    ProcessUdp(ref packet, meta);
                    break;
                case DecodeResult.UnknownLinkType:
                    _stats.UnknownLinkType++;
                    _diagnostics.Report(DiagnosticKind.UnknownLinkType, meta, error!);
                    break;
                case DecodeResult.Truncated:
                    _stats.TruncatedFrames++;
                    _diagnostics.Report(DiagnosticKind.TruncatedFrame, meta, error!);
                    break;
                case DecodeResult.Malformed:
                    _stats.MalformedFrames++;
                    _diagnostics.Report(DiagnosticKind.MalformedFrame, meta, error!);
                    break;
                case DecodeResult.NonIp:
                    if (packet.EtherType == Protocols.Arp.ArpProtocol.EtherTypeArp && Protocols.Arp.ArpParser.TryRead(packet.Payload, out var arp, out _))
                    {
                        _linkAddresses.Learn(packet, arp);
                        _routed.OnLink(new IpAddress(0, arp.SenderIp, false), packet.Segment); // a host that speaks ARP is on the segment
                    }

                    if (_duplicates.IsFrameOnAnotherInterface(ref packet, meta.TimestampMicros))
                    {
                        _stats.DuplicateFrames++; // an ARP frame tcpdump -i any saw on another port of a bridge too
                        break;
                    }

                    _stats.NonIpFrames++;
                    _link?.OnFrame(ref packet, meta);
                    break;
                case DecodeResult.OtherTransport:
                    _stats.OtherTransport++;
                    _scans?.OnOtherTransport(ref packet, meta);
                    break;
                default:
                    break;
            }
        }
        finally
        {
            _defragmenter.ReleaseCompleted();
        }
    }

    /// <summary>End of input: deliver what can be delivered, report holes as gaps, close every flow (OnClose),
    /// drop incomplete fragmented datagrams. Flows are closed in the order they started, so output is deterministic.</summary>
    public void Complete(in PacketMeta last)
    {
        // In start time order, the flow id breaking ties (it is computed when first read: only for flows that tie here).
        // Sorted by the start times copied into an array of their own: a comparison that read each flow's start time from
        // the flow itself was a cache miss or two per comparison, tens of thousands of flows at the end of a capture.
        var open = _flows.All.Where(f => !f.IsClosed).ToArray();
        var starts = Array.ConvertAll(open, f => f.FirstMicros);
        Array.Sort(starts, open);
        for (int i = 0, j; i < open.Length; i = j)
        {
            for (j = i + 1; j < open.Length && starts[j] == starts[i]; j++)
            {
            }

            if (j - i > 1)
            {
                Array.Sort(open, i, j - i, TiesByFlowId);
            }
        }

        foreach (var flow in open)
        {
            Close(flow, FlowCloseReason.EndOfInput, last);
        }

        foreach (var flow in _flows.All.ToList())
        {
            _flows.Remove(flow);
        }

        _defragmenter.Clear();
        _scans?.Complete(last);
    }

    private static readonly Comparer<Flow> TiesByFlowId =
        Comparer<Flow>.Create(static (x, y) => string.CompareOrdinal(x.ToServer.FlowId, y.ToServer.FlowId));
}
