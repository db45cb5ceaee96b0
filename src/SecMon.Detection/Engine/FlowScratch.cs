using SecMon.Core.Flows;

namespace SecMon.Detection.Engine;

/// <summary>
/// What one <see cref="DetectionEngine"/> remembers on a flow context (in the rule engine's <see cref="FlowSlot"/>) so
/// that the next event of the flow finds its state without look-ups by key: the flow's session memory, and per
/// detector the last group key with its state. Both are only hints: a state its table evicted says so
/// (<see cref="GroupState.Evicted"/>), and another engine's scratch is replaced, so either only costs the ordinary
/// look-up.
/// </summary>
internal sealed class FlowScratch(object owner, int detectors)
{
    private readonly LastGroup?[] _groups = new LastGroup?[detectors];
    private readonly object?[] _memos = new object?[detectors];

    // The rule engine's place on every flow context.
    private static readonly FlowSlot Slot = FlowSlot.Allocate();

    /// <summary>The engine the scratch belongs to.</summary>
    public object Owner { get; } = owner;

    /// <summary>The flow's entry in the session memory (<see cref="FlowMemory"/>).</summary>
    public GroupState? Session { get; set; }

    /// <summary>The scratch of <paramref name="owner"/> on <paramref name="flow"/>, created (replacing another
    /// engine's) when missing.</summary>
    public static FlowScratch Of(FlowContext flow, object owner, int detectors)
    {
        ref var slot = ref flow.Slot(Slot);
        if (slot is FlowScratch s && ReferenceEquals(s.Owner, owner))
        {
            return s;
        }

        s = new FlowScratch(owner, detectors);
        slot = s;
        return s;
    }

    /// <summary>The scratch on <paramref name="flow"/> (of whichever engine last set it; detectors run inside
    /// <see cref="Of"/>'s engine, which set it first), or null.</summary>
    public static FlowScratch? Peek(FlowContext flow) => flow.Slot(Slot) as FlowScratch;

    /// <summary>The state of <paramref name="key"/> in <paramref name="table"/> when it is the group this flow last
    /// used with detector <paramref name="detector"/>; otherwise a touched look-up by key.</summary>
    public TValue? Get<TValue>(int detector, LruTable<GroupKey, TValue> table, in GroupKey key)
        where TValue : class
    {
        if (_groups[detector] is { } last && last.Key.Equals(key))
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
        var last = _groups[detector] ??= new LastGroup();
        last.Key = key;
        last.Handle = handle;
        last.Value = value;
        last.Note = null;
    }

    /// <summary>What detector <paramref name="detector"/> noted about this flow in its last group (null when the
    /// group changed since, or nothing was noted).</summary>
    public object? Note(int detector) => _groups[detector]?.Note;

    /// <summary>Notes something about this flow in its last group with detector <paramref name="detector"/>.</summary>
    public void SetNote(int detector, object note)
    {
        if (_groups[detector] is { } last)
        {
            last.Note = note;
        }
    }

    /// <summary>What detector <paramref name="detector"/> remembers about this flow context, whatever the group
    /// (null when nothing).</summary>
    public object? Memo(int detector) => _memos[detector];

    /// <summary>Sets what detector <paramref name="detector"/> remembers about this flow context.</summary>
    public void SetMemo(int detector, object? memo) => _memos[detector] = memo;

    private sealed class LastGroup
    {
        public GroupKey Key { get; set; }

        public object? Handle { get; set; }

        public object? Value { get; set; }

        public object? Note { get; set; }
    }
}
