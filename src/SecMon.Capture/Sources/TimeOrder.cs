namespace SecMon.Capture.Sources;

/// <summary>
/// Packets put back in capture-time order: each is held until a clock is <paramref name="holdMicros"/> past its capture
/// time, then handed over oldest first (ties in the order they were added). Bounded: past <paramref name="maxHeld"/> held,
/// the oldest go at once. Two clocks use it: a file's newest time stamp read so far (<see cref="TimeOrderBuffer"/>: a
/// pcapng of several interfaces written in batches), and the wall clock (<see cref="LiveCapture"/> of several
/// interfaces, each read a libpcap block at a time).
/// </summary>
/// <typeparam name="T">The held packet.</typeparam>
internal sealed class TimeOrder<T>(long holdMicros, int maxHeld)
{
    private readonly PriorityQueue<T, (long Time, long Arrival)> _held = new();
    private long _arrivals;

    /// <summary>Packets held.</summary>
    public int Count => _held.Count;

    /// <summary>Holds a packet captured at <paramref name="timestampMicros"/>.</summary>
    public void Add(T packet, long timestampMicros) => _held.Enqueue(packet, (timestampMicros, _arrivals++));

    /// <summary>True when the oldest packet held is due at <paramref name="nowMicros"/> (held long enough), or more than
    /// the bound are held.</summary>
    public bool IsDue(long nowMicros) =>
        _held.TryPeek(out _, out var oldest) && (_held.Count > maxHeld || nowMicros - oldest.Time >= holdMicros);

    /// <summary>Takes the oldest packet held when it <see cref="IsDue"/>, or whenever <paramref name="force"/> (the end of
    /// the input, a byte budget running short).</summary>
    public bool TryTake(long nowMicros, bool force, out T packet)
    {
        if (_held.Count > 0 && (force || IsDue(nowMicros)))
        {
            packet = _held.Dequeue();
            return true;
        }

        packet = default!;
        return false;
    }

    /// <summary>Takes the oldest packet held (there must be one).</summary>
    public T Take() => _held.Dequeue();

    /// <summary>Milliseconds until the oldest packet held is due at <paramref name="nowMicros"/> (0 when it is), or -1
    /// when none is held.</summary>
    public long MillisecondsUntilDue(long nowMicros) =>
        _held.TryPeek(out _, out var oldest) ? Math.Max(0, (oldest.Time + holdMicros - nowMicros + 999) / 1000) : -1;
}
