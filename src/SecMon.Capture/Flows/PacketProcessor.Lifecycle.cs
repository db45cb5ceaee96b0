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
        var timeout = flow.IsTcp ? _options.TcpIdleTimeoutMicros : _options.UdpIdleTimeoutMicros;
        Close(flow, FlowCloseReason.IdleTimeout, meta with { TimestampMicros = flow.LastMicros + timeout });
        _flows.Remove(flow);
    }

    private bool IsIdle(Flow flow) =>
        _nowMicros - flow.LastMicros > (flow.IsTcp ? _options.TcpIdleTimeoutMicros : _options.UdpIdleTimeoutMicros);

    private Flow CreateFlow(ref DecodedPacket packet, in FlowKey key, bool sourceIsA, bool senderIsClient, bool openerSeen,
                            string transport, in PacketMeta meta)
    {
        MakeRoom(meta);
        IpAddress clientIp, serverIp;
        ushort clientPort, serverPort;
        string? clientMac, serverMac;
        var sourceMac = packet.HasSourceMac ? _names.Of(packet.SourceMac) : null;
        var destinationMac = packet.HasDestinationMac ? _names.Of(packet.DestinationMac) : null;
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
            SourceIp = _names.Of(clientIp),
            SourcePort = clientPort,
            SourceMac = clientMac,
            DestinationIp = _names.Of(serverIp),
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

            // A flow that never carried payload goes before one that did (FlowTable: floods and scans do not push out
            // the sessions being watched).
            var quiet = _flows.OldestQuiet;
            var victim = quiet ?? _flows.OldestOpen;
            if (victim is null)
            {
                return;
            }

            _stats.FlowEvictions++;
            if (quiet is not null)
            {
                _stats.QuietFlowEvictions++;
            }

            _diagnostics.Report(DiagnosticKind.ResourceLimit, meta, !_diagnostics.Shows(DiagnosticKind.ResourceLimit) ? "flow table full: flow evicted"
                : quiet is not null
                ? $"flow table full ({_maxFlows} flows, MaxFlows): evicted the least recently seen flow that carried no payload {ReassemblyContext.Describe(victim)}"
                : $"flow table full ({_maxFlows} flows, MaxFlows): evicted the least recently seen flow {ReassemblyContext.Describe(victim)}");
            Close(victim, FlowCloseReason.Evicted, meta);
            _flows.Remove(victim);
        }
    }

    private void Count(Flow flow, FlowDirection direction, int payloadBytes, long timestampMicros)
    {
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
        if (flow.IsTcp)
        {
            CloseConnection(flow, reason, meta);
        }
        else
        {
            CloseDatagrams(flow, meta);
        }
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
