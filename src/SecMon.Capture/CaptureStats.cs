using System.Runtime.InteropServices;
using SecMon.Capture.Protocols;

namespace SecMon.Capture;

/// <summary>
/// Counters of one capture run. Written only by the capture thread (plain fields, no interlocking);
/// read for the summary at the end or by a progress reporter that tolerates torn reads.
/// </summary>
internal sealed class CaptureStats
{
    /// <summary>Packets read from the sources.</summary>
    public long Packets;
    /// <summary>Bytes captured (the captured length of every packet).</summary>
    public long Bytes;
    /// <summary>Packets the kernel or the capture library dropped (live capture).</summary>
    public long KernelDrops;
    /// <summary>Packets dropped between the capture callback and the decoder (live capture, bounded channel full).</summary>
    public long ChannelDrops;
    /// <summary>Packets with a link type SecMon cannot decode.</summary>
    public long UnknownLinkType;
    /// <summary>Frames that ended before their headers did.</summary>
    public long TruncatedFrames;
    /// <summary>Frames with an invalid link, IP or transport header.</summary>
    public long MalformedFrames;
    /// <summary>Frames that are not IP (ARP, LLDP...), counted and skipped.</summary>
    public long NonIpFrames;
    /// <summary>IP packets that are neither TCP nor UDP (ICMP...).</summary>
    public long OtherTransport;
    /// <summary>Packets analysed as the packet inside a tunnel (VXLAN, GRE, ERSPAN: a mirror's encapsulation).</summary>
    public long Decapsulated;
    /// <summary>IP fragments seen (IPv4, and IPv6 fragment headers other than atomic fragments).</summary>
    public long IpFragments;
    /// <summary>Datagrams rebuilt from fragments.</summary>
    public long IpReassembled;
    /// <summary>Fragmented datagrams dropped incomplete (timeout, buffer bound, overlap).</summary>
    public long IpFragmentDrops;
    /// <summary>Flows created.</summary>
    public long Flows;
    /// <summary>TCP flows created.</summary>
    public long TcpFlows;
    /// <summary>UDP flows created.</summary>
    public long UdpFlows;
    /// <summary>Flows evicted because the table was full.</summary>
    public long FlowEvictions;
    /// <summary>Hosts (a MAC and an address) seen in IP traffic but not reported as <c>ip.host_seen</c>: past the
    /// tracker's bounds (<see cref="CaptureOptions.MaxHostMacs"/>, 4 addresses per MAC).</summary>
    public long HostsNotTracked;
    /// <summary>Of <see cref="FlowEvictions"/>, TCP flows that had carried no payload (evicted first: floods, scans).</summary>
    public long QuietFlowEvictions;
    /// <summary>Of <see cref="FlowEvictions"/>, flows evicted because the managed heap was above the memory budget's share
    /// (<see cref="CaptureOptions.MemoryBudgetBytes"/>) rather than because the table was full.</summary>
    public long PressureFlowEvictions;
    /// <summary>Scan detector trackers forgotten to stay within their bound (Scans/ScanOptions.MaxTrackers).</summary>
    public long ScanTrackerEvictions;
    /// <summary>Flows closed by idle timeout.</summary>
    public long FlowTimeouts;
    /// <summary>TCP flows whose handshake was not seen (capture started mid-stream).</summary>
    public long MidStreamFlows;
    /// <summary>TCP connections that carried payload one way with no packet at all the other way: the capture sees one
    /// direction of them (a mirror port copying only received or only sent frames, asymmetric routing).</summary>
    public long OneSidedTcpFlows;
    /// <summary>TCP segments that arrived ahead of a hole and were buffered.</summary>
    public long OutOfOrderSegments;
    /// <summary>TCP segments entirely already delivered (retransmissions, duplicates).</summary>
    public long Retransmissions;
    /// <summary>TCP segments too far ahead of the stream to be real (beyond the 2^30-byte maximum window), or RSTs
    /// far outside it: dropped.</summary>
    public long OutOfWindowSegments;
    /// <summary>TCP segments that overlapped buffered or delivered data (first copy kept).</summary>
    public long Overlaps;
    /// <summary>Overlapping bytes whose content differed from the copy kept (evasion attempts).</summary>
    public long OverlapConflicts;
    /// <summary>Holes in a TCP stream that were never filled.</summary>
    public long ReassemblyGaps;
    /// <summary>Bytes lost in those holes.</summary>
    public long ReassemblyGapBytes;
    /// <summary>Packets the capture saw twice within a few milliseconds (IP packets on two interfaces of a cooked capture
    /// or at two mirrored switch ports; ARP frames on two interfaces of a cooked capture), analysed once
    /// (<see cref="Decoding.DuplicateFilter"/>).</summary>
    public long DuplicateFrames;
    /// <summary>Packets of flows that are another flow sent on again by the capturing host after address translation
    /// (NAT), recognised and not analysed again (<see cref="Decoding.DuplicateFilter.IsTranslatedCopy"/>).</summary>
    public long TranslatedCopies;
    /// <summary>Frames the capture kept only the start of (its snap length was shorter than the frame on the wire).</summary>
    public long SnapCutFrames;
    /// <summary>Bytes of those frames the capture did not keep.</summary>
    public long SnapCutBytes;
    /// <summary>Segments or bytes dropped because a reassembly buffer bound was hit.</summary>
    public long ReassemblyOverflows;
    /// <summary>Application messages that were malformed.</summary>
    public long MalformedMessages;
    /// <summary>Malformed application messages by protocol and reason, for those a protocol reported through
    /// <see cref="CountMalformed"/> (each is also in <see cref="MalformedMessages"/>).</summary>
    public Dictionary<(string Protocol, MalformedReason Reason), long> MalformedByReason { get; } = [];
    /// <summary>Protocol events emitted.</summary>
    public long Events;
    /// <summary>Capture files that were damaged (truncated, corrupt) or not captures.</summary>
    public long DamagedFiles;

    /// <summary>Counts a malformed message of <paramref name="protocol"/> (<c>mqtt</c>, <c>tls</c>) for <paramref name="reason"/>.</summary>
    public void CountMalformed(string protocol, MalformedReason reason)
    {
        MalformedMessages++;
        CollectionsMarshal.GetValueRefOrAddDefault(MalformedByReason, (protocol, reason), out _)++;
    }

    /// <summary>True when the input itself was damaged (a file, a frame) or held frames SecMon cannot decode: the exit
    /// code reports it. Malformed application messages are not counted here: they are the traffic's (a scanner's probes,
    /// a device's faulty firmware, a client speaking the wrong protocol to a port), recorded intact by the capture, and
    /// are counted and listed as such.</summary>
    public bool InputDamaged =>
        DamagedFiles > 0 || TruncatedFrames > 0 || MalformedFrames > 0 || UnknownLinkType > 0;
}
