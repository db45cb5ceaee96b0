using SecMon.Capture;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Core.Findings;
using SecMon.Core.Flows;
using SecMon.Detection;
using SecMon.Detection.Baselines;
using SecMon.Detection.Inventory;
using SecMon.Findings.Store;
using SecMon.Findings.Summary;
using SecMon.Hosting.Sinks;

namespace SecMon.Hosting;

/// <summary>
/// The detection half of an analysis: every event goes through the rules (this sink) and the device inventory
/// (<see cref="InventorySink"/>, a sink of its own so that the two can run on separate threads); findings are
/// handed to the finding outputs (the store, and whatever else is configured, each on its own thread) in batches as
/// they come, so a long run loses nothing if stopped. At the end, once both sinks have seen every event,
/// <see cref="Complete"/> saves the inventory and the learned baselines in the store. Live capture ticks it
/// (<see cref="Tick"/>): windows close on the wall clock and what was found is handed over at once, so a finding
/// waits at most a second for the outputs. Saving devices or baselines that fails is remembered
/// (<see cref="StateError"/>), never thrown at the rules thread.
/// </summary>
internal sealed class DetectionPipeline : ITickSink
{
    /// <summary>The model's key in a baselines export line (the store keeps the model in a table of its own).</summary>
    public const string BaselineKey = FindingStore.BaselineModelExportKey;

    // Findings per store transaction: measured (bench/README.md, findings store) 30 µs per finding in batches of
    // 10,000 against 46 µs in batches of 1,000. Stopping with SIGINT/SIGTERM still writes what is pending.
    private const int BatchSize = 10_000;
    private readonly DetectionOptions? _detection;
    private readonly RuleSwitch? _ruleSwitch;
    private DetectionEngine _engine;
    private int _ruleVersion;
    private readonly FindingStore? _store;
    private readonly FindingOutputs? _outputs;
    private readonly List<Finding> _pending = [];
    private readonly bool _keepFindings;
    private readonly TimeSpan? _saveEvery;
    private long _lastSave = Environment.TickCount64;
    private InventoryFeed? _inventoryFeed;
    private string? _stateError;

    /// <summary>Creates the pipeline.</summary>
    /// <param name="rules">The loaded rules.</param>
    /// <param name="store">Where devices and baselines are kept (and earlier baselines read); null: nowhere.</param>
    /// <param name="outputs">Where findings go; null: only kept in memory.</param>
    /// <param name="baselineOptions">Baseline learning options; defaults when null.</param>
    /// <param name="keepFindings">Keep every finding in <see cref="Findings"/> (a caller that reads them after the run);
    /// otherwise a finding is let go once the outputs have it, and counted in <see cref="Tally"/> only.</param>
    /// <param name="saveEvery">Live: on ticks at least this far apart, save the learned baselines (rules thread) and
    /// the device inventory (inventory thread), so a capture that dies loses at most that much of them. Given, each
    /// finding also goes to the outputs as soon as it is made, rather than in batches of <see cref="BatchSize"/>.</param>
    public DetectionPipeline(RuleSet rules, FindingStore? store, FindingOutputs? outputs, BaselineOptions? baselineOptions = null,
        bool keepFindings = true, TimeSpan? saveEvery = null, DetectionOptions? detection = null, RuleSwitch? ruleSwitch = null,
        InventoryOptions? inventory = null)
    {
        Inventory = new DeviceInventory(inventory);
        _detection = detection;
        _ruleSwitch = ruleSwitch;
        _ruleVersion = ruleSwitch?.Version ?? 0;
        rules = ruleSwitch?.Current ?? rules;
        _store = store;
        _outputs = outputs;
        _keepFindings = keepFindings;
        _saveEvery = saveEvery;
        var baselines = new BaselineModel(baselineOptions);
        string? json = null;
        try
        {
            json = store?.LoadBaselineModel();
        }
        catch (FindingStoreException ex)
        {
            // A damaged store: this run learns anew and its findings still reach the outputs; the end says what was lost.
            _stateError = $"the saved baselines could not be read (this run learned anew): {ex.Message}";
        }

        if (store is not null && json is not null)
        {
            // Continue from what earlier runs learned (a bad saved model is a bug or an edit: say so, start over).
            try
            {
                baselines = BaselineModel.Import(json, baselineOptions);
                // This run's --learning applies to a baseline still learning (a finished one keeps what it learned).
                var change = baselineOptions is null ? (LearningChange?)null : baselines.ApplyLearningOptions();
                BaselineNote = DescribeResumed(baselines, change, store.DatabasePath);
            }
            catch (FormatException ex)
            {
                Console.Error.WriteLine($"secmon: the saved baselines in {store.DatabasePath} are unreadable ({ex.Message}); learning anew");
            }
        }

        _engine = new DetectionEngine(rules, detection, baselines: baselines);
    }

