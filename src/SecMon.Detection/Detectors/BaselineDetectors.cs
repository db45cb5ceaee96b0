using System.Globalization;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Detection.Baselines;
using SecMon.Detection.Conditions;
using SecMon.Detection.Engine;
using SecMon.Detection.Model;

namespace SecMon.Detection.Detectors;

/// <summary>Shared by the baseline detectors: the entity (device) an event belongs to.</summary>
internal static class BaselineEntity
{
    public static string Of(BaselineSpec spec, ValueReader[] fields, ProtocolEvent e, FieldValue[]? session)
    {
        if (spec.EntitySide is { } side)
        {
            return FlowSides.DeviceOf(e, side);
        }

        return Join(fields, e, session);
    }

    /// <summary>The values of several fields, <c>a, b</c> (a separate method: a lambda capturing the event
    /// would allocate its closure on every call of the caller, hot path or not).</summary>
    public static string Join(ValueReader[] fields, ProtocolEvent e, FieldValue[]? session)
    {
        if (fields.Length == 1)
        {
            return fields[0].Read(e, session).ToString();
        }

        var parts = new string[fields.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = fields[i].Read(e, session).ToString();
        }

        return string.Join(", ", parts);
    }
}

/// <summary>
/// <c>baseline: {kind: new_value}</c>: during learning, records the values (a field, a tuple of fields, or each
/// element of a list; topic patterns when normalised) each entity shows; afterwards reports each value an entity
/// had not shown, once (the value is then learned).
/// </summary>
internal sealed class NewValueDetector(RuleRuntime rule, BaselineSpec spec, BaselineModel model) : Detector
{
    private NewValueBaseline? _baseline;

    public override Observer Bind(BindContext context, RuleBinding binding) =>
        new Bound(this, binding, context.Readers(spec.EntityFields), context.Readers(spec.Values));

    private sealed class Bound(NewValueDetector owner, RuleBinding binding, ValueReader[] entity, ValueReader[] values) : Observer
    {
        public override void Observe(ProtocolEvent e, FieldValue[]? session) => owner.Observe(binding, entity, values, e, session);
    }

    private void Observe(RuleBinding binding, ValueReader[] entityReaders, ValueReader[] valueReaders, ProtocolEvent e, FieldValue[]? session)
    {
        var baseline = _baseline ??= model.NewValues(rule.Definition.Id);
        var learning = model.IsLearning(e.TimestampMicros);

        // A device publishes to a few topics over and over, and the dissector hands a session's repeats of a topic
        // the same string: when the entity is a side of the flow (the same for every event of this flow context)
        // and this value is the one the flow last showed, already in the baseline (values are never removed), there
        // is nothing to learn or report: no normalising, no look-ups.
        var scratch = spec.EntitySide is not null && valueReaders.Length == 1 ? FlowScratch.Peek(e.Flow) : null;
        var single = valueReaders.Length == 1 ? valueReaders[0].Read(e, session) : FieldValue.Missing;
        if (scratch is not null && single.Kind == FieldKind.Text && single.Text is { } raw && ReferenceEquals(scratch.Memo(Index), raw))
        {
            return;
        }

        var entity = BaselineEntity.Of(spec, entityReaders, e, session);
        if (single is { IsMissing: false, Kind: FieldKind.StringList } list)
        {
            foreach (var item in list.Strings!)
            {
                Consider(binding, baseline, learning, entity, Normalise(item), e, session);
            }

            return;
        }

        string value;
        if (valueReaders.Length == 1)
        {
            if (single.IsMissing)
            {
                return;
            }

            value = Normalise(single.ToString());
        }
        else
        {
            value = BaselineEntity.Join(valueReaders, e, session);
        }

        Consider(binding, baseline, learning, entity, value, e, session);
        if (scratch is not null && single.Kind == FieldKind.Text && baseline.Contains(entity, value))
        {
            scratch.SetMemo(Index, single.Text);
        }
    }

