namespace SecMon.Findings.Store;

/// <summary>
/// Folds counts grouped by (rule, severity, device) into <see cref="FindingStats"/>' three views (by rule, by severity
/// band, by device): the one fold both stores use, the SQLite store over one GROUP BY, Elasticsearch over nested
/// aggregations, so their statistics agree.
/// </summary>
internal sealed class FindingStatsFold
{
    private readonly Dictionary<string, (string Name, long NameAt, int Severity, long Count, HashSet<string> Devices)> _rules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _bands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Count, HashSet<string> Rules, int Severity, long Last)> _devices = new(StringComparer.Ordinal);
    private long _total;

    /// <summary>Adds <paramref name="count"/> findings of one group; <paramref name="device"/> null or empty for findings
    /// about no device, <paramref name="lastMicros"/> the newest one's time and <paramref name="ruleName"/> its rule name.
    /// A rule is shown under the name of its newest finding (a rule renamed by an update shows its new name; on equal
    /// times the greater name, whatever the order of the groups).</summary>
    public void Add(string ruleId, string ruleName, int severity, string? device, long count, long lastMicros)
    {
        _total += count;
        var r = _rules.GetValueOrDefault(ruleId, (ruleName, lastMicros, severity, 0, new HashSet<string>(StringComparer.Ordinal)));
        if (!string.IsNullOrEmpty(device))
        {
            r.Devices.Add(device);
        }

        if (lastMicros > r.NameAt || (lastMicros == r.NameAt && string.CompareOrdinal(ruleName, r.Name) > 0))
        {
            (r.Name, r.NameAt) = (ruleName, lastMicros);
        }

        _rules[ruleId] = (r.Name, r.NameAt, Math.Max(r.Severity, severity), r.Count + count, r.Devices);

        var band = SeverityNames.Name(severity);
        _bands[band] = _bands.GetValueOrDefault(band) + count;

        var key = device ?? "";
        var d = _devices.GetValueOrDefault(key, (0, new HashSet<string>(StringComparer.Ordinal), severity, lastMicros));
        d.Rules.Add(ruleId);
        _devices[key] = (d.Count + count, d.Rules, Math.Max(d.Severity, severity), Math.Max(d.Last, lastMicros));
    }

    /// <summary>The statistics, rules by severity then count, devices by count (at most <paramref name="maxDevices"/>).</summary>
    public FindingStats Build(int maxDevices) => new()
    {
        Total = _total,
        ByRule = [.. _rules
            .Select(r => new RuleCount(r.Key, r.Value.Name, r.Value.Severity, r.Value.Count, r.Value.Devices.Count))
            .OrderByDescending(r => r.Severity).ThenByDescending(r => r.Count).ThenBy(r => r.RuleId, StringComparer.Ordinal)],
        BySeverity = [.. SeverityNames.All.Reverse().Where(_bands.ContainsKey).Select(b => new SeverityCount(b, _bands[b]))],
        ByDevice = [.. _devices
            .Select(d => new DeviceCount(d.Key, d.Value.Count, d.Value.Rules.Count, d.Value.Severity, d.Value.Last))
            .OrderByDescending(d => d.Count).ThenBy(d => d.DeviceId, StringComparer.Ordinal)
            .Take(Math.Max(0, maxDevices))],
    };
}
