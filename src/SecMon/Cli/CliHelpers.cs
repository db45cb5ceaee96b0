using System.CommandLine;
using SecMon.Core;

namespace SecMon.Cli;

/// <summary>Small helpers shared by the command groups: duration options, stderr output, terminal detection.</summary>
internal static class CliHelpers
{
    /// <summary>True when stderr is an interactive terminal (progress bars go there only then).</summary>
    public static bool StderrIsTerminal => !Console.IsErrorRedirected;

    /// <summary>The <c>--log-format text|json</c> option of the long-running commands (<c>capture</c>, <c>serve</c>).</summary>
    public static Option<string> LogFormatOption()
    {
        var option = new Option<string>("--log-format")
        {
            Description = "How the log is written: text (default: each line starts with its UTC time, ISO 8601; serve's server messages,\n" +
                "such as EST issuance and refusals, go to stdout, everything else to stderr) or json (every line one JSON object on\n" +
                "stderr: Timestamp, EventId, LogLevel, Category, Message).",
            DefaultValueFactory = _ => "text",
            HelpName = "text|json",
        };
        option.AcceptOnlyFromAmong("text", "json");
        return option;
    }

    /// <summary>Installs the process log in the format <paramref name="option"/> asks for (see <see cref="LogFormatOption"/>).</summary>
    public static void InstallLog(ParseResult parse, Option<string> option)
    {
        ArgumentNullException.ThrowIfNull(parse);
        SecMon.Ops.ProcessLog.Install(parse.GetValue(option) == "json" ? SecMon.Ops.LogFormat.Json : SecMon.Ops.LogFormat.Text);
    }

    /// <summary>Writes one line to stderr prefixed with <c>secmon: </c>.</summary>
    public static void Error(string message) => Console.Error.WriteLine("secmon: " + message);

    /// <summary>What a duration option's error says: <c>--duration takes a duration such as 30s, 10m, 2h, 1d, 1w</c>.</summary>
    public static string DurationExpected(string name) =>
        $"{name} takes a duration: a whole number and a unit (ms, s, m, h, d, w), such as 30s, 10m, 2h, 1d, 1w";

    /// <summary>The <c>--interface</c>/<c>-i</c> option of the live commands: one or more interfaces, repeated
    /// (<c>-i eth0 -i eth1</c>) or comma-separated (<c>-i eth0,eth1</c>); read them with <see cref="Interfaces"/>.</summary>
    internal static Option<string[]> InterfaceOption(string description, bool required) => new("--interface", "-i")
    {
        Description = description,
        Required = required,
        HelpName = "IF",
        Arity = required ? ArgumentArity.OneOrMore : ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The interfaces given to <paramref name="option"/>, commas split, in order; empty when none.</summary>
    internal static IReadOnlyList<string> Interfaces(ParseResult parse, Option<string[]> option) =>
        [.. (parse.GetValue(option) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    /// <summary>An option whose value is a positive duration in the one grammar (<see cref="Durations"/>), validated at parse time.</summary>
    public static Option<TimeSpan?> DurationOption(string name, string description)
    {
        var option = new Option<TimeSpan?>(name)
        {
            Description = description,
            HelpName = "DURATION",
            CustomParser = r =>
            {
                var token = r.Tokens.Count > 0 ? r.Tokens[0].Value : null;
                if (Durations.TryParse(token, out var ts) && ts > TimeSpan.Zero)
                {
                    return ts;
                }

                r.AddError($"{DurationExpected(name)}, not '{token}'");
                return null;
            },
        };
        return option;
    }

    /// <summary>Formats a count with thousands separators.</summary>
    public static string N(long n) => n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