    private string Normalise(string value) => spec.TopicPattern ? TopicPattern.Normalise(value) : value;

    // A device that opens a TLS session (its event type declares the TlsSession fact) to a host it already used, on
    // another port (1883 then 8883), is moving to that server's TLS listener: the device inventory records it as a
    // posture change (a device hardened since T), and it is no new peer. Values of several fields are joined "a, b"
    // (BaselineEntity.Join), so "the same host on another port" is a learned value with the same text up to the last
    // ", ". A TLS session to a host the device never used is still reported.
    private static bool IsMoveToTls(NewValueBaseline baseline, string entity, string value, ProtocolEvent e)
    {
        var comma = value.LastIndexOf(", ", StringComparison.Ordinal);
        if (comma <= 0 || !baseline.Entities.TryGetValue(entity, out var known) || !OpensTls(e.Schema))
        {
            return false;
        }

        var host = value.AsSpan(0, comma + 2);
        foreach (var v in known)
        {
            if (v.AsSpan().StartsWith(host, StringComparison.Ordinal) && v.AsSpan(comma + 2).IndexOf(',') < 0)
            {
                return true;
            }
        }

        return false;
    }

    internal static bool OpensTls(EventSchema schema) => schema.Declares(SecMon.Core.Devices.DeviceFactKind.TlsSession);

    private void Consider(RuleBinding binding, NewValueBaseline baseline, bool learning, string entity, string value, ProtocolEvent e, FieldValue[]? session)
    {
        if (learning)
        {
            baseline.Learn(entity, value, model);
            return;
        }

        if (baseline.Contains(entity, value))
        {
            return;
        }

        if (IsMoveToTls(baseline, entity, value, e))
        {
            baseline.Learn(entity, value, model);
            return;
        }

        // Learn it so that each new value is reported once; if a bound refuses it, still report only once
        // per event rather than failing silently.
        baseline.Learn(entity, value, model);
        var trigger = Trigger.ForEvent(rule, e, session, binding.SeverityOf(e, session));
        trigger.Value = value;
        trigger.Extra.Add(new("secmon.baseline.entity", entity));
        trigger.Extra.Add(new("secmon.baseline.value", value));
        trigger.Extra.Add(new("secmon.baseline.known_entity", baseline.Entities.TryGetValue(entity, out var set) && set.Count > 1));
        binding.Raise(trigger, e, session);
    }
}

/// <summary>
/// <c>baseline: {kind: rate, per: 1m, tolerance: 3}</c>: counts each entity's matching events per period
/// (aligned buckets of capture time). Complete buckets inside the learning period give the band [min, max];
/// afterwards a bucket above <c>max x tolerance</c> is reported when it crosses (once per bucket), and a closed
/// bucket below <c>min / tolerance</c> once per episode (until a bucket is back in the band). Silent entities are
/// swept at bucket boundaries; the partial bucket at the end of input is not judged.
/// </summary>
internal sealed class RateDetector(RuleRuntime rule, BaselineSpec spec, BaselineModel model, DeadlineTracker clock) : Detector
{
    private const int MaxGapBuckets = 10_000;

    private RateBaseline? _baseline;

    // The model hands out one RateBaseline per rule and period for its lifetime: look it up once.
    private RateBaseline Baseline => _baseline ??= model.Rates(rule.Definition.Id, spec.PerMicros);

    public override long NextDeadline
    {
        get
        {
            var b = Baseline;
            return b.SweptBucket == long.MinValue || b.Entities.Count == 0 ? long.MaxValue : (b.SweptBucket + 1) * spec.PerMicros + spec.PerMicros;
        }
    }

    public override Observer Bind(BindContext context, RuleBinding binding) => new Bound(this, binding, context.Readers(spec.EntityFields));

    private sealed class Bound(RateDetector owner, RuleBinding binding, ValueReader[] entity) : Observer
    {
        public override void Observe(ProtocolEvent e, FieldValue[]? session) => owner.Observe(binding, entity, e, session);
    }

