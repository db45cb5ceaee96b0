using System.Buffers;
using System.Numerics;

namespace SecMon.Capture.Decoding;

/// <summary>What <see cref="IpDefragmenter.Add"/> did with a fragment.</summary>
internal enum FragmentOutcome
{
    /// <summary>Stored; the datagram is still incomplete.</summary>
    Pending,

    /// <summary>The datagram is complete: its payload is returned.</summary>
    Completed,

    /// <summary>An exact copy of data already held (a duplicated fragment): ignored.</summary>
    Duplicate,

    /// <summary>The fragment is invalid (overlap, past the maximum datagram size, inconsistent end): the datagram is dropped.</summary>
    DroppedMalformed,

    /// <summary>The fragment buffer bound was hit: the datagram is dropped.</summary>
    DroppedLimit,
}

/// <summary>
/// Rebuilds IP datagrams from fragments: IPv4 (RFC 791 §3.2) keyed by (source, destination, identification, protocol),
/// IPv6 (RFC 8200 §4.5) by (source, destination, identification), the upper-layer protocol taken from the first
/// fragment (offset 0) as RFC 8200 says. Without IPv6 reassembly a datagram larger than the link's MTU (a DNS answer
/// with a long TXT record, a large CoAP response) would be lost to every dissector, and fragmenting would hide any UDP
/// or TCP payload from them. The only state in Decoding/. Hostile input is expected:
/// <list type="bullet">
/// <item>Overlapping fragments drop the whole datagram (counted in IpFragmentDrops). Overlaps have no legitimate
/// use and are how teardrop-style attacks and IDS evasion (RFC 1858, Ptacek-Newsham 1998) work: a sensor that
/// picked one copy could see different bytes than the host; IPv6 hosts must discard them too (RFC 5722). A fragment
/// that repeats bytes already held, identically, is a harmless duplicate and is ignored.</item>
/// <item>A datagram may not exceed 65,535 bytes (ping of death), non-final fragments carry multiples of 8 bytes.</item>
/// <item>Memory is bounded by <see cref="CaptureOptions.MaxFragmentBytes"/>, charged by the pooled buffer size
/// (not the fragment length) plus a fixed overhead, so tiny fragments at high offsets cannot multiply memory;
/// when it is full the oldest incomplete datagrams are dropped first (legitimate datagrams complete within
/// milliseconds, an attacker's never do).</item>
/// <item>An incomplete datagram is dropped after <see cref="CaptureOptions.FragmentTimeoutMicros"/> of capture time.</item>
/// <item>A fragment of a datagram rebuilt within <see cref="CopyWindowMicros"/> that lies inside it is a copy
/// (<see cref="FragmentOutcome.Duplicate"/>): <c>tcpdump -i any</c> on a router sees each fragment on the way in and
/// on the way out, and the second copy of the last fragment would otherwise start a datagram that never completes,
/// counted as a drop.</item>
/// </list>
/// Received ranges are kept sorted and merged, so a datagram sent in order holds a single range.
/// </summary>
internal sealed class IpDefragmenter
{
    /// <summary>Largest IPv4 payload: total length 65,535 minus the 20-byte minimum header.</summary>
    public const int MaxDatagramPayload = 65_535 - 20;

    /// <summary>Largest IPv6 fragmentable part: the payload length field's 65,535 minus the fragment header.</summary>
    public const int MaxIpv6FragmentablePart = 65_535 - 8;

    /// <summary>How soon after its datagram was rebuilt a fragment is taken for a copy of one of its fragments.</summary>
    public const long CopyWindowMicros = 100_000;

    private const int DatagramOverheadBytes = 128;
    private const int RecentlyRebuilt = 16;
    private const int MinimumBufferBytes = 2048;

