namespace SecMon.Detection.Engine;

/// <summary>
/// A dictionary bounded in size whose entries are evicted least recently used first (or oldest inserted first, when
/// callers do not touch), and returned, so that no state is lost silently. Recency is kept the "second chance" way
/// (the CLOCK approximation of LRU): a touch only marks the entry; eviction walks from the oldest, giving marked
/// entries another round at the young end. A touch is then one write to an entry already in hand instead of two
/// list relinks (three more cache misses per event on a table of thousands of groups). An entry untouched since it
/// was (re)queued is always evicted before one touched since.
/// </summary>
internal sealed class LruTable<TKey, TValue>
    where TKey : notnull
    where TValue : class
{
    private struct Slot(TKey key, TValue value)
    {
        public readonly TKey Key = key;
        public readonly TValue Value = value;
        public bool Touched;
    }

    private readonly Dictionary<TKey, LinkedListNode<Slot>> _map;
    private readonly LinkedList<Slot> _order = new();

    public LruTable(int capacity, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _map = new Dictionary<TKey, LinkedListNode<Slot>>(comparer);
    }

    /// <summary>The most entries kept.</summary>
    public int Capacity { get; }

    /// <summary>Entries evicted for room so far.</summary>
    public long Evicted { get; private set; }

    public int Count => _map.Count;

    /// <summary>Looks an entry up; <paramref name="touch"/> marks it as used (it survives the next eviction round).</summary>
    public TValue? Get(TKey key, bool touch)
    {
        if (!_map.TryGetValue(key, out var node))
        {
            return null;
        }

        ref var slot = ref node.ValueRef;
        if (touch)
        {
            slot.Touched = true;
        }

        return slot.Value;
    }

    /// <summary>
    /// Like <see cref="Get"/> with a touch, and also returns a handle to the entry (null when absent) that
    /// <see cref="TryGet(object?, out TValue?)"/> takes instead of the key: a caller that keeps the handle beside the
    /// object it looked the key up for skips hashing and comparing the key next time.
    /// </summary>
    public TValue? Get(TKey key, out object? handle)
    {
        if (!_map.TryGetValue(key, out var node))
        {
            handle = null;
            return null;
        }

        handle = node;
        node.ValueRef.Touched = true;
        return node.ValueRef.Value;
    }

    /// <summary>The entry behind <paramref name="handle"/> (touched), if it is still in this table.</summary>
    public bool TryGet(object? handle, out TValue? value)
    {
        if (handle is LinkedListNode<Slot> node && node.List == _order)
        {
            node.ValueRef.Touched = true;
            value = node.ValueRef.Value;
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>Adds a new entry at the most-recent end; returns the entry evicted to make room, if any.</summary>
    public KeyValuePair<TKey, TValue>? Add(TKey key, TValue value) => Add(key, value, out _);

    /// <summary>Adds a new entry and returns its handle (see <see cref="Get(TKey, out object?)"/>) too.</summary>
    public KeyValuePair<TKey, TValue>? Add(TKey key, TValue value, out object handle)
    {
        KeyValuePair<TKey, TValue>? evicted = null;
        if (_map.Count >= Capacity)
        {
            // Touched entries go round again, unmarked; the walk ends at the first untouched one (at worst after
            // one full round, when every entry had been touched).
            while (_order.First is { } used && TakeTouch(ref used.ValueRef))
            {
                _order.RemoveFirst();
                _order.AddLast(used);
            }

            if (_order.First is { } oldest)
            {
                _order.RemoveFirst();
                _map.Remove(oldest.Value.Key);
                Evicted++;
                if (oldest.Value.Value is GroupState state)
                {
                    state.Evicted = true;
                }

                evicted = new KeyValuePair<TKey, TValue>(oldest.Value.Key, oldest.Value.Value);
            }
        }

        var added = _order.AddLast(new Slot(key, value));
        _map[key] = added;
        handle = added;
        return evicted;
    }

    public bool Remove(TKey key)
    {
        if (!_map.Remove(key, out var node))
        {
            return false;
        }

        _order.Remove(node);
        if (node.Value.Value is GroupState state)
        {
            state.Evicted = true;
        }

        return true;
    }

    // Whether the entry was used since the last round (marked here or, for a GroupState, on the state itself);
    // clears both marks.
    private static bool TakeTouch(ref Slot slot)
    {
        var touched = slot.Touched;
        slot.Touched = false;
        if (slot.Value is GroupState { Touched: true } state)
        {
            state.Touched = false;
            touched = true;
        }

        return touched;
    }

    /// <summary>The oldest inserted entry (for tables that are never touched: their order is insertion order).</summary>
    public bool TryPeekOldest(out TKey key, out TValue value)
    {
        if (_order.First is { } first)
        {
            key = first.Value.Key;
            value = first.Value.Value;
            return true;
        }

        key = default!;
        value = default!;
        return false;
    }
}
