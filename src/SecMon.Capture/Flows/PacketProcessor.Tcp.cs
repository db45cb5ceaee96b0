using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Capture.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Capture;

/// <summary>The TCP connection lifecycle of the packet path: which side is the client, SYN/FIN/RST handling, a new
/// connection on a reused tuple, the two reassembled streams and the protocol session they feed.</summary>
internal sealed partial class PacketProcessor
{
    private void ProcessTcp(ref DecodedPacket packet, in PacketMeta meta)
    {
        var key = FlowKey.Create(packet.Source, packet.SourcePort, packet.Destination, packet.DestinationPort,
                                 packet.Protocol, packet.VlanId, out var sourceIsA);
        var flags = packet.Flags;
        var syn = (flags & TcpFlags.Syn) != 0;
        var ack = (flags & TcpFlags.Ack) != 0;
        var openingSyn = syn && !ack;

        var hash = _flows.Hash(key);
        if (_flows.TryGet(key, hash, out var flow))
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

        flow ??= CreateTcpFlow(ref packet, key, hash, sourceIsA, meta);
        var direction = flow.DirectionOf(sourceIsA);
        if (flow.Translated)
        {
            // Another flow's packets after NAT: followed to their end (FIN, RST, idle) and nothing more.
            _stats.TranslatedCopies++;
        }
        else
        {
            SeeHost(flow, ref packet, direction, meta);
        }

        Count(flow, direction, packet.Payload.Length + packet.MissingPayloadBytes, meta.TimestampMicros);
        if (!flow.Translated)
        {
            _scans?.OnTcp(flow, direction, flags, packet.Ttl, meta);
        }

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

        if (!flow.SessionRequested && !flow.Translated && !rst && (!packet.Payload.IsEmpty || packet.MissingPayloadBytes > 0))
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

    private Flow CreateTcpFlow(ref DecodedPacket packet, in FlowKey key, int hash, bool sourceIsA, in PacketMeta meta)
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
            senderIsClient = SenderLooksLikeClient(packet.SourcePort, packet.DestinationPort, _servicePortRank);
            openerSeen = false;
        }

        var flow = CreateFlow(ref packet, key, hash, sourceIsA, senderIsClient, openerSeen, meta);
        flow.ClientStream = new TcpStream(flow, FlowDirection.ToServer, _reassembly);
        flow.ServerStream = new TcpStream(flow, FlowDirection.ToClient, _reassembly);
        _stats.TcpFlows++;
        if (!openerSeen)
        {
            _stats.MidStreamFlows++;
        }

        return flow;
    }

    // The end of a connection: deliver what the streams hold (holes become gaps), tell the session, free the buffers.
    private void CloseConnection(Flow flow, FlowCloseReason reason, in PacketMeta meta)
    {
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
}
