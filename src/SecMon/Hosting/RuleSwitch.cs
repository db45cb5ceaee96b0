using SecMon.Detection;

namespace SecMon.Hosting;

/// <summary>
/// The rule set a running sensor uses, replaceable while it runs (the API's rule enable/disable/reload): any thread
/// calls <see cref="Set"/>; the rules thread sees the new version between two events (<see cref="DetectionPipeline"/>
/// checks <see cref="Version"/>, one volatile read per event) and carries on with it. A set that fails to load never
/// gets here, so the old set keeps running.
/// </summary>
internal sealed class RuleSwitch(RuleSet initial)
{
    private RuleSet _current = initial ?? throw new ArgumentNullException(nameof(initial));
    private int _version;

    /// <summary>The rule set in force.</summary>
    public RuleSet Current => Volatile.Read(ref _current);

    /// <summary>Incremented by each <see cref="Set"/> (after the set is in place).</summary>
    public int Version => Volatile.Read(ref _version);

    /// <summary>Puts <paramref name="rules"/> in force from the next event on.</summary>
    public void Set(RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Volatile.Write(ref _current, rules);
        Interlocked.Increment(ref _version);
    }
}
