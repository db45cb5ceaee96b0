using System.CommandLine;
using SecMon.Hosting;
using SecMon.Detection;
using static SecMon.Cli.CliHelpers;

namespace SecMon.Cli;

/// <summary>
/// <c>secmon capture --interface IF</c>: live capture with the same pipeline as <c>analyze</c>: the same rules, the
/// same store, the same findings for the same traffic. Findings are stored and printed as they are made.
/// </summary>
internal static class CaptureCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var source = new CaptureSourceOptions();
        var events = new Option<string?>("--events")
        {
            Description = "Write every protocol event as one JSON object per line to PATH, or to stdout with '-' (flushed every second).",
            HelpName = "PATH|-",
        };
        var duration = DurationOption("--duration", "Stop after this long (e.g. 30s, 10m); default: until Ctrl+C or SIGTERM.");
        var data = new Option<string>("--data")
        {
            Description = "Data directory for the findings store, baselines and keys (as for analyze).",
            DefaultValueFactory = _ => DataDirectory.Default,
            HelpName = "DIR",
        };
        var saveEvery = DurationOption("--save-every",
            "How often the device inventory and the learned baselines are saved to the store while capturing (default 1m);\n" +
            "findings are stored within a second regardless, and everything is saved when the capture stops.");
        var retention = RetentionOption();
        var detect = new DetectOptions();
        var config = new ConfigOption();
        var logFormat = LogFormatOption();
        var command = new Command("capture",
            "Capture live traffic from one or more interfaces (or read a directory of rotating capture files as they are written),\n" +
            "dissect it and run the rules as 'analyze' does for files. Interfaces need root or CAP_NET_RAW.\n" +
            "Findings are stored in the data directory within a second of being made and printed as they come (one line each on\n" +
            "stderr, or ECS JSON lines on stdout with --json); a summary follows when the capture stops. Findings that aggregate\n" +
            "over a window (e.g. one per client and hour) are made when their window closes or the capture stops; rules with\n" +
            "alert_first (wildcard subscriptions, cross-namespace publishes) also report the first occurrence at once.\n" +
            "Examples:\n" +
            "  sudo secmon capture -i eth0 --bpf \"tcp port 1883 or tcp port 8883\"\n" +
            "  sudo secmon capture -i eth0 --json | jq 'select(.event.severity >= 73)'\n" +
            "  sudo secmon capture -i any --duration 10m --no-detect --events events.jsonl\n" +
            "  sudo secmon capture -i eth0 -i eth1 --bpf \"tcp port 1883\"             two segments at once\n" +
            "  sudo secmon capture -i eth0 --config /etc/secmon/secmon.yml   findings also to Elasticsearch, webhooks, a log...\n" +
            "  sudo secmon capture -i eth0 --snaplen 512 --buffer 128MiB      headers and short messages only, more room for bursts\n" +
            "  secmon capture --watch /var/spool/pcap     files that 'tcpdump -i eth0 -G 300 -w /var/spool/pcap/cap-%s.pcap' writes")
        {
            events, duration, data, saveEvery, retention, config.File, logFormat,
        };
        foreach (var option in source.All)
        {
            command.Options.Add(option);
        }

        foreach (var option in detect.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) =>
        {
            var eventsPath = parse.GetValue(events);
            var d = detect.Read(parse, eventsPath);
            if (d?.Learning?.Share is not null)
            {
                Error(LearningSpec.ShareNeedsFiles);
                d = null;
            }

            if (d is null)
            {
                return Task.FromResult(ExitCodes.Usage);
            }

            // The configuration and the rules first: an error in either stops the capture before it opens the interface.
            var settings = config.Load(parse, data, out var configExit);
            if (settings is null)
            {
                return Task.FromResult(configExit);
            }

            RuleSet? rules = null;
            if (!d.NoDetect && (rules = DetectOptions.LoadRules([.. settings.RuleDirectories, .. d.RuleDirs], out var rulesExit)) is null)
            {
                return Task.FromResult(rulesExit);
            }

            var options = new SensorOptions
            {
                DataDirectory = settings.DataDirectory,
                EventsPath = eventsPath,
                Rules = rules,
                Outputs = rules is null ? [] : settings.Outputs,
                Spool = settings.Spool,
                Identity = settings.Identity,
                Capture = settings.Capture,
                Protocols = settings.Protocols,
                Baselines = d.Learning?.ToOptions(),
                JsonFindings = d.Json,
                SaveEvery = parse.GetValue(saveEvery) ?? TimeSpan.FromMinutes(1),
            };
            if (!source.TryResolve(parse, settings, optional: false, out var interfaces, out var watch))
            {
                return Task.FromResult(ExitCodes.Usage);
            }

            // The command line and the configuration are valid: from here on stderr is the run's log.
            InstallLog(parse, logFormat);
            return watch is not null
                ? Sensor.WatchAsync(options, new WatchSource(watch, parse.GetValue(duration), parse.GetValue(retention)), ct)
                : Sensor.CaptureAsync(options, new LiveSource(interfaces!, parse.GetValue(duration), parse.GetValue(retention)), ct);
        });
        return command;
    }

    /// <summary>The <c>--retention</c> option of the live commands (<c>capture</c>, <c>serve</c>).</summary>
    internal static Option<TimeSpan?> RetentionOption() => DurationOption("--retention",
        "Delete stored findings older than this (e.g. 90d) when the capture starts and every hour after (as 'secmon findings\n" +
        "prune'); default: keep every finding.");
}
