using SecMon.Hosting;
using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Sources;
using SecMon.Cli;
using SecMon.Core;
using SecMon.Core.Findings;
using SecMon.Detection;
using SecMon.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Spool;
using SecMon.Findings.Store;
using SecMon.Findings.Summary;
using SecMon.Hosting.Sinks;
using static SecMon.Cli.CliHelpers;

namespace SecMon.Hosting;

/// <summary>
/// The one composition root of the sensor pipeline, for <c>analyze</c>, <c>capture</c> and <c>serve</c> alike:
/// source → capture engine (the protocol catalogue) → event sinks (events file, rules, device inventory, each rule
/// and inventory on a thread of its own) → finding outputs (the embedded store first, then configured outputs, each
/// behind its own queue). <see cref="Open"/> builds it from <see cref="SensorOptions"/> or says, with an exit code, why
/// it cannot; a run feeds it packets; <see cref="Finish"/> drains every stage in order, prints the summary and returns
/// the exit code. Commands only parse options, call this, and present the findings.
/// </summary>
internal sealed class Sensor : IDisposable
{
    private readonly SensorOptions _options;
    private readonly FindingStore? _store;
    private readonly FindingOutputs? _outputs;
    private readonly BackgroundSink? _rulesThread;
    private readonly BackgroundSink? _inventoryThread;
    private readonly StreamWriter? _jsonOut;
    private readonly List<IDisposable> _owned = [];

    private Sensor(SensorOptions options, FindingStore? store, SecretHasher hasher, Stream? eventsOut, IReadOnlyList<IFindingSink> outputs)
    {
        _options = options;
        _store = store;
        if (options.Rules is not null)
        {
            _jsonOut = options.JsonFindings
                ? new StreamWriter(options.FindingsOut ?? Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16,
                    leaveOpen: options.FindingsOut is not null)
                : null;
            // The embedded store is the first output (live printing follows it: a finding shown is already stored);
            // configured outputs come after it, each on its own queue.
            IFindingSink[] sinks = [new StoreFindingSink(store!), .. outputs];
            _owned.AddRange(outputs.OfType<SpooledSink>());
            var run = options.OutputRun ?? (options.Live ? new SinkRunOptions { StallTimeout = TimeSpan.FromSeconds(1) } : new SinkRunOptions());
            _outputs = new FindingOutputs(sinks, run, options.Live || options.JsonFindings ? Print : null);
            // The memory budget (capture.memory_budget) bounds the rules' and the inventory's tables as it bounds the
            // flow table: at the default budget these are the options' own defaults.
            var budget = options.Capture.MemoryBudgetBytes;
            var detectionDefaults = new DetectionOptions();
            var inventoryDefaults = new SecMon.Detection.Inventory.InventoryOptions();
            Detection = new DetectionPipeline(options.Rules, store, _outputs, options.Baselines,
                keepFindings: options.KeepFindings, saveEvery: options.Live ? options.SaveEvery : null,
                detection: detectionDefaults with
                {
                    Sensor = options.Identity,
                    LiveCapture = options.Live,
                    MaxFlows = options.Capture.MaxFlows,
                    MaxGroupsPerRule = CaptureOptions.Scaled(detectionDefaults.MaxGroupsPerRule, budget, min: 100),
                },
                ruleSwitch: options.RuleSwitch,
                inventory: inventoryDefaults with
                {
                    MaxFlows = options.Capture.MaxFlows,
                    MaxDevices = CaptureOptions.Scaled(inventoryDefaults.MaxDevices, budget, min: 1000),
                });
            if (Detection.BaselineNote is { } note)
            {
                Error(note);
            }

            // The rules and the device inventory each run on a thread of their own, fed the same events in capture
            // order: with the capture thread, three threads share the cores (measured in bench/README.md).
            _rulesThread = new BackgroundSink(Detection, "secmon-rules");
            _inventoryThread = new BackgroundSink(Detection.InventorySink, "secmon-inventory");
        }

        IEventSink[] consumers = _rulesThread is null ? [] : [_rulesThread, _inventoryThread!];
        Session = new AnalysisSession(options.Capture, options.Protocols, hasher, eventsOut, consumers);
    }

