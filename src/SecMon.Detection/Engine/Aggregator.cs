using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Detection.Conditions;
using SecMon.Detection.Model;

namespace SecMon.Detection.Engine;

/// <summary>
/// <c>aggregate: {by, within, collect, alert_first}</c>: one finding per group and window. The first detection of a
/// group opens a window of <c>within</c> (capture time); later ones add to its count (and to the distinct values of
/// the <c>collect</c> fields); the finding is emitted when the window closes, or at the end of input. Its id is
/// anchored on the first detection, so the same traffic gives the same finding. With <c>alert_first</c>, the first
/// detection is also written at once as a finding of its own (its own id), and the summary at the window's close
/// only when more detections followed: an analyst sees the first occurrence while it happens, not an hour later.
/// </summary>
internal sealed class Aggregator(RuleRuntime rule, AggregateSpec spec, int maxGroups, DeadlineTracker clock)
{
    private const int MaxCollected = 32; // as many as an evidence list holds (FindingFactory.MaxListItems)

    // Insertion order = opening order = closing order (one window length per rule).
    private readonly LruTable<GroupKey, Group> _groups = new(maxGroups);

    private sealed class Group(Trigger trigger, long opened, int collectCount)
    {
        public Trigger Trigger { get; set; } = trigger;

        public long Opened { get; } = opened;

        public List<object>[] Collected { get; } = [.. Enumerable.Range(0, collectCount).Select(_ => new List<object>())];
    }

    /// <summary>Groups emitted early because the bound was reached.</summary>
    public long Evicted => _groups.Evicted;

    public long NextDeadline => _groups.TryPeekOldest(out _, out var g) ? g.Opened + spec.WindowMicros : long.MaxValue;

    public void Add(Trigger t, GroupKey key, ValueReader[] collect, ProtocolEvent e, FieldValue[]? session)
    {
        var g = _groups.Get(key, touch: false);
        if (g is not null && t.AnchorMicros - g.Opened >= spec.WindowMicros)
        {
            _groups.Remove(key);
            Flush(g);
            g = null;
        }

        var opened = g is null;
        if (g is null)
        {
            // The trigger outlives this event: keep a copy of the flow's joined values as they are now.
            g = new Group(t.Copy(spec.WindowMicros), t.AnchorMicros, collect.Length);
            if (_groups.Add(key, g) is { } evicted)
            {
                Flush(evicted.Value);
            }

            clock.Note(g.Opened + spec.WindowMicros);
        }
        else
        {
            if (spec.DescribeLatest && t.Subject.TimestampMicros >= g.Trigger.Subject.TimestampMicros)
            {
                // The summary describes the window's latest event (its running totals), still anchored on the first.
                g.Trigger = g.Trigger.Describing(t);
            }

            g.Trigger.Count += t.Count;
            g.Trigger.LastMicros = Math.Max(g.Trigger.LastMicros, t.LastMicros);
            if (t.Severity > g.Trigger.Severity)
            {
                g.Trigger.Severity = t.Severity;
            }
        }

        for (var i = 0; i < collect.Length; i++)
        {
            var v = FindingFactory.ToEvidence(collect[i].Read(e, session));
            var list = g.Collected[i];
            if (v is List<string> strings)
            {
                foreach (var s in strings)
                {
                    AddDistinct(list, s);
                }
            }
            else if (v is not null)
            {
                AddDistinct(list, v);
            }
        }

        if (opened && spec.AlertFirst)
        {
            // The window has just opened: its first detection is an alert of its own, with what it collected.
            var first = t.Copy(firstOfWindow: true);
            AddCollected(first, g);
            rule.Sink.Emit(first);
        }
    }

    private static void AddDistinct(List<object> list, object v)
    {
        if (list.Count < MaxCollected && !list.Contains(v))
        {
            list.Add(v);
        }
    }

    public void Advance(long now)
    {
        while (_groups.TryPeekOldest(out var key, out var g) && g.Opened + spec.WindowMicros <= now)
        {
            _groups.Remove(key);
            Flush(g);
        }
    }

    public void Complete()
    {
        while (_groups.TryPeekOldest(out var key, out var g))
        {
            _groups.Remove(key);
            Flush(g);
        }
    }

    // Evidence lists are typed (string, long or bool), as Finding.Evidence documents.
    private static object Typed(List<object> values) => values[0] switch
    {
        long => values.OfType<long>().ToList(),
        bool => values.OfType<bool>().ToList(),
        _ => values.Select(v => v.ToString() ?? "").ToList(),
    };

    private void Flush(Group g)
    {
        var t = g.Trigger;
        if (spec.AlertFirst && t.Count == 1)
        {
            return; // the first alert already said all there was
        }

        t.Extra.Add(new("secmon.window", Durations.Format(spec.WindowMicros)));
        if (t.Count > 1)
        {
            t.Extra.Add(new("event.start", FindingFactory.Timestamp(g.Opened)));
            t.Extra.Add(new("event.end", FindingFactory.Timestamp(t.LastMicros)));
        }

        AddCollected(t, g);
        rule.Sink.Emit(t);
    }

    private void AddCollected(Trigger t, Group g)
    {
        for (var i = 0; i < spec.Collect.Length; i++)
        {
            if (g.Collected[i].Count > 0 && FindingFactory.IsEvidenceSafe(spec.Collect[i].BaseName))
            {
                t.Extra.Add(new(FindingFactory.CollectedName(spec.Collect[i]), Typed(g.Collected[i])));
            }
        }
    }
}
