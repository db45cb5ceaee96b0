using System.Numerics;
using SecMon.Capture.Decoding;
using SecMon.Core.Flows;

namespace SecMon.Capture.Scans;

/// <summary>What a tracker counts: the ports of one host (a vertical scan) or the hosts on one port (a sweep).</summary>
internal readonly record struct ScanKey
{
    /// <summary>A (source, host) pair: the ports it probes.</summary>
    public static ScanKey Vertical(IpAddress scanner, IpAddress host, byte protocol, ushort vlanId) =>
        new() { Scanner = scanner, Host = host, Port = 0, Protocol = protocol, IsSweep = false, VlanId = vlanId };

    /// <summary>A (source, port) pair: the hosts it probes (ICMP echo and ARP sweeps: port 0).</summary>
    public static ScanKey Sweep(IpAddress scanner, ushort port, byte protocol, ushort vlanId) =>
        new() { Scanner = scanner, Host = default, Port = port, Protocol = protocol, IsSweep = true, VlanId = vlanId };

    /// <summary>The probing address.</summary>
    public IpAddress Scanner { get; init; }
    /// <summary>The host probed (vertical); default for a sweep.</summary>
    public IpAddress Host { get; init; }
    /// <summary>The port probed (sweep); 0 for a vertical scan.</summary>
    public ushort Port { get; init; }
    /// <summary>6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, or <see cref="ScanDetector.ProtocolArp"/>.</summary>
    public byte Protocol { get; init; }
    /// <summary>True for a sweep.</summary>
    public bool IsSweep { get; init; }
    /// <summary>Outer VLAN id, 0 when untagged.</summary>
    public ushort VlanId { get; init; }

    /// <summary>Field-wise equality, written out for the table's look-up.</summary>
    public bool Equals(ScanKey other) =>
        Scanner.Low == other.Scanner.Low && Host.Low == other.Host.Low && Port == other.Port &&
        Protocol == other.Protocol && IsSweep == other.IsSweep && VlanId == other.VlanId &&
        Scanner.High == other.Scanner.High && Host.High == other.Host.High &&
        Scanner.IsV6 == other.Scanner.IsV6 && Host.IsV6 == other.Host.IsV6;

    /// <summary>Seeded per process by <see cref="HashCode"/>, so colliding keys cannot be precomputed.</summary>
    public override int GetHashCode() =>
        HashCode.Combine(Scanner.Low, Scanner.High, Host.Low, Host.High,
                         Port | (Protocol << 16) | (IsSweep ? 1 << 24 : 0) | (Scanner.IsV6 ? 1 << 25 : 0), VlanId);
}

/// <summary>
/// One (source, host) or (source, port) pair of the scan detector, with a fixed-size memory whatever it sees: the
/// distinct values probed (ports, or hosts) in a small exact set that holds the first <see cref="ExactLimit"/> and a
/// 1,024-bit linear-counting sketch (Whang et al., "A linear-time probabilistic counting algorithm", 1990) for
/// beyond; the ranges; the answers. Trackers are pooled by the detector: <see cref="Reset"/> readies one for a new pair.
/// <para>
/// Most pairs see one value (a client's connections to its broker: one port of one host), so the first value is kept
/// in a field, the exact set is made at the second distinct value and the sketch when the set overflows (filled then
/// with the set's values: the sketch only marks bits, so it ends as if it had seen every value). A tracker of one value
/// is the object alone, 320 bytes, where the two arrays made it 624 (bench/README.md, "Session 29").
/// </para>
/// </summary>
internal sealed class ScanTracker
{
    /// <summary>Distinct values counted exactly; beyond, the count is the sketch's estimate.</summary>
    public const int ExactLimit = 24;

    private const int ExactSlots = 32; // open addressing, at most 75 % full
    private const int SketchBits = 1024;

    private uint _single; // the one distinct value while _exactCount is 1
    private uint[]? _exact; // in use from the second distinct value; kept for the pair a pooled tracker serves next
    private ulong[]? _sketch; // in use once _overflowed; kept likewise
    private int _exactCount;
    private bool _overflowed;
    private long[]? _openPorts;
    private long[]? _closedPorts;
    private long[]? _repliedPorts;
    private int _openPortsListed;
    private int _openHostsListed;
    private int _closedListed;
    private int _repliedListed;
    private IpAddress[]? _openHosts;
    private ulong _ttls; // bit n - 1 set: a probe was seen with TTL (hop limit) n, 1 to 64
    private byte _ttlHighest;

