namespace SecMon.Capture.Sources;

/// <summary>
/// Hands the packets of a live capture of several interfaces over in capture-time order. Each interface has its own
/// reader, and libpcap hands a reader its packets a block at a time (TPACKET_V3: when a block fills, or after the read
/// timeout, 100 ms), so one interface's packets can reach the analysis a whole exchange after the other's: a router's
/// uplink copy of a LAN session was analysed before the LAN packets it copies, and the router became a client of the
/// cloud (<see cref="Decoding.DuplicateFilter.IsTranslatedCopy"/> needs the original first). A packet is held until the
/// wall clock is <see cref="HoldMicros"/> past its capture time (the kernel's time stamp, the same clock), then handed
/// over oldest first (ties in arrival order). Bounded: past <paramref name="maxPackets"/> held, or when the caller's
/// byte budget runs short, the oldest go at once.
/// </summary>
/// <typeparam name="T">The held packet.</typeparam>
internal sealed class LiveTimeOrder<T>(int maxPackets)
{
    /// <summary>How long a packet is held: three read timeouts, so that the other interfaces' blocks of the same moment
    /// have arrived.</summary>
    public const long HoldMicros = 300_000;

    private readonly PriorityQueue<T, (long Time, long Arrival)> _held = new();
    private long _arrivals;

    /// <summary>Packets held.</summary>
    public int Count => _held.Count;

    /// <summary>Holds a packet captured at <paramref name="timestampMicros"/>.</summary>
    public void Add(T packet, long timestampMicros) => _held.Enqueue(packet, (timestampMicros, _arrivals++));

    /// <summary>Takes the oldest packet held when it is due at <paramref name="nowMicros"/> (held long enough), when more
    /// than the bound are held, or when <paramref name="force"/> (the end of the capture, a byte budget running short).</summary>
    public bool TryTake(long nowMicros, bool force, out T packet)
    {
        if (_held.TryPeek(out packet!, out var oldest) && (force || _held.Count > maxPackets || nowMicros - oldest.Time >= HoldMicros))
        {
            _held.Dequeue();
            return true;
        }

        packet = default!;
        return false;
    }

    /// <summary>Milliseconds until the oldest packet held is due at <paramref name="nowMicros"/> (0 when it is), or -1
    /// when none is held.</summary>
    public long MillisecondsUntilDue(long nowMicros) =>
        _held.TryPeek(out _, out var oldest) ? Math.Max(0, (oldest.Time + HoldMicros - nowMicros + 999) / 1000) : -1;
}
