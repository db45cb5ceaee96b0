using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SecMon.Capture.Decoding;

/// <summary>
/// The same IP packet captured twice within a few milliseconds is analysed once. Copies come from the capture, not the
/// network: a Linux cooked capture of several interfaces (<c>tcpdump -i any</c> on a bridge or a router sees a packet on
/// every interface it crosses) or a switch mirroring several ports (a packet between two mirrored ports is copied at
/// both). Left in, each copy would be a second DNS query, CoAP request or DHCP message in the events and the rules' counts
/// (TCP's reassembly would merely count a retransmission). A copy is the same packet from the IP header on except what a
/// router changes on the way (TTL or hop limit, the IPv4 checksum), so the fingerprint covers the addresses, protocol,
/// IPv4 identification, ports, the TCP or UDP checksum (which covers the whole segment), TCP sequence, acknowledgment,
/// flags and window, the payload's length and its first bytes (16 beside a checksum, else 64: an ICMPv6 error's quoted
/// ports included), and the VLAN (a packet routed between two VLANs of a trunk is analysed in each), keyed with random
/// bits per run. Only the last <see cref="Recent"/> packets within <see cref="WindowMicros"/> are compared: copies arrive
/// back to back, while a sender's own repeat (a DNS retry, a CoAP retransmission) comes seconds later and counts. Fixed
/// memory, no allocation. A frame that is not IP (ARP) has no identification to tell a copy from a sender's repeat (a
/// gratuitous ARP storm): it is a copy only when the capture says it saw it on another interface
/// (<see cref="IsFrameOnAnotherInterface"/>).
/// <para>
/// A host that translates addresses (NAT: a router capturing its LAN ports and its uplink with <c>tcpdump -i any</c>) sends
/// each LAN device's packet out again under its own address: a second flow, which would make the router a client of
/// every cloud service its devices use. <see cref="IsTranslatedCopy"/> recognises such a flow by its first packet: the
/// same IPv4 packet (identification, TCP sequence and acknowledgment, flags, window, length, payload) as the first packet
/// of a flow seen on another interface within <see cref="WindowMicros"/>, with one of its two addresses changed (the
/// source: masquerading; the destination: a port forward). Only captures that say on which interface a packet was seen
/// are judged: Linux cooked v2 (<c>tcpdump -i any</c>) and pcapng files of several interfaces (<c>dumpcap -i lan -i
/// wan</c>, Wireshark with several interfaces selected).
/// </para>
/// </summary>
internal sealed class DuplicateFilter
{
    /// <summary>How close in capture time a copy is (either order: two interfaces' time stamps may cross).</summary>
    public const long WindowMicros = 5_000;

    /// <summary>Packets remembered.</summary>
    public const int Recent = 8;

    // Payload bytes in the fingerprint: past an ICMPv6 error's quoted IPv6 header to its ports.
    private const int HeadBytes = 64;

    // The last IP packets (IsCopy: fingerprints and times apart, the per-packet compare reads 128 bytes), first packets
    // of flows (IsTranslatedCopy) and frames that are not IP.
    private readonly ulong[] _fingerprints = new ulong[Recent];
    private readonly long[] _times = new long[Recent];
    private readonly Seen[] _openers = new Seen[Recent];
    private readonly Seen[] _frames = new Seen[Recent];
    // Random keys drawn per run: two per pair of words (the header's eight words, then the head's).
    private readonly ulong[] _keys = new ulong[8 + HeadBytes / 8];
    private int _next, _nextOpener, _nextFrame;

    /// <summary>Creates an empty filter.</summary>
    public DuplicateFilter()
    {
        RandomNumberGenerator.Fill(MemoryMarshal.AsBytes(_keys.AsSpan()));
        Array.Fill(_times, long.MinValue / 2);
    }

    /// <summary>True when <paramref name="packet"/> (a decoded IP packet) is a copy of one of the last packets seen; a
    /// packet that is not is remembered.</summary>
    public bool IsCopy(ref DecodedPacket packet, long timestampMicros)
    {
        var fingerprint = Fingerprint(ref packet, withAddresses: true);
        for (var i = 0; i < Recent; i++)
        {
            if (_fingerprints[i] == fingerprint && Math.Abs(timestampMicros - _times[i]) <= WindowMicros)
            {
                return true;
            }
        }

        _fingerprints[_next] = fingerprint;
        _times[_next] = timestampMicros;
        _next = (_next + 1) % Recent;
        return false;
    }

    /// <summary>True when <paramref name="packet"/>, the first packet of the new flow <paramref name="flow"/>, is the first
    /// packet of another recent flow sent on again after address translation (see the class remarks); a first packet that
    /// is not is remembered. The copy is the later of the two in capture time: when the translated packet was read first
    /// (dumpcap writes each interface's packets in batches, so a file of several interfaces is a little out of time
    /// order), <paramref name="earlierCopy"/> is that earlier-read flow, and this one is not a copy.</summary>
    public bool IsTranslatedCopy(ref DecodedPacket packet, long timestampMicros, Flows.Flow flow, out Flows.Flow? earlierCopy)
    {
        earlierCopy = null;
        if (packet.Interface == 0 || packet.Source.IsV6)
        {
            return false; // no interface known (one interface, or a capture that does not say), or IPv6 (no NAT read)
        }

        var fingerprint = Fingerprint(ref packet, withAddresses: false);
        foreach (ref var o in _openers.AsSpan())
        {
            if (o.Fingerprint == fingerprint && o.Interface != packet.Interface && Math.Abs(timestampMicros - o.Time) <= WindowMicros &&
                ((o.Source == packet.Source) ^ (o.Destination == packet.Destination)))
            {
                if (timestampMicros >= o.Time || o.Flow is null)
                {
                    return true;
                }

                earlierCopy = o.Flow;
                o = default;
                return false;
            }
        }

        Remember(_openers, ref _nextOpener, new Seen(fingerprint, timestampMicros, packet.Interface, packet.Source, packet.Destination, flow));
        return false;
    }

