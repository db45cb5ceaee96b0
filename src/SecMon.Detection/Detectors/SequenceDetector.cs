using SecMon.Core.Events;
using SecMon.Detection.Conditions;
using SecMon.Detection.Engine;
using SecMon.Detection.Model;

namespace SecMon.Detection.Detectors;

/// <summary>
/// Ordered steps for one group, all within the window from the first event: each step needs <c>count</c>
/// matching events before the next is awaited; events matching an earlier step while a later one is awaited
/// are counted (ten refused logins then a success is one sequence). Reports when the last step matches, anchored
/// on the first event of the sequence; the group then starts afresh.
/// </summary>
internal sealed class SequenceDetector(RuleRuntime rule, SequenceSpec spec, int maxGroups) : Detector
{
    private const int MaxDistinct = 1024;
    private readonly LruTable<GroupKey, State> _groups = new(maxGroups);
    private readonly string[] _byNames = [.. spec.By.Select(f => f.Name)];

    private sealed class State(long start, long packet, string flowId, int steps)
    {
        public long Start { get; } = start;

        public long StartPacket { get; } = packet;

        public string StartFlowId { get; } = flowId;

        public int Step { get; set; }

        public int StepCount { get; set; }

        public long Total { get; set; }

        public long[] PerStep { get; } = new long[steps];

        public HashSet<string>? Distinct { get; set; }
    }

    public override long Evicted => _groups.Evicted;

    // Not a lambda in Observe: a closure over the state would be allocated on every event.
    private string Describe(State state) =>
        string.Join(" -> ", spec.Steps.Select((s, i) => $"{s.Name} x{state.PerStep[i]}"));

    public override Observer Bind(BindContext context, RuleBinding binding)
    {
        var steps = new Predicate?[spec.Steps.Length];
        var distinct = new ValueReader?[spec.Steps.Length];
        for (var i = 0; i < steps.Length; i++)
        {
            var step = spec.Steps[i];
            if (step.Events.Contains(context.Schema.Type, StringComparer.Ordinal))
            {
                steps[i] = step.Where.Bind(context);
                distinct[i] = step.Distinct is null ? null : context.Reader(step.Distinct);
            }
        }

        return new Bound(this, binding, context.Readers(spec.By), steps, distinct);
    }

    private sealed class Bound(SequenceDetector owner, RuleBinding binding, ValueReader[] by, Predicate?[] steps, ValueReader?[] distinct) : Observer
    {
        public override void Observe(ProtocolEvent e, FieldValue[]? session) => owner.Observe(binding, by, steps, distinct, e, session);
    }

    private void Observe(RuleBinding binding, ValueReader[] by, Predicate?[] steps, ValueReader?[] distinct, ProtocolEvent e, FieldValue[]? session)
    {
        var t = e.TimestampMicros;
        var key = GroupKey.Read(by, e, session);
        var state = _groups.Get(key, touch: true);
        if (state is not null && t - state.Start >= spec.WindowMicros)
        {
            _groups.Remove(key);
            state = null;
        }

        if (state is null)
        {
            if (steps[0] is not { } first || !first.Eval(e, session))
            {
                return;
            }

            state = new State(t, e.PacketNumber, e.Flow.FlowId, steps.Length);
            _groups.Add(key, state);
        }

        var current = state.Step;
        var matched = -1;
        if (steps[current] is { } p && p.Eval(e, session))
        {
            matched = current;
        }
        else
        {
            for (var i = current - 1; i >= 0; i--)
            {
                if (steps[i] is { } q && q.Eval(e, session))
                {
                    matched = i;
                    break;
                }
            }
        }

        if (matched < 0)
        {
            return;
        }

        state.Total++;
        state.PerStep[matched]++;
        if (distinct[matched] is { } dr && dr.Read(e, session) is { IsMissing: false } dv)
        {
            state.Distinct ??= new HashSet<string>(StringComparer.Ordinal);
            if (state.Distinct.Count < MaxDistinct)
            {
                state.Distinct.Add(dv.ToString());
            }
        }

        if (matched != current)
        {
            return;
        }

        state.StepCount++;
        if (state.StepCount < spec.Steps[current].Count)
        {
            return;
        }

        if (current < steps.Length - 1)
        {
            state.Step++;
            state.StepCount = 0;
            return;
        }

        _groups.Remove(key);
        var trigger = new Trigger
        {
            Rule = rule,
            AnchorFlowId = state.StartFlowId,
            AnchorMicros = state.Start,
            AnchorPacket = state.StartPacket,
            Subject = e,
            Session = session,
            LastMicros = t,
            Count = state.Total,
            Severity = binding.SeverityOf(e, session),
            WindowMicros = spec.WindowMicros,
            Distinct = state.Distinct?.Count,
        };
        trigger.Extra.Add(new("secmon.group", key.Describe(_byNames)));
        trigger.Extra.Add(new("secmon.sequence", Describe(state)));
        trigger.Extra.Add(new("event.start", FindingFactory.Timestamp(state.Start)));
        trigger.Extra.Add(new("event.end", FindingFactory.Timestamp(t)));
        if (state.Distinct is { } d)
        {
            trigger.Extra.Add(new("secmon.distinct_count", (long)d.Count));
        }

        binding.Raise(trigger, e, session);
    }
}
