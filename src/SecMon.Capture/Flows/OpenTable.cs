namespace SecMon.Capture.Flows;

/// <summary>A slot of an open-addressing table (<see cref="FlowTable"/>, <see cref="Scans.TrackerTable"/>): the entry's
/// hash and the entry, null when the slot is empty.</summary>
internal interface ITableSlot
{
    int Hash { get; }

    object? Entry { get; }
}

/// <summary>
/// What the flow table and the scan detector's tracker table share: removal from a power-of-two array of slots probed
/// linearly. Generic over the slot struct, so the JIT compiles it for each table's own slot type (no shared code, no
/// interface call on the way).
/// </summary>
internal static class OpenTable
{
    /// <summary>Removes <paramref name="entry"/>, found from its hash's home slot; false when it is not held.</summary>
    public static bool Remove<TSlot>(TSlot[] slots, int mask, int hash, object entry)
        where TSlot : struct, ITableSlot
    {
        var i = hash & mask;
        while (!ReferenceEquals(slots[i].Entry, entry))
        {
            if (slots[i].Entry is null)
            {
                return false;
            }

            i = (i + 1) & mask;
        }

        // Backward-shift deletion: each later entry of the run moves into the hole when its home slot is not between the
        // hole and it (cyclically), so every entry stays reachable from its home slot without tombstones.
        var hole = i;
        for (var j = (hole + 1) & mask; slots[j].Entry is not null; j = (j + 1) & mask)
        {
            var home = slots[j].Hash & mask;
            if (((j - home) & mask) >= ((j - hole) & mask))
            {
                slots[hole] = slots[j];
                hole = j;
            }
        }

        slots[hole] = default;
        return true;
    }
}
