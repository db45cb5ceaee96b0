using System.Numerics;
using System.Security.Cryptography;

namespace SecMon.Capture.Scans;

/// <summary>
/// The scan detector's trackers by key, built as the flow table is (<see cref="Flows.FlowTable"/>): a power-of-two array
/// of (hash, tracker) slots at most half full, linear probing, deletion by shifting the run back, a hash keyed with random
/// bits drawn per table (colliding keys cannot be precomputed). Every new flow looks up two trackers and, on a busy
/// network, replaces two: a look-up reads one slot run and the tracker it needs anyway.
/// </summary>
internal sealed class TrackerTable
{
    private readonly ulong _k0, _k1, _k2, _k3, _k4;
    private Slot[] _slots;
    private int _mask;

    /// <summary>Creates an empty table sized for <paramref name="expected"/> trackers (grows as needed).</summary>
    public TrackerTable(int expected)
    {
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(expected, 8, 1 << 28) * 2);
        _slots = new Slot[capacity];
        _mask = capacity - 1;
        Span<ulong> keys = stackalloc ulong[5];
        RandomNumberGenerator.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(keys));
        (_k0, _k1, _k2, _k3, _k4) = (keys[0] | 1, keys[1] | 1, keys[2], keys[3], keys[4] | 1);
    }

    /// <summary>Trackers held.</summary>
    public int Count { get; private set; }

    /// <summary>Looks a tracker up by key.</summary>
    public bool TryGetValue(in ScanKey key, out ScanTracker tracker)
    {
        var hash = Hash(key);
        var slots = _slots;
        var mask = _mask;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            ref var slot = ref slots[i];
            if (slot.Tracker is not { } candidate)
            {
                tracker = null!;
                return false;
            }

            if (slot.Hash == hash && candidate.Key.Equals(key))
            {
                tracker = candidate;
                return true;
            }
        }
    }

    /// <summary>Adds a tracker under its <see cref="ScanTracker.Key"/>, which is not held.</summary>
    public void Add(ScanTracker tracker)
    {
        if (Count + 1 > (_mask + 1) / 2)
        {
            var slots = new Slot[_slots.Length * 2];
            foreach (var slot in _slots)
            {
                if (slot.Tracker is not null)
                {
                    Insert(slots, slots.Length - 1, slot);
                }
            }

            _slots = slots;
            _mask = slots.Length - 1;
        }

        Insert(_slots, _mask, new Slot(Hash(tracker.Key), tracker));
        Count++;
    }

    /// <summary>Removes a tracker held under its current <see cref="ScanTracker.Key"/> (nothing when it is not held).</summary>
    public void Remove(ScanTracker tracker)
    {
        if (Flows.OpenTable.Remove(_slots, _mask, Hash(tracker.Key), tracker))
        {
            Count--;
        }
    }

    private static void Insert(Slot[] slots, int mask, Slot slot)
    {
        var i = slot.Hash & mask;
        while (slots[i].Tracker is not null)
        {
            i = (i + 1) & mask;
        }

        slots[i] = slot;
    }

    private int Hash(in ScanKey key)
    {
        var s = key.Scanner;
        var h = key.Host;
        var last = ((ulong)key.Port << 32) | ((ulong)key.Protocol << 24) | ((ulong)key.VlanId << 8) |
                   (key.IsSweep ? 4UL : 0) | (s.IsV6 ? 2UL : 0) | (h.IsV6 ? 1UL : 0);
        var x = Fold(s.Low ^ _k0, h.Low ^ _k1);
        if ((s.High | h.High) != 0)
        {
            x ^= Fold(s.High ^ _k2, h.High ^ _k3);
        }

        x = Fold(x ^ last, _k4);
        return (int)x ^ (int)(x >> 32);

        static ulong Fold(ulong a, ulong b)
        {
            var high = Math.BigMul(a, b, out var low);
            return high ^ low;
        }
    }

    private readonly record struct Slot(int Hash, ScanTracker? Tracker) : Flows.ITableSlot
    {
        object? Flows.ITableSlot.Entry => Tracker;
    }
}
