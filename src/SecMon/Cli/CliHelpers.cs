using System.CommandLine;

namespace SecMon.Cli;

/// <summary>Small helpers shared by the command groups: duration parsing, stderr output, terminal detection.</summary>
internal static class CliHelpers
{
    /// <summary>True when stderr is an interactive terminal (progress bars go there only then).</summary>
    public static bool StderrIsTerminal => !Console.IsErrorRedirected;

    /// <summary>Writes one line to stderr prefixed with <c>secmon: </c>.</summary>
    public static void Error(string message) => Console.Error.WriteLine("secmon: " + message);

    /// <summary>Parses durations like <c>90s</c>, <c>5m</c>, <c>24h</c>, <c>7d</c>, <c>250ms</c> or a plain number of seconds.</summary>
    public static bool TryParseDuration(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], "ms")
            : char.IsLetter(text[^1]) ? (text[..^1], text[^1..]) : (text, "s");
        if (!double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 0)
        {
            return false;
        }

        TimeSpan? result = unit switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            "d" => TimeSpan.FromDays(n),
            "w" => TimeSpan.FromDays(7 * n),
            _ => null,
        };
        if (result is null)
        {
            return false;
        }

        value = result.Value;
        return true;
    }

    /// <summary>An option whose value is a duration (<c>30s</c>, <c>5m</c>, <c>24h</c>), validated at parse time.</summary>
    public static Option<TimeSpan?> DurationOption(string name, string description)
    {
        var option = new Option<TimeSpan?>(name)
        {
            Description = description,
            HelpName = "DURATION",
            CustomParser = r =>
            {
                var token = r.Tokens.Count > 0 ? r.Tokens[0].Value : null;
                if (TryParseDuration(token, out var ts))
                {
                    return ts;
                }

                r.AddError($"{name}: '{token}' is not a duration; use e.g. 30s, 5m, 24h or 7d");
                return null;
            },
        };
        return option;
    }

    /// <summary>Formats a count with thousands separators.</summary>
    public static string N(long n) => n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
