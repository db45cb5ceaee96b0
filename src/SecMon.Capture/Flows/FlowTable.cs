using System.Numerics;
using System.Security.Cryptography;

namespace SecMon.Capture.Flows;

/// <summary>
/// The flows being tracked: an open-addressing hash table for O(1) lookup by canonical key, plus four intrusive
/// least-recently-seen lists (TCP that has carried no payload yet, open TCP, open UDP, closed TCP lingering) so that
/// idle expiry and eviction cost O(1) per flow expired, never a scan. TCP flows start in the quiet list and move to the
/// open list with their first payload byte: when the table is full, quiet flows (a SYN flood, a port scan, half-open
/// connections) are evicted before any connection that carried data, so a flood of new flows does not push out the
/// sessions SecMon is watching.
/// <para>
/// A touch moves a flow to the newest end of its list only once it was last put there a granule
/// (<see cref="TouchGranuleMicros"/> of the run's clock) or more before: moving it on every packet wrote into its two
/// neighbours, two more flows read at random per packet. The lists are in the order of each flow's <c>Placed</c> time
/// (when it was last put at the newest end), and a flow's last packet is at most a granule after it, so expiry stays
/// exact (<see cref="CollectExpired"/> reads each flow's own last time within the last granule before the deadline) and
/// eviction takes a flow seen at most a granule after the least recently seen one.
/// </para>
/// <para>
/// The table is built for the packet path: a power-of-two array of (hash, flow) slots at most half full, linear
/// probing, deletion by shifting the run back (no tombstones), the key's hash computed once per packet
/// (<see cref="Hash"/>) and kept in the flow for its removal. A look-up reads one slot run (the stored hashes) and
/// then the flow it needs anyway, where a <see cref="Dictionary{TKey, TValue}"/> reads a bucket, an entry of the key's
/// size and then the flow. The hash is keyed with random bits drawn per table, so colliding tuples cannot be
/// precomputed to degrade it (hash flooding).
/// </para>
/// </summary>
internal sealed class FlowTable
{
    private readonly FlowList _quiet = new();
    private readonly FlowList _tcp = new();
    private readonly FlowList _udp = new();
    private readonly FlowList _closed = new();
    private readonly ulong _k0, _k1, _k2, _k3, _k4;
    private Slot[] _slots;
    private int _mask;
    private int _count;

    /// <summary>How long after a flow was put at the newest end of its list a touch moves it there again (the run's
    /// clock): the precision of eviction's least recently seen, and a second of the sweep's interval.</summary>
    public const long TouchGranuleMicros = 1_000_000;

    private readonly long _granule;