    /// <summary>True when <paramref name="packet"/>, a frame that is not IP (ARP), is a frame just seen on another
    /// interface of the capture (<see cref="DecodedPacket.Interface"/>): the same bytes from the sender's MAC on, within
    /// <see cref="WindowMicros"/>.
    /// A frame repeated on one interface (a gratuitous ARP storm) is never a copy: only the interface tells copies from
    /// repeats here, there being no identification field.</summary>
    public bool IsFrameOnAnotherInterface(ref DecodedPacket packet, long timestampMicros)
    {
        if (packet.Interface == 0)
        {
            return false;
        }

        var h = Pair(((ulong)packet.EtherType << 48) | ((ulong)packet.VlanId << 32) | (uint)packet.Payload.Length,
                     packet.SourceMac.Value, _keys[0], _keys[1]);
        h = Head(h, packet.Payload, HeadBytes, _keys.AsSpan(8));

        foreach (ref var f in _frames.AsSpan())
        {
            if (f.Fingerprint == h && f.Interface != packet.Interface && Math.Abs(timestampMicros - f.Time) <= WindowMicros)
            {
                return true;
            }
        }

        Remember(_frames, ref _nextFrame, new Seen(h, timestampMicros, packet.Interface, default, default, null));
        return false;
    }

    // An opener's flow is kept so that it can be marked translated when its original is read after it.
    private readonly record struct Seen(ulong Fingerprint, long Time, uint Interface, IpAddress Source, IpAddress Destination, Flows.Flow? Flow);

    private static void Remember(Seen[] ring, ref int next, Seen seen)
    {
        ring[next] = seen;
        next = (next + 1) % Recent;
    }

    private ulong Fingerprint(ref DecodedPacket p, bool withAddresses = true)
    {
        // Words are hashed in pairs, each pair one multiply of the two words plus their own random keys (UMAC's NH,
        // RFC 4418, folded to 64 bits): the pairs are independent of each other, so the processor runs them side by
        // side, where a chain of one multiply per word made every packet wait for each in turn (7% of a decode-only
        // run's CPU before). Translation may change an address and its port: both ports are left out with the
        // addresses. The VLAN stays in: a packet routed between two VLANs of a trunk is analysed in each
        // (RoutedAddresses judges it per VLAN).
        var k = _keys;
        var h = Pair(((ulong)p.Protocol << 56) | ((ulong)p.FragmentId << 8) | (byte)p.Flags,
                     ((ulong)p.Sequence << 32) | p.Acknowledgment, k[0], k[1]);
        int head;
        if (withAddresses)
        {
            // The transport checksum covers the whole segment, past the head below (DHCP's first 236 bytes are fixed
            // fields: a client's DISCOVER and REQUEST of one transaction share them); translation rewrites it.
            h ^= Pair(((ulong)p.Window << 32) | (uint)(p.Payload.Length + p.MissingPayloadBytes),
                      ((ulong)p.TransportChecksum << 48) | ((ulong)p.VlanId << 32) | ((ulong)p.SourcePort << 16) | p.DestinationPort,
                      k[2], k[3]);
            h ^= Pair(p.Source.High, p.Source.Low, k[4], k[5]) ^ Pair(p.Destination.High, p.Destination.Low, k[6], k[7]);

            // With a TCP or UDP checksum in the fingerprint the head adds little (it tells packets apart when the
            // checksum was left to the capturing host's NIC); without one (ICMP, UDP sent without), the head is all
            // there is.
            head = p.TransportChecksum != 0 ? 16 : HeadBytes;
        }
        else
        {
            h ^= Pair(((ulong)p.Window << 32) | (uint)(p.Payload.Length + p.MissingPayloadBytes), 0, k[2], k[3]);
            head = HeadBytes;
        }

        return Head(h, p.Payload, head, k.AsSpan(8));
    }

    // Folds the payload's first bytes (at most `bytes`, a multiple of 16) into h, a pair of words with each pair of keys:
    // the 16-byte blocks present, the last one zero-padded. Every caller has folded the payload's length in already, so
    // the blocks past a short payload's end would add nothing that tells two packets apart: an empty payload (a bare
    // ACK, half of a TCP conversation's packets) costs nothing here.
    [SkipLocalsInit]
    private static ulong Head(ulong h, ReadOnlySpan<byte> payload, int bytes, ReadOnlySpan<ulong> keys)
    {
        var head = payload.Length < bytes ? payload : payload[..bytes];
        var whole = head.Length & ~15;
        for (var i = 0; i < whole; i += 16)
        {
            h ^= Pair(BinaryPrimitives.ReadUInt64LittleEndian(head[i..]), BinaryPrimitives.ReadUInt64LittleEndian(head[(i + 8)..]),
                      keys[i / 8], keys[i / 8 + 1]);
        }

        if (whole < head.Length)
        {
            Span<byte> last = stackalloc byte[16];
            last.Clear();
            head[whole..].CopyTo(last);
            h ^= Pair(BinaryPrimitives.ReadUInt64LittleEndian(last), BinaryPrimitives.ReadUInt64LittleEndian(last[8..]),
                      keys[whole / 8], keys[whole / 8 + 1]);
        }

        return h;
    }

    // NH's step: the product of two words, each plus its key, with the 128 bits folded to 64.
    private static ulong Pair(ulong a, ulong b, ulong ka, ulong kb)
    {
        var high = Math.BigMul(a + ka, b + kb, out var low);
        return high ^ low;
    }
}
