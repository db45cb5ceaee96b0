using System.Numerics;
using System.Security.Cryptography;

namespace SecMon.Capture.Flows;

/// <summary>
/// The flows being tracked: an open-addressing hash table for O(1) lookup by canonical key, plus four intrusive
/// least-recently-seen lists (TCP that has carried no payload yet, open TCP, open UDP, closed TCP lingering) so that
/// idle expiry and eviction cost O(1) per flow expired, never a scan. Touching a flow moves it to the newest end of
/// its list. TCP flows start in the quiet list and move to the open list with their first payload byte: when the
/// table is full, quiet flows (a SYN flood, a port scan, half-open connections) are evicted before any connection
/// that carried data, so a flood of new flows does not push out the sessions SecMon is watching.
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

    /// <summary>Creates an empty table sized for <paramref name="expectedFlows"/> (grows as needed).</summary>
    public FlowTable(int expectedFlows = 1024)
    {
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
        var last = ((ulong)key.PortA << 48) | ((ulong)key.PortB << 32) | ((ulong)key.VlanId << 16) | ((ulong)key.Protocol << 8) |
                   (a.IsV6 ? 2UL : 0) | (b.IsV6 ? 1UL : 0);
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
    /// seen.</summary>
    public void Add(Flow flow, int hash)
    {
        if (_count + 1 > (_mask + 1) / 2)
        {
            Grow();
        }

        flow.Hash = hash;
        Insert(_slots, _mask, flow);
        _count++;
        (flow.IsTcp ? _quiet : _udp).AddNewest(flow);
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
            _tcp.AddNewest(flow);
        }
    }

    /// <summary>Marks a flow as just seen.</summary>
    public static void Touch(Flow flow)
    {
        var list = flow.List!;
        if (list.Newest != flow)
        {
            list.Remove(flow);
            list.AddNewest(flow);
        }
    }

    /// <summary>Moves a flow that just closed to the lingering list (it absorbs the last ACKs).</summary>
    public void MoveToClosed(Flow flow)
    {
        flow.List?.Remove(flow);
        _closed.AddNewest(flow);
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
            // Lists are in touch order; with capture time monotonic that is LastMicros order, so the walk stops at
            // the first flow still alive. (Out-of-order timestamps only delay an expiry, they never lose a flow.)
            for (var f = list.Oldest; f is not null && f.LastMicros < deadline; f = f.Newer)
            {
                into.Add(f);
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

        public void AddNewest(Flow flow)
        {
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
