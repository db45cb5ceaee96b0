using System.CommandLine;
using SecMon.Analysis;
using SecMon.Capture;
using SecMon.Capture.Sources;
using SecMon.Core;
using static SecMon.Cli.CliHelpers;

namespace SecMon.Cli;

/// <summary><c>secmon capture --interface IF</c>: live capture with the same pipeline as <c>analyze</c>.</summary>
internal static class CaptureCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var iface = new Option<string>("--interface", "-i")
        {
            Description = "Interface to capture on (e.g. eth0, lo, any).",
            Required = true,
            HelpName = "IF",
        };
        var bpf = new Option<string?>("--bpf")
        {
            Description = "BPF capture filter (man pcap-filter), e.g. \"tcp port 1883 or tcp port 8883\".",
            HelpName = "EXPR",
        };
        var events = new Option<string?>("--events")
        {
            Description = "Write every protocol event as one JSON object per line to PATH, or to stdout with '-'.",
            HelpName = "PATH|-",
        };
        var duration = DurationOption("--duration", "Stop after this long (e.g. 30s, 10m); default: until Ctrl+C or SIGTERM.");
        var data = new Option<string>("--data")
        {
            Description = "Data directory (findings store, keys).",
            DefaultValueFactory = _ => DataDirectory.Default,
            HelpName = "DIR",
        };
        var command = new Command("capture",
            "Capture live traffic from an interface and dissect it as 'analyze' does for files. Needs root or CAP_NET_RAW.\n" +
            "Examples:\n" +
            "  sudo secmon capture -i eth0 --bpf \"tcp port 1883\" --events -\n" +
            "  sudo secmon capture -i any --duration 10m --events events.jsonl")
        {
            iface, bpf, events, duration, data,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(iface)!, parse.GetValue(bpf), parse.GetValue(events),
            parse.GetValue(duration), parse.GetValue(data)!, ct));
        return command;
    }

    private static async Task<int> RunAsync(string iface, string? bpf, string? eventsPath, TimeSpan? duration, string dataDir, CancellationToken ct)
    {
        var dataError = DataDirectory.TryEnsure(dataDir);
        if (dataError is not null)
        {
            Error(dataError);
            return ExitCodes.CantCreate;
        }

        var stats = new CaptureStats();
        using var live = LiveCapture.TryOpen(iface, bpf, stats, out var error);
        if (live is null)
        {
            Error(error!);
            return error!.Contains("root", StringComparison.Ordinal) ? ExitCodes.NoPermission : ExitCodes.NoInput;
        }

        var hasher = new SecretHasher(DataDirectory.LoadOrCreateSecretKey(dataDir));
        using var session = new AnalysisSession(new CaptureOptions(), hasher, eventsPath is null ? null : AnalysisSession.OpenEventsOutput(eventsPath));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (duration is { } d)
        {
            stop.CancelAfter(d);
        }

        Console.Error.WriteLine($"secmon: capturing on {live.Name}" + (bpf is null ? "" : $" ({bpf})") + (duration is null ? "; Ctrl+C to stop" : $" for {duration}"));
        var linkType = live.LinkType;
        var name = live.Name;
        live.Start();
        await live.ConsumeAsync((data, originalLength, ts, number) =>
            session.Engine.Process(linkType, data, originalLength, ts, name, number), stop.Token).ConfigureAwait(false);
        session.Engine.Complete();
        session.Stats.KernelDrops = stats.KernelDrops;
        session.Stats.ChannelDrops = stats.ChannelDrops;
        session.Finish("capture on " + name);
        return ExitCodes.Ok;
    }
}
