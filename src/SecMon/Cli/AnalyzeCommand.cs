using System.CommandLine;
using SecMon.Hosting;
using SecMon.Hosting.Configuration;
using SecMon.Capture.Sources;
using SecMon.Core;
using SecMon.Detection;
using SecMon.Detection.Baselines;
using SecMon.Findings.Summary;
using static SecMon.Cli.CliHelpers;

namespace SecMon.Cli;

/// <summary><c>secmon analyze FILE...</c>: reads captures, writes events, finds and stores findings.</summary>
internal static class AnalyzeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "pcap or pcapng capture files (tcpdump -w, dumpcap, Wireshark), also gzip-compressed (.pcap.gz); '-' reads one from standard input. Several files are merged in timestamp order.",
        };
        var events = new Option<string?>("--events")
        {
            Description = "Write every protocol event as one JSON object per line to PATH, or to stdout with '-'.",
            HelpName = "PATH|-",
        };
        var data = new Option<string>("--data")
        {
            Description = "Data directory for the findings store, baselines and keys.",
            DefaultValueFactory = _ => DataDirectory.Default,
            HelpName = "DIR",
        };
        var detect = new DetectOptions();
        var config = new ConfigOption();
        var command = new Command("analyze",
            "Analyse capture files: dissect the IoT protocols (MQTT, CoAP, DNS, DHCP, HTTP, TLS, DTLS, QUIC, Modbus/TCP, FTP, Telnet,\n" +
            "SOCKS, ARP), write protocol events, run the rules.\n" +
            "Examples:\n" +
            "  secmon analyze capture.pcap                      summary on stderr\n" +
            "  secmon analyze day1.pcapng day2.pcapng --events events.jsonl\n" +
            "  secmon analyze capture.pcap --events - | jq 'select(.type==\"mqtt.connect\")'\n" +
            "  secmon analyze big.pcap --no-detect --events events.jsonl    dissect only (no rules, no store)\n" +
            "  zstd -dc capture.pcap.zst | secmon analyze -      a capture on standard input (also: tcpdump -w - | ...)\n" +
            "  secmon analyze capture.pcap --config secmon.yml   also send findings to the outputs it configures\n" +
            "Exit codes: 0 clean input, 65 input damaged (problems listed on stderr; everything readable was analysed),\n" +
            "64 options that do not go together, 66 a file could not be opened, 73 an output could not be written (or a configured\n" +
            "output missed findings: they wait in its spool, see 'secmon outputs status'), 78 errors in the configuration file.")
        {
            files, events, data, config.File,
        };
        foreach (var option in detect.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) =>
        {
            var eventsPath = parse.GetValue(events);
            var d = detect.Read(parse, eventsPath);
            if (d is null)
            {
                return Task.FromResult(ExitCodes.Usage);
            }

            var settings = config.Load(parse, data, out var configExit);
            return Task.FromResult(settings is null ? configExit : Run(parse.GetValue(files)!, eventsPath, d, settings, ct));
        });
        return command;
    }

    private static int Run(string[] paths, string? eventsPath, DetectOptions.Values detect, SecMonConfig config, CancellationToken ct)
    {
        // Rules first: an invalid pack stops the run before any work, with every error listed. --no-detect is the
        // capture engine alone (what bench/ compares analyze with to show detection's cost): no rules, no store.
        RuleSet? rules = null;
        if (!detect.NoDetect && (rules = DetectOptions.LoadRules([.. config.RuleDirectories, .. detect.RuleDirs], out var rulesExit)) is null)
        {
            return rulesExit;
        }

        using var files = Sensor.OpenFiles(paths, ct);
        if (files is null)
        {
            return ExitCodes.NoInput;
        }

        var options = new SensorOptions
        {
            DataDirectory = config.DataDirectory,
            EventsPath = eventsPath,
            Rules = rules,
            JsonFindings = detect.Json,
            Outputs = rules is null ? [] : config.Outputs,
            Spool = config.Spool,
            Identity = config.Identity,
            Capture = config.Capture,
            Protocols = config.Protocols,
            Baselines = rules is not null && detect.Learning is { } l ? LearningOptions(l, paths) : null,
        };
        using var sensor = Sensor.Open(options, out var openExit);
        if (sensor is null)
        {
            return openExit;
        }

        sensor.RunFiles(files, ct);
        var code = sensor.Finish(paths.Length == 1 ? paths[0] : $"{paths.Length} files");
        // With --json the findings went to stdout as the store took them (Sensor); otherwise the table of counts.
        if (sensor.Detection is { } detection && !detect.Json)
        {
            FindingsSummaryTable.Write(Console.Out, detection.Tally.Rows());
        }

        if (ct.IsCancellationRequested)
        {
            Error(rules is null
                ? "stopped before the end of the input; the events read so far were written"
                : "stopped before the end of the input; everything read so far was analysed and stored");
        }

        return code;
    }

    // --learning as baseline options; a share of the capture (25%) reads the files' packet times once first.
    private static BaselineOptions LearningOptions(LearningSpec spec, string[] paths)
    {
        if (spec.Share is not { } share)
        {
            return spec.ToOptions();
        }

        long first = long.MaxValue, last = long.MinValue;
        foreach (var path in paths)
        {
            using var source = PcapFileSource.TryOpen(path, out _);
            while (source?.Read() == ReadStatus.Packet)
            {
                first = Math.Min(first, source.TimestampMicros);
                last = Math.Max(last, source.TimestampMicros);
            }
        }

        var span = first <= last ? (first, last) : (0L, 0L);
        var options = spec.ToOptions(span);
        Error($"--learning {share * 100:0.##}%: baselines learn until {Time.FormatMicros(options.LearningEndMicros!.Value)} " +
            $"(the input spans {Time.FormatMicros(span.Item1)} to {Time.FormatMicros(span.Item2)})");
        return options;
    }
}
