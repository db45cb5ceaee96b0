using SecMon.Core.Flows;

namespace SecMon.Detection.Engine;

/// <summary>
/// What one <see cref="DetectionEngine"/> remembers on a flow context (in the rule engine's <see cref="FlowSlot"/>) so
/// that the next event of the flow finds its state without look-ups by key: the flow's session memory, and per
/// detector the last group key with its state. Both are only hints: a state its table evicted says so
/// (<see cref="GroupState.Evicted"/>), and another engine's scratch is replaced, so either only costs the ordinary
/// look-up. Sparse: only the detectors that saw the flow hold an entry (a flow meets a few of the engine's rules; one
/// slot per detector was 472 bytes per flow context with the shipped rules, most of them empty), found by a short
/// linear search that is no slower than the index it replaces for the handful of entries a flow has.
/// </summary>
internal sealed class FlowScratch(object owner)
{
    // The first entries' detector ids and entries are held in the scratch itself, the rest in arrays: the search reads
    // the scratch (which Of has just read) and then only the entry it found. Reading each entry in turn, or an array
    // of them, was a cache miss more per event on a flow not seen for a while.
    private const int Inline = 4;
    private InlineIds _ids;
    private InlineEntries _inline;
    private int[] _moreIds = [];
    private Entry[] _more = [];
    private int _count;

    // The rule engine's place on every flow context.
    private static readonly FlowSlot Slot = FlowSlot.Allocate();

    /// <summary>The engine the scratch belongs to.</summary>
    public object Owner { get; } = owner;

    /// <summary>The flow's entry in the session memory (<see cref="FlowMemory"/>).</summary>
    public GroupState? Session { get; set; }

    /// <summary>Detectors holding an entry (for tests and measurements).</summary>
    internal int Count => _count;

    /// <summary>The scratch of <paramref name="owner"/> on <paramref name="flow"/>, created (replacing another
    /// engine's) when missing.</summary>
    public static FlowScratch Of(FlowContext flow, object owner)
    {
        ref var slot = ref flow.Slot(Slot);
        if (slot is FlowScratch s && ReferenceEquals(s.Owner, owner))
        {
            return s;
        }

        s = new FlowScratch(owner);
        slot = s;
        return s;
    }

    /// <summary>The scratch on <paramref name="flow"/> (of whichever engine last set it; detectors run inside
    /// <see cref="Of"/>'s engine, which set it first), or null.</summary>
    public static FlowScratch? Peek(FlowContext flow) => flow.Slot(Slot) as FlowScratch;

    /// <summary>Forgets <paramref name="owner"/>'s scratch on <paramref name="flow"/> (the flow ended).</summary>
    public static void Release(FlowContext flow, object owner)
    {
        ref var slot = ref flow.Slot(Slot);
        if (slot is FlowScratch s && ReferenceEquals(s.Owner, owner))
        {
            slot = null;
        }
    }

    /// <summary>The state of <paramref name="key"/> in <paramref name="table"/> when it is the group this flow last
    /// used with detector <paramref name="detector"/>; otherwise a touched look-up by key.</summary>
    public TValue? Get<TValue>(int detector, LruTable<GroupKey, TValue> table, in GroupKey key)
        where TValue : class
    {
        if (Find(detector) is { Handle: not null } last && last.Key.Equals(key))
        {
            // A group state still in its table is reached directly (and marked used on itself).
            if (last.Value is GroupState { Evicted: false } state)
            {
                state.Touched = true;
                return (TValue)last.Value;
            }

            if (table.TryGet(last.Handle, out var cached))
            {
                return cached;
            }
        }

        var value = table.Get(key, out var handle);
        if (handle is not null)
        {
            Remember(detector, key, handle, value!);
        }

        return value;
    }

    /// <summary>Records the group this flow used with detector <paramref name="detector"/> (forgetting its note).</summary>
    public void Remember(int detector, in GroupKey key, object handle, object value)
    {
        var last = FindOrAdd(detector);
        last.Key = key;
        last.Handle = handle;
        last.Value = value;
        last.Note = null;
    }

    /// <summary>What detector <paramref name="detector"/> noted about this flow in its last group (null when the
    /// group changed since, or nothing was noted).</summary>
    public object? Note(int detector) => Find(detector)?.Note;

    /// <summary>Notes something about this flow in its last group with detector <paramref name="detector"/>.</summary>
    public void SetNote(int detector, object note)
    {
        if (Find(detector) is { Handle: not null } last)
        {
            last.Note = note;
        }
    }

    /// <summary>What detector <paramref name="detector"/> remembers about this flow context, whatever the group
    /// (null when nothing).</summary>
    public object? Memo(int detector) => Find(detector)?.Memo;

    /// <summary>Sets what detector <paramref name="detector"/> remembers about this flow context.</summary>
    public void SetMemo(int detector, object? memo)
    {
        if (memo is null)
        {
            if (Find(detector) is { } known)
            {
                known.Memo = null;
            }

            return;
        }

        FindOrAdd(detector).Memo = memo;
    }

    private Entry? Find(int detector)
    {
        var inline = Math.Min(_count, Inline);
        for (var i = 0; i < inline; i++)
        {
            if (_ids[i] == detector)
            {
                return _inline[i];
            }
        }

        var more = _moreIds.AsSpan(0, _count - inline);
        for (var i = 0; i < more.Length; i++)
        {
            if (more[i] == detector)
            {
                return _more[i];
            }
        }

        return null;
    }

    private Entry FindOrAdd(int detector)
    {
        if (Find(detector) is { } known)
        {
            return known;
        }

        var entry = new Entry();
        if (_count < Inline)
        {
            _ids[_count] = detector;
            _inline[_count] = entry;
        }
        else
        {
            var at = _count - Inline;
            if (at == _more.Length)
            {
                Array.Resize(ref _more, Math.Max(2, at * 2));
                Array.Resize(ref _moreIds, _more.Length);
            }

            _moreIds[at] = detector;
            _more[at] = entry;
        }

        _count++;
        return entry;
    }

    [System.Runtime.CompilerServices.InlineArray(Inline)]
    private struct InlineIds
    {
        private int _first;
    }

    [System.Runtime.CompilerServices.InlineArray(Inline)]
    private struct InlineEntries
    {
        private Entry? _first;
    }

    // A detector's entry (its id is held beside it, in the scratch): the last group it used for this flow (Handle null
    // until it used one), its note about the flow in that group, and its memo about the flow context.
    private sealed class Entry
    {
        public GroupKey Key { get; set; }

        public object? Handle { get; set; }

        public object? Value { get; set; }

        public object? Note { get; set; }

        public object? Memo { get; set; }
    }
}