    private void Observe(RuleBinding binding, ValueReader[] entityReaders, ProtocolEvent e, FieldValue[]? session)
    {
        var baseline = Baseline;
        var t = e.TimestampMicros;
        var bucket = Math.DivRem(t, spec.PerMicros).Quotient;
        model.IsLearning(t);
        // The entity's name is made only when it is needed (a new flow, a closed bucket, a report): a flow context that
        // holds its state (below) needs none, and the device id of a flow side costs a MAC check per publish.
        string? entity = null;
        if (NewValueDetector.OpensTls(e.Schema))
        {
            // Not a publish: a TLS session of a device already counted (the rule lists tls.client_hello for this).
            if (baseline.Entities.TryGetValue(BaselineEntity.Of(spec, entityReaders, e, session), out var moving))
            {
                moving.TlsBucket = bucket;
            }

            return;
        }

        // When the entity is a side of the flow, the flow context keeps its state: entities are never removed from
        // or replaced in the model while it runs (an import builds a new model), so no look-up after the first.
        var scratch = spec.EntitySide is not null ? FlowScratch.Peek(e.Flow) : null;
        if (scratch?.Memo(Index) is not RateEntity state)
        {
            entity = BaselineEntity.Of(spec, entityReaders, e, session);
            if (!baseline.Entities.TryGetValue(entity, out var known))
            {
                if (baseline.Entities.Count >= model.Options.MaxEntitiesPerRule)
                {
                    model.Dropped++;
                    return;
                }

                known = new RateEntity();
                baseline.Entities[entity] = known;
            }

            state = known;
            scratch?.SetMemo(Index, state);
        }

        if (state.FirstBucket == long.MinValue)
        {
            state.FirstBucket = bucket;
        }

        if (state.CurrentBucket == long.MinValue)
        {
            state.CurrentBucket = bucket;
        }
        else if (bucket > state.CurrentBucket)
        {
            CloseUpTo(entity ?? BaselineEntity.Of(spec, entityReaders, e, session), state, bucket);
        }

        state.CurrentCount++;
        // The event a "fell silent" finding is about: the first of the entity's latest flow (same flow id, client id
        // and addresses as its last event), not every event. Storing each new event in this long-lived state made
        // the garbage collector keep one event per device alive at every young collection: measured on the 10x
        // bench capture (10,000 devices), gen1 collections 78 -> 70, GC pauses 0.8 -> 0.56 s, analyze 5.9 -> 5.1 s.
        // The binding goes with the event: it is bound to that event's schema.
        if (!ReferenceEquals(state.LastEvent?.Flow, e.Flow))
        {
            state.LastEvent = e;
            state.LastBinding = binding;
        }

        // The flow's live session values (not a copy: a copy per event would cost an allocation per publish);
        // a report about a silent device shows the flow's values as they last were.
        state.LastSession = session;
        if (baseline.SweptBucket == long.MinValue || baseline.SweptBucket < bucket - 1)
        {
            baseline.SweptBucket = bucket - 1;
            clock.Note(NextDeadline);
        }

        if (!model.Learned || state.FiredHigh || !Trusted(state))
        {
            return;
        }

        if (state.CurrentCount > High(state))
        {
            state.FiredHigh = true;
            var trigger = Trigger.ForEvent(rule, e, session, binding.SeverityOf(e, session));
            Describe(trigger, entity ?? BaselineEntity.Of(spec, entityReaders, e, session), state, state.CurrentCount, "above");
            binding.Raise(trigger, e, session);
        }
    }

    private bool Trusted(RateEntity state) => state.Buckets >= model.Options.MinRateBuckets;

    // A device silent for most of learning (max 0) must not be reported for one message: the band's top is at
    // least 'tolerance' events per period.
    private long High(RateEntity state) => (long)Math.Ceiling(Math.Max(state.Max, 1) * spec.Tolerance);

