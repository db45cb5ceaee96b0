using SecMon.Core.Findings;

namespace SecMon.Findings;

/// <summary>Names of <see cref="Severity"/> bands as users type and read them (<c>low</c>, <c>medium</c>,
/// <c>high</c>, <c>critical</c>).</summary>
public static class SeverityNames
{
    /// <summary>The band names, lowest first.</summary>
    public static IReadOnlyList<string> All { get; } = ["low", "medium", "high", "critical"];

    /// <summary>The name of the band a numeric ECS <c>event.severity</c> falls in (at least 99 critical, 73 high,
    /// 47 medium, else low).</summary>
    public static string Name(int severity) => severity switch
    {
        >= (int)Severity.Critical => "critical",
        >= (int)Severity.High => "high",
        >= (int)Severity.Medium => "medium",
        _ => "low",
    };

    /// <summary>The name of <paramref name="severity"/>'s band.</summary>
    public static string Name(Severity severity) => Name((int)severity);

    /// <summary>Parses a band name (case-insensitive) or a number 0..100.</summary>
    public static bool TryParse(string? text, out int severity)
    {
        severity = 0;
        var t = text?.Trim().ToLowerInvariant();
        switch (t)
        {
            case "low":
                severity = (int)Severity.Low;
                return true;
            case "medium":
                severity = (int)Severity.Medium;
                return true;
            case "high":
                severity = (int)Severity.High;
                return true;
            case "critical":
                severity = (int)Severity.Critical;
                return true;
            default:
                return int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out severity)
                    && severity is >= 0 and <= 100;
        }
    }
}