    /// <summary>The pair.</summary>
    public ScanKey Key { get; private set; }

    /// <summary>Bumped at every reset, so a stale reference (the pending list) can tell the tracker was reused.</summary>
    public int Generation { get; private set; }

    /// <summary>Probes in the current window or episode.</summary>
    public long Probes { get; set; }

    /// <summary>Ports (vertical) or hosts (sweep) that answered (SYN-ACK, a UDP reply), each once while the list holds.</summary>
    public long OpenCount { get; set; }

    /// <summary>Probes refused: a TCP RST, an ICMP port unreachable (distinct ports while they fit the list).</summary>
    public long ClosedCount { get; set; }

    /// <summary>Probes that expired on the way (a router's ICMP time exceeded quoting them): they never reached the host
    /// (or hosts), so they are not counted as unanswered.</summary>
    public long ExpiredCount { get; set; }

    /// <summary>Answered TCP handshakes the scanner completed with an ACK.</summary>
    public long Completed { get; set; }

    /// <summary>Answered TCP handshakes the scanner reset instead.</summary>
    public long HalfOpen { get; set; }

    /// <summary>Capture time of the window's first probe.</summary>
    public long WindowStart { get; set; }

    /// <summary>Capture time of the latest probe.</summary>
    public long LastProbe { get; set; }

    /// <summary>Lowest port probed.</summary>
    public ushort PortLow { get; private set; }

    /// <summary>Highest port probed.</summary>
    public ushort PortHigh { get; private set; }

    /// <summary>Lowest host probed.</summary>
    public IpAddress HostLow { get; private set; }

    /// <summary>Highest host probed.</summary>
    public IpAddress HostHigh { get; private set; }

    /// <summary>The sender's context of the window's first probe (addresses, MACs, community id of the event).</summary>
    public FlowContext? First { get; set; }

    /// <summary>The scan's own flow context, made when it is reported, shared by its started and ended events.</summary>
    public FlowContext? ScanFlow { get; set; }

    /// <summary>The threshold was crossed and confirmed: a started event was written.</summary>
    public bool Reported { get; set; }

    /// <summary>The threshold was crossed; waiting for the answer grace before confirming.</summary>
    public bool Pending { get; set; }

    /// <summary>When <see cref="Pending"/> was set.</summary>
    public long PendingSince { get; set; }

    /// <summary>Open ports listed (vertical scans).</summary>
    public int OpenPortsListed => _openPortsListed;

    /// <summary>Answering hosts listed (sweeps).</summary>
    public int OpenHostsListed => _openHostsListed;

    /// <summary>Refusing ports listed (vertical scans).</summary>
    public int ClosedPortsListed => _closedListed;

    // Intrusive least-recently-probed list, owned by the detector.
    internal ScanTracker? Older { get; set; }
    internal ScanTracker? Newer { get; set; }

    /// <summary>Distinct values probed: exact up to <see cref="ExactLimit"/>, then estimated from the sketch (never more
    /// than the probes seen: linear counting rounds 40 values to 41).</summary>
    public long Distinct => _overflowed ? Math.Clamp(Estimate(), ExactLimit + 1, Math.Max(ExactLimit + 1, Probes)) : _exactCount;

    /// <summary>Distinct values probed that did not answer (and did not expire on the way): what a threshold counts.</summary>
    public long Unanswered => Math.Max(0, Distinct - OpenCount - ExpiredCount);

    /// <summary>Highest TTL a traceroute's probe is sent with (traceroute's, tracepath's, mtr's and Windows tracert's
    /// default maximum is 30 hops).</summary>
    public const int MaxTraceTtl = 32;

    /// <summary>Most probes a traceroute sends per hop (traceroute's <c>-q</c> is at most 10; 3 by default).</summary>
    public const int MaxTraceProbesPerTtl = 10;

