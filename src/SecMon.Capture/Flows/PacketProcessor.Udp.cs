using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Capture.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Capture;

/// <summary>UDP flows of the packet path: tracked by 5-tuple, each with one datagram session (asked of the catalogue's
/// datagram protocols on the first datagram), isolated so a dissector's bug costs its flow only.</summary>
internal sealed partial class PacketProcessor
{
    private void ProcessUdp(ref DecodedPacket packet, in PacketMeta meta)
    {
        var key = FlowKey.Create(packet.Source, packet.SourcePort, packet.Destination, packet.DestinationPort,
                                 packet.Protocol, packet.VlanId, out var sourceIsA,
                                 packet.HasSourceMac ? packet.SourceMac.Value : 0);
        var hash = _flows.Hash(key);
        if (_flows.TryGet(key, hash, out var flow) && IsIdle(flow))
        {
            ExpireIdle(flow, meta);
            flow = null;
        }

        if (flow is null)
        {
            // No handshake: the port heuristic decides; the opener counts as seen when the first sender is the client.
            var senderIsClient = SenderLooksLikeClient(packet.SourcePort, packet.DestinationPort, _servicePortRank);
            flow = CreateFlow(ref packet, key, hash, sourceIsA, senderIsClient, senderIsClient, meta);
            _stats.UdpFlows++;
        }

        var direction = flow.DirectionOf(sourceIsA);
        if (flow.Translated)
        {
            _stats.TranslatedCopies++;
            Count(flow, direction, packet.Payload.Length + packet.MissingPayloadBytes, meta.TimestampMicros);
            return;
        }

        SeeHost(flow, ref packet, direction, meta);
        Count(flow, direction, packet.Payload.Length + packet.MissingPayloadBytes, meta.TimestampMicros);
        _scans?.OnUdp(flow, direction, packet.Ttl, meta);
        if (!flow.SessionRequested && _udpSessionFactory is not null)
        {
            flow.SessionRequested = true;
            try
            {
                flow.DatagramSession = _udpSessionFactory(flow.ToServer);
            }
#pragma warning disable CA1031 // Isolation boundary: a dissector's bug must not stop the capture.
            catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
            {
                Failed(flow, meta, "creating the protocol session", ex);
            }
        }

        if (flow.DatagramSession is { } session)
        {
            try
            {
                session.OnDatagram(direction, packet.Payload, meta);
                if (session is DatagramDispatcher { Claimed: { } claimed } && flow.DatagramSession == session)
                {
                    // A protocol claimed the flow: the flow holds its session itself, one object fewer to reach per
                    // datagram (and the dispatcher, no longer referenced, is collected young).
                    flow.DatagramSession = claimed;
                }
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
    private void Failed(Flow flow, in PacketMeta meta, string what, Exception ex)
    {
        _stats.MalformedMessages++;
        _diagnostics.Report(DiagnosticKind.MalformedProtocol, meta,
            $"the protocol session of flow {ReassemblyContext.Describe(flow)} failed on {what} with {ex.GetType().Name}; the flow is no longer dissected");
        flow.DatagramSession = null;
    }

    // The end of a UDP flow (idle timeout, eviction, end of input): its session reports what is left.
    private void CloseDatagrams(Flow flow, in PacketMeta meta)
    {
        if (flow.DatagramSession is not { } datagrams)
        {
            return;
        }

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
}
