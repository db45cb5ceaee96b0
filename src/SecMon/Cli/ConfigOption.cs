using System.CommandLine;
using SecMon.Core.Configuration;
using SecMon.Hosting.Configuration;

namespace SecMon.Cli;

/// <summary>
/// <c>--config FILE</c>, shared by the commands that run the sensor or read its findings (<c>analyze</c>,
/// <c>capture</c>, <c>serve</c>, <c>findings</c>, <c>outputs</c>): loads the file, lists every problem on stderr and
/// gives the run's settings, with the command line winning over the file.
/// </summary>
internal sealed class ConfigOption
{
    /// <summary>The environment variable naming the configuration file when <c>--config</c> is not given.</summary>
    public const string EnvironmentVariable = "SECMON_CONFIG";

    public Option<string?> File { get; } = new("--config")
    {
        Description = "YAML configuration file: the sensor's name, the data directory, extra rule packs and the finding outputs\n" +
            "(Elasticsearch, webhooks, MQTT alerts, a findings log); 'secmon config check FILE' validates it and 'secmon config\n" +
            $"example' prints a commented one. Default: ${EnvironmentVariable} when set, else none (the embedded store only).",
        HelpName = "FILE",
    };

    /// <summary>Loads the file given (or named by <c>SECMON_CONFIG</c>); without one, the defaults with the
    /// <paramref name="dataOption"/> directory. Null after listing every error on stderr, with
    /// <paramref name="exitCode"/> set (66, 77 or 78). Warnings are listed either way.</summary>
    public SecMonConfig? Load(ParseResult parse, Option<string> dataOption, out int exitCode)
    {
        var explicitData = parse.GetResult(dataOption) is { Implicit: false } ? parse.GetValue(dataOption) : null;
        var path = parse.GetValue(File) ?? (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } p ? p : null);
        exitCode = ExitCodes.Ok;
        if (path is null)
        {
            return SecMonConfig.Defaults with { DataDirectory = parse.GetValue(dataOption)! };
        }

        var errors = new ConfigErrors();
        var config = SecMonConfig.Load(path, explicitData, errors, out exitCode);
        Report(errors);
        if (config is null)
        {
            CliHelpers.Error($"{errors.ErrorCount} error(s) in {path}; fix them ('secmon config check {path}' lists the same) and run again");
        }

        return config;
    }

    /// <summary>Lists errors and warnings on stderr, one per line (<c>file:line:column: key: what</c>).</summary>
    public static void Report(ConfigErrors errors, TextWriter? to = null)
    {
        to ??= Console.Error;
        foreach (var item in errors.Items)
        {
            to.WriteLine(item.ToString());
        }
    }
}
