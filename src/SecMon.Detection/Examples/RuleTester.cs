using SecMon.Core.Findings;
using SecMon.Detection.Baselines;
using SecMon.Detection.Examples;

namespace SecMon.Detection;

/// <summary>The outcome of one rule example (or of a rule that has none).</summary>
/// <param name="RuleId">The rule.</param>
/// <param name="Case">The case name, or "case at line N".</param>
/// <param name="ShouldMatch">True for a <c>match</c> case.</param>
/// <param name="Passed">True when the rule did what the example says.</param>
/// <param name="Detail">What happened (the findings' messages, or what was expected).</param>
/// <param name="File">The pack file.</param>
/// <param name="Line">The case's line.</param>
/// <param name="Column">The case's column.</param>
public sealed record ExampleResult(string RuleId, string Case, bool ShouldMatch, bool Passed, string Detail, string File, int Line, int Column)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line}:{Column}: {RuleId} {(ShouldMatch ? "match" : "no_match")} {Case}: {(Passed ? "ok" : "FAILED")} - {Detail}";
}

/// <summary>
/// Runs the examples rules carry (<c>secmon rules test</c>): each case in a fresh engine holding only its rule,
/// without suppressions, with the default baseline learning period (1 hour of example time). A <c>match</c> case
/// passes when the rule reports at least one finding (and what <c>expect</c> says); a <c>no_match</c> case when it
/// reports none. A rule without both kinds of case fails: every rule should show what it catches and what not.
/// </summary>
public static class RuleTester
{
    /// <summary>Runs every example of every rule.</summary>
    public static IReadOnlyList<ExampleResult> Run(RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var builder = new SyntheticEvents(rules.Catalogue);
        var results = new List<ExampleResult>();
        foreach (var rule in rules.Definitions)
        {
            var hasMatch = rule.Examples.Any(c => c.ShouldMatch);
            var hasNoMatch = rule.Examples.Any(c => !c.ShouldMatch);
            if (!hasMatch || !hasNoMatch)
            {
                var missing = !hasMatch && !hasNoMatch ? "examples (match and no_match)" : hasMatch ? "no_match examples" : "match examples";
                results.Add(new ExampleResult(rule.Id, "(none)", !hasMatch, false,
                    $"the rule has no {missing}; add events that must and must not produce a finding under 'examples'.",
                    rule.Location.File, rule.Location.Line, rule.Location.Column));
            }

            var single = rules.Only(rule);
            foreach (var c in rule.Examples)
            {
                var engine = new DetectionEngine(single, baselines: new BaselineModel(new BaselineOptions()));
                var findings = new List<Finding>();
                foreach (var e in builder.Build(c))
                {
                    findings.AddRange(engine.Process(e));
                }

                findings.AddRange(engine.Complete());
                var (passed, detail) = Judge(c, findings);
                results.Add(new ExampleResult(rule.Id, SyntheticEvents.Describe(c), c.ShouldMatch, passed, detail, c.Location.File, c.Location.Line, c.Location.Column));
            }
        }

        return results;
    }

    private static (bool, string) Judge(Model.ExampleCase c, List<Finding> findings)
    {
        var summary = findings.Count == 0
            ? "no finding"
            : $"{findings.Count} finding(s): " + string.Join(" | ", findings.Take(3).Select(f => $"[{f.Severity.ToString().ToUpperInvariant()} x{f.EventCount}] {f.Message}"));
        if (!c.ShouldMatch)
        {
            return (findings.Count == 0, findings.Count == 0 ? "no finding, as expected" : "expected no finding, got " + summary);
        }

        if (findings.Count == 0)
        {
            return (false, "expected a finding, got none");
        }

        if (c.Expect is { } x)
        {
            if (x.Findings is { } n && findings.Count != n)
            {
                return (false, $"expected {n} finding(s), got {summary}");
            }

            if (x.Severity is { } sev && findings.Max(f => f.Severity) != sev)
            {
                return (false, $"expected severity {sev.ToString().ToUpperInvariant()}, got {summary}");
            }

            if (x.EventCount is { } count && !findings.Any(f => f.EventCount == count))
            {
                return (false, $"expected a finding counting {count} event(s), got {summary}");
            }
        }

        return (true, summary);
    }
}
