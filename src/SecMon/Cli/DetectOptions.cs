using System.CommandLine;
using SecMon.Hosting;
using SecMon.Detection;
using static SecMon.Cli.CliHelpers;

namespace SecMon.Cli;

/// <summary>
/// The detection options <c>analyze</c> (files) and <c>capture</c> (live) share, with the same meaning in both:
/// <c>--json</c>, <c>--rules</c>, <c>--learning</c> and <c>--no-detect</c>; and loading the rule packs.
/// </summary>
internal sealed class DetectOptions
{
    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print findings as ECS JSON lines on stdout (nothing else goes to stdout).",
    };

    public Option<string[]> Rules { get; } = new("--rules")
    {
        Description = "Extra rule pack directory (repeatable); the shipped rules/ are always loaded.",
        HelpName = "DIR",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<LearningSpec?> Learning { get; } = new("--learning")
    {
        Description =
            "Baseline learning period in capture time (default 1h): the first part of the traffic that baselines learn from;\n" +
            $"after it, new peers, ports, topics and rates are reported. Give {LearningSpec.Forms}.\n" +
            "Learned baselines persist in the data directory and later runs continue them ('secmon baselines' shows, exports and resets them).",
        HelpName = "PERIOD",
        CustomParser = r =>
        {
            var token = r.Tokens.Count > 0 ? r.Tokens[0].Value : null;
            if (LearningSpec.TryParse(token, out var spec, out var error))
            {
                return spec;
            }

            r.AddError("--learning: " + error);
            return null;
        },
    };

    public Option<bool> NoDetect { get; } = new("--no-detect")
    {
        Description = "Only dissect: count and write events (with --events), without rules, findings, devices or the store.",
    };

    /// <summary>The options, in help order.</summary>
    public IEnumerable<Option> All => [Json, Rules, Learning, NoDetect];

    /// <summary>The values given, checked against each other and <c>--events</c>: null and a usage message on stderr
    /// when they do not go together.</summary>
    public Values? Read(ParseResult parse, string? eventsPath)
    {
        var values = new Values(parse.GetValue(Json), parse.GetValue(Rules) ?? [], parse.GetValue(Learning), parse.GetValue(NoDetect));
        if (values.Json && eventsPath == "-")
        {
            Error("--json and --events - both write to stdout; send the events to a file (--events PATH)");
            return null;
        }

        if (values.NoDetect && (values.Json || values.RuleDirs.Length > 0 || values.Learning is not null))
        {
            Error("--no-detect runs no rules: it cannot be combined with --json, --rules or --learning");
            return null;
        }

        return values;
    }

    /// <summary>What was given.</summary>
    public sealed record Values(bool Json, string[] RuleDirs, LearningSpec? Learning, bool NoDetect);

    /// <summary>
    /// Loads the shipped rules and <paramref name="ruleDirs"/>; null after listing every error (file:line:column)
    /// on stderr, with <paramref name="exitCode"/> set. An invalid pack stops a run before any work.
    /// </summary>
    public static RuleSet? LoadRules(string[] ruleDirs, out int exitCode)
    {
        exitCode = ExitCodes.Ok;
        var shipped = RulesCommand.DefaultRulesDirectory();
        string[] rulePaths = [.. (shipped is null ? [] : new[] { shipped }), .. ruleDirs];
        if (rulePaths.Length == 0)
        {
            Error("no rules directory found (rules/ next to secmon or in the current directory); give one with --rules DIR");
            exitCode = ExitCodes.NoInput;
            return null;
        }

        var rules = RulePackLoader.Load(rulePaths, AnalysisSession.EventSchemas);
        if (!rules.Success)
        {
            RulesCommand.ReportErrors(rules.Errors, asJson: false);
            Error($"{rules.Errors.Count} error(s) in the rule packs; fix them (secmon rules validate shows the same list) and run again");
            exitCode = ExitCodes.NoInput;
            return null;
        }

        return rules.RuleSet;
    }
}
