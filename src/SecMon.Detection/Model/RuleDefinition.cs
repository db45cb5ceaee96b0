using SecMon.Core.Events;
using SecMon.Core.Findings;
using SecMon.Detection.Conditions;

namespace SecMon.Detection.Model;

/// <summary>Which device a finding is about, relative to the event's flow.</summary>
internal enum DeviceSide
{
    /// <summary>The side that opened the flow (the MQTT client); the default.</summary>
    Client,
    /// <summary>The side that accepted the flow (the broker).</summary>
    Server,
    /// <summary>The sender of the event.</summary>
    Source,
    /// <summary>The receiver of the event.</summary>
    Destination,
}

/// <summary>Where a rule or example was written, for error messages.</summary>
internal readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>A rule pack's header: <c>rule.ruleset</c> is its name.</summary>
internal sealed record PackInfo(string Name, string File, string? Version, string? Description);

/// <summary>A MITRE ATT&amp;CK technique a rule maps to, in its framework (ICS for T08xx ids, Enterprise otherwise).</summary>
internal sealed record TechniqueRef(string Id, string? Name, string? Tactic)
{
    /// <summary><see cref="MitreAttack.Ics"/> or <see cref="MitreAttack.Enterprise"/>.</summary>
    public string Framework { get; init; } = MitreAttack.FrameworkOf(Id);

    /// <summary>The tactic's id in <see cref="Framework"/> (TA0109, TA0006), when the tactic is named.</summary>
    public string? TacticId { get; init; }

    /// <summary>The parent technique's name of a sub-technique (T1110.001: Brute Force).</summary>
    public string? Parent { get; init; }
}

/// <summary>A severity override when a condition holds on the event the finding is about.</summary>
internal sealed record Escalation(Cond Where, Severity Severity);

/// <summary>Deferred aggregation: one finding per group and window, emitted when the window closes.</summary>
internal sealed record AggregateSpec(FieldRef[] By, long WindowMicros, FieldRef[] Collect, bool AlertFirst = false, bool DescribeLatest = false);

/// <summary><c>count &gt;= N within W by ...</c>, optionally with a distinct-value count.</summary>
internal sealed record ThresholdSpec(int Count, long WindowMicros, FieldRef[] By, FieldRef? Distinct, int MinDistinct);

/// <summary>One step of a sequence.</summary>
internal sealed record SequenceStep(string Name, string[] Events, Cond Where, int Count, FieldRef? Distinct);

/// <summary>Ordered steps, all within a window from the first, for the same group.</summary>
internal sealed record SequenceSpec(SequenceStep[] Steps, long WindowMicros, FieldRef[] By);

/// <summary>A client acting outside its own namespace while its peers in the same scope keep to theirs.</summary>
internal sealed record NamespaceSpec(FieldRef Identity, FieldRef Resource, FieldRef[] Scope, int MinPeers);

/// <summary>The kind of a baseline.</summary>
internal enum BaselineKind
{
    /// <summary>A value (peer, port, topic pattern) not seen during learning.</summary>
    NewValue,
    /// <summary>An event rate per period outside the band learned.</summary>
    Rate,
}

/// <summary>A learned baseline per entity (a device, or a tuple of fields).</summary>
internal sealed record BaselineSpec(
    BaselineKind Kind,
    DeviceSide? EntitySide,
    FieldRef[] EntityFields,
    FieldRef[] Values,
    bool TopicPattern,
    long PerMicros,
    double Tolerance);

/// <summary>A suppression (allowlist entry) from a pack.</summary>
internal sealed record SuppressionDefinition(
    string Name,
    string? Reason,
    IReadOnlySet<string>? Rules,
    Cond? Where,
    IReadOnlySet<string>? Devices,
    DeviceSide DeviceSide,
    SourceLocation Location);

/// <summary>A synthetic event of an example: its type, field values and timing.</summary>
internal sealed record ExampleEvent(
    string Type,
    IReadOnlyList<KeyValuePair<string, FieldValue>> Values,
    long? AtMicros,
    int Repeat,
    long EveryMicros,
    string Flow,
    SourceLocation Location);

/// <summary>What an example expects beyond "matches" or "does not match".</summary>
internal sealed record ExampleExpectation(int? Findings, Severity? Severity, long? EventCount);

/// <summary>An example carried by a rule: events that must (or must not) produce a finding of the rule.</summary>
internal sealed record ExampleCase(
    string? Name,
    bool ShouldMatch,
    IReadOnlyList<ExampleEvent> Events,
    ExampleExpectation? Expect,
    SourceLocation Location);

/// <summary>A rule as loaded and validated; the engine binds it to event schemas.</summary>
internal sealed record RuleDefinition
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required Severity Severity { get; init; }
    public string Version { get; init; } = "1";
    public IReadOnlyList<string> Category { get; init; } = ["network"];
    public IReadOnlyList<string> EventType { get; init; } = ["info"];
    public string? RuleCategory { get; init; }

    /// <summary><c>risk_score</c> (0-100): <c>event.risk_score</c> at the rule's own severity; null: the severity's number.</summary>
    public int? RiskScore { get; init; }
    public IReadOnlyList<string> References { get; init; } = [];
    public TechniqueRef? Technique { get; init; }
    public required IReadOnlyList<string> Events { get; init; }
    public required Cond Where { get; init; }
    public IReadOnlyList<Escalation> Escalations { get; init; } = [];
    public required MessageTemplate Message { get; init; }
    public DeviceSide Device { get; init; } = DeviceSide.Client;
    public AggregateSpec? Aggregate { get; init; }
    public ThresholdSpec? Threshold { get; init; }
    public SequenceSpec? Sequence { get; init; }
    public NamespaceSpec? Namespace { get; init; }
    public BaselineSpec? Baseline { get; init; }
    public IReadOnlyList<ExampleCase> Examples { get; init; } = [];
    public required PackInfo Pack { get; init; }
    public required SourceLocation Location { get; init; }

    /// <summary>Every <c>session.</c> field the rule reads (conditions, groupings, message).</summary>
    public IReadOnlyList<FieldRef> SessionFields { get; init; } = [];

    /// <summary>The kind of rule, for listings.</summary>
    public string Kind =>
        Threshold is not null ? "threshold" :
        Sequence is not null ? "sequence" :
        Namespace is not null ? "namespace" :
        Baseline is not null ? "baseline" :
        Aggregate is not null ? "aggregate" : "event";
}
