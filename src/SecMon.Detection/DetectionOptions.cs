using SecMon.Core.Findings;

namespace SecMon.Detection;

/// <summary>Bounds of the detection engine's state. Defaults suit a sensor watching a site's IoT network.</summary>
public sealed record DetectionOptions
{
    /// <summary>Most groups (threshold, sequence, aggregation, namespace scopes) one rule keeps; the least recently
    /// active group is dropped first (an open aggregation is reported early, not lost). Default 10,000.</summary>
    public int MaxGroupsPerRule { get; init; } = 10_000;

    /// <summary>Most flows whose <c>session.</c> values are remembered; the least recently active are forgotten.
    /// Default 65,536.</summary>
    public int MaxFlows { get; init; } = 65_536;

    /// <summary>The sensor named in every finding (<c>observer.*</c>, <c>agent.id</c>). Default (null):
    /// <see cref="SensorIdentity.ForThisHost"/>, the host name with an id derived from it. The host sets the configured
    /// name and id here.</summary>
    public SensorIdentity? Sensor { get; init; }

    /// <summary>True when events come from a live interface: the flow's capture source is then written as
    /// <c>observer.ingress.interface.name</c>; false (the default) writes it as the analysed file, <c>log.file.path</c>.</summary>
    public bool LiveCapture { get; init; }

    /// <summary>The vendor of a device's MAC, written as <c>secmon.device.vendor</c> in every finding whose device has a
    /// MAC with a registered OUI. Default (null): <see cref="Core.Devices.MacVendors.System"/>, Wireshark's manuf table,
    /// read on the first finding with a MAC.</summary>
    public Func<string, string?>? VendorOf { get; init; }
}

/// <summary>
/// Counters of a <see cref="DetectionEngine"/>. Updated on the processing thread; read them there or after
/// <see cref="DetectionEngine.Complete"/>.
/// </summary>
public sealed class DetectionStats
{
    internal DetectionStats(IReadOnlyList<string> suppressionNames) => SuppressionHits = new long[suppressionNames.Count];

    /// <summary>Events given to the engine.</summary>
    public long Events { get; internal set; }

    /// <summary>Events whose type at least one rule reads.</summary>
    public long EventsRead { get; internal set; }

    /// <summary>Rule conditions that held (before suppressions).</summary>
    public long Matches { get; internal set; }

    /// <summary>Matches dropped by a suppression.</summary>
    public long Suppressed { get; internal set; }

    /// <summary>Findings produced.</summary>
    public long Findings { get; internal set; }

    /// <summary>Per suppression (in pack order), how many matches it dropped.</summary>
    internal long[] SuppressionHits { get; }

    /// <summary>Rule groups evicted to stay within <see cref="DetectionOptions.MaxGroupsPerRule"/>.</summary>
    public long GroupsEvicted { get; internal set; }

    /// <summary>Flows whose session values were forgotten to stay within <see cref="DetectionOptions.MaxFlows"/>.</summary>
    public long FlowsEvicted { get; internal set; }

    /// <summary>Regular-expression matches that hit their timeout (counted as no match).</summary>
    public long RegexTimeouts { get; internal set; }

    /// <summary>Baseline values or entities not kept because a bound was reached.</summary>
    public long BaselineDropped { get; internal set; }
}
