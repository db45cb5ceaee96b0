using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Core.Findings;
using SecMon.Core.Flows;
using SecMon.Detection.Baselines;
using SecMon.Detection.Conditions;
using SecMon.Detection.Detectors;
using SecMon.Detection.Engine;
using SecMon.Detection.Model;

namespace SecMon.Detection;

/// <summary>
/// Runs a <see cref="RuleSet"/> over protocol events in capture order and produces findings. Windows run on
/// capture time (<see cref="ProtocolEvent.TimestampMicros"/>), so a file gives the same findings as the same
/// traffic live; <see cref="Tick"/> uses the injected <see cref="TimeProvider"/> to close windows when a live
/// network goes quiet. Per event the cost is one dictionary lookup by schema and the rules' compiled conditions.
/// Not thread-safe: one thread calls <see cref="Process"/>, <see cref="AdvanceTo"/>, <see cref="Tick"/> and
/// <see cref="Complete"/>.
/// </summary>
public sealed class DetectionEngine
{
    private readonly RuleSet _rules;
    private readonly DetectionOptions _options;
    private readonly TimeProvider _time;
    private readonly RuleRuntime[] _runtimes;
    private readonly Dictionary<EventSchema, SchemaPlan> _plans = new(ReferenceEqualityComparer.Instance);
    private readonly FlowMemory? _flows;
    private readonly FindingSink _sink;
    private readonly DeadlineTracker _clock = new();
    private readonly SuppressionDefinition[] _suppressions;
    private long _now = long.MinValue;

    private sealed class SchemaPlan(RuleBinding[] bindings, (int Slot, EventField Field)[] updates)
    {
        public RuleBinding[] Bindings { get; } = bindings;

        public (int Slot, EventField Field)[] Updates { get; } = updates;
    }

    /// <summary>Creates an engine for <paramref name="rules"/>.</summary>
    /// <param name="rules">The loaded rules.</param>
    /// <param name="options">State bounds; defaults when null.</param>
    /// <param name="timeProvider">Wall clock for <see cref="Tick"/>; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="baselines">Learned baselines to continue from (imported from the store); a fresh model when null.</param>
    public DetectionEngine(RuleSet rules, DetectionOptions? options = null, TimeProvider? timeProvider = null, BaselineModel? baselines = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _rules = rules;
        _options = options ?? new DetectionOptions();
        _time = timeProvider ?? TimeProvider.System;
        Baselines = baselines ?? new BaselineModel();
        _suppressions = [.. rules.Suppressions];
        Stats = new DetectionStats([.. _suppressions.Select(s => s.Name)]);
        _sink = new FindingSink(new FindingFactory(rules.SessionSlots, _options), Stats);
        _flows = rules.SessionSlots.Count > 0 ? new FlowMemory(rules.SessionSlots.Count, _options.MaxFlows) : null;
        _runtimes = [.. rules.Definitions.Select(CreateRuntime)];
        for (var i = 0; i < _runtimes.Length; i++)
        {
            _runtimes[i].Detector.Index = i;
        }
    }

    /// <summary>Counters.</summary>
    public DetectionStats Stats { get; }

    /// <summary>The baselines being learned or used; export them to persist.</summary>
    public BaselineModel Baselines { get; }

    /// <summary>Per suppression name, how many rule matches it dropped.</summary>
    public IReadOnlyDictionary<string, long> SuppressionHits =>
        _suppressions.Select((s, i) => (s.Name, Hits: Stats.SuppressionHits[i]))
            .GroupBy(x => x.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(x => x.Hits), StringComparer.Ordinal);

    private RuleRuntime CreateRuntime(RuleDefinition d)
    {
        var runtime = new RuleRuntime { Definition = d, Sink = _sink };
        var max = _options.MaxGroupsPerRule;
        runtime.Detector =
            d.Threshold is { } th ? new ThresholdDetector(runtime, th, max) :
            d.Sequence is { } seq ? new SequenceDetector(runtime, seq, max) :
            d.Namespace is { } ns ? new NamespaceDetector(runtime, ns, max) :
            d.Baseline is { Kind: BaselineKind.Rate } rate ? new RateDetector(runtime, rate, Baselines, _clock) :
            d.Baseline is { } nv ? new NewValueDetector(runtime, nv, Baselines) :
            new EventDetector(runtime);
        if (d.Aggregate is { } agg)
        {
            runtime.Aggregator = new Aggregator(runtime, agg, max, _clock);
        }

        return runtime;
    }

    /// <summary>Runs the rules on one event (events must come in capture order); returns the findings it completed.</summary>
    public IReadOnlyList<Finding> Process(ProtocolEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        Stats.Events++;
        var t = e.TimestampMicros;
        if (t > _now)
        {
            _now = t;
            if (t >= _clock.Next)
            {
                Advance(t);
            }
        }

        var plan = PlanFor(e.Schema);
        if (plan.Bindings.Length == 0 && plan.Updates.Length == 0)
        {
            return _sink.Take();
        }

        var scratch = FlowScratch.Of(e.Flow, this);
        var session = _flows?.Update(e, scratch, plan.Updates);
        if (plan.Bindings.Length > 0)
        {
            Stats.EventsRead++;
        }

        foreach (var b in plan.Bindings)
        {
            if (!b.Where.Eval(e, session))
            {
                continue;
            }

            Stats.Matches++;
            if (b.Suppressions.Length > 0 && b.Suppressed(e, session) is var s and >= 0)
            {
                Stats.Suppressed++;
                Stats.SuppressionHits[s]++;
                continue;
            }

            b.Observer.Observe(e, session);
        }

        return _sink.Take();
    }

