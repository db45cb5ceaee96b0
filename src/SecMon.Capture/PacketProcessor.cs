using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Capture.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Capture;

/// <summary>
/// The packet path of the capture engine: decode a frame, find or create its flow, reassemble TCP, hand the
/// bytes to the flow's protocol session. One instance per capture run, used from one thread. Allocation-free per
/// packet in the steady state (existing flows, in-order data); a new flow allocates its contexts and ids once.
/// Never throws for bad input: a malformed, truncated or unsupported frame is counted in <see cref="CaptureStats"/>
/// and reported through <see cref="IDiagnosticSink"/>. Counts everything except Packets and Bytes (the source
/// loop counts those).
/// </summary>
internal sealed class PacketProcessor
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
    private readonly Func<ushort, bool> _isServicePort;
    private readonly FlowTable _flows;
    private readonly Ipv4Defragmenter _defragmenter;
    private readonly ReassemblyContext _reassembly;
    private readonly List<Flow> _expired = [];
    private readonly List<Flow> _lingered = [];
    private readonly int _maxFlows;
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
    /// <param name="isServicePort">Which ports are servers' (to tell the sides of a flow whose opening was not seen);
    /// default: the shipped catalogue's (<see cref="ProtocolCatalogue.IsServicePort"/>).</param>
    public PacketProcessor(CaptureOptions options, CaptureStats stats, IDiagnosticSink diagnostics,
                           Func<FlowContext, IStreamSession?> tcpSessionFactory,
                           Func<FlowContext, IDatagramSession?>? udpSessionFactory = null,
                           Func<ushort, bool>? isServicePort = null)
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
        _isServicePort = isServicePort ?? ProtocolCatalogue.Shipped.IsServicePort;
        _maxFlows = Math.Max(1, options.MaxFlows);
        _flows = new FlowTable(Math.Min(_maxFlows, 4096));
        _defragmenter = new Ipv4Defragmenter(options, stats);
        _reassembly = new ReassemblyContext(options, stats, diagnostics);
    }

    /// <summary>The flow table (for tests and the run summary).</summary>
    public FlowTable Flows => _flows;

    /// <summary>Bytes buffered out of order across all TCP streams, as charged against the bound.</summary>
    public long ReassemblyBufferedBytes => _reassembly.BufferedBytes;

    /// <summary>The IPv4 defragmenter (for tests and the run summary).</summary>
    public Ipv4Defragmenter Defragmenter => _defragmenter;

    /// <summary>One frame: decode, flow lookup, reassembly, hand-off. Never throws for bad input.</summary>
    /// <param name="linkType">pcap LINKTYPE of the frame.</param>
    /// <param name="frame">The captured bytes (valid only during the call).</param>
    /// <param name="originalLength">The frame's length on the wire.</param>
    /// <param name="meta">Where and when the frame was seen.</param>
    public void Process(int linkType, ReadOnlySpan<byte> frame, int originalLength, in PacketMeta meta)
    {
        AdvanceClock(meta);
        var result = PacketDecoder.Decode(linkType, frame, originalLength, out var packet, out var error);
        try
        {
            if (result == DecodeResult.Ipv4Fragment)
            {
                var outcome = _defragmenter.Add(packet.Source, packet.Destination, packet.FragmentId, packet.Protocol,
                    packet.FragmentOffset, packet.MoreFragments, packet.Payload, meta.TimestampMicros, out var datagram, out error);
                if (_defragmenter.LastEvicted > 0)
                {
                    _diagnostics.Report(DiagnosticKind.ResourceLimit, meta,
                        $"IPv4 fragment buffer full (MaxFragmentBytes {_options.MaxFragmentBytes}): dropped the {_defragmenter.LastEvicted} oldest incomplete datagram(s)");
                }

                switch (outcome)
                {
                    case FragmentOutcome.Completed:
                        packet.MoreFragments = false;
                        result = PacketDecoder.DecodeTransport(packet.Protocol, datagram, 0, ref packet, out error);
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
                    _stats.NonIpFrames++;
                    break;
                case DecodeResult.OtherTransport:
                    _stats.OtherTransport++;
                    break;
                case DecodeResult.Ipv6Fragment:
                    _stats.Ipv6Fragments++;
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
        var open = _flows.All.Where(f => !f.IsClosed)
            .OrderBy(f => f.FirstMicros).ThenBy(f => f.ToServer.FlowId, StringComparer.Ordinal).ToList();
        foreach (var flow in open)
        {
            Close(flow, FlowCloseReason.EndOfInput, last);
        }

        foreach (var flow in _flows.All.ToList())
        {
            _flows.Remove(flow);
        }

        _defragmenter.Clear();
    }

    private void AdvanceClock(in PacketMeta meta)
    {
        if (meta.TimestampMicros > _nowMicros)
        {
            _nowMicros = meta.TimestampMicros;
        }

        if (_lastSweepMicros == long.MinValue)
        {
            _lastSweepMicros = _nowMicros;
        }
        else if (_nowMicros - _lastSweepMicros >= SweepIntervalMicros)
        {
            _lastSweepMicros = _nowMicros;
            Sweep(meta);
        }
    }

    private void Sweep(in PacketMeta meta)
    {
        _expired.Clear();
        _lingered.Clear();
        _flows.CollectExpired(_nowMicros, _options.TcpIdleTimeoutMicros, _options.UdpIdleTimeoutMicros, ClosedLingerMicros,
                              _expired, _lingered);
        foreach (var flow in _expired)
        {
            ExpireIdle(flow, meta);
        }

        foreach (var flow in _lingered)
        {
            _flows.Remove(flow);
        }

        _expired.Clear();
        _lingered.Clear();
        _defragmenter.Expire(_nowMicros);
    }

    private void ExpireIdle(Flow flow, in PacketMeta meta)
    {
        _stats.FlowTimeouts++;
        var timeout = flow.IsTcp ? _options.TcpIdleTimeoutMicros : _options.UdpIdleTimeoutMicros;
        Close(flow, FlowCloseReason.IdleTimeout, meta with { TimestampMicros = flow.LastMicros + timeout });
        _flows.Remove(flow);
    }

    private bool IsIdle(Flow flow) =>
        _nowMicros - flow.LastMicros > (flow.IsTcp ? _options.TcpIdleTimeoutMicros : _options.UdpIdleTimeoutMicros);

    private void ProcessTcp(ref DecodedPacket packet, in PacketMeta meta)
    {
        var key = FlowKey.Create(packet.Source, packet.SourcePort, packet.Destination, packet.DestinationPort,
                                 packet.Protocol, packet.VlanId, out var sourceIsA);
        var flags = packet.Flags;
        var syn = (flags & TcpFlags.Syn) != 0;
        var ack = (flags & TcpFlags.Ack) != 0;
        var openingSyn = syn && !ack;

        if (_flows.TryGet(key, out var flow))
        {
            if (flow.IsClosed)
            {
                if (!openingSyn)
                {
                    // The last ACKs and retransmissions of a closed connection.
                    Touch(flow, meta.TimestampMicros);
                    return;
                }

                _flows.Remove(flow);
                flow = null;
            }
            else if (IsIdle(flow))
            {
                ExpireIdle(flow, meta);
                flow = null;
            }
            else if (openingSyn && IsNewConnection(flow, sourceIsA, packet.Sequence))
            {
                Close(flow, FlowCloseReason.Reused, meta);
                _flows.Remove(flow);
                flow = null;
            }
        }

        flow ??= CreateTcpFlow(ref packet, key, sourceIsA, meta);
        var direction = flow.DirectionOf(sourceIsA);
        Count(flow, direction, packet.Payload.Length + packet.MissingPayloadBytes, meta.TimestampMicros);

        TcpStream sender, receiver;
        if (direction == FlowDirection.ToServer)
        {
            sender = flow.ClientStream!;
            receiver = flow.ServerStream!;
        }
        else
        {
            sender = flow.ServerStream!;
            receiver = flow.ClientStream!;
        }

        if (syn)
        {
            sender.OnSyn(packet.Sequence);
            if (ack)
            {
                receiver.OnSynAcknowledged(packet.Acknowledgment);
            }
        }

        var fin = (flags & TcpFlags.Fin) != 0;
        var rst = (flags & TcpFlags.Rst) != 0;
        if (fin)
        {
            if (direction == FlowDirection.ToServer)
            {
                flow.FinFromClient = true;
            }
            else
            {
                flow.FinFromServer = true;
            }
        }

        if (!flow.SessionRequested && !rst && (!packet.Payload.IsEmpty || packet.MissingPayloadBytes > 0))
        {
            flow.SessionRequested = true;
            flow.Session = CreateSession(flow, meta);
        }

        if (flow.Session is not null)
        {
            if (ack)
            {
                receiver.OnPeerAck(packet.Acknowledgment, meta);
            }

            // Data on a SYN (TCP Fast Open, RFC 7413) starts after the SYN's sequence number. Bytes on a RST
            // are diagnostic text, not stream data (RFC 1122 §4.2.2.12), so a RST adds nothing to the stream.
            if (!rst)
            {
                var dataSequence = syn ? packet.Sequence + 1 : packet.Sequence;
                sender.OnSegment(dataSequence, packet.Payload, packet.MissingPayloadBytes, fin, meta);
            }
        }

        if (rst)
        {
            if (flow.Session is null || sender.IsPlausible(packet.Sequence))
            {
                Close(flow, FlowCloseReason.Rst, meta);
                _flows.MoveToClosed(flow);
            }
            else
            {
                _stats.OutOfWindowSegments++;
            }

            return;
        }

        // Both sides sent FIN: close once every byte before each FIN was delivered (or declared a gap by an ACK).
        // A FIN the streams never saw (before the session existed) has nothing to wait for.
        if (flow.FinFromClient && flow.FinFromServer &&
            (flow.Session is null || (!flow.ClientStream!.AwaitingFin && !flow.ServerStream!.AwaitingFin)))
        {
            Close(flow, FlowCloseReason.Fin, meta);
            _flows.MoveToClosed(flow);
        }
    }

    private static bool IsNewConnection(Flow flow, bool sourceIsA, uint sequence)
    {
        // A SYN whose ISN differs from the one this side already used is a new connection on a reused tuple
        // (IoT devices often reconnect from a fixed port); the same ISN is a retransmitted SYN.
        var stream = flow.DirectionOf(sourceIsA) == FlowDirection.ToServer ? flow.ClientStream! : flow.ServerStream!;
        return !(stream.InitialSequenceKnown && stream.InitialSequence == sequence);
    }

    private IStreamSession? CreateSession(Flow flow, in PacketMeta meta)
    {
        try
        {
            return _tcpSessionFactory(flow.ToServer);
        }
#pragma warning disable CA1031 // Isolation boundary: a dissector's factory failing must not stop the capture.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            _stats.MalformedMessages++;
            _diagnostics.Report(DiagnosticKind.MalformedProtocol, meta,
                $"creating the protocol session of flow {ReassemblyContext.Describe(flow)} failed with {ex.GetType().Name}; the flow is not dissected");
            return null;
        }
    }

    private Flow CreateTcpFlow(ref DecodedPacket packet, in FlowKey key, bool sourceIsA, in PacketMeta meta)
    {
        var flags = packet.Flags;
        bool senderIsClient, openerSeen;
        if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
        {
            senderIsClient = true; // the SYN sender opened the connection
            openerSeen = true;
        }
        else if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack))
        {
            senderIsClient = false; // a SYN-ACK goes to the client
            openerSeen = false;
        }
        else
        {
            senderIsClient = SenderLooksLikeClient(packet.SourcePort, packet.DestinationPort, _isServicePort);
            openerSeen = false;
        }

        var flow = CreateFlow(ref packet, key, sourceIsA, senderIsClient, openerSeen, "tcp", meta);
        flow.ClientStream = new TcpStream(flow, FlowDirection.ToServer, _reassembly);
        flow.ServerStream = new TcpStream(flow, FlowDirection.ToClient, _reassembly);
        _stats.TcpFlows++;
        if (!openerSeen)
        {
            _stats.MidStreamFlows++;
        }

        return flow;
    }

    private void ProcessUdp(ref DecodedPacket packet, in PacketMeta meta)
    {
        var key = FlowKey.Create(packet.Source, packet.SourcePort, packet.Destination, packet.DestinationPort,
                                 packet.Protocol, packet.VlanId, out var sourceIsA);
        if (_flows.TryGet(key, out var flow) && IsIdle(flow))
        {
            ExpireIdle(flow, meta);
            flow = null;
        }

        if (flow is null)
        {
            // No handshake: the port heuristic decides; the opener counts as seen when the first sender is the client.
            var senderIsClient = SenderLooksLikeClient(packet.SourcePort, packet.DestinationPort, _isServicePort);
            flow = CreateFlow(ref packet, key, sourceIsA, senderIsClient, senderIsClient, "udp", meta);
            _stats.UdpFlows++;
        }

        var direction = flow.DirectionOf(sourceIsA);
        Count(flow, direction, packet.Payload.Length + packet.MissingPayloadBytes, meta.TimestampMicros);
        if (!flow.SessionRequested && _udpSessionFactory is not null)
        {
            flow.SessionRequested = true;
            flow.DatagramSession = Isolated(flow, meta, "creating the protocol session", () => _udpSessionFactory(flow.ToServer));
        }

        if (flow.DatagramSession is { } session)
        {
            try
            {
                session.OnDatagram(direction, packet.Payload, meta);
            }
#pragma warning disable CA1031 // Isolation boundary: a dissector's bug must not stop the capture.
            catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
            {
                Failed(flow, meta, "a datagram", ex);
            }
        }
    }

    // A datagram session's bug costs its flow, never the capture: counted, said once, the flow left undissected.
    private IDatagramSession? Isolated(Flow flow, in PacketMeta meta, string what, Func<IDatagramSession?> action)
    {
        try
        {
            return action();
        }
#pragma warning disable CA1031 // Isolation boundary: a dissector's bug must not stop the capture.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            Failed(flow, meta, what, ex);
            return null;
        }
    }

    private void Failed(Flow flow, in PacketMeta meta, string what, Exception ex)
    {
        _stats.MalformedMessages++;
        _diagnostics.Report(DiagnosticKind.MalformedProtocol, meta,
            $"the protocol session of flow {ReassemblyContext.Describe(flow)} failed on {what} with {ex.GetType().Name}; the flow is no longer dissected");
        flow.DatagramSession = null;
    }

    private Flow CreateFlow(ref DecodedPacket packet, in FlowKey key, bool sourceIsA, bool senderIsClient, bool openerSeen,
                            string transport, in PacketMeta meta)
    {
        MakeRoom(meta);
        IpAddress clientIp, serverIp;
        ushort clientPort, serverPort;
        string? clientMac, serverMac;
        var sourceMac = packet.HasSourceMac ? packet.SourceMac.ToString() : null;
        var destinationMac = packet.HasDestinationMac ? packet.DestinationMac.ToString() : null;
        if (senderIsClient)
        {
            (clientIp, clientPort, clientMac) = (packet.Source, packet.SourcePort, sourceMac);
            (serverIp, serverPort, serverMac) = (packet.Destination, packet.DestinationPort, destinationMac);
        }
        else
        {
            (clientIp, clientPort, clientMac) = (packet.Destination, packet.DestinationPort, destinationMac);
            (serverIp, serverPort, serverMac) = (packet.Source, packet.SourcePort, sourceMac);
        }

        var toServer = new FlowContext
        {
            FlowId = FlowIdentity.ComputeFlowId(clientIp, clientPort, serverIp, serverPort, key.Protocol, key.VlanId, meta.TimestampMicros),
            CommunityId = FlowIdentity.ComputeCommunityId(clientIp, clientPort, serverIp, serverPort, key.Protocol),
            Transport = transport,
            SourceIp = clientIp.ToString(),
            SourcePort = clientPort,
            SourceMac = clientMac,
            DestinationIp = serverIp.ToString(),
            DestinationPort = serverPort,
            DestinationMac = serverMac,
            VlanId = key.VlanId == 0 ? null : key.VlanId,
            Direction = FlowDirection.ToServer,
            OpenerSeen = openerSeen,
            StartMicros = meta.TimestampMicros,
            Observer = meta.Source,
        };
        toServer.CreateReverse();
        var flow = new Flow(key, clientIsA: sourceIsA == senderIsClient, toServer, meta.TimestampMicros);
        _flows.Add(flow);
        _stats.Flows++;
        return flow;
    }

    private void MakeRoom(in PacketMeta meta)
    {
        while (_flows.Count >= _maxFlows)
        {
            var closed = _flows.OldestClosed;
            if (closed is not null)
            {
                _flows.Remove(closed); // already closed: forgetting it loses nothing
                continue;
            }

            var victim = _flows.OldestOpen;
            if (victim is null)
            {
                return;
            }

            _stats.FlowEvictions++;
            _diagnostics.Report(DiagnosticKind.ResourceLimit, meta,
                $"flow table full ({_maxFlows} flows, MaxFlows): evicted the least recently seen flow {ReassemblyContext.Describe(victim)}");
            Close(victim, FlowCloseReason.Evicted, meta);
            _flows.Remove(victim);
        }
    }

    private static void Count(Flow flow, FlowDirection direction, int payloadBytes, long timestampMicros)
    {
        if (direction == FlowDirection.ToServer)
        {
            flow.PacketsToServer++;
            flow.PayloadBytesToServer += payloadBytes;
        }
        else
        {
            flow.PacketsToClient++;
            flow.PayloadBytesToClient += payloadBytes;
        }

        Touch(flow, timestampMicros);
    }

    private static void Touch(Flow flow, long timestampMicros)
    {
        if (timestampMicros > flow.LastMicros)
        {
            flow.LastMicros = timestampMicros;
        }

        FlowTable.Touch(flow);
    }

    private void Close(Flow flow, FlowCloseReason reason, in PacketMeta meta)
    {
        if (flow.IsClosed)
        {
            return;
        }

        flow.CloseReason = reason;
        if (!flow.IsTcp)
        {
            if (flow.DatagramSession is { } datagrams)
            {
                try
                {
                    datagrams.OnClose(meta);
                }
#pragma warning disable CA1031 // Isolation boundary: a dissector's bug must not stop the capture.
                catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
                {
                    Failed(flow, meta, "closing", ex);
                }

                flow.DatagramSession = null;
            }

            return;
        }

        if (flow.Session is not null)
        {
            var why = reason switch
            {
                FlowCloseReason.Fin => "closed by FIN",
                FlowCloseReason.Rst => "closed by RST",
                FlowCloseReason.IdleTimeout => "idle timeout",
                FlowCloseReason.Evicted => "evicted from the full flow table",
                FlowCloseReason.Reused => "tuple reused by a new connection",
                _ => "end of input",
            };
            flow.ClientStream!.Flush(why, meta);
            flow.ServerStream!.Flush(why, meta);
            _reassembly.Close(flow, meta);
        }

        flow.ClientStream!.Release();
        flow.ServerStream!.Release();
    }

    /// <summary>
    /// Which side of a flow without a handshake is the client: a port below 1024 or a well-known IoT/service port
    /// marks the server; when both or neither do, the lower port is the server if both look like services,
    /// otherwise the first sender is the client.
    /// </summary>
    internal static bool SenderLooksLikeClient(ushort sourcePort, ushort destinationPort) =>
        SenderLooksLikeClient(sourcePort, destinationPort, ProtocolCatalogue.Shipped.IsServicePort);

    /// <summary>As <see cref="SenderLooksLikeClient(ushort, ushort)"/>, with the run's idea of service ports.</summary>
    internal static bool SenderLooksLikeClient(ushort sourcePort, ushort destinationPort, Func<ushort, bool> isServicePort)
    {
        var sourceIsService = isServicePort(sourcePort);
        var destinationIsService = isServicePort(destinationPort);
        if (sourceIsService != destinationIsService)
        {
            return destinationIsService;
        }

        if (sourceIsService && sourcePort != destinationPort)
        {
            return destinationPort < sourcePort;
        }

        return true;
    }
}
