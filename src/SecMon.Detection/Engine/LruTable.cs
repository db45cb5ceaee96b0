namespace SecMon.Detection.Engine;

/// <summary>
/// A dictionary bounded in size that keeps its entries in order of last use (or of insertion, when callers do
/// not touch): the oldest entry is evicted first, and returned so that no state is lost silently.
/// </summary>
internal sealed class LruTable<TKey, TValue>
    where TKey : notnull
    where TValue : class
{
    private readonly Dictionary<TKey, LinkedListNode<KeyValuePair<TKey, TValue>>> _map;
    private readonly LinkedList<KeyValuePair<TKey, TValue>> _order = new();

    public LruTable(int capacity, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _map = new Dictionary<TKey, LinkedListNode<KeyValuePair<TKey, TValue>>>(comparer);
    }

    /// <summary>The most entries kept.</summary>
    public int Capacity { get; }

    /// <summary>Entries evicted for room so far.</summary>
    public long Evicted { get; private set; }

    public int Count => _map.Count;

    /// <summary>Looks an entry up; <paramref name="touch"/> moves it to the most-recent end.</summary>
    public TValue? Get(TKey key, bool touch)
    {
        if (!_map.TryGetValue(key, out var node))
        {
            return null;
        }

        if (touch && node != _order.Last)
        {
            _order.Remove(node);
            _order.AddLast(node);
        }

        return node.Value.Value;
    }

    /// <summary>Adds a new entry at the most-recent end; returns the entry evicted to make room, if any.</summary>
    public KeyValuePair<TKey, TValue>? Add(TKey key, TValue value)
    {
        KeyValuePair<TKey, TValue>? evicted = null;
        if (_map.Count >= Capacity && _order.First is { } oldest)
        {
            _order.RemoveFirst();
            _map.Remove(oldest.Value.Key);
            Evicted++;
            evicted = oldest.Value;
        }

        _map[key] = _order.AddLast(new KeyValuePair<TKey, TValue>(key, value));
        return evicted;
    }

    public bool Remove(TKey key)
    {
        if (!_map.Remove(key, out var node))
        {
            return false;
        }

        _order.Remove(node);
        return true;
    }

    /// <summary>The least recently used (or oldest inserted) entry.</summary>
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

    /// <summary>Every entry, oldest first.</summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> Entries => _order;

    public void Clear()
    {
        _map.Clear();
        _order.Clear();
    }
}
