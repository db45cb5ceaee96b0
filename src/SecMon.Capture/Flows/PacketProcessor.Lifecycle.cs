using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Capture.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Capture;

/// <summary>What every flow goes through, whatever its transport: created on its first packet (with its ids and
/// contexts), counted, expired when idle (capture time), evicted when the table is full, closed (its session told).</summary>
internal sealed partial class PacketProcessor
{
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
            if (_nowMicros - flow.LastMicros <= IdleLimit(flow))
            {
                // Idle past the TCP timeout, but its protocol keeps the session open longer (an MQTT keep alive):
                // held, at the newest end of its list, until the walk reaches it again.
                FlowTable.Hold(flow, _nowMicros);
                continue;
            }

            ExpireIdle(flow, meta);
        }

        foreach (var flow in _lingered)
        {
            _flows.Remove(flow);
        }

        _expired.Clear();
        _lingered.Clear();
        _defragmenter.Expire(_nowMicros);
        _scans?.Advance(_nowMicros, meta);
    }

    private void ExpireIdle(Flow flow, in PacketMeta meta)
    {
        _stats.FlowTimeouts++;
        Close(flow, FlowCloseReason.IdleTimeout, meta with { TimestampMicros = flow.LastMicros + IdleLimit(flow) });
        _flows.Remove(flow);
    }

    // The session is asked only past the transport's timeout (IsIdle runs for every packet).
    private bool IsIdle(Flow flow)
    {
        var silent = _nowMicros - flow.LastMicros;
        return silent > (flow.IsTcp ? _options.TcpIdleTimeoutMicros : _options.UdpIdleTimeoutMicros) && silent > IdleLimit(flow);
    }

    // The transport's idle timeout, or longer when the flow's protocol keeps its session open longer (IdleHoldMicros).
    private long IdleLimit(Flow flow) => flow.IsTcp
        ? Math.Max(_options.TcpIdleTimeoutMicros, flow.Session?.IdleHoldMicros ?? 0)
        : _options.UdpIdleTimeoutMicros;

    private Flow CreateFlow(ref DecodedPacket packet, in FlowKey key, int hash, bool sourceIsA, bool senderIsClient, bool openerSeen,
                            in PacketMeta meta)
    {
        MakeRoom(meta);
        IpAddress clientIp, serverIp;
        string? clientMac, serverMac;
        var sourceMac = packet.HasSourceMac ? _names.Of(packet.SourceMac) : null;
        var (receiverMac, hasReceiverMac) = (packet.DestinationMac, packet.HasDestinationMac);
        if (!hasReceiverMac && packet.HasSourceMac && _linkAddresses.TryGet(packet.Destination, packet.Interface, out var learned))
        {
            // A cooked capture carries the sender's MAC only: the receiver's is the one it last sent from.
            (receiverMac, hasReceiverMac) = (learned, true);
        }

        // A side off the segment came through a router: the frame's MAC on that side is the router's, not its own.
        var hasSenderMac = packet.HasSourceMac && !_routed.SenderIsRouted(ref packet);
        hasReceiverMac = hasReceiverMac && !_routed.ReceiverIsRouted(packet.Destination, packet.Segment, receiverMac);
        sourceMac = hasSenderMac ? sourceMac : null;
        var destinationMac = hasReceiverMac ? _names.Of(receiverMac) : null;
        if (senderIsClient)
        {
            (clientIp, clientMac) = (packet.Source, sourceMac);
            (serverIp, serverMac) = (packet.Destination, destinationMac);
        }
        else
        {
            (clientIp, clientMac) = (packet.Destination, destinationMac);
            (serverIp, serverMac) = (packet.Source, sourceMac);
        }

        // The ids are hashed when first read (an event's consumer), not here: most flows' ids are read on another thread
        // or never (the flow is its contexts' source of ids).
        var flow = new Flow(key, clientIsA: sourceIsA == senderIsClient, meta.TimestampMicros, _names.Of(clientIp),
                            _names.Of(serverIp), clientMac, serverMac, openerSeen, meta.Source)
        {
            LastMicros = Math.Max(_nowMicros, meta.TimestampMicros),
            ClientMac = senderIsClient ? packet.SourceMac : receiverMac,
            ServerMac = senderIsClient ? receiverMac : packet.SourceMac,
            HasClientMac = senderIsClient ? hasSenderMac : hasReceiverMac,
            HasServerMac = senderIsClient ? hasReceiverMac : hasSenderMac,
        };
        flow.Translated = _duplicates.IsTranslatedCopy(ref packet, meta.TimestampMicros, flow, out var earlierCopy);
        if (earlierCopy is not null)
        {
            earlierCopy.Translated = true; // read before its original: from its second packet on, followed only
        }

        _flows.Add(flow, hash);
        _stats.Flows++;
        return flow;
    }

    /// <summary>The memory budget is checked every this many packets (a look at the last collection's figures).</summary>
    internal const int MemoryCheckPackets = 16_384;

    // The memory budget (CaptureOptions.MemoryBudgetBytes): after each collection, a managed heap above the budget's share
    // evicts up to an eighth of the flows, least recently seen first and only those idle for PressureIdleMicros, and
    // lowers the table's bound to what is left, so new flows cannot refill it; once the heap is back under three quarters
    // of the share, the bound grows back by an eighth per collection. The heap is read from the last collection (live
    // data plus what older generations have not yet collected), never by forcing one.
    private void CheckMemory(in PacketMeta meta)
    {
        _sinceMemoryCheck = 0;
        var collections = GC.CollectionCount(0);
        if (collections == _lastCollections)
        {
            return; // nothing measured since the last look
        }

        _lastCollections = collections;
        var info = GC.GetGCMemoryInfo();
        var heap = info.HeapSizeBytes - info.FragmentedBytes;
        var share = _options.PressureHeapBytes;
        // Never below a sixteenth of MaxFlows: what else fills the heap is bounded by the same budget, and a sensor that
        // tracks no flow sees nothing.
        var floor = Math.Max(1, _maxFlows / 16);
        if (heap > share && _flows.Count > floor)
        {
            var keep = Math.Max(floor, _flows.Count - Math.Max(1, _flows.Count / 8));
            var before = _stats.FlowEvictions;
            Shrink(keep, meta, pressure: true);
            if (_stats.FlowEvictions == before)
            {
                return; // every flow is in use: none is cut for the budget (measured: cutting live sessions only churns)
            }

            _flowCap = Math.Max(floor, _flows.Count);
            _diagnostics.Report(DiagnosticKind.ResourceLimit, meta,
                $"memory budget: managed heap {heap >> 20} MiB above its share {share >> 20} MiB of capture.memory_budget " +
                $"{_options.MemoryBudgetBytes >> 20} MiB: evicted the {_stats.FlowEvictions - before} least recently seen flows, " +
                $"flow table bound now {_flowCap}");
        }
        else if (heap < share / 4 * 3 && _flowCap < _maxFlows)
        {
            _flowCap = Math.Min(_maxFlows, _flowCap + Math.Max(1, _maxFlows / 8));
        }
    }

    /// <summary>Under memory pressure only flows idle for this long (capture time) are evicted: a flow seen more recently
    /// is in use, and cutting it would only make it start again mid-stream (10 s, as long as a closed flow lingers).</summary>
    internal const long PressureIdleMicros = ClosedLingerMicros;

    private void MakeRoom(in PacketMeta meta) => Shrink(_flowCap - 1, meta, pressure: false);

    // Evicts flows until at most `keep` are left: closed ones first (forgetting them loses nothing), then those that never
    // carried payload, then the least recently seen. Under memory pressure: closed ones, then the least recently seen of
    // any kind, and only while it has been idle for PressureIdleMicros.
    private void Shrink(int keep, in PacketMeta meta, bool pressure)
    {
        while (_flows.Count > keep)
        {
            var closed = _flows.OldestClosed;
            if (closed is not null)
            {
                _flows.Remove(closed); // already closed: forgetting it loses nothing
                continue;
            }

            // A flow that never carried payload goes before one that did (FlowTable: floods and scans do not push out
            // the sessions being watched).
            var quiet = _flows.OldestQuiet;
            var victim = quiet ?? _flows.OldestOpen;
            if (pressure && quiet is not null && _flows.OldestOpen is { } open && open.LastMicros < quiet.LastMicros)
            {
                (quiet, victim) = (null, open);
            }

            if (victim is null || (pressure && _nowMicros - victim.LastMicros < PressureIdleMicros))
            {
                return;
            }

            _stats.FlowEvictions++;
            if (quiet is not null)
            {
                _stats.QuietFlowEvictions++;
            }

            if (pressure)
            {
                // One report per round (CheckMemory), not per flow.
                _stats.PressureFlowEvictions++;
                Close(victim, FlowCloseReason.Evicted, meta);
                _flows.Remove(victim);
                continue;
            }

            _diagnostics.Report(DiagnosticKind.ResourceLimit, meta, !_diagnostics.Shows(DiagnosticKind.ResourceLimit) ? "flow table full: flow evicted"
                : quiet is not null
                ? $"flow table full ({_flowCap} flows, MaxFlows): evicted the least recently seen flow that carried no payload {ReassemblyContext.Describe(victim)}"
                : $"flow table full ({_flowCap} flows, MaxFlows): evicted the least recently seen flow {ReassemblyContext.Describe(victim)}");
            Close(victim, FlowCloseReason.Evicted, meta);
            _flows.Remove(victim);
        }
    }

    private void Count(Flow flow, FlowDirection direction, int payloadBytes, long timestampMicros)
    {
        Touch(flow, timestampMicros);
        if (payloadBytes > 0)
        {
            _flows.Carried(flow);
        }

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
    }

    // The run's clock, not the packet's own time (Flow.LastMicros).
    private void Touch(Flow flow, long timestampMicros)
    {
        var now = Math.Max(_nowMicros, timestampMicros);
        if (now > flow.LastMicros)
        {
            flow.LastMicros = now;
        }

        _flows.Touch(flow);
    }

    private void Close(Flow flow, FlowCloseReason reason, in PacketMeta meta)
    {
        if (flow.IsClosed)
        {
            return;
        }

        flow.CloseReason = reason;
        // Only a flow with a protocol session can have had events (a SYN of a flood had none: nothing to tell).
        var hadEvents = flow.IsTcp ? flow.Session is not null : flow.DatagramSession is not null;
        if (flow.IsTcp)
        {
            if ((flow.PacketsToServer == 0 || flow.PacketsToClient == 0) && flow.PayloadBytesToServer + flow.PayloadBytesToClient > 0 && !flow.Translated)
            {
                _stats.OneSidedTcpFlows++; // TCP data is acknowledged: no packet back means the capture missed that side
            }

            CloseConnection(flow, reason, meta);
        }
        else
        {
            CloseDatagrams(flow, meta);
        }

        if (hadEvents)
        {
            // After the session's last events (closing flushes them): the consumers forget the flow.
            _flowEnds?.FlowEnded(flow.ToServer);
        }
    }

    /// <summary>
    /// Which side of a flow without a handshake is the client: the side whose port ranks higher as a server's
    /// (<see cref="ProtocolCatalogue.ServicePortRank"/>: a dissected protocol's declared server port, then a port below
    /// 1024 or another well-known service port) is the server; between two ports of the same non-zero rank the lower
    /// one is the server; otherwise the first sender is the client.
    /// </summary>
    internal static bool SenderLooksLikeClient(ushort sourcePort, ushort destinationPort) =>
        SenderLooksLikeClient(sourcePort, destinationPort, ProtocolCatalogue.Shipped.ServicePortRank);

    /// <summary>As <see cref="SenderLooksLikeClient(ushort, ushort)"/>, with the run's ranking of service ports.</summary>
    internal static bool SenderLooksLikeClient(ushort sourcePort, ushort destinationPort, Func<ushort, int> servicePortRank)
    {
        var sourceRank = servicePortRank(sourcePort);
        var destinationRank = servicePortRank(destinationPort);
        if (sourceRank != destinationRank)
        {
            return destinationRank > sourceRank;
        }

        if (sourceRank != 0 && sourcePort != destinationPort)
        {
            return destinationPort < sourcePort;
        }

        return true;
    }
}
