using SecMon.Core.Findings;
using SecMon.Findings.Store;

namespace SecMon.Findings.Summary;

/// <summary>
/// The findings summary users read after <c>secmon analyze</c> and in <c>secmon findings stats</c>: one row per
/// rule with its severity, how many findings and how many distinct devices, most severe first.
/// </summary>
public static class FindingsSummaryTable
{
    /// <summary>Summarizes findings in memory (as <c>analyze</c> has them) into per-rule rows.</summary>
    public static IReadOnlyList<RuleCount> Summarize(IEnumerable<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var tally = new FindingsTally();
        foreach (var f in findings)
        {
            tally.Add(f);
        }

        return tally.Rows();
    }

    /// <summary>Writes the summary of <paramref name="findings"/> to <paramref name="output"/>.</summary>
    public static void Write(TextWriter output, IEnumerable<Finding> findings) => Write(output, Summarize(findings));

    /// <summary>
    /// Writes <paramref name="rows"/> as a table (RULE, NAME, SEVERITY, COUNT, DEVICES) followed by a total line;
    /// with no rows, writes <c>No findings.</c>
    /// </summary>
    public static void Write(TextWriter output, IReadOnlyList<RuleCount> rows)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            output.WriteLine("No findings.");
            return;
        }

        var table = new TextTable(
            new TextColumn("RULE", MaxWidth: 32),
            new TextColumn("NAME", MaxWidth: 60),
            new TextColumn("SEVERITY"),
            new TextColumn("COUNT", RightAligned: true),
            new TextColumn("DEVICES", RightAligned: true));
        foreach (var r in rows)
        {
            table.Add(r.RuleId, r.RuleName, SeverityNames.Name(r.Severity), r.Count.ToString("N0"), r.Devices.ToString("N0"));
        }

        table.Write(output);
        var total = rows.Sum(r => r.Count);
        output.WriteLine($"{total:N0} finding{(total == 1 ? "" : "s")} from {rows.Count:N0} rule{(rows.Count == 1 ? "" : "s")}.");
    }
}
