using System.CommandLine;
using System.CommandLine.Help;
using SecMon.Hosting;

namespace SecMon.Cli;

/// <summary>The <c>secmon</c> command tree. Each command group lives in its own file beside this one.</summary>
internal static class SecMonCli
{
    /// <summary>Builds the root command with every subcommand.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "SecMon: security monitoring and device hardening for IoT networks.\n" +
            "Reads IoT traffic (pcap/pcapng files or a live interface), dissects MQTT and other IoT protocols,\n" +
            "flags unauthenticated and anomalous behaviour, and issues per-device mTLS certificates.");
        foreach (var command in Commands())
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>: what <c>secmon</c> does. A command line that cannot be used exits
    /// 64 (<see cref="ExitCodes.Usage"/>) with what is wrong in words on stderr, never help or anything else on
    /// stdout (so <c>--json | jq</c> sees nothing); <c>--help</c> goes to stdout, or to stderr beside <c>--json</c>.
    /// A <see cref="DataDirectoryException"/> ends the run with its message and exit code, and any other exception
    /// (a bug) with <see cref="ExitCodes.Software"/>, not 1, which <see cref="ExitCodes.FindingsFound"/> means.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, InvocationConfiguration configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var root = Build();
        var parse = root.Parse(args);
        var error = configuration.Error;
        var problems = UsageErrors.Find(parse);
        if (problems.Count > 0 || parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
        {
            foreach (var problem in problems)
            {
                await error.WriteLineAsync("secmon: " + problem).ConfigureAwait(false);
            }

            var path = UsageErrors.CommandPath(parse);
            if (UsageErrors.WantsCommandList(parse))
            {
                // 'secmon', 'secmon nosuch', 'secmon findings': the list of commands is the answer, on stderr.
                await error.WriteLineAsync().ConfigureAwait(false);
                var helpArgs = path.Split(' ').Skip(1).Append("--help").ToArray();
                await root.Parse(helpArgs).InvokeAsync(new InvocationConfiguration { Output = error, Error = error }, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await error.WriteLineAsync($"secmon: '{path} --help' lists the options, with examples").ConfigureAwait(false);
            }

            return ExitCodes.Usage;
        }

        var run = new InvocationConfiguration
        {
            // Help asked for beside --json goes to stderr: stdout is JSON lines only.
            Output = parse.Action is HelpAction && parse.Tokens.Any(t => t.Value == "--json") ? error : configuration.Output,
            Error = error,
            ProcessTerminationTimeout = configuration.ProcessTerminationTimeout,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await parse.InvokeAsync(run, cancellationToken).ConfigureAwait(false);
        }
        catch (DataDirectoryException ex)
        {
            await error.WriteLineAsync("secmon: " + ex.Message).ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("secmon: stopped").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
#pragma warning disable CA1031 // the last resort: a bug is reported with its stack trace and its own exit code
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await error.WriteLineAsync($"secmon: internal error (a bug; please report it with this message): {ex}").ConfigureAwait(false);
            return ExitCodes.Software;
        }
    }

    // One line per command group (a command's name is a contract once it exists: see README.md).
    private static IEnumerable<Command> Commands() =>
    [
        AnalyzeCommand.Create(),
        CaptureCommand.Create(),
        CaCommand.Create(),
        EnrollCommand.Create(),
        ServeCommand.Create(),
        FindingsCommand.Create(),
        DevicesCommand.Create(),
        HardenCommand.Create(),
        BaselinesCommand.Create(),
        RulesCommand.Create(),
        ConfigCommand.Create(),
        OutputsCommand.Create(),
        WebhooksCommand.Create(),
    ];
}
