using System.CommandLine;
using SecMon.Analysis;
using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Sources;
using SecMon.Core;
using SecMon.Core.Findings;
using SecMon.Detection;
using SecMon.Detection.Baselines;
using SecMon.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Store;
using SecMon.Findings.Summary;
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
        var command = new Command("capture",
            "Capture live traffic from an interface, dissect it and run the rules as 'analyze' does for files. Needs root or CAP_NET_RAW.\n" +
            "Findings are stored in the data directory within a second of being made and printed as they come (one line each on\n" +
            "stderr, or ECS JSON lines on stdout with --json); a summary follows when the capture stops. Findings that aggregate\n" +
            "over a window (e.g. one per client and hour) are made when their window closes or the capture stops; rules with\n" +
            "alert_first (wildcard subscriptions, cross-namespace publishes) also report the first occurrence at once.\n" +
            "Examples:\n" +
            "  sudo secmon capture -i eth0 --bpf \"tcp port 1883 or tcp port 8883\"\n" +
            "  sudo secmon capture -i eth0 --json | jq 'select(.event.severity >= 73)'\n" +
            "  sudo secmon capture -i any --duration 10m --no-detect --events events.jsonl")
        {
            iface, bpf, events, duration, data, saveEvery, retention,
        };
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

            // Rules first: an invalid pack stops the capture before it opens the interface.
            RuleSet? rules = null;
            if (!d.NoDetect && (rules = DetectOptions.LoadRules(d.RuleDirs, out var rulesExit)) is null)
            {
                return Task.FromResult(rulesExit);
            }

            return RunAsync(parse.GetValue(iface)!, parse.GetValue(bpf), eventsPath, parse.GetValue(duration), parse.GetValue(data)!, d, rules,
                parse.GetValue(saveEvery) ?? TimeSpan.FromMinutes(1), parse.GetValue(retention), ct);
        });
        return command;
    }

    /// <summary>Captures <paramref name="iface"/> until <paramref name="ct"/> is cancelled or <paramref name="duration"/>
    /// has passed, with <paramref name="rules"/> (null: dissect only); also the sensor of <c>secmon serve</c>.</summary>
    internal static async Task<int> RunAsync(string iface, string? bpf, string? eventsPath, TimeSpan? duration, string dataDir,
        DetectOptions.Values detect, RuleSet? rules, TimeSpan saveEvery, TimeSpan? retention, CancellationToken ct)
    {
        var dataError = DataDirectory.TryEnsure(dataDir);
        if (dataError is not null)
        {
            Error(dataError);
            return ExitCodes.CantCreate;
        }

        FindingStore? store = null;
        if (rules is not null)
        {
            var opened = FindingStore.Open(dataDir, new FindingStoreOptions { CacheMiB = 8 });
            if (opened.Store is null)
            {
                Error(opened.Error!.Message);
                return opened.Error.Kind == StoreErrorKind.NotWritable ? ExitCodes.CantCreate : ExitCodes.NoInput;
            }

            store = opened.Store;
        }

        using var storeScope = store;
        var stats = new CaptureStats();
        using var live = LiveCapture.TryOpen(iface, bpf, stats, out var error);
        if (live is null)
        {
            Error(error!);
            return error!.Contains("root", StringComparison.Ordinal) ? ExitCodes.NoPermission : ExitCodes.NoInput;
        }

        var hasher = new SecretHasher(DataDirectory.LoadOrCreateSecretKey(dataDir));
        using var jsonOut = detect.Json ? new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16) : null;
        var detection = rules is null ? null : new DetectionPipeline(rules, store,
            detect.Learning?.ToOptions(),
            keepFindings: false,
            found: findings => Print(findings, jsonOut),
            saveEvery: saveEvery);
        if (detection?.BaselineNote is { } note)
        {
            Error(note);
        }

        using var rulesThread = detection is null ? null : new BackgroundSink(detection, "secmon-rules");
        using var inventoryThread = detection is null ? null : new BackgroundSink(detection.InventorySink, "secmon-inventory");
        IEventSink[] consumers = rulesThread is null ? [] : [rulesThread, inventoryThread!];
        using var session = new AnalysisSession(new CaptureOptions(), hasher,
            eventsPath is null ? null : AnalysisSession.OpenEventsOutput(eventsPath), consumers);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (duration is { } d)
        {
            stop.CancelAfter(d);
        }

        Console.Error.WriteLine($"secmon: capturing on {live.Name}" + (bpf is null ? "" : $" ({bpf})")
            + (rules is null ? ", dissecting only" : $", {rules.Definitions.Count} rules, findings to {store!.DatabasePath}")
            + (duration is null ? "; Ctrl+C to stop" : $" for {duration}"));
        var linkType = live.LinkType;
        var name = live.Name;
        var pruning = store is not null && retention is { } keep ? PruneEveryHourAsync(store, keep, stop.Token) : Task.CompletedTask;
        live.Start();
        await live.ConsumeAsync(
            (data, originalLength, ts, number) => session.Engine.Process(linkType, data, originalLength, ts, name, number),
            stop.Token,
            onTick: () =>
            {
                session.FlushEvents();
                rulesThread?.Tick();
                inventoryThread?.Tick();
                if (rulesThread?.HasFailed == true || inventoryThread?.HasFailed == true)
                {
                    stop.Cancel(); // detection is gone (e.g. the disk is full): stop rather than capture blind
                }
            }).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await pruning.ConfigureAwait(false);
        session.Engine.Complete();
        session.Stats.KernelDrops = stats.KernelDrops;
        session.Stats.ChannelDrops = stats.ChannelDrops;
        try
        {
            rulesThread?.Complete();
            inventoryThread?.Complete();
            detection?.Complete();
        }
        catch (Exception ex) when (ex is InvalidOperationException or FindingStoreException)
        {
            session.Finish("capture on " + live.Name);
            Error($"capture stopped: {ex.Message}; the findings made before were stored");
            return ExitCodes.Software;
        }

        jsonOut?.Flush();
        session.Finish("capture on " + name);
        if (detection is not null)
        {
            Console.Error.WriteLine($"  findings    {N(detection.Tally.Total)} ({N(detection.Inserted)} new in {store!.DatabasePath}); devices {N(detection.Inventory.Count)}");
            if (!detect.Json)
            {
                FindingsSummaryTable.Write(Console.Out, detection.Tally.Rows());
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary>The <c>--retention</c> option of the live commands (<c>capture</c>, <c>serve</c>).</summary>
    internal static Option<TimeSpan?> RetentionOption() => DurationOption("--retention",
        "Delete stored findings older than this (e.g. 90d) when the capture starts and every hour after (as 'secmon findings\n" +
        "prune'); default: keep every finding.");

    // Retention while a live capture runs: at the start and every hour, beside the writers (the store takes turns
    // between them, a few thousand deletions per transaction).
    private static async Task PruneEveryHourAsync(FindingStore store, TimeSpan keep, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var bound = Time.ToUnixMicros(DateTimeOffset.UtcNow - keep);
            try
            {
                var deleted = await Task.Run(() => store.Prune(bound, cancellationToken: ct), CancellationToken.None).ConfigureAwait(false);
                if (deleted > 0)
                {
                    Error($"retention: deleted {N(deleted)} finding{(deleted == 1 ? "" : "s")} older than {Time.FormatMicros(bound)}");
                }
            }
            catch (FindingStoreException ex)
            {
                Error($"retention: {ex.Message}; the capture goes on, old findings stay until the next try");
            }

            try
            {
                await Task.Delay(TimeSpan.FromHours(1), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // On the rules thread, once the findings are stored: a line each on stderr, or ECS JSON lines on stdout.
    private static void Print(IReadOnlyList<Finding> findings, StreamWriter? json)
    {
        foreach (var f in findings)
        {
            if (json is not null)
            {
                json.WriteLine(FindingJson.Write(f));
            }
            else
            {
                Console.Error.WriteLine($"secmon: finding {SeverityNames.Name((int)f.Severity)} {f.RuleId} {TextTable.Safe(f.Message)}");
            }
        }

        json?.Flush();
    }
}