    /// <summary>When the baselines continue from a model earlier runs saved in the store: one line saying how far it
    /// had learned and what this run's learning period does to it (for stderr); null for a new model.</summary>
    public string? BaselineNote { get; }

    /// <summary>After <see cref="Complete"/>: when the input ended inside the baseline learning period (so no
    /// baseline rule could report), one line for stderr saying so and how to learn from a first part of the input
    /// instead; null otherwise.</summary>
    /// <param name="dataOption">The <c>--data DIR</c> to repeat in the advice (empty for the default directory).</param>
    public string? LearningHint(string dataOption) => _engine.Baselines is { Learned: false, LearningEndMicros: { } end }
        ? $"baselines were still learning at the end of the input (until {Time.FormatMicros(end)} of capture time), so no baseline " +
          "rule could report; the next run continues learning. To learn from the first part of this input instead: " +
          $"'secmon baselines reset --yes{dataOption}', then analyze again with --learning 10m or --learning 25%"
        : null;

    /// <summary>Every finding of this run, in the order found (empty unless kept).</summary>
    public List<Finding> Findings { get; } = [];

    /// <summary>Findings of this run counted by rule (always kept).</summary>
    public FindingsTally Tally { get; } = new();

    /// <summary>The device inventory built from the events.</summary>
    public DeviceInventory Inventory { get; }

    /// <summary>Feeds <see cref="Inventory"/>: give it every event, as this sink gets them.</summary>
    public IEventSink InventorySink => _inventoryFeed ??= new InventoryFeed(Inventory, _store, _saveEvery);

    /// <summary>The first failure to save baselines or devices in the store (one line), or null.</summary>
    public string? StateError => _stateError ?? _inventoryFeed?.Error;


    /// <summary>Findings by rule and severity band as of the last hand-over to the outputs: a copy of <see cref="Tally"/>'s
    /// counts that other threads may read (the metrics endpoint), replaced on the rules thread after each hand-over.</summary>
    public IReadOnlyList<(string RuleId, string Severity, long Count)> FindingsBySeverity => Volatile.Read(ref _bySeverity);

    private IReadOnlyList<(string RuleId, string Severity, long Count)> _bySeverity = [];

    /// <summary>Detection counters.</summary>
    public DetectionStats Stats => _engine.Stats;

    /// <inheritdoc />
    public void Emit(ProtocolEvent e)
    {
        if (_ruleSwitch is not null && _ruleSwitch.Version != _ruleVersion)
        {
            SwapRules();
        }

        Add(_engine.Process(e));
    }

    /// <inheritdoc />
    public void FlowEnded(FlowContext toServer) => _engine.FlowEnded(toServer);

    /// <summary>Rules replaced while running (<see cref="RuleSwitch"/>), on this thread between two events: the findings
    /// the old engine completed are handed over, then a new engine runs the new set with the same learned baselines.
    /// Open windows of the old rules (counts, sequences under way) start again; detection counters restart with it.</summary>
    private void SwapRules()
    {
        _ruleVersion = _ruleSwitch!.Version;
        Flush();
        _engine = new DetectionEngine(_ruleSwitch.Current, _detection, baselines: _engine.Baselines);
    }

    /// <summary>Live: closes the windows the wall clock has passed and writes every finding made so far.</summary>
    public void Tick()
    {
        if (_ruleSwitch is not null && _ruleSwitch.Version != _ruleVersion)
        {
            SwapRules();
        }

        Add(_engine.Tick());
        Flush();
        if (_store is not null && _stateError is null && InventoryFeed.Due(_saveEvery, ref _lastSave))
        {
            SaveBaselines();
        }
    }

    /// <summary>End of input: closes open windows and hands the rest of the findings to the outputs.</summary>
    public void Complete()
    {
        Add(_engine.Complete());
        Flush();
    }

