namespace SecMon.Detection.Engine;

/// <summary>
/// A detector's state for one group that a flow may hold on to between events (<see cref="FlowScratch"/>): it
/// carries its own use mark and knows when its <see cref="LruTable{TKey, TValue}"/> evicted it, so the flow's next
/// event reaches it without going through the table's entry (one cache miss less per rule and event).
/// </summary>
internal abstract class GroupState
{
    /// <summary>Used since the table last looked (the table's CLOCK mark, set without touching the table).</summary>
    public bool Touched { get; set; }

    /// <summary>No longer in its table: a flow holding it must look its key up again.</summary>
    public bool Evicted { get; set; }
}
