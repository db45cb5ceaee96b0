using System.Runtime.CompilerServices;
using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Core.Flows;

namespace SecMon.Capture.Scans;

/// <summary>
/// Finds scans at the capture level, from the flow table's new flows and their first answers (never per data packet):
/// a probe is a TCP SYN that opens a flow or the first datagram of a UDP flow; its answer is the first packet back
/// (SYN-ACK or a UDP reply: open; RST or an ICMP port unreachable quoting the probe: closed). Each probe counts for two trackers, its (source, host) pair (the ports it
/// probed: a vertical scan) and its (source, port) pair (the hosts probed: a sweep). When a tracker's unanswered distinct
/// probes reach the threshold within the window, and still do after <see cref="ScanOptions.AnswerGraceMicros"/>, one
/// <see cref="ScanEvent"/> (started) is written; when the scan has been quiet for the window, one more (ended, the
/// totals). Memory is fixed: at most <see cref="ScanOptions.MaxTrackers"/> trackers of fixed size, the least recently
/// probing forgotten first (counted), so a flood of new flows costs table churn, never growth. One instance per capture
/// run, on the capture thread. Host discovery is a sweep too, counted in the (source, port 0) tracker only: ICMP and
/// ICMPv6 echo requests answered by echo replies (<c>ping_sweep</c>), and ARP requests for other addresses answered by
/// ARP replies (<c>arp_sweep</c>, fed by the ARP session).
/// </summary>
internal sealed class ScanDetector
{
    /// <summary>The <see cref="ScanKey.Protocol"/> of ARP sweeps (no IP protocol number: 0 is never a flow's, IPv6's
    /// hop-by-hop header being read past).</summary>
    public const byte ProtocolArp = 0;

    private readonly AddressNames _names = new();
    private readonly ScanOptions _options;
    private readonly IEventSink _events;
    private readonly CaptureStats _stats;
    private readonly TrackerTable _table;
    private readonly Stack<ScanTracker> _free = new();
    private readonly List<(ScanTracker Tracker, int Generation)> _pending = [];
    private readonly int _capacity;
    private ScanTracker? _oldest;
    private ScanTracker? _newest;