    /// <summary>
    /// The flow of <paramref name="flow"/> ended (no event of it follows): its session values and what each direction's
    /// context holds for this engine are forgotten now rather than when the bounds push them out, so a long-running
    /// sensor keeps state only for live flows. Group state (counts, sequences, windows) is per group, not per flow, and
    /// stays.
    /// </summary>
    public void FlowEnded(FlowContext flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        _flows?.Forget(flow.FlowId);
        FlowScratch.Release(flow, this);
        if (flow.Reverse is { } reverse)
        {
            FlowScratch.Release(reverse, this);
        }
    }

    /// <summary>Flows whose session values are held (for tests and measurements).</summary>
    internal int SessionFlows => _flows?.Count ?? 0;

    /// <summary>Moves capture time forward without an event, closing the windows that end by then.</summary>
    public IReadOnlyList<Finding> AdvanceTo(long captureMicros)
    {
        if (captureMicros > _now)
        {
            _now = captureMicros;
            Advance(captureMicros);
        }

        return _sink.Take();
    }

    /// <summary>
    /// Live capture only: advances to the wall clock of the <see cref="TimeProvider"/>, so windows close while
    /// the network is quiet. Do not call it when analysing a file (capture time is in the past).
    /// </summary>
    public IReadOnlyList<Finding> Tick() => AdvanceTo(Time.ToUnixMicros(_time.GetUtcNow()));

    /// <summary>End of input: reports every open aggregation window. Rate baselines do not judge the last, partial period.</summary>
    public IReadOnlyList<Finding> Complete()
    {
        foreach (var r in _runtimes)
        {
            r.Detector.Complete();
            r.Aggregator?.Complete();
        }

        UpdateCounters();
        return _sink.Take();
    }

    private void Advance(long now)
    {
        foreach (var r in _runtimes)
        {
            r.Detector.Advance(now);
            r.Aggregator?.Advance(now);
        }

        var next = long.MaxValue;
        foreach (var r in _runtimes)
        {
            next = Math.Min(next, r.Detector.NextDeadline);
            if (r.Aggregator is { } a)
            {
                next = Math.Min(next, a.NextDeadline);
            }
        }

        _clock.Next = next;
        UpdateCounters();
    }

    private void UpdateCounters()
    {
        Stats.GroupsEvicted = _runtimes.Sum(r => r.Detector.Evicted + (r.Aggregator?.Evicted ?? 0));
        Stats.FlowsEvicted = _flows?.Evicted ?? 0;
        Stats.RegexTimeouts = _rules.Guard.Timeouts;
        Stats.BaselineDropped = Baselines.Dropped;
    }

    private SchemaPlan PlanFor(EventSchema schema)
    {
        if (_plans.TryGetValue(schema, out var plan))
        {
            return plan;
        }

        plan = BuildPlan(schema);
        _plans[schema] = plan;
        return plan;
    }

    // Separate from PlanFor: its lambdas capture locals, and a closure is allocated on entry to the method
    // that declares them, which must not be the per-event lookup.
    private SchemaPlan BuildPlan(EventSchema schema)
    {
        var context = new BindContext(schema, _rules.SessionSlots);
        var bindings = new List<RuleBinding>();
        foreach (var r in _runtimes)
        {
            if (!r.Definition.Events.Contains(schema.Type, StringComparer.Ordinal))
            {
                continue;
            }

            var where = r.Definition.Where.Bind(context);
            if (where.Constant == false)
            {
                continue;
            }

            var binding = new RuleBinding
            {
                Rule = r,
                Where = where,
                Suppressions = BindSuppressions(r.Definition.Id, context),
                Escalations = [.. r.Definition.Escalations.Select(x => (x.Where.Bind(context), x.Severity))],
                AggregateBy = r.Definition.Aggregate is { } agg ? context.Readers(agg.By) : [],
                Collect = r.Definition.Aggregate is { } agg2 ? context.Readers(agg2.Collect) : [],
            };
            binding.Observer = r.Detector.Bind(context, binding);
            bindings.Add(binding);
        }

        var updates = new List<(int, EventField)>();
        foreach (var (name, slot) in _rules.SessionSlots)
        {
            if (schema.TryGetField(name, out var f))
            {
                updates.Add((slot, f));
            }
        }

        return new SchemaPlan([.. bindings], [.. updates]);
    }

    private SuppressionBinding[] BindSuppressions(string ruleId, BindContext context)
    {
        var list = new List<SuppressionBinding>();
        for (var i = 0; i < _suppressions.Length; i++)
        {
            var s = _suppressions[i];
            if (s.Rules is { } ids && !ids.Contains(ruleId))
            {
                continue;
            }

            var where = s.Where?.Bind(context);
            if (where?.Constant == false)
            {
                continue;
            }

            list.Add(new SuppressionBinding(s, where?.Constant == true ? null : where, i));
        }

        return [.. list];
    }
}