    // Closes the entity's current bucket and any empty ones before 'bucket'.
    private void CloseUpTo(string entity, RateEntity state, long bucket)
    {
        var gaps = 0;
        while (state.CurrentBucket < bucket && gaps++ < MaxGapBuckets)
        {
            Close(entity, state, state.CurrentBucket, state.CurrentCount);
            state.CurrentBucket++;
            state.CurrentCount = 0;
            state.FiredHigh = false;
        }

        state.CurrentBucket = bucket;
    }

    private void Close(string entity, RateEntity state, long bucket, long count)
    {
        var start = bucket * spec.PerMicros;
        var end = start + spec.PerMicros;
        // A bucket inside the learning period is learned (unless the model was imported already learned),
        // whenever it is closed; only complete ones: not the entity's first (it began mid-bucket).
        var learningBucket = !model.ImportedLearned && model.LearningEndMicros is { } le && end <= le;
        if (learningBucket || !model.Learned)
        {
            if (learningBucket && bucket > state.FirstBucket && model.LearningStartMicros is { } ls && start >= ls)
            {
                state.Min = Math.Min(state.Min, count);
                state.Max = Math.Max(state.Max, count);
                state.Buckets++;
            }

            return;
        }

        if (!Trusted(state) || bucket <= state.FirstBucket)
        {
            return;
        }

        var low = (long)Math.Floor(state.Min / spec.Tolerance);
        if (count < low)
        {
            // A device that opened a TLS session in this bucket or the one before publishes encrypted now (it moved to
            // its broker's TLS listener: the inventory records the posture change): its clear rate is not its rate.
            if (state.TlsBucket >= bucket - 1 && state.TlsBucket != long.MinValue)
            {
                state.TlsBucket = Math.Max(state.TlsBucket, bucket); // still quiet: still encrypted
                return;
            }

            if (!state.LowActive && state.LastEvent is { } last && state.LastBinding is RuleBinding binding)
            {
                state.LowActive = true;
                var trigger = new Trigger
                {
                    Rule = rule,
                    AnchorFlowId = last.Flow.FlowId,
                    AnchorMicros = end,
                    AnchorPacket = -bucket,
                    Subject = last,
                    Session = state.LastSession,
                    LastMicros = end,
                    Severity = binding.SeverityOf(last, state.LastSession),
                };
                Describe(trigger, entity, state, count, "below");
                binding.Raise(trigger, last, state.LastSession);
            }
        }
        else if (count <= High(state))
        {
            state.LowActive = false;
        }
    }

    private void Describe(Trigger trigger, string entity, RateEntity state, long observed, string direction)
    {
        var per = Durations.Format(spec.PerMicros);
        trigger.Count = observed;
        trigger.WindowMicros = spec.PerMicros;
        trigger.Value = string.Create(CultureInfo.InvariantCulture, $"{observed} per {per}, {direction} the learned {state.Min}-{state.Max} per {per}");
        trigger.Extra.Add(new("secmon.baseline.entity", entity));
        trigger.Extra.Add(new("secmon.baseline.observed", observed));
        trigger.Extra.Add(new("secmon.baseline.band", string.Create(CultureInfo.InvariantCulture, $"{state.Min}-{state.Max} per {per}")));
        trigger.Extra.Add(new("secmon.baseline.direction", direction));
    }

    public override void Advance(long now)
    {
        model.AdvanceTo(now);
        var baseline = Baseline;
        var nowBucket = Math.DivRem(now, spec.PerMicros).Quotient;
        if (baseline.SweptBucket == long.MinValue || nowBucket - 1 <= baseline.SweptBucket)
        {
            return;
        }

        // Close the buckets of entities that have been silent since.
        foreach (var (entity, state) in baseline.Entities)
        {
            if (state.CurrentBucket != long.MinValue && state.CurrentBucket < nowBucket)
            {
                CloseUpTo(entity, state, nowBucket);
            }
        }

        baseline.SweptBucket = nowBucket - 1;
    }
}