    /// <summary>Creates an empty table sized for <paramref name="expectedFlows"/> (grows as needed); a touch moves a flow
    /// at most once per <paramref name="touchGranuleMicros"/> (0: on every touch).</summary>
    public FlowTable(int expectedFlows = 1024, long touchGranuleMicros = TouchGranuleMicros)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(touchGranuleMicros);
        _granule = touchGranuleMicros;
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(expectedFlows, 8, 1 << 28) * 2);
        _slots = new Slot[capacity];
        _mask = capacity - 1;
        Span<ulong> keys = stackalloc ulong[5];
        RandomNumberGenerator.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(keys));
        (_k0, _k1, _k2, _k3, _k4) = (keys[0] | 1, keys[1] | 1, keys[2], keys[3], keys[4] | 1);
    }

    /// <summary>Flows held, open or closed-and-lingering.</summary>
    public int Count => _count;

    /// <summary>Open flows.</summary>
    public int OpenCount => _quiet.Count + _tcp.Count + _udp.Count;

    /// <summary>Every flow held (allocates: not for the packet path).</summary>
    public IEnumerable<Flow> All
    {
        get
        {
            var all = new List<Flow>(_count);
            foreach (var slot in _slots)
            {
                if (slot.Flow is { } flow)
                {
                    all.Add(flow);
                }
            }

            return all;
        }
    }

    /// <summary>The table's hash of <paramref name="key"/>: computed once per packet, given to <see cref="TryGet"/> and
    /// <see cref="Add"/>. A keyed mix (multiply-fold of the key's words with this table's random keys).</summary>
    public int Hash(in FlowKey key)
    {
        var a = key.AddressA;
        var b = key.AddressB;
        var last = key.Rest;
        var h = Fold(a.Low ^ _k0, b.Low ^ _k1);
        if ((a.High | b.High | key.Link) != 0)
        {
            h ^= Fold(a.High ^ key.Link ^ _k2, b.High ^ _k3);
        }

        h = Fold(h ^ last, _k4);
        return (int)h ^ (int)(h >> 32);

        static ulong Fold(ulong x, ulong y)
        {
            var high = Math.BigMul(x, y, out var low);
            return high ^ low;
        }
    }

    /// <summary>Looks a flow up by key and its <see cref="Hash"/>.</summary>
    public bool TryGet(in FlowKey key, int hash, out Flow flow)
    {
        var slots = _slots;
        var mask = _mask;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            ref var slot = ref slots[i];
            if (slot.Flow is not { } candidate)
            {
                flow = null!;
                return false;
            }

            if (slot.Hash == hash && candidate.HasKey(key))
            {
                flow = candidate;
                return true;
            }
        }
    }

    /// <summary>Looks a flow up by key (tests; the packet path passes the hash it computed).</summary>
    public bool TryGet(in FlowKey key, out Flow flow) => TryGet(key, Hash(key), out flow);

    /// <summary>Adds a new open flow, whose key is not held and hashes to <paramref name="hash"/>, as the most recently
    /// seen (at its <see cref="Flow.LastMicros"/>, the run's clock).</summary>
    public void Add(Flow flow, int hash)
    {
        if (_count + 1 > (_mask + 1) / 2)
        {
            Grow();
        }

        flow.Hash = hash;
        Insert(_slots, _mask, flow);
        _count++;
        (flow.IsTcp ? _quiet : _udp).AddNewest(flow, flow.LastMicros);
    }

    /// <summary>Adds a new open flow (tests).</summary>
    public void Add(Flow flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        Add(flow, Hash(flow.Key));
    }

    private static void Insert(Slot[] slots, int mask, Flow flow)
    {
        var i = flow.Hash & mask;
        while (slots[i].Flow is not null)
        {
            i = (i + 1) & mask;
        }

        slots[i] = new Slot(flow.Hash, flow);
    }

    private void Grow()
    {
        var slots = new Slot[_slots.Length * 2];
        var mask = slots.Length - 1;
        foreach (var slot in _slots)
        {
            if (slot.Flow is { } flow)
            {
                Insert(slots, mask, flow);
            }
        }

        _slots = slots;
        _mask = mask;
    }

    /// <summary>A TCP flow carried payload: from now on it is evicted only after every quiet flow.</summary>
    public void Carried(Flow flow)
    {
        if (flow.List == _quiet)
        {
            _quiet.Remove(flow);
            _tcp.AddNewest(flow, flow.LastMicros);
        }
    }

    /// <summary>Marks a flow as seen at its <see cref="Flow.LastMicros"/> (the run's clock, just set): moved to the
    /// newest end of its list when it was put there a granule or more before.</summary>
    public void Touch(Flow flow)
    {
        if (flow.LastMicros - flow.Placed >= _granule)
        {
            var list = flow.List!;
            if (list.Newest != flow)
            {
                list.Remove(flow);
                list.AddNewest(flow, flow.LastMicros);
            }
            else
            {
                flow.Placed = flow.LastMicros;
            }
        }
    }

    /// <summary>Puts a flow found idle, whose protocol holds its session open longer, at the newest end of its list as
    /// of <paramref name="nowMicros"/>: the sweeps pass it by until that is past their deadline.</summary>
    public static void Hold(Flow flow, long nowMicros)
    {
        var list = flow.List!;
        list.Remove(flow);
        list.AddNewest(flow, nowMicros);
    }

    /// <summary>Moves a flow that just closed to the lingering list (it absorbs the last ACKs).</summary>
    public void MoveToClosed(Flow flow)
    {
        flow.List?.Remove(flow);
        _closed.AddNewest(flow, flow.LastMicros);
    }

    /// <summary>Forgets a flow.</summary>
    public void Remove(Flow flow)
    {
        flow.List?.Remove(flow);
        if (OpenTable.Remove(_slots, _mask, flow.Hash, flow))
        {
            _count--;
        }
    }

    /// <summary>The least recently seen closed flow, if any.</summary>
    public Flow? OldestClosed => _closed.Oldest;

    /// <summary>The least recently seen open TCP flow that has carried no payload, if any.</summary>
    public Flow? OldestQuiet => _quiet.Oldest;

    /// <summary>The least recently seen open flow that carried payload (TCP) or any UDP flow, if any.</summary>
    public Flow? OldestOpen
    {
        get
        {
            var t = _tcp.Oldest;
            var u = _udp.Oldest;
            if (t is null)
            {
                return u;
            }

            return u is null || t.LastMicros <= u.LastMicros ? t : u;
        }
    }

    /// <summary>Adds to <paramref name="idle"/> the open flows idle for longer than their protocol's timeout, and
    /// to <paramref name="lingered"/> the closed flows older than <paramref name="lingerMicros"/>.</summary>
    public void CollectExpired(long nowMicros, long tcpIdleMicros, long udpIdleMicros, long lingerMicros,
                               List<Flow> idle, List<Flow> lingered)
    {
        Collect(_quiet, nowMicros - tcpIdleMicros, idle);
        Collect(_tcp, nowMicros - tcpIdleMicros, idle);
        Collect(_udp, nowMicros - udpIdleMicros, idle);
        Collect(_closed, nowMicros - lingerMicros, lingered);

        static void Collect(FlowList list, long deadline, List<Flow> into)
        {
            // Lists are in Placed order, and a flow's LastMicros is at or after its Placed: the walk stops at the first
            // flow put there at or after the deadline. Before it, a flow seen since it was put there (within the last
            // granule) is passed by. (A flow held (Hold) is placed past its last packet: it waits for the walk.)
            for (var f = list.Oldest; f is not null && f.Placed < deadline; f = f.Newer)
            {
                if (f.LastMicros < deadline)
                {
                    into.Add(f);
                }
            }
        }
    }

    private readonly record struct Slot(int Hash, Flow? Flow) : ITableSlot
    {
        object? ITableSlot.Entry => Flow;
    }

    /// <summary>An intrusive doubly linked list of flows, oldest first.</summary>
    internal sealed class FlowList
    {
        public Flow? Oldest { get; private set; }
        public Flow? Newest { get; private set; }
        public int Count { get; private set; }

        // Placed never goes back along the list (the run's clock does not); a time before the newest's is taken as the
        // newest's, which can only delay the flow's expiry.
        public void AddNewest(Flow flow, long placed)
        {
            flow.Placed = Newest is { } newest && newest.Placed > placed ? newest.Placed : placed;
            flow.List = this;
            flow.Older = Newest;
            flow.Newer = null;
            if (Newest is null)
            {
                Oldest = flow;
            }
            else
            {
                Newest.Newer = flow;
            }

            Newest = flow;
            Count++;
        }

        public void Remove(Flow flow)
        {
            if (flow.Older is null)
            {
                Oldest = flow.Newer;
            }
            else
            {
                flow.Older.Newer = flow.Newer;
            }

            if (flow.Newer is null)
            {
                Newest = flow.Older;
            }
            else
            {
                flow.Newer.Older = flow.Older;
            }

            flow.Older = null;
            flow.Newer = null;
            flow.List = null;
            Count--;
        }
    }
}
