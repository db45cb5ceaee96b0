using SecMon.Core.Findings;
using SecMon.Findings.Store;

namespace SecMon.Findings.Summary;

/// <summary>
/// Per-rule counts of findings as they come (a live capture cannot keep every finding in memory): the rows of
/// <see cref="FindingsSummaryTable"/>. Memory grows with the rules and the devices they report, not the findings.
/// </summary>
public sealed class FindingsTally
{
    private readonly Dictionary<string, Row> _rules = new(StringComparer.Ordinal);

    private sealed class Row
    {
        public string Name = "";
        public int Severity;
        public long Count;
        public readonly long[] ByBand = new long[4]; // low, medium, high, critical (SeverityNames.All)
        public readonly HashSet<string> Devices = new(StringComparer.Ordinal);
    }

    /// <summary>Findings counted so far.</summary>
    public long Total { get; private set; }

    /// <summary>Counts <paramref name="finding"/>.</summary>
    public void Add(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        if (!_rules.TryGetValue(finding.RuleId, out var row))
        {
            _rules[finding.RuleId] = row = new Row();
        }

        if (string.CompareOrdinal(finding.RuleName, row.Name) > 0)
        {
            row.Name = finding.RuleName;
        }

        row.Severity = Math.Max(row.Severity, (int)finding.Severity);
        row.Count++;
        row.ByBand[SeverityNames.Name((int)finding.Severity) switch { "medium" => 1, "high" => 2, "critical" => 3, _ => 0 }]++;
        if (finding.DeviceId is not null)
        {
            row.Devices.Add(finding.DeviceId);
        }

        Total++;
    }

    /// <summary>Findings counted by rule and severity band (<see cref="SeverityNames"/>), for the metrics: a rule whose
    /// severity depends on the event counts under each band it reported.</summary>
    public IReadOnlyList<(string RuleId, string Severity, long Count)> BySeverity() =>
        [.. _rules.SelectMany(kv => kv.Value.ByBand.Select((n, band) => (kv.Key, SeverityNames.All[band], n)).Where(t => t.n > 0))];

    /// <summary>One row per rule, most severe first, then most findings, then by rule id.</summary>
    public IReadOnlyList<RuleCount> Rows() =>
        [.. _rules
            .Select(kv => new RuleCount(kv.Key, kv.Value.Name, kv.Value.Severity, kv.Value.Count, kv.Value.Devices.Count))
            .OrderByDescending(r => r.Severity)
            .ThenByDescending(r => r.Count)
            .ThenBy(r => r.RuleId, StringComparer.Ordinal)];
}
