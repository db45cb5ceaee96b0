using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Detection.Conditions;
using SecMon.Detection.Engine;
using SecMon.Detection.Model;

namespace SecMon.Detection.Detectors;

/// <summary>
/// <c>count &gt;= N within W by ...</c>: reports when a group has N matching events within W of capture time
/// (and, with <c>distinct</c>/<c>min_distinct</c>, enough distinct values of a field). It reports once per
/// episode: while matching events keep coming (gaps shorter than W) the group stays reported; after a quiet W it
/// can report again. The finding is anchored on the oldest of the N events.
/// </summary>
internal sealed class ThresholdDetector(RuleRuntime rule, ThresholdSpec spec, int maxGroups) : Detector
{
    private const int MaxDistinct = 1024;
    private readonly LruTable<GroupKey, State> _groups = new(maxGroups);
    private readonly string[] _byNames = [.. spec.By.Select(f => f.Name)];

    private readonly record struct Entry(long Micros, long Packet, string FlowId);

    // The ring holds the group's events inside the window (at most the rule's count): older ones are dropped as
    // time moves on. It grows on demand: most groups (one per device, say) never come near a burst threshold, and
    // a ring of the full count for each of them was the largest part of analyze's heap. A steady publisher whose
    // ring kept every event up to the count (instead of those in the window) cost a cache miss more per event
    // and grew every ring to the full count.
    private sealed class State(int capacity) : GroupState
    {
        private const int InitialSize = 4;

        private Entry[] _ring = new Entry[Math.Min(InitialSize, capacity)];

        public int Start { get; private set; }

        public int Count { get; private set; }

        /// <summary>Capture time of the oldest event in the ring (kept here so that a push reads no other part of
        /// the ring than the slot it writes).</summary>
        public long OldestMicros { get; private set; }

        public long Last { get; set; }

        public bool Fired { get; set; }

        public long Absorbed { get; set; }

        public Dictionary<string, long>? Distinct { get; set; }

        /// <summary>Drops the events that are <paramref name="window"/> or more older than <paramref name="now"/>.</summary>
        public void Expire(long now, long window)
        {
            while (Count > 0 && now - OldestMicros >= window)
            {
                Start = (Start + 1) % _ring.Length;
                Count--;
                if (Count > 0)
                {
                    OldestMicros = _ring[Start].Micros;
                }
            }
        }

        public void Push(Entry e)
        {
            if (Count == 0)
            {
                OldestMicros = e.Micros;
            }

            if (Count == _ring.Length && _ring.Length < capacity)
            {
                var grown = new Entry[Math.Min(capacity, _ring.Length * 2)];
                for (var i = 0; i < Count; i++)
                {
                    grown[i] = _ring[(Start + i) % _ring.Length];
                }

                _ring = grown;
                Start = 0;
            }

            if (Count < _ring.Length)
            {
                _ring[(Start + Count) % _ring.Length] = e;
                Count++;
            }
            else
            {
                _ring[Start] = e;
                Start = (Start + 1) % _ring.Length;
                OldestMicros = _ring[Start].Micros;
            }
        }

        public Entry Oldest => _ring[Start];

        public void Reset()
        {
            Start = 0;
            Count = 0;
            Fired = false;
            Absorbed = 0;
            Distinct?.Clear();
        }
    }

    public override long Evicted => _groups.Evicted;

    // Not a lambda in Observe: a closure over the time would be allocated on every event.
    private int DistinctInWindow(Dictionary<string, long>? distinct, long now)
    {
        if (distinct is null)
        {
            return 0;
        }

        var n = 0;
        foreach (var (_, last) in distinct)
        {
            if (now - last < spec.WindowMicros)
            {
                n++;
            }
        }

        return n;
    }

    public override Observer Bind(BindContext context, RuleBinding binding) =>
        new Bound(this, binding, context.Readers(spec.By), spec.Distinct is null ? null : context.Reader(spec.Distinct));

    private sealed class Bound(ThresholdDetector owner, RuleBinding binding, ValueReader[] by, ValueReader? distinct) : Observer
    {
        public override void Observe(ProtocolEvent e, FieldValue[]? session) => owner.Observe(binding, by, distinct, e, session);
    }

    private void Observe(RuleBinding binding, ValueReader[] by, ValueReader? distinctReader, ProtocolEvent e, FieldValue[]? session)
    {
        var t = e.TimestampMicros;
        var key = GroupKey.Read(by, e, session);
        var scratch = FlowScratch.Peek(e.Flow);
        var state = scratch is null ? _groups.Get(key, touch: true) : scratch.Get(Index, _groups, key);
        if (state is null)
        {
            state = new State(spec.Count);
            _groups.Add(key, state, out var handle);
            scratch?.Remember(Index, key, handle, state);
        }
        else if (t - state.Last >= spec.WindowMicros)
        {
            // A quiet window ends the episode (and any partial count).
            state.Reset();
        }

        state.Last = Math.Max(state.Last, t);
        if (state.Fired)
        {
            state.Absorbed++;
            return;
        }

        state.Expire(t, spec.WindowMicros);
        state.Push(new Entry(t, e.PacketNumber, e.Flow.FlowId));
        if (distinctReader is not null && distinctReader.Read(e, session) is { IsMissing: false } dv)
        {
            state.Distinct ??= new Dictionary<string, long>(StringComparer.Ordinal);
            var text = dv.ToString();
            if (state.Distinct.Count < MaxDistinct || state.Distinct.ContainsKey(text))
            {
                state.Distinct[text] = t;
            }
        }

        // Every event in the ring is inside the window.
        if (state.Count < spec.Count)
        {
            return;
        }

        var distinctCount = DistinctInWindow(state.Distinct, t);
        if (spec.MinDistinct > 0 && distinctCount < spec.MinDistinct)
        {
            return;
        }

        state.Fired = true;
        var anchor = state.Oldest;
        var trigger = new Trigger
        {
            Rule = rule,
            AnchorFlowId = anchor.FlowId,
            AnchorMicros = anchor.Micros,
            AnchorPacket = anchor.Packet,
            Subject = e,
            Session = session,
            LastMicros = t,
            Count = state.Count,
            Severity = binding.SeverityOf(e, session),
            WindowMicros = spec.WindowMicros,
            Distinct = spec.Distinct is null ? null : distinctCount,
        };
        trigger.Extra.Add(new("secmon.group", key.Describe(_byNames)));
        trigger.Extra.Add(new("secmon.window", Durations.Format(spec.WindowMicros)));
        trigger.Extra.Add(new("event.start", FindingFactory.Timestamp(anchor.Micros)));
        trigger.Extra.Add(new("event.end", FindingFactory.Timestamp(t)));
        if (spec.Distinct is not null)
        {
            trigger.Extra.Add(new("secmon.distinct_count", (long)distinctCount));
            trigger.Extra.Add(new("secmon.distinct_field", spec.Distinct.BaseName));
        }

        binding.Raise(trigger, e, session);
    }
}
