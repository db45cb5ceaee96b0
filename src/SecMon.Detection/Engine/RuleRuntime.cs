using SecMon.Core.Events;
using SecMon.Core.Findings;
using SecMon.Detection.Conditions;
using SecMon.Detection.Model;

namespace SecMon.Detection.Engine;

/// <summary>Receives one rule's events after its condition and suppressions; bound to one event schema.</summary>
internal abstract class Observer
{
    public abstract void Observe(ProtocolEvent e, FieldValue[]? session);
}

/// <summary>A rule's detection logic and state (per rule, shared by its bindings to every schema).</summary>
internal abstract class Detector
{
    /// <summary>This detector's index in its engine (its slot in each flow's <see cref="FlowScratch"/>).</summary>
    public int Index { get; set; }

    /// <summary>Creates the observer of events of the schema in <paramref name="context"/>.</summary>
    public abstract Observer Bind(BindContext context, RuleBinding binding);

    /// <summary>Capture time at which <see cref="Advance"/> has work to do.</summary>
    public virtual long NextDeadline => long.MaxValue;

    /// <summary>Closes windows that end at or before <paramref name="now"/>.</summary>
    public virtual void Advance(long now)
    {
    }

    /// <summary>End of input: reports what can be reported.</summary>
    public virtual void Complete()
    {
    }

    /// <summary>Group states evicted to stay within bounds.</summary>
    public virtual long Evicted => 0;
}

/// <summary>Tracks the earliest capture time at which a detector has a window to close.</summary>
internal sealed class DeadlineTracker
{
    public long Next { get; set; } = long.MaxValue;

    public void Note(long deadline)
    {
        if (deadline < Next)
        {
            Next = deadline;
        }
    }
}

/// <summary>Collects findings produced while handling one call into the engine.</summary>
internal sealed class FindingSink(FindingFactory factory, DetectionStats stats)
{
    private List<Finding>? _pending;

    public void Emit(Trigger t)
    {
        stats.Findings++;
        (_pending ??= []).Add(factory.Create(t));
    }

    public IReadOnlyList<Finding> Take()
    {
        if (_pending is null)
        {
            return Array.Empty<Finding>();
        }

        var list = _pending;
        _pending = null;
        return list;
    }
}

/// <summary>A rule at run time: its definition, detector, optional aggregation, and where findings go.</summary>
internal sealed class RuleRuntime
{
    public required RuleDefinition Definition { get; init; }

    public required FindingSink Sink { get; init; }

    public Detector Detector { get; set; } = null!;

    public Aggregator? Aggregator { get; set; }
}

/// <summary>A suppression bound to one schema.</summary>
internal sealed class SuppressionBinding(SuppressionDefinition definition, Predicate? where, int index)
{
    public int Index { get; } = index;

    public bool Matches(ProtocolEvent e, FieldValue[]? session)
    {
        if (where is not null && !where.Eval(e, session))
        {
            return false;
        }

        if (definition.Devices is { } devices)
        {
            return devices.Contains(FlowSides.DeviceOf(e, definition.DeviceSide)) || devices.Contains(FlowSides.IpOf(e.Flow, definition.DeviceSide));
        }

        return true;
    }
}

/// <summary>A rule bound to one event schema: its compiled condition, suppressions, escalations and observer.</summary>
internal sealed class RuleBinding
{
    public required RuleRuntime Rule { get; init; }

    public required Predicate Where { get; init; }

    public required SuppressionBinding[] Suppressions { get; init; }

    public required (Predicate Where, Severity Severity)[] Escalations { get; init; }

    public ValueReader[] AggregateBy { get; init; } = [];

    public ValueReader[] Collect { get; init; } = [];

    public Observer Observer { get; set; } = null!;

    /// <summary>The rule's severity, raised by every escalation whose condition holds.</summary>
    public Severity SeverityOf(ProtocolEvent e, FieldValue[]? session)
    {
        var severity = Rule.Definition.Severity;
        foreach (var (where, s) in Escalations)
        {
            if (s > severity && where.Eval(e, session))
            {
                severity = s;
            }
        }

        return severity;
    }

    /// <summary>The first suppression matching the event, or -1.</summary>
    public int Suppressed(ProtocolEvent e, FieldValue[]? session)
    {
        foreach (var s in Suppressions)
        {
            if (s.Matches(e, session))
            {
                return s.Index;
            }
        }

        return -1;
    }

    /// <summary>Hands a detection on: to the rule's aggregation when it has one, else straight to a finding.</summary>
    public void Raise(Trigger t, ProtocolEvent e, FieldValue[]? session)
    {
        if (Rule.Aggregator is { } aggregator)
        {
            aggregator.Add(t, GroupKey.Read(AggregateBy, e, session), Collect, e, session);
        }
        else
        {
            Rule.Sink.Emit(t);
        }
    }
}