    /// <summary>Creates a detector that writes its events to <paramref name="events"/>.</summary>
    public ScanDetector(ScanOptions options, IEventSink events, CaptureStats stats)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(stats);
        _options = options;
        _events = events;
        _stats = stats;
        _capacity = Math.Max(2, options.MaxTrackers);
        _table = new TrackerTable(Math.Min(_capacity, 1024));
    }

    /// <summary>Trackers held (never more than <see cref="ScanOptions.MaxTrackers"/>).</summary>
    public int Count => _table.Count;

    /// <summary>Trackers allocated so far (held or pooled): the detector's memory.</summary>
    public int Allocated => _table.Count + _free.Count;

    /// <summary>A TCP packet of <paramref name="flow"/>, after the flow counted it. Cheap for every packet but the first
    /// three of a flow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnTcp(Flow flow, FlowDirection direction, TcpFlags flags, byte ttl, in PacketMeta meta)
    {
        if (flow.PacketsToServer + flow.PacketsToClient <= 3 && flow.ToServer.OpenerSeen)
        {
            Tcp(flow, direction, flags, ttl, meta);
        }
    }

    /// <summary>A UDP datagram of <paramref name="flow"/>, after the flow counted it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnUdp(Flow flow, FlowDirection direction, byte ttl, in PacketMeta meta)
    {
        if (flow.PacketsToServer + flow.PacketsToClient <= 2)
        {
            Udp(flow, direction, ttl, meta);
        }
    }

    /// <summary>An IP packet that is neither TCP nor UDP (<see cref="DecodeResult.OtherTransport"/>): ICMP and ICMPv6
    /// echo requests are ping-sweep probes, echo replies their answers, a port unreachable quoting a UDP probe
    /// answers it as closed, and a time exceeded tells that the probe it quotes expired on the way (it never reached the
    /// host: a traceroute's probe). Other protocols return at once.</summary>
    public void OnOtherTransport(ref DecodedPacket packet, in PacketMeta meta)
    {
        var protocol = packet.Protocol;
        if (protocol is not (IcmpReader.ProtocolIcmp or IcmpReader.ProtocolIcmpV6))
        {
            return;
        }

        var icmp = IcmpReader.Read(protocol, packet.Payload);
        switch (icmp.Kind)
        {
            case IcmpKind.EchoRequest:
                PingProbe(ref packet, meta);
                break;
            case IcmpKind.EchoReply:
                Answer(packet.Destination, packet.Source, 0, protocol, packet.VlanId, open: true);
                break;
            case IcmpKind.UdpPortUnreachable:
                // Sent by the refusing host (or a router for it) about the probe it quotes: the prober is the quoted source.
                Answer(icmp.QuotedSource, icmp.QuotedDestination, icmp.QuotedDestinationPort, PacketDecoder.ProtocolUdp,
                    packet.VlanId, open: false);
                break;
            case IcmpKind.TimeExceeded:
                Expired(icmp.QuotedSource, icmp.QuotedDestination, icmp.QuotedDestinationPort, icmp.QuotedProtocol, packet.VlanId);
                break;
            default:
                break;
        }
    }

    /// <summary>An ARP request from <paramref name="sender"/> for <paramref name="target"/> (not an announcement, not a
    /// probe from 0.0.0.0): a probe of an ARP sweep. <paramref name="conversation"/> is the ARP event's flow context.</summary>
    public void OnArpRequest(IpAddress sender, IpAddress target, ushort vlan, FlowContext conversation, in PacketMeta meta)
    {
        var t = Get(ScanKey.Sweep(sender, 0, ProtocolArp, vlan), meta.TimestampMicros, meta);
        CountProbe(t, target, 0, 0, conversation, _options.HostThreshold, meta);
    }

    /// <summary>An ARP reply from <paramref name="sender"/> to <paramref name="target"/>: answers the target's request.</summary>
    public void OnArpReply(IpAddress sender, IpAddress target, ushort vlan)
    {
        if (_table.TryGetValue(ScanKey.Sweep(target, 0, ProtocolArp, vlan), out var t))
        {
            Record(t, sender, 0, open: true);
        }
    }

    private void PingProbe(ref DecodedPacket packet, in PacketMeta meta)
    {
        var now = meta.TimestampMicros;
        var t = Get(ScanKey.Sweep(packet.Source, 0, packet.Protocol, packet.VlanId), now, meta);

        // The sender's context is made once per tracker window (the first probe's), never per echo request.
        var first = t.First is not null && !(now - t.WindowStart > _options.WindowMicros) ? t.First : new FlowContext
        {
            FlowId = FlowIdentity.ComputeFlowId(packet.Source, 0, packet.Destination, 0, packet.Protocol, packet.VlanId, now),
            CommunityId = "",
            Transport = packet.Protocol == IcmpReader.ProtocolIcmp ? "icmp" : "ipv6-icmp",
            SourceIp = _names.Of(packet.Source),
            SourcePort = 0,
            SourceMac = packet.HasSourceMac ? _names.Of(packet.SourceMac) : null,
            DestinationIp = _names.Of(packet.Destination),
            DestinationPort = 0,
            DestinationMac = packet.HasDestinationMac ? _names.Of(packet.DestinationMac) : null,
            VlanId = packet.VlanId == 0 ? null : packet.VlanId,
            Direction = FlowDirection.ToServer,
            OpenerSeen = true,
            StartMicros = now,
            Observer = meta.Source,
        };
        CountProbe(t, packet.Destination, 0, packet.Ttl, first, _options.HostThreshold, meta);
    }

    /// <summary>Capture time moved on (the flow table's sweep, once a second): confirm the crossings whose answers had
    /// time to come, write the summaries of scans quiet for the window, forget quiet trackers.</summary>
    public void Advance(long nowMicros, in PacketMeta meta)
    {
        Confirm(nowMicros, final: false, meta);
        var quietSince = nowMicros - _options.WindowMicros;
        while (_oldest is { } t && t.LastProbe < quietSince)
        {
            End(t, meta);
            Release(t);
        }
    }

    /// <summary>End of input: confirm what is pending, write the summary of every reported scan (oldest first).</summary>
    public void Complete(in PacketMeta meta)
    {
        Confirm(long.MaxValue, final: true, meta);
        while (_oldest is { } t)
        {
            End(t, meta);
            Release(t);
        }
    }

    private void Tcp(Flow flow, FlowDirection direction, TcpFlags flags, byte ttl, in PacketMeta meta)
    {
        var key = flow.Key;
        var client = flow.ClientIsA ? key.AddressA : key.AddressB;
        var server = flow.ClientIsA ? key.AddressB : key.AddressA;
        var serverPort = flow.ClientIsA ? key.PortB : key.PortA;
        if (direction == FlowDirection.ToServer)
        {
            if (flow.PacketsToServer == 1 && flow.PacketsToClient == 0 && (flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
            {
                Probe(client, server, serverPort, key.Protocol, key.VlanId, ttl, flow.ToServer, meta);
            }
            else if (flow.PacketsToServer == 2 && (flow.PacketsToClient == 1 || (flow.PacketsToClient == 0 && (flags & TcpFlags.Syn) == 0)) &&
                     _table.TryGetValue(ScanKey.Vertical(client, server, key.Protocol, key.VlanId), out var t))
            {
                if (flow.PacketsToClient == 0)
                {
                    // The capture sees one direction (a one-way mirror, asymmetric routing): an ACK or RST after the SYN
                    // replies to a SYN-ACK it did not see, so the port answered. Without this every connection of a
                    // one-sided capture would be an unanswered probe, and a poller's connections a sweep.
                    Answer(client, server, serverPort, key.Protocol, key.VlanId, open: true);
                }

                // The scanner's reply to an answered SYN (a refused one closed the flow): a RST is a half-open (SYN) scan,
                // an ACK a completed handshake (a connect scan); the first reply for each port only.
                if ((flags & TcpFlags.Rst) != 0)
                {
                    t.HalfOpen += t.FirstReply(serverPort, Math.Max(1, _options.MaxOpenListed)) ? 1 : 0;
                }
                else if ((flags & (TcpFlags.Ack | TcpFlags.Syn)) == TcpFlags.Ack)
                {
                    t.Completed += t.FirstReply(serverPort, Math.Max(1, _options.MaxOpenListed)) ? 1 : 0;
                }
            }
        }
        else if (flow.PacketsToClient == 1 && flow.PacketsToServer >= 1)
        {
            if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack))
            {
                Answer(client, server, serverPort, key.Protocol, key.VlanId, open: true);
            }
            else if ((flags & TcpFlags.Rst) != 0)
            {
                Answer(client, server, serverPort, key.Protocol, key.VlanId, open: false);
            }
        }
    }

    private void Udp(Flow flow, FlowDirection direction, byte ttl, in PacketMeta meta)
    {
        long sent, received;
        (sent, received) = direction == FlowDirection.ToServer
            ? (flow.PacketsToServer, flow.PacketsToClient)
            : (flow.PacketsToClient, flow.PacketsToServer);
        if (sent != 1)
        {
            return;
        }

        // The side that sent first probed; the other side's first datagram answers it (whichever the flow calls client).
        var senderIsA = (direction == FlowDirection.ToServer) == flow.ClientIsA;
        var key = flow.Key;
        var sender = senderIsA ? key.AddressA : key.AddressB;
        var receiver = senderIsA ? key.AddressB : key.AddressA;
        var senderPort = senderIsA ? key.PortA : key.PortB;
        var receiverPort = senderIsA ? key.PortB : key.PortA;
        if (received == 0)
        {
            Probe(sender, receiver, receiverPort, key.Protocol, key.VlanId, ttl, flow.Context(direction), meta);
        }
        else
        {
            Answer(receiver, sender, senderPort, key.Protocol, key.VlanId, open: true);
        }
    }

    /// <summary>A probe of <paramref name="host"/>:<paramref name="port"/> from <paramref name="scanner"/>, whose sender
    /// context is <paramref name="sender"/> (the flow hooks call it; tests too).</summary>
    internal void Probe(IpAddress scanner, IpAddress host, ushort port, byte protocol, ushort vlan, byte ttl, FlowContext sender,
        in PacketMeta meta)
    {
        var now = meta.TimestampMicros;
        CountProbe(Get(ScanKey.Vertical(scanner, host, protocol, vlan), now, meta), host, port, ttl, sender, _options.PortThreshold, meta);
        CountProbe(Get(ScanKey.Sweep(scanner, port, protocol, vlan), now, meta), host, port, ttl, sender, _options.HostThreshold, meta);
    }

    private void CountProbe(ScanTracker t, IpAddress host, ushort port, byte ttl, FlowContext sender, int threshold, in PacketMeta meta)
    {
        var now = meta.TimestampMicros;
        if (t.Reported)
        {
            if (now - t.LastProbe > _options.WindowMicros)
            {
                // Quiet for a window, then probing again: the old scan's summary, then a new window.
                End(t, meta);
                t.Reset(t.Key, now);
            }
        }
        else if (!t.Pending && now - t.WindowStart > _options.WindowMicros)
        {
            t.Reset(t.Key, now); // the window passed below the threshold: start a new one
        }

        t.First ??= sender;
        t.AddProbe(host, port, now, ttl);
        Touch(t);
        if (!t.Reported && !t.Pending && t.Unanswered >= threshold)
        {
            t.Pending = true;
            t.PendingSince = now;
            _pending.Add((t, t.Generation));
        }
    }

    /// <summary>The first answer of <paramref name="host"/>:<paramref name="port"/> to a probe of <paramref name="scanner"/>.</summary>
    internal void Answer(IpAddress scanner, IpAddress host, ushort port, byte protocol, ushort vlan, bool open)
    {
        var (vertical, sweep) = TrackersOf(scanner, host, port, protocol, vlan);
        if (vertical is not null)
        {
            Record(vertical, host, port, open);
        }

        if (sweep is not null)
        {
            Record(sweep, host, port, open);
        }
    }

    /// <summary>A router's time exceeded about a probe of <paramref name="host"/>:<paramref name="port"/> from
    /// <paramref name="scanner"/>: the probe never reached the host.</summary>
    internal void Expired(IpAddress scanner, IpAddress host, ushort port, byte protocol, ushort vlan)
    {
        var (vertical, sweep) = TrackersOf(scanner, host, port, protocol, vlan);
        if (vertical is not null)
        {
            vertical.ExpiredCount++;
        }

        if (sweep is not null)
        {
            sweep.ExpiredCount++;
        }
    }

    // The trackers a probe of host:port from scanner counted in, when they are held: its (source, host) pair and its
    // (source, port) pair.
    private (ScanTracker? Vertical, ScanTracker? Sweep) TrackersOf(IpAddress scanner, IpAddress host, ushort port, byte protocol, ushort vlan) =>
        (_table.TryGetValue(ScanKey.Vertical(scanner, host, protocol, vlan), out var vertical) ? vertical : null,
         _table.TryGetValue(ScanKey.Sweep(scanner, port, protocol, vlan), out var sweep) ? sweep : null);

    private void Record(ScanTracker t, IpAddress host, ushort port, bool open)
    {
        if (open)
        {
            if (t.ListOpen(host, port, Math.Max(1, _options.MaxOpenListed)))
            {
                t.OpenCount++;
            }
        }
        else if (t.Key.IsSweep || t.ListClosed(port, Math.Max(1, _options.MaxOpenListed)))
        {
            t.ClosedCount++;
        }
    }

    private void Confirm(long now, bool final, in PacketMeta meta)
    {
        var kept = 0;
        for (var i = 0; i < _pending.Count; i++)
        {
            var (t, generation) = _pending[i];
            if (t.Generation != generation || !t.Pending)
            {
                continue; // forgotten (evicted, expired) since
            }

            if (!final && now - t.PendingSince < _options.AnswerGraceMicros)
            {
                _pending[kept++] = (t, generation);
                continue;
            }

            Judge(t, meta);
        }

        _pending.RemoveRange(kept, _pending.Count - kept);
    }

    // A crossing whose grace is over (or that must be decided now): still over the threshold, it is a scan.
    private void Judge(ScanTracker t, in PacketMeta meta)
    {
        t.Pending = false;
        var threshold = t.Key.IsSweep ? _options.HostThreshold : _options.PortThreshold;
        if (t.Unanswered >= threshold && !t.LooksLikeTrace)
        {
            t.Reported = true;
            t.ScanFlow = ScanFlowOf(t);
            _events.Emit(EventOf(t, "started", meta));
        }
    }

    // The summary of a reported scan (a tracker about to be forgotten or reset).
    private void End(ScanTracker t, in PacketMeta meta)
    {
        if (t.Reported)
        {
            _events.Emit(EventOf(t, "ended", meta));
        }
    }

    private ScanTracker Get(in ScanKey key, long now, in PacketMeta meta)
    {
        if (_table.TryGetValue(key, out var t))
        {
            return t;
        }

        if (_table.Count >= _capacity)
        {
            var victim = _oldest!;
            _stats.ScanTrackerEvictions++;
            if (victim.Pending)
            {
                Judge(victim, meta); // forgotten before its grace ended: judged on the answers seen so far
            }

            End(victim, meta);
            Release(victim);
        }

        t = _free.Count > 0 ? _free.Pop() : new ScanTracker();
        t.Reset(key, now);
        _table.Add(t);
        AddNewest(t);
        return t;
    }

    private void Release(ScanTracker t)
    {
        Unlink(t);
        _table.Remove(t);
        t.Reset(default, 0); // bumps the generation: a pending reference to it is now stale
        _free.Push(t);
    }

    private void Touch(ScanTracker t)
    {
        if (_newest != t)
        {
            Unlink(t);
            AddNewest(t);
        }
    }

    private void AddNewest(ScanTracker t)
    {
        t.Older = _newest;
        t.Newer = null;
        if (_newest is null)
        {
            _oldest = t;
        }
        else
        {
            _newest.Newer = t;
        }

        _newest = t;
    }

    private void Unlink(ScanTracker t)
    {
        if (t.Older is null)
        {
            _oldest = t.Newer;
        }
        else
        {
            t.Older.Newer = t.Newer;
        }

        if (t.Newer is null)
        {
            _newest = t.Older;
        }
        else
        {
            t.Newer.Older = t.Older;
        }

        t.Older = t.Newer = null;
    }

    private static FlowContext ScanFlowOf(ScanTracker t)
    {
        var first = t.First!;
        var key = t.Key;
        var scan = new FlowContext
        {
            // The scan's own id: its source, what it targets and when its window began (the same capture, the same id).
            FlowId = FlowIdentity.ComputeFlowId(key.Scanner, 0, key.Host, key.Port, key.Protocol, key.VlanId, t.WindowStart),
            CommunityId = first.CommunityId,
            Transport = first.Transport,
            SourceIp = first.SourceIp,
            SourcePort = first.SourcePort,
            SourceMac = first.SourceMac,
            DestinationIp = first.DestinationIp,
            DestinationPort = first.DestinationPort,
            DestinationMac = first.DestinationMac,
            VlanId = first.VlanId,
            Direction = FlowDirection.ToServer,
            OpenerSeen = true,
            StartMicros = t.WindowStart,
            Observer = first.Observer,
        };
        scan.CreateReverse();
        return scan;
    }

    private static ScanEvent EventOf(ScanTracker t, string phase, in PacketMeta meta)
    {
        var key = t.Key;
        var kind = key.IsSweep
            ? key.Protocol switch
            {
                IcmpReader.ProtocolIcmp or IcmpReader.ProtocolIcmpV6 => "ping_sweep",
                ProtocolArp => "arp_sweep",
                _ => "sweep",
            }
            : key.Protocol == PacketDecoder.ProtocolUdp ? "udp"
            : t.Completed > t.HalfOpen ? "tcp_connect" : "tcp_syn";
        return new ScanEvent
        {
            Flow = t.ScanFlow!,
            TimestampMicros = Math.Max(meta.TimestampMicros, t.LastProbe),
            PacketNumber = meta.PacketNumber,
            Kind = kind,
            Phase = phase,
            Probes = t.Probes,
            PortCount = key.IsSweep ? 1 : t.Distinct,
            PortLow = t.PortLow,
            PortHigh = t.PortHigh,
            HostCount = key.IsSweep ? t.Distinct : 1,
            HostLow = t.HostLow.ToString(),
            HostHigh = t.HostHigh.ToString(),
            OpenCount = t.OpenCount,
            OpenPorts = key.IsSweep ? null : t.OpenPorts(),
            OpenHosts = key.IsSweep ? t.OpenHosts() : null,
            ClosedCount = t.ClosedCount,
            ClosedPorts = key.IsSweep ? null : t.ClosedPorts(),
            UnansweredCount = Math.Max(0, t.Distinct - t.OpenCount - t.ClosedCount - t.ExpiredCount),
            WindowStartMicros = t.WindowStart,
            WindowEndMicros = t.LastProbe,
        };
    }
}
