using System.Runtime.CompilerServices;

namespace SecMon.Core.Flows;

/// <summary>
/// A consumer's place on every <see cref="FlowContext"/> (<see cref="FlowContext.Slot"/>): a consumer type (the rule
/// engine, the device inventory) allocates one once, in a static field, and keeps there what lets the next event of a
/// flow find its state without a look-up by key. Core names no consumer: a new one allocates a slot and nothing here
/// changes. Reading a slot is an array index, no hashing.
/// </summary>
public readonly record struct FlowSlot
{
    /// <summary>Most slots a process can allocate (each flow context carries this many references): the three consumers
    /// that ship (the rule engine, the device inventory, the event log) take one each; a fourth raises it.</summary>
    public const int Capacity = 3;

    private static int _allocated;

    private FlowSlot(int index) => Index = index;

    /// <summary>The slot's index in <see cref="FlowContext"/>'s slots.</summary>
    public int Index { get; }

    /// <summary>Allocates a new slot. Call once per consumer type (a static field), not per instance: instances of the
    /// same type share the slot and tell their own state apart by an owner reference in it.</summary>
    /// <exception cref="InvalidOperationException">All <see cref="Capacity"/> slots are taken.</exception>
    public static FlowSlot Allocate()
    {
        var index = Interlocked.Increment(ref _allocated) - 1;
        if (index >= Capacity)
        {
            throw new InvalidOperationException($"All {Capacity} flow slots are allocated: raise FlowSlot.Capacity.");
        }

        return new FlowSlot(index);
    }
}

/// <summary>The slots of one flow context, inline in it (no separate allocation per flow).</summary>
[InlineArray(FlowSlot.Capacity)]
internal struct FlowSlots
{
    private object? _first;
}