    // Outputs that can be slow or down go behind a durable spool in DATA/spool/NAME (the bound and drop policy are
    // SpoolOptions'); findings a run could not deliver go first on the next.
    internal static IFindingSink Spooled(IFindingSink output, string dataDirectory, SpoolOptions? spool = null) => output.NeedsSpool
        ? new SpooledSink(output, FindingSpool.Open(SpoolDirectory(dataDirectory, output.Name), spool), AtTheEndOfARun)
        : output;

    // An output still failing after 3 tries once the input is done is down: the run ends without waiting out the
    // host's deadline for it, and what is left waits in its spool.
    private static readonly SpoolDelivery AtTheEndOfARun = new() { TriesAtEnd = 3 };

    /// <summary>Where the output named <paramref name="name"/> keeps its spool: <c>DATA/spool/NAME</c>.</summary>
    internal static string SpoolDirectory(string dataDirectory, string name) => Path.Combine(dataDirectory, "spool", SpoolName(name));

    private static string SpoolName(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')).TrimStart('.') is { Length: > 0 } n ? n : "output";

    /// <summary>The capture engine, counters and event outputs.</summary>
    public AnalysisSession Session { get; }

    /// <summary>Rules and inventory; null when dissecting only.</summary>
    public DetectionPipeline? Detection { get; }

    /// <summary>The embedded store; null when dissecting only.</summary>
    public FindingStore? Store => _store;

    /// <summary>The finding outputs (null when dissecting only).</summary>
    public FindingOutputs? Outputs => _outputs;

    /// <summary>Builds the pipeline: opens the store (or, dissecting only, makes sure the data directory exists), the
    /// secret-hash key and the events output. On failure says why on stderr, sets <paramref name="exitCode"/> and
    /// returns null with nothing left open.</summary>
    public static Sensor? Open(SensorOptions options, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(options);
        FindingStore? store = null;
        if (options.Rules is not null)
        {
            // The run only appends findings (in batches) and saves devices: a small page cache is enough, and it is
            // part of the run's peak memory (search, with its larger default cache, is another command).
            var opened = FindingStore.Open(options.DataDirectory, new FindingStoreOptions { CacheMiB = 8, Upgrading = Cli.CliHelpers.Error });
            if (opened.Store is null)
            {
                Error(opened.Error!.Message);
                exitCode = opened.Error.Kind == StoreErrorKind.NotWritable ? ExitCodes.CantCreate : ExitCodes.NoInput;
                return null;
            }

            store = opened.Store;
        }
        else if (DataDirectory.TryEnsure(options.DataDirectory) is { } dataError)
        {
            Error(dataError);
            exitCode = ExitCodes.CantCreate;
            return null;
        }

        SecretHasher hasher;
        try
        {
            // Password tags are keyed per installation even without detection, so exports from runs compare.
            hasher = new SecretHasher(DataDirectory.LoadOrCreateSecretKey(options.DataDirectory));
        }
        catch (DataDirectoryException ex)
        {
            store?.Dispose();
            Error(ex.Message);
            exitCode = ex.ExitCode;
            return null;
        }

        Stream? eventsOut = null;
        try
        {
            eventsOut = options.EventsPath is null ? null : AnalysisSession.OpenEventsOutput(options.EventsPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            store?.Dispose();
            Error($"cannot write events to '{options.EventsPath}': {ex.Message}");
            exitCode = ExitCodes.CantCreate;
            return null;
        }

        var outputs = new List<IFindingSink>();
        try
        {
            outputs.AddRange(options.Rules is null ? [] : options.Outputs.Select(o => Spooled(o, options.DataDirectory, options.Spool)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            outputs.OfType<IDisposable>().ToList().ForEach(o => o.Dispose());
            store?.Dispose();
            eventsOut?.Dispose();
            Error($"cannot open an output's spool in '{Path.Combine(options.DataDirectory, "spool")}': {ex.Message}");
            exitCode = ex is SpoolInUseException ? ExitCodes.TempFail : ExitCodes.CantCreate;
            return null;
        }

        exitCode = ExitCodes.Ok;
        return new Sensor(options, store, hasher, eventsOut, outputs);
    }

    /// <summary>
    /// A live sensor from start to end (<c>capture</c>, and <c>serve --interface</c>): builds the pipeline, opens the
    /// interface, captures until cancelled or <see cref="LiveSource.Duration"/> has passed, and finishes. Returns the
    /// exit code (77 without permission to capture, 66 for no such interface).
    /// </summary>
    public static async Task<int> CaptureAsync(SensorOptions options, LiveSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(source);
        options = options with { Live = true };
        if (DataDirectory.TryEnsure(options.DataDirectory) is { } dataError)
        {
            Error(dataError);
            options.Monitor?.Stopped(ExitCodes.CantCreate);
            return ExitCodes.CantCreate;
        }

        using var sensor = Open(options, out var exit);
        if (sensor is null)
        {
            options.Monitor?.Stopped(exit);
            return exit;
        }

        var stats = new CaptureStats();
        using var live = LiveCapture.TryOpen(source.Interfaces, stats, out var error);
        if (live is null)
        {
            Error(error!);
            var refused = error!.Contains("root", StringComparison.Ordinal) ? ExitCodes.NoPermission : ExitCodes.NoInput;
            options.Monitor?.Stopped(refused);
            return refused;
        }

        options.Monitor?.Started(sensor);

        Console.Error.WriteLine($"secmon: capturing on {string.Join(", ", source.Interfaces.Select(i => i.Describe()))}"
            + (options.Rules is null ? ", dissecting only" : $", {options.Rules.Definitions.Count} rules, findings to {sensor.Store!.DatabasePath}")
            + (source.Duration is null ? "; Ctrl+C to stop" : $" for {source.Duration}"));
        await sensor.RunLiveAsync(live, stats, source.Duration, source.Retention, cancellationToken).ConfigureAwait(false);
        options.Monitor?.Draining();
        var code = sensor.Finish("capture on " + live.Name);
        options.Monitor?.Stopped(code);
        if (sensor.Detection is not null && !options.JsonFindings)
        {
            FindingsSummaryTable.Write(Console.Out, sensor.Detection.Tally.Rows());
        }

        return code;
    }

    /// <summary>Opens every capture file (merged in timestamp order), or says which one cannot be opened and opens none;
    /// <paramref name="cancellationToken"/> (Ctrl+C, SIGTERM) ends a wait for a named pipe's writer.</summary>
    public static CaptureFileSet? OpenFiles(IReadOnlyList<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var sources = new List<PcapFileSource>();
        foreach (var path in paths)
        {
            var source = PcapFileSource.TryOpen(path, cancellationToken, out var error);
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

    /// <summary>Reads every packet of <paramref name="files"/> (progress on a terminal) until the end or cancellation.</summary>
    public void RunFiles(CaptureFileSet files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        var progress = Progress.Create(files.TotalBytes);
        Session.Engine.Run(files, progress is null ? null : read => progress.Report(read, Session.Stats.Packets), cancellationToken);
        progress?.Done();
    }

    /// <summary>Captures from <paramref name="live"/> until <paramref name="cancellationToken"/> is cancelled or
    /// <paramref name="duration"/> has passed; with <paramref name="retention"/>, prunes old findings at the start and
    /// every hour. Stops early when detection itself fails (rather than capture blind).</summary>
    public async Task RunLiveAsync(LiveCapture live, CaptureStats liveStats, TimeSpan? duration, TimeSpan? retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(live);
        ArgumentNullException.ThrowIfNull(liveStats);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (duration is { } d)
        {
            stop.CancelAfter(d);
        }

        var pruning = _store is not null && retention is { } keep ? Retention.PruneEveryHourAsync(_store, keep, stop.Token) : Task.CompletedTask;
        live.Start();
        await live.ConsumeAsync(
            (data, originalLength, ts, number, linkType, name, captureInterface) =>
                Session.Engine.Process(linkType, data, originalLength, ts, name, number, captureInterface),
            stop.Token,
            onTick: () =>
            {
                // The capture threads' drop counts, as last read, into the run's counters (this is the capture thread).
                Session.Stats.KernelDrops = live.KernelDrops;
                Session.Stats.ChannelDrops = Interlocked.Read(ref liveStats.ChannelDrops);
                TickStages(stop);
            }, _options.TickEvery).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await pruning.ConfigureAwait(false);
        Session.Engine.Complete();
        live.Stop();
        Session.Stats.KernelDrops = liveStats.KernelDrops; // read once more when the capture stopped
        Session.Stats.ChannelDrops = liveStats.ChannelDrops;
    }

    // Every tick while live (TickEvery: 1 s, 200 ms under serve): events out, a partial batch to the rules and the inventory (windows close, findings are
    // stored); detection gone means stop rather than capture blind.
    private void TickStages(CancellationTokenSource stop)
    {
        Session.FlushEvents();
        _rulesThread?.Tick();
        _inventoryThread?.Tick();
        _options.Monitor?.Publish(); // the counters kept in dictionaries, for the metrics
        if (_rulesThread?.HasFailed == true || _inventoryThread?.HasFailed == true)
        {
            stop.Cancel();
        }
    }

    /// <summary>
    /// A watched directory of rotating capture files from start to end (<c>capture --watch</c>): builds the pipeline,
    /// reads each file once as the writer finishes it (see <see cref="WatchedDirectory"/>), until cancelled or
    /// <see cref="WatchSource.Duration"/> has passed, and finishes; what was read is saved in the data directory, so a
    /// restart goes on where this run stopped. Flows go on across files, as in a rotated capture.
    /// </summary>
    public static async Task<int> WatchAsync(SensorOptions options, WatchSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(source);
        options = options with { Live = true };
        if (DataDirectory.TryEnsure(options.DataDirectory) is { } dataError)
        {
            Error(dataError);
            options.Monitor?.Stopped(ExitCodes.CantCreate);
            return ExitCodes.CantCreate;
        }

        var watch = WatchedDirectory.TryOpen(source.Options, options.DataDirectory, out var watchError);
        if (watch is null)
        {
            Error(watchError!);
            options.Monitor?.Stopped(ExitCodes.NoInput);
            return ExitCodes.NoInput;
        }

        using var sensor = Open(options, out var exit);
        if (sensor is null)
        {
            options.Monitor?.Stopped(exit);
            return exit;
        }

        options.Monitor?.Started(sensor);

        Console.Error.WriteLine($"secmon: watching {watch.Options.Directory} ({watch.KnownFiles} file(s) read before, kept in {watch.StatePath})"
            + (options.Rules is null ? ", dissecting only" : $", {options.Rules.Definitions.Count} rules, findings to {sensor.Store!.DatabasePath}")
            + (source.Duration is null ? "; Ctrl+C to stop" : $" for {source.Duration}"));
        var files = await sensor.RunWatchAsync(watch, source.Duration, source.Retention, cancellationToken).ConfigureAwait(false);
        options.Monitor?.Draining();
        var code = sensor.Finish($"{files} file(s) in {watch.Options.Directory}");
        try
        {
            watch.Save(TimeSpan.Zero); // every stage has drained: what was read is stored
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Error($"cannot save what was read to {watch.StatePath}: {ex.Message}; the next run reads the last files again (findings are kept once)");
            code = code == ExitCodes.Ok ? ExitCodes.CantCreate : code;
        }

        options.Monitor?.Stopped(code);

        if (sensor.Detection is not null && !options.JsonFindings)
        {
            FindingsSummaryTable.Write(Console.Out, sensor.Detection.Tally.Rows());
        }

        return code;
    }

    // How long a file's progress waits before the state file says it was read: longer than the live store's flush (1 s)
    // and the outputs' hand-over, so that a crash makes a file read again rather than its findings lost.
    private static readonly TimeSpan WatchSaveLag = TimeSpan.FromSeconds(5);

    /// <summary>Reads the ready files of <paramref name="watch"/> until cancelled or <paramref name="duration"/> has passed;
    /// returns how many files (or parts of files) were read.</summary>
    public async Task<int> RunWatchAsync(WatchedDirectory watch, TimeSpan? duration, TimeSpan? retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(watch);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (duration is { } d)
        {
            stop.CancelAfter(d);
        }

        var pruning = _store is not null && retention is { } keep ? Retention.PruneEveryHourAsync(_store, keep, stop.Token) : Task.CompletedTask;
        var files = 0;
        var nextTick = Environment.TickCount64 + 1000;
        while (!stop.IsCancellationRequested)
        {
            if (watch.Next() is { } file)
            {
                var packets = ReadWatched(file, stop, ref nextTick, out var ended);
                watch.Record(file, packets, ended);
                files++;
                continue;
            }

            TickStages(stop);
            nextTick = Environment.TickCount64 + 1000;
            try
            {
                watch.Save(WatchSaveLag);
                await Task.Delay(watch.Options.Poll, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Error($"cannot save what was read to {watch.StatePath}: {ex.Message}; stopping (a restart would read files again)");
                break;
            }
        }

        await stop.CancelAsync().ConfigureAwait(false);
        await pruning.ConfigureAwait(false);
        Session.Engine.Complete();
        return files;
    }

    // Reads one ready file on from the packets already read; returns the packets read of it in all (skipped ones too).
    // A file that is not a capture, or is damaged, is reported and counted as read to where it could be read; the newest
    // file ending mid-record is its writer mid-write, read on later.
    private long ReadWatched(ReadyFile file, CancellationTokenSource stop, ref long nextTick, out bool ended)
    {
        ended = true;
        var source = PcapFileSource.TryOpen(file.Path, out var error);
        if (source is null)
        {
            Error($"{error}; skipped (it is read again only if it changes)");
            Session.Stats.DamagedFiles++;
            return file.SkipPackets;
        }

        using (source)
        {
            long read = 0;
            while (read < file.SkipPackets && source.Read() == ReadStatus.Packet)
            {
                read++;
            }

            while (true)
            {
                var status = source.Read();
                if (status == ReadStatus.Packet)
                {
                    Session.Engine.Process(source.LinkType, source.Data, source.OriginalLength, source.TimestampMicros, source.Path,
                        source.FrameNumber, source.CaptureInterface);
                    read++;
                    if ((read & 0x3FF) == 0 && Environment.TickCount64 >= nextTick)
                    {
                        TickStages(stop);
                        nextTick = Environment.TickCount64 + 1000;
                        if (stop.IsCancellationRequested)
                        {
                            ended = false;
                            return read;
                        }
                    }

                    continue;
                }

                if (status == ReadStatus.Damaged && !file.Newest)
                {
                    Session.Stats.DamagedFiles++;
                    Error($"{file.Path}: damaged after {read} good packets ({source.Error}); the packets before it were analysed");
                }

                return read;
            }
        }
    }

    /// <summary>
    /// Drains every stage in order (the engine's last events, the rules and inventory threads, then every output with
    /// one deadline), saves devices and baselines, prints the run summary and any output's failure on stderr, and
    /// returns the exit code: 73 when some output or the store missed something (the others still have everything),
    /// 70 when detection itself failed, 65 when the input was damaged, else 0.
    /// </summary>
    public int Finish(string what)
    {
        var code = ExitCodes.Ok;
        string? detectionFailure = null;
        try
        {
            _rulesThread?.Complete();
            _inventoryThread?.Complete();
            GiveBackMemory();
            Detection?.Complete();
        }
        catch (InvalidOperationException ex)
        {
            detectionFailure = ex.Message;
        }

        // Devices and baselines are saved once the embedded store has the last findings and before waiting for the
        // other outputs (a slow one does not hold the save back; a second signal while waiting for it loses no device).
        _outputs?.Complete(whenStored: () =>
        {
            if (detectionFailure is null)
            {
                GiveBackMemory();
                Detection?.SaveState();
            }
        });
        _jsonOut?.Flush();
        Session.Finish(what, _outputs?.HandedOverAt ?? 0);
        _options.Monitor?.Publish(); // the last counters, as the summary says them
        if (Detection is not null)
        {
            var stored = _outputs!.Runners[0];
            Console.Error.WriteLine($"  findings    {N(Detection.Tally.Total)} ({N(stored.Stored)} new in {_store!.DatabasePath}); devices {N(Detection.Inventory.Count)}");
            foreach (var runner in _outputs.Runners.Skip(1))
            {
                if (runner.Sink is SpooledSink spooled)
                {
                    // Behind a spool the runner's count is what the spool accepted; what the output took (this run's
                    // findings and any left from earlier runs) and refused for good is the spool's.
                    Console.Error.WriteLine($"  output      {runner.Name}: {N(runner.Received)} findings this run; {N(spooled.Delivered)} delivered" +
                        (spooled.DeadLettered > 0 ? $", {N(spooled.DeadLettered)} refused for good" : "") +
                        (spooled.PendingBytes > 0 ? $", {N(spooled.PendingBytes)} bytes wait in the spool" : "") +
                        DeliveryTail(runner, spooled.PendingBytes > 0));
                    if (spooled.DeadLettered > 0)
                    {
                        Error($"{runner.Name}: {N(spooled.DeadLettered)} finding(s) refused for good, kept with the reasons in " +
                            $"{Path.Combine(SpoolDirectory(_options.DataDirectory, runner.Name), FindingSpool.DeadLetterFile)} ('secmon outputs list-dead', then 'secmon outputs replay' after a fix)");
                        code = ExitCodes.CantCreate;
                    }
                }
                else
                {
                    Console.Error.WriteLine($"  output      {runner.Name}: {N(runner.Delivered)} of {N(runner.Received)} findings delivered");
                }
            }

            if (Detection.LearningHint(_options.DataDirectory == DataDirectory.Default ? "" : $" --data {_options.DataDirectory}") is { } hint)
            {
                Error(hint);
            }

            foreach (var failure in _outputs.Failures())
            {
                Error(failure);
                code = ExitCodes.CantCreate;
            }

            if (Detection.StateError is { } stateError)
            {
                Error(stateError);
                code = ExitCodes.CantCreate;
            }
        }

        if (detectionFailure is not null)
        {
            Error($"detection stopped: {detectionFailure}; the findings made before it were handed to the outputs");
            return ExitCodes.Software;
        }

        return code != ExitCodes.Ok ? code : Session.Stats.InputDamaged ? ExitCodes.InputDamaged : ExitCodes.Ok;
    }

    // How long a spooled output went on delivering after the analysis (the summary's time ends when every finding was
    // stored or spooled): "; delivering took 2.10 s after the analysis", or "; tried for ..." when some findings stay in
    // its spool. Nothing when it had finished by then.
    private string DeliveryTail(FindingSinkRunner runner, bool left)
    {
        var after = runner.FinishedAt > 0 && _outputs!.HandedOverAt > 0
            ? System.Diagnostics.Stopwatch.GetElapsedTime(_outputs.HandedOverAt, runner.FinishedAt)
            : TimeSpan.Zero;
        return after.TotalSeconds < 0.01 ? ""
            : left ? $"; tried for {after.TotalSeconds:F2} s after the analysis"
            : $"; delivering took {after.TotalSeconds:F2} s after the analysis";
    }

    // Live, the process's peak memory is often made at its stop: the windows closed at the end make their findings at
    // once (5,000 in a load run), the store writes them and the whole inventory is saved, each on top of the garbage
    // of the capture's last seconds. A full compacting collection before each of the two (tens of milliseconds, once
    // per run) gives that back first: serve's peak over a 100k packets/s run went from 281-296 MB (the stop's) to
    // 256-272 MB (bench/README.md, "Session 15: serve's stop"). A file analysis keeps its speed: it is skipped there.
    private void GiveBackMemory()
    {
        if (_options.Live)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _rulesThread?.Dispose();
        _inventoryThread?.Dispose();
        _outputs?.Dispose();
        _owned.ForEach(o => o.Dispose());
        Session.Dispose();
        _jsonOut?.Dispose();
        _store?.Dispose();
    }

    // Once the store has a batch (on the store's thread): ECS JSON lines on stdout (--json, live or a file's analysis: a
    // file's findings no longer wait in memory for the run's end), or live a line each on stderr.
    private void Print(IReadOnlyList<Finding> findings)
    {
        foreach (var f in findings)
        {
            if (_jsonOut is not null)
            {
                _jsonOut.WriteLine(FindingJson.Write(f));
            }
            else
            {
                Console.Error.WriteLine($"secmon: finding {SeverityNames.Name((int)f.Severity)} {f.RuleId} {TextTable.Safe(f.Message)}");
            }
        }

        _jsonOut?.Flush();
    }
}

/// <summary>A live source: the interfaces (one or more, each with its filter, snap length and buffer), how long, and the
/// retention of stored findings.</summary>
internal sealed record LiveSource(IReadOnlyList<LiveInterface> Interfaces, TimeSpan? Duration = null, TimeSpan? Retention = null);

/// <summary>A watched directory of rotating capture files, how long, and the retention of stored findings.</summary>
internal sealed record WatchSource(WatchOptions Options, TimeSpan? Duration = null, TimeSpan? Retention = null);