    /// <summary>
    /// The probes are a path trace (traceroute, tracepath, <c>mtr -u</c>) rather than a scan: their TTLs step up from 1,
    /// a few probes per TTL, each to a new port, so that each hop on the way answers (ICMP time exceeded) and the probes
    /// that reach the host need no answer. Seen anywhere on the path, the lowest TTL is 1 (the probe that expires at the
    /// next router), there are at least three different TTLs, none above <see cref="MaxTraceTtl"/>, and at most
    /// <see cref="MaxTraceProbesPerTtl"/> distinct ports (or hosts) per TTL. A scanner's probes carry one TTL (its
    /// system's initial TTL, less the hops to the capture). The limit: a scanner that steps its TTLs from 1 the same
    /// way is taken for a trace, for at most 320 ports of one host a window.
    /// </summary>
    public bool LooksLikeTrace
    {
        get
        {
            var ttls = BitOperations.PopCount(_ttls);
            return (_ttls & 1) != 0 && _ttlHighest <= MaxTraceTtl && ttls >= 3 && Distinct <= (long)ttls * MaxTraceProbesPerTtl;
        }
    }

    /// <summary>Readies the tracker for <paramref name="key"/> (or a new window of the same pair) at <paramref name="now"/>.</summary>
    public void Reset(in ScanKey key, long now)
    {
        Key = key;
        Generation++;
        if (_exactCount > 1) // the set in use (an overflowed one is full)
        {
            Array.Clear(_exact!);
        }

        if (_overflowed)
        {
            Array.Clear(_sketch!);
        }

        _exactCount = 0;
        _overflowed = false;
        _openPortsListed = _openHostsListed = _closedListed = 0;
        _repliedListed = 0;
        Probes = OpenCount = ClosedCount = ExpiredCount = Completed = HalfOpen = 0;
        _ttls = 0;
        _ttlHighest = 0;
        WindowStart = LastProbe = now;
        PortLow = ushort.MaxValue;
        PortHigh = 0;
        HostLow = HostHigh = default;
        First = null;
        ScanFlow = null;
        Reported = Pending = false;
        PendingSince = 0;
    }

    /// <summary>Counts a probe of <paramref name="host"/>:<paramref name="port"/> seen with TTL (hop limit)
    /// <paramref name="ttl"/> (0: not an IP probe, an ARP request).</summary>
    public void AddProbe(IpAddress host, ushort port, long now, byte ttl)
    {
        Probes++;
        if (ttl != 0)
        {
            _ttlHighest = Math.Max(_ttlHighest, ttl);
            _ttls |= ttl <= 64 ? 1UL << (ttl - 1) : 0;
        }

        LastProbe = Math.Max(LastProbe, now);
        PortLow = Math.Min(PortLow, port);
        PortHigh = Math.Max(PortHigh, port);
        if (Probes == 1 || host.CompareTo(HostLow) < 0)
        {
            HostLow = host;
        }

        if (Probes == 1 || host.CompareTo(HostHigh) > 0)
        {
            HostHigh = host;
        }

        Add(Key.IsSweep ? HostValue(host) : (uint)port + 1);
    }

    /// <summary>Lists an answering port (vertical) or host (sweep), once each, up to <paramref name="max"/>: false when
    /// it was listed already (the same port answering the scanner's later connection), so that the open count is of
    /// ports or hosts, as the list is. Past <paramref name="max"/> every answer counts as new.</summary>
    public bool ListOpen(IpAddress host, ushort port, int max) => Key.IsSweep
        ? AddOnce(ref _openHosts, ref _openHostsListed, host, max)
        : AddOnce(ref _openPorts, ref _openPortsListed, (long)port, max);

    /// <summary>Lists a refusing port (vertical scans), once each, up to <paramref name="max"/>: false when it was listed
    /// already (a second refusal of the same port: a retransmitted probe).</summary>
    public bool ListClosed(ushort port, int max) => AddOnce(ref _closedPorts, ref _closedListed, (long)port, max);

    /// <summary>True for the scanner's first reply (a reset or a completed handshake) to an answer from
    /// <paramref name="port"/>, false for a later one: the scan's kind is how it treated each open port, not how often
    /// the same source connected to that port afterwards (a scanner that then logs in ten times is still a SYN
    /// scanner). Ports beyond <paramref name="max"/> listed each count.</summary>
    public bool FirstReply(ushort port, int max) => AddOnce(ref _repliedPorts, ref _repliedListed, (long)port, max);

    // Lists a port (or host) once, up to max: false when it was listed already (past max every value counts as new).
    private static bool AddOnce<T>(ref T[]? list, ref int listed, T value, int max)
    {
        if (list is not null && Array.IndexOf(list, value, 0, listed) >= 0)
        {
            return false;
        }

        if (listed < max)
        {
            Room(ref list, listed, max)[listed++] = value;
        }

        return true;
    }