    private readonly Dictionary<FragmentKey, PendingDatagram> _pending = [];
    private readonly CaptureStats _stats;
    private readonly long _maxBytes;
    private readonly long _timeoutMicros;
    private PendingDatagram? _oldest;
    private PendingDatagram? _newest;
    private byte[]? _completed;
    private readonly (FragmentKey Key, long Micros, int Length)[] _rebuilt = new (FragmentKey, long, int)[RecentlyRebuilt];
    private int _nextRebuilt;

    /// <summary>Creates a defragmenter with the bounds of <paramref name="options"/>.</summary>
    public IpDefragmenter(CaptureOptions options, CaptureStats stats)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stats);
        _stats = stats;
        _maxBytes = options.MaxFragmentBytes;
        _timeoutMicros = options.FragmentTimeoutMicros;
    }

    /// <summary>Bytes currently charged against <see cref="CaptureOptions.MaxFragmentBytes"/>.</summary>
    public long BufferedBytes { get; private set; }

    /// <summary>Incomplete datagrams the last <see cref="Add"/> dropped, oldest first, to make room for its fragment
    /// (the buffer bound was hit; already counted in IpFragmentDrops, for the caller to report).</summary>
    public int LastEvicted { get; private set; }

    /// <summary>Incomplete datagrams held.</summary>
    public int PendingDatagrams => _pending.Count;

    /// <summary>Adds one fragment: for IPv4 <paramref name="protocol"/> is the header's protocol, for IPv6 the fragment
    /// header's next header. On <see cref="FragmentOutcome.Completed"/>, <paramref name="datagram"/> is the rebuilt IP
    /// payload (IPv6: the fragmentable part, which may begin with more extension headers), valid until the next call on
    /// this object, and <paramref name="datagramProtocol"/> its protocol or next header (IPv6: the first fragment's).
    /// Counts IpFragments, IpReassembled and IpFragmentDrops; <paramref name="error"/> explains a drop.</summary>
    public FragmentOutcome Add(IpAddress source, IpAddress destination, uint id, byte protocol, int offset, bool moreFragments,
                               ReadOnlySpan<byte> data, long nowMicros, out ReadOnlySpan<byte> datagram, out byte datagramProtocol,
                               out string? error)
    {
        ReleaseCompleted();
        datagram = default;
        datagramProtocol = 0;
        error = null;
        LastEvicted = 0;
        _stats.IpFragments++;
        var v6 = source.IsV6;
        var family = v6 ? "IPv6" : "IPv4";
        var key = new FragmentKey(source, destination, id, v6 ? (byte)0 : protocol);
        _pending.TryGetValue(key, out var pending);
        if (pending is not null && nowMicros - pending.FirstMicros > _timeoutMicros)
        {
            Drop(pending);
            pending = null;
        }

        var end = offset + data.Length;
        if (pending is null && WasJustRebuilt(key, nowMicros, end))
        {
            return FragmentOutcome.Duplicate; // a copy of a fragment of the datagram just rebuilt (another interface)
        }

        var max = v6 ? MaxIpv6FragmentablePart : MaxDatagramPayload;
        if (end > max)
        {
            error = $"{family} fragment (id {id}) ends at byte {end}, past the largest possible datagram payload {max}; datagram dropped";
            return DropMalformed(pending);
        }

        if (moreFragments && data.Length % 8 != 0)
        {
            error = $"{family} fragment (id {id}, offset {offset}) has MF set but carries {data.Length} bytes, not a multiple of 8; datagram dropped";
            return DropMalformed(pending);
        }

        if (pending is null)
        {
            pending = new PendingDatagram(key, nowMicros);
            _pending.Add(key, pending);
            Append(pending);
        }

        if (!moreFragments)
        {
            if (pending.TotalLength >= 0 && pending.TotalLength != end)
            {
                error = $"{family} datagram (id {id}) has two last fragments ending at {pending.TotalLength} and {end}; datagram dropped";
                return DropMalformed(pending);
            }

            if (pending.ReceivedEnd > end)
            {
                error = $"{family} datagram (id {id}) last fragment ends at {end} but data was received up to {pending.ReceivedEnd}; datagram dropped";
                return DropMalformed(pending);
            }

            pending.TotalLength = end;
        }
        else if (pending.TotalLength >= 0 && end > pending.TotalLength)
        {
            error = $"{family} fragment (id {id}) ends at {end}, past the datagram's last fragment end {pending.TotalLength}; datagram dropped";
            return DropMalformed(pending);
        }

        if (data.Length > 0)
        {
            var index = pending.FindFirstEndingAfter(offset);
            if (index < pending.Ranges.Count && pending.Ranges[index].Start < end)
            {
                var r = pending.Ranges[index];
                if (r.Start <= offset && end <= r.End && data.SequenceEqual(pending.Buffer.AsSpan(offset, data.Length)))
                {
                    return FragmentOutcome.Duplicate;
                }

                error = $"{family} fragment (id {id}) bytes {offset}-{end} overlap bytes {r.Start}-{r.End} already received (teardrop-style overlap); datagram dropped";
                return DropMalformed(pending);
            }

            if (!EnsureCapacity(pending, end, nowMicros))
            {
                error = $"IP fragment buffer full ({BufferedBytes} of {_maxBytes} bytes, MaxFragmentBytes); datagram id {id} dropped";
                Drop(pending);
                return FragmentOutcome.DroppedLimit;
            }

            data.CopyTo(pending.Buffer.AsSpan(offset));
            pending.Insert(index, offset, end);
        }

        if (offset == 0)
        {
            pending.Protocol = protocol; // IPv6: only the first fragment's next header counts (RFC 8200 §4.5)
        }

        if (pending.IsComplete)
        {
            Unlink(pending);
            _pending.Remove(pending.Key);
            BufferedBytes -= pending.Charge;
            _completed = pending.Buffer;
            _stats.IpReassembled++;
            datagram = _completed.AsSpan(0, pending.TotalLength);
            datagramProtocol = pending.Protocol;
            _rebuilt[_nextRebuilt] = (key, nowMicros, pending.TotalLength);
            _nextRebuilt = (_nextRebuilt + 1) % RecentlyRebuilt;
            return FragmentOutcome.Completed;
        }

        return FragmentOutcome.Pending;
    }

    /// <summary>Drops incomplete datagrams older than the fragment timeout (counted in IpFragmentDrops).</summary>
    public void Expire(long nowMicros)
    {
        while (_oldest is not null && nowMicros - _oldest.FirstMicros > _timeoutMicros)
        {
            Drop(_oldest);
        }
    }

    /// <summary>End of input: every incomplete datagram is dropped (counted) and buffers are returned.</summary>
    public void Clear()
    {
        ReleaseCompleted();
        while (_oldest is not null)
        {
            Drop(_oldest);
        }
    }

    /// <summary>Returns the buffer of the last completed datagram to the pool.</summary>
    public void ReleaseCompleted()
    {
        if (_completed is not null)
        {
            ArrayPool<byte>.Shared.Return(_completed);
            _completed = null;
        }
    }

    private bool WasJustRebuilt(in FragmentKey key, long nowMicros, int end)
    {
        foreach (var (rebuilt, micros, length) in _rebuilt)
        {
            if (rebuilt == key && Math.Abs(nowMicros - micros) <= CopyWindowMicros && end <= length)
            {
                return true;
            }
        }

        return false;
    }

    private FragmentOutcome DropMalformed(PendingDatagram? pending)
    {
        if (pending is not null)
        {
            Drop(pending);
        }
        else
        {
            _stats.IpFragmentDrops++;
        }

        return FragmentOutcome.DroppedMalformed;
    }

    private bool EnsureCapacity(PendingDatagram pending, int end, long nowMicros)
    {
        if (pending.Buffer.Length >= end && pending.Charge > 0)
        {
            return true;
        }

        var size = (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)Math.Max(end, MinimumBufferBytes)), 1u << 17);
        var newCharge = (long)size + DatagramOverheadBytes;
        var extra = newCharge - pending.Charge;
        if (BufferedBytes + extra > _maxBytes)
        {
            Expire(nowMicros);
        }

        // Oldest incomplete datagrams go first; never the one being extended.
        while (BufferedBytes + extra > _maxBytes && _oldest is not null && _oldest != pending)
        {
            Drop(_oldest);
            LastEvicted++;
        }

        if (BufferedBytes + extra > _maxBytes)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(size);
        if (pending.Charge > 0)
        {
            pending.Buffer.AsSpan(0, pending.ReceivedEnd).CopyTo(buffer);
            ArrayPool<byte>.Shared.Return(pending.Buffer);
        }

        pending.Buffer = buffer;
        BufferedBytes += extra;
        pending.Charge = newCharge;
        return true;
    }

    private void Drop(PendingDatagram pending)
    {
        _stats.IpFragmentDrops++;
        Unlink(pending);
        _pending.Remove(pending.Key);
        BufferedBytes -= pending.Charge;
        if (pending.Charge > 0)
        {
            ArrayPool<byte>.Shared.Return(pending.Buffer);
        }

        pending.Charge = 0;
        pending.Buffer = [];
    }

    private void Append(PendingDatagram pending)
    {
        pending.Previous = _newest;
        if (_newest is null)
        {
            _oldest = pending;
        }
        else
        {
            _newest.Next = pending;
        }

        _newest = pending;
    }

    private void Unlink(PendingDatagram pending)
    {
        if (pending.Previous is null)
        {
            _oldest = pending.Next;
        }
        else
        {
            pending.Previous.Next = pending.Next;
        }

        if (pending.Next is null)
        {
            _newest = pending.Previous;
        }
        else
        {
            pending.Next.Previous = pending.Previous;
        }

        pending.Previous = null;
        pending.Next = null;
    }

    private readonly record struct FragmentKey(IpAddress Source, IpAddress Destination, uint Id, byte Protocol);

    private readonly record struct ByteRange(int Start, int End);

    private sealed class PendingDatagram(FragmentKey key, long firstMicros)
    {
        public FragmentKey Key { get; } = key;
        public long FirstMicros { get; } = firstMicros;
        public byte[] Buffer { get; set; } = [];
        public long Charge { get; set; }
        public int TotalLength { get; set; } = -1;
        public byte Protocol { get; set; }
        public List<ByteRange> Ranges { get; } = [];
        public PendingDatagram? Previous { get; set; }
        public PendingDatagram? Next { get; set; }

        public int ReceivedEnd => Ranges.Count == 0 ? 0 : Ranges[^1].End;

        public bool IsComplete => TotalLength >= 0 && (TotalLength == 0 ||
            (Ranges.Count == 1 && Ranges[0].Start == 0 && Ranges[0].End == TotalLength));

        /// <summary>Index of the first range whose end is after <paramref name="offset"/> (ranges are sorted, disjoint).</summary>
        public int FindFirstEndingAfter(int offset)
        {
            int lo = 0, hi = Ranges.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (Ranges[mid].End <= offset)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            return lo;
        }

        /// <summary>Inserts [start, end) at <paramref name="index"/>, merging with touching neighbours.</summary>
        public void Insert(int index, int start, int end)
        {
            var mergeLeft = index > 0 && Ranges[index - 1].End == start;
            var mergeRight = index < Ranges.Count && Ranges[index].Start == end;
            if (mergeLeft && mergeRight)
            {
                Ranges[index - 1] = new ByteRange(Ranges[index - 1].Start, Ranges[index].End);
                Ranges.RemoveAt(index);
            }
            else if (mergeLeft)
            {
                Ranges[index - 1] = new ByteRange(Ranges[index - 1].Start, end);
            }
            else if (mergeRight)
            {
                Ranges[index] = new ByteRange(start, Ranges[index].End);
            }
            else
            {
                Ranges.Insert(index, new ByteRange(start, end));
            }
        }
    }
}
