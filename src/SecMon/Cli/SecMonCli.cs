using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using SecMon.Hosting;

namespace SecMon.Cli;

/// <summary>The <c>secmon</c> command tree. Each command group lives in its own file beside this one.</summary>
internal static class SecMonCli
{
    /// <summary>Builds the root command with every subcommand.</summary>
    public static RootCommand Build() => Build([]);

    /// <summary>
    /// Builds the root command for <paramref name="args"/>: when the first argument names a command, with that command
    /// alone (its options, subcommands, help and errors are the same as in the whole tree), else with every command.
    /// A short command such as <c>secmon findings search</c> then builds no other command's options (with the store's
    /// insert statements left unprepared, 8-9% less CPU time: bench/README.md, "CLI start-up").
    /// </summary>
    public static RootCommand Build(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var root = new RootCommand(
            "SecMon: security monitoring and device hardening for IoT networks.\n" +
            "Reads IoT traffic (pcap/pcapng files or a live interface), dissects MQTT and other IoT protocols,\n" +
            "flags unauthenticated and anomalous behaviour, and issues per-device mTLS certificates.");
        foreach (var (name, create) in Commands)
        {
            if (args.Count > 0 && name == args[0])
            {
                root.Subcommands.Add(create());
                return root;
            }
        }

        foreach (var (_, create) in Commands)
        {
            root.Subcommands.Add(create());
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
    /// <remarks>
    /// A synchronous command (<c>findings</c>, <c>devices</c>, help, <c>--version</c>...) runs on the calling thread and
    /// the returned task is complete: no async state machine, whose builder's generic code over this assembly's types
    /// has no precompiled code and was compiled at every start (bench/README.md, "Session 14: start-up").
    /// </remarks>
    public static Task<int> InvokeAsync(string[] args, InvocationConfiguration configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var root = Build(args);
        var parse = root.Parse(args);
        var error = configuration.Error;
        var problems = UsageErrors.Find(parse);
        if (problems.Count > 0 || parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
        {
            foreach (var problem in problems)
            {
                error.WriteLine("secmon: " + problem);
            }

            var path = UsageErrors.CommandPath(parse);
            if (UsageErrors.WantsCommandList(parse))
            {
                // 'secmon', 'secmon nosuch', 'secmon findings': the list of commands is the answer, on stderr.
                error.WriteLine();
                var helpArgs = path.Split(' ').Skip(1).Append("--help").ToArray();
                root.Parse(helpArgs).Invoke(new InvocationConfiguration { Output = error, Error = error });
            }
            else
            {
                error.WriteLine($"secmon: '{path} --help' lists the options, with examples");
            }

            return Task.FromResult(ExitCodes.Usage);
        }

        var run = new InvocationConfiguration
        {
            // Help asked for beside --json goes to stderr: stdout is JSON lines only.
            Output = parse.Action is HelpAction && parse.Tokens.Any(t => t.Value == "--json") ? error : configuration.Output,
            Error = error,
            ProcessTerminationTimeout = configuration.ProcessTerminationTimeout,
            EnableDefaultExceptionHandler = false,
        };
        if (parse.Action is not SynchronousCommandLineAction)
        {
            return InvokeAsynchronous(parse, run, cancellationToken);
        }

        try
        {
            return Task.FromResult(parse.Invoke(run));
        }
#pragma warning disable CA1031 // Failed reports every exception: see there
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Task.FromResult(Failed(ex, error, cancellationToken));
        }
    }

    private static async Task<int> InvokeAsynchronous(ParseResult parse, InvocationConfiguration run, CancellationToken cancellationToken)
    {
        try
        {
            return await parse.InvokeAsync(run, cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Failed reports every exception: see there
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Failed(ex, run.Error, cancellationToken);
        }
    }

    // How a command that threw ends: a data directory problem with its message and exit code, Ctrl+C with 130, and
    // anything else, the last resort (a bug), with its stack trace and its own exit code.
    private static int Failed(Exception ex, TextWriter error, CancellationToken cancellationToken)
    {
        switch (ex)
        {
            case DataDirectoryException data:
                error.WriteLine("secmon: " + data.Message);
                return data.ExitCode;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                error.WriteLine("secmon: stopped");
                return ExitCodes.Interrupted;
            default:
                error.WriteLine($"secmon: internal error (a bug; please report it with this message): {ex}");
                return ExitCodes.Software;
        }
    }

    // One line per command group (a command's name is a contract once it exists: see README.md), with its name so that
    // a command line builds only the command it names (a test checks each name against its command).
    internal static readonly (string Name, Func<Command> Create)[] Commands =
    [
        ("analyze", AnalyzeCommand.Create),
        ("capture", CaptureCommand.Create),
        ("interfaces", InterfacesCommand.Create),
        ("ca", CaCommand.Create),
        ("enroll", EnrollCommand.Create),
        ("serve", ServeCommand.Create),
        ("apikey", ApiKeyCommand.Create),
        ("findings", FindingsCommand.Create),
        ("devices", DevicesCommand.Create),
        ("harden", HardenCommand.Create),
        ("baselines", BaselinesCommand.Create),
        ("rules", RulesCommand.Create),
        ("config", ConfigCommand.Create),
        ("outputs", OutputsCommand.Create),
        ("webhooks", WebhooksCommand.Create),
    ];
}
