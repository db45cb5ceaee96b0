using System.CommandLine;
using SecMon.Analysis;
using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Sources;
using SecMon.Core;
using SecMon.Detection;
using SecMon.Detection.Baselines;
using SecMon.Findings.Ecs;
using SecMon.Findings.Store;
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
            Description = "pcap or pcapng capture files (tcpdump -w, dumpcap, Wireshark). Several files are merged in timestamp order.",
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
        var command = new Command("analyze",
            "Analyse capture files: dissect MQTT (on any port) and TLS, write protocol events, run the rules.\n" +
            "Examples:\n" +
            "  secmon analyze capture.pcap                      summary on stderr\n" +
            "  secmon analyze day1.pcapng day2.pcapng --events events.jsonl\n" +
            "  secmon analyze capture.pcap --events - | jq 'select(.type==\"mqtt.connect\")'\n" +
            "  secmon analyze big.pcap --no-detect --events events.jsonl    dissect only (no rules, no store)\n" +
            "Exit codes: 0 clean input, 65 input damaged (problems listed on stderr; everything readable was analysed),\n" +
            "64 options that do not go together, 66 a file could not be opened, 73 an output could not be written.")
        {
            files, events, data,
        };
        foreach (var option in detect.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) =>
        {
            var eventsPath = parse.GetValue(events);
            var d = detect.Read(parse, eventsPath);
            return Task.FromResult(d is null ? ExitCodes.Usage : Run(parse.GetValue(files)!, eventsPath, d, parse.GetValue(data)!, ct));
        });
        return command;
    }

    private static int Run(string[] paths, string? eventsPath, DetectOptions.Values detect, string dataDir, CancellationToken ct)
    {
        if (detect.NoDetect)
        {
            return Dissect(paths, eventsPath, dataDir, ct);
        }

        // Rules first: an invalid pack stops the run before any work, with every error listed.
        var rules = DetectOptions.LoadRules(detect.RuleDirs, out var rulesExit);
        if (rules is null)
        {
            return rulesExit;
        }

        using var files = OpenFiles(paths);
        if (files is null)
        {
            return ExitCodes.NoInput;
        }
        // analyze only appends findings (in batches) and saves devices: a small page cache is enough, and it is
        // part of the run's peak memory (search, with its larger default cache, is another command).
        var opened = FindingStore.Open(dataDir, new FindingStoreOptions { CacheMiB = 8 });
        if (opened.Store is null)
        {
            Error(opened.Error!.Message);
            return opened.Error.Kind == StoreErrorKind.NotWritable ? ExitCodes.CantCreate : ExitCodes.NoInput;
        }

        using var store = opened.Store;
        var hasher = new SecretHasher(DataDirectory.LoadOrCreateSecretKey(dataDir));
        Stream? eventsOut;
        try
        {
            eventsOut = eventsPath is null ? null : AnalysisSession.OpenEventsOutput(eventsPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Error($"cannot write events to '{eventsPath}': {ex.Message}");
            return ExitCodes.CantCreate;
        }

        var baselineOptions = detect.Learning is { } l ? LearningOptions(l, paths) : null;
        var detection = new DetectionPipeline(rules, store, baselineOptions);
        if (detection.BaselineNote is { } note)
        {
            Error(note);
        }

        // The rules and the device inventory each run on a thread of their own, fed the same events in capture
        // order: with the capture thread, three threads share the cores (measured in bench/README.md).
        using var rulesThread = new BackgroundSink(detection, "secmon-rules");
        using var inventoryThread = new BackgroundSink(detection.InventorySink, "secmon-inventory");
        using var session = new AnalysisSession(new CaptureOptions(), hasher, eventsOut, rulesThread, inventoryThread);
        var progress = Progress.Create(files.TotalBytes);
        session.Engine.Run(files, progress is null ? null : read => progress.Report(read, session.Stats.Packets), ct);
        progress?.Done();
        rulesThread.Complete();
        inventoryThread.Complete();
        detection.Complete();
        var what = paths.Length == 1 ? paths[0] : $"{paths.Length} files";
        session.Finish(what);
        Console.Error.WriteLine($"  findings    {N(detection.Tally.Total)} ({N(detection.Inserted)} new in {store.DatabasePath}); devices {N(detection.Inventory.Count)}");
        if (detection.LearningHint(dataDir == DataDirectory.Default ? "" : $" --data {dataDir}") is { } hint)
        {
            Error(hint);
        }

        if (detect.Json)
        {
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16);
            foreach (var finding in detection.Findings)
            {
                stdout.WriteLine(FindingJson.Write(finding));
            }
        }
        else
        {
            FindingsSummaryTable.Write(Console.Out, detection.Tally.Rows());
        }

        if (ct.IsCancellationRequested)
        {
            Error("stopped before the end of the input; everything read so far was analysed and stored");
        }

        return session.Stats.InputDamaged ? ExitCodes.InputDamaged : ExitCodes.Ok;
    }

    // --no-detect: the capture engine alone (what bench/ compares analyze with to show detection's cost).
    private static int Dissect(string[] paths, string? eventsPath, string dataDir, CancellationToken ct)
    {
        using var files = OpenFiles(paths);
        if (files is null)
        {
            return ExitCodes.NoInput;
        }
        if (DataDirectory.TryEnsure(dataDir) is { } dataError)
        {
            Error(dataError);
            return ExitCodes.CantCreate;
        }

        SecretHasher hasher;
        Stream? eventsOut;
        try
        {
            // Password tags are keyed per installation even without detection, so exports from runs compare.
            hasher = new SecretHasher(DataDirectory.LoadOrCreateSecretKey(dataDir));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Error($"cannot read or create the password-tag key in '{dataDir}' ({ex.Message}); give a writable --data DIR");
            return ExitCodes.CantCreate;
        }

        try
        {
            eventsOut = eventsPath is null ? null : AnalysisSession.OpenEventsOutput(eventsPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Error($"cannot write events to '{eventsPath}': {ex.Message}");
            return ExitCodes.CantCreate;
        }

        using var session = new AnalysisSession(new CaptureOptions(), hasher, eventsOut);
        var progress = Progress.Create(files.TotalBytes);
        session.Engine.Run(files, progress is null ? null : read => progress.Report(read, session.Stats.Packets), ct);
        progress?.Done();
        session.Finish(paths.Length == 1 ? paths[0] : $"{paths.Length} files");
        if (ct.IsCancellationRequested)
        {
            Error("stopped before the end of the input; the events read so far were written");
        }

        return session.Stats.InputDamaged ? ExitCodes.InputDamaged : ExitCodes.Ok;
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

    // Opens every capture file (merged in timestamp order), or says which one cannot be opened and opens none.
    private static CaptureFileSet? OpenFiles(string[] paths)
    {
        var sources = new List<PcapFileSource>();
        foreach (var path in paths)
        {
            var source = PcapFileSource.TryOpen(path, out var error);
            if (source is null)
            {
                Error(error!);
                sources.ForEach(s => s.Dispose());
                return null;
            }

            sources.Add(source);
        }

        return new CaptureFileSet(sources);
    }
}