    // A list grows from a few entries to max as it fills: most trackers list one or two answers (a DNS client's sweep
    // of port 53 lists its one server), and a pooled tracker keeps its list for the next pair.
    private static T[] Room<T>(ref T[]? list, int listed, int max)
    {
        if (list is null || listed == list.Length)
        {
            var grown = new T[Math.Min(max, list is null ? 4 : list.Length * 2)];
            list?.AsSpan(0, listed).CopyTo(grown);
            list = grown;
        }

        return list;
    }

    /// <summary>The listed refusing ports, sorted (allocates: for an event).</summary>
    public long[] ClosedPorts()
    {
        var ports = _closedPorts is null ? [] : _closedPorts.AsSpan(0, ClosedPortsListed).ToArray();
        Array.Sort(ports);
        return ports;
    }

    /// <summary>The listed open ports, sorted (allocates: for an event).</summary>
    public long[] OpenPorts()
    {
        var ports = _openPorts is null ? [] : _openPorts.AsSpan(0, OpenPortsListed).ToArray();
        Array.Sort(ports);
        return ports;
    }

    /// <summary>The listed answering hosts, sorted (allocates: for an event).</summary>
    public string[] OpenHosts()
    {
        if (_openHosts is null)
        {
            return [];
        }

        var hosts = _openHosts.AsSpan(0, OpenHostsListed).ToArray();
        Array.Sort(hosts, (a, b) => a.CompareTo(b));
        return [.. hosts.Select(h => h.ToString())];
    }

    private void Add(uint value)
    {
        if (_overflowed)
        {
            Mark(_sketch!, value);
            return;
        }

        if (_exactCount <= 1)
        {
            if (_exactCount == 0)
            {
                _single = value;
                _exactCount = 1;
                return;
            }

            if (value == _single)
            {
                return;
            }

            // The second distinct value: the set is needed from here (a pooled tracker's was cleared by Reset).
            _exact ??= new uint[ExactSlots];
            Insert(_exact, _single);
        }

        var exact = _exact!;
        var i = Slot(value);
        while (true)
        {
            var slot = exact[i];
            if (slot == value)
            {
                return;
            }

            if (slot == 0)
            {
                if (_exactCount == ExactLimit)
                {
                    // Past the set: the sketch counts from here, seeded with the set's values.
                    var sketch = _sketch ??= new ulong[SketchBits / 64];
                    foreach (var held in exact)
                    {
                        if (held != 0)
                        {
                            Mark(sketch, held);
                        }
                    }

                    Mark(sketch, value);
                    _overflowed = true;
                    return;
                }

                exact[i] = value;
                _exactCount++;
                return;
            }

            i = (i + 1) & (ExactSlots - 1);
        }
    }

    // The set's home slot of a value (open addressing, linear probing) and the insertion of a value not in the set.
    private static int Slot(uint value) => (int)((value * 0x9E3779B1u) >> 27);

    private static void Insert(uint[] exact, uint value)
    {
        var i = Slot(value);
        while (exact[i] != 0)
        {
            i = (i + 1) & (ExactSlots - 1);
        }

        exact[i] = value;
    }

    // The sketch's bit of a value, from a second, independent multiplicative hash.
    private static void Mark(ulong[] sketch, uint value)
    {
        var bit = (int)((value * 0x85EBCA6Bu) >> 22);
        sketch[bit >> 6] |= 1UL << (bit & 63);
    }

    private long Estimate()
    {
        var set = 0;
        foreach (var word in _sketch!)
        {
            set += BitOperations.PopCount(word);
        }

        var zero = SketchBits - set;
        // n = -m ln(V), V the share of zero bits; a full sketch is capped at its useful range (m ln m).
        return zero == 0
            ? (long)(SketchBits * Math.Log(SketchBits))
            : (long)Math.Round(-SketchBits * Math.Log((double)zero / SketchBits));
    }

    // A host as a non-zero 32-bit value: IPv4 as itself, IPv6 folded.
    private static uint HostValue(IpAddress host)
    {
        var v = host.IsV6
            ? (uint)((host.High * 0x9E3779B97F4A7C15UL ^ host.Low) >> 32) ^ (uint)host.Low
            : (uint)host.Low;
        return v == 0 ? 0x80000000u : v;
    }
}
