using System.CommandLine;

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
        BaselinesCommand.Create(),
        RulesCommand.Create(),
    ];
}