    /// <summary>End of input, after <see cref="Complete"/>: saves devices and baselines.</summary>
    public void SaveState()
    {
        if (_store is not null)
        {
            try
            {
                _store.UpsertDevices(Inventory.Snapshots());
            }
            catch (FindingStoreException ex)
            {
                _stateError ??= $"the device inventory was not saved: {ex.Message}";
            }

            SaveBaselines();
        }
    }

    private void SaveBaselines()
    {
        try
        {
            _store!.SaveBaselineModel(_engine.Baselines.Export());
        }
        catch (FindingStoreException ex)
        {
            _stateError ??= $"the learned baselines were not saved: {ex.Message}";
        }
    }

    private static string DescribeResumed(BaselineModel model, LearningChange? change, string databasePath)
    {
        static string T(long? micros) => micros is { } m ? Time.FormatMicros(m) : "?";
        var from = $"baselines continue from earlier runs ({databasePath})";
        if (change is null)
        {
            return model.Learned
                ? $"{from}: learned from {T(model.LearningStartMicros)} to {T(model.LearningEndMicros)}"
                : model.LearningStartMicros is null ? $"{from}: nothing learned yet"
                : $"{from}: learning since {T(model.LearningStartMicros)}, until {T(model.LearningEndMicros)} of capture time";
        }

        return change switch
        {
            LearningChange.AlreadyLearned => $"{from}: learned from {T(model.LearningStartMicros)} to {T(model.LearningEndMicros)}; " +
                "--learning does not change a finished baseline ('secmon baselines reset --yes' first to learn anew)",
            LearningChange.Changed => $"{from}: learning since {T(model.LearningStartMicros)}; --learning now ends it at " +
                $"{T(model.LearningEndMicros)} (what earlier runs learned stays learned; 'secmon baselines reset --yes' to learn anew)",
            LearningChange.Unchanged => $"{from}: learning since {T(model.LearningStartMicros)}, until {T(model.LearningEndMicros)}",
            _ => $"{from}: nothing learned yet",
        };
    }

    private void Add(IReadOnlyList<Finding> findings)
    {
        if (findings.Count == 0)
        {
            return;
        }

        if (_keepFindings)
        {
            Findings.AddRange(findings);
        }

        _pending.AddRange(findings);
        // Live, a finding goes to the outputs as soon as it is made rather than at the next tick: the API of serve has it
        // within milliseconds, not up to a second later (findings are rare next to events).
        if (_pending.Count >= BatchSize || _saveEvery is not null)
        {
            Flush();
        }
    }

    private void Flush()
    {
        if (_pending.Count == 0)
        {
            return;
        }

        _outputs?.Publish(_pending);
        foreach (var f in _pending)
        {
            Tally.Add(f);
        }

        _pending.Clear();
        Volatile.Write(ref _bySeverity, Tally.BySeverity());
    }
}

/// <summary>Device inventory as an event sink; live, it saves the inventory to the store every
/// <paramref name="saveEvery"/> (on its own thread: the inventory is not shared).</summary>
internal sealed class InventoryFeed(DeviceInventory inventory, FindingStore? store = null, TimeSpan? saveEvery = null) : ITickSink
{
    private long _lastSave = Environment.TickCount64;

    /// <summary>The first failure to save the inventory while live (one line), or null; saving stops after it.</summary>
    public string? Error { get; private set; }

    /// <inheritdoc />
    public void Emit(ProtocolEvent e) => inventory.Observe(e);

    /// <inheritdoc />
    public void FlowEnded(FlowContext toServer) => inventory.FlowEnded(toServer);

    /// <inheritdoc />
    public void Tick()
    {
        if (store is not null && Error is null && inventory.Count > 0 && Due(saveEvery, ref _lastSave))
        {
            try
            {
                store.UpsertDevices(inventory.Snapshots());
            }
            catch (FindingStoreException ex)
            {
                Error = $"the device inventory was not saved: {ex.Message}";
            }
        }
    }

    /// <summary>True (and <paramref name="last"/> moved to now) when <paramref name="every"/> has passed since it.</summary>
    internal static bool Due(TimeSpan? every, ref long last)
    {
        var now = Environment.TickCount64;
        if (every is not { } e || now - last < (long)e.TotalMilliseconds)
        {
            return false;
        }

        last = now;
        return true;
    }
}
