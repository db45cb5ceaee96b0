using SecMon.Core.Events;
using SecMon.Core.Findings;

namespace SecMon.Detection.Engine;

/// <summary>
/// A detection about to become a finding: the anchor (first triggering event: its flow, time and packet give the
/// finding's id), the subject event (the one the message and evidence describe) and what the detector counted.
/// </summary>
internal sealed class Trigger
{
    public required RuleRuntime Rule { get; init; }

    public required string AnchorFlowId { get; init; }

    public required long AnchorMicros { get; init; }

    public required long AnchorPacket { get; init; }

    /// <summary>The event the message and evidence are taken from.</summary>
    public required ProtocolEvent Subject { get; init; }

    /// <summary>The subject's flow values of <c>session.</c> fields (a copy when the trigger is kept for later).</summary>
    public FieldValue[]? Session { get; init; }

    /// <summary>Capture time at which the finding became true (its <c>@timestamp</c>).</summary>
    public long LastMicros { get; set; }

    public long Count { get; set; } = 1;

    public Severity Severity { get; set; }

    public long? Distinct { get; set; }

    public long? WindowMicros { get; set; }

    public string? Value { get; set; }

    public long? Peers { get; set; }

    /// <summary>The alert an <c>aggregate</c> with <c>alert_first</c> writes at its window's first event, before the
    /// window's summary: a finding of its own, with an id of its own.</summary>
    public bool FirstOfWindow { get; init; }

    /// <summary>Detector evidence (<c>secmon.*</c>) added to the protocol evidence.</summary>
    public List<KeyValuePair<string, object>> Extra { get; } = [];

    /// <summary>A copy that may outlive the event: the flow's joined values copied as they are now, the evidence list
    /// its own.</summary>
    public Trigger Copy(long? windowMicros = null, bool firstOfWindow = false) =>
        CopyDescribing(this, windowMicros ?? WindowMicros, firstOfWindow);

    /// <summary>A copy of this trigger (anchor, counts, evidence) describing <paramref name="latest"/>'s subject instead:
    /// its event, a copy of its flow's joined values, its value and peers.</summary>
    public Trigger Describing(Trigger latest) => CopyDescribing(latest, WindowMicros, FirstOfWindow);

    private Trigger CopyDescribing(Trigger described, long? windowMicros, bool firstOfWindow)
    {
        var copy = new Trigger
        {
            Rule = Rule,
            AnchorFlowId = AnchorFlowId,
            AnchorMicros = AnchorMicros,
            AnchorPacket = AnchorPacket,
            Subject = described.Subject,
            Session = described.Session is null ? null : (FieldValue[])described.Session.Clone(),
            LastMicros = LastMicros,
            Count = Count,
            Severity = Severity,
            Distinct = Distinct,
            WindowMicros = windowMicros,
            Value = described.Value,
            Peers = described.Peers,
            FirstOfWindow = firstOfWindow,
        };
        copy.Extra.AddRange(Extra);
        return copy;
    }

    /// <summary>A trigger anchored on its own subject event.</summary>
    public static Trigger ForEvent(RuleRuntime rule, ProtocolEvent e, FieldValue[]? session, Severity severity) => new()
    {
        Rule = rule,
        AnchorFlowId = e.Flow.FlowId,
        AnchorMicros = e.TimestampMicros,
        AnchorPacket = e.PacketNumber,
        Subject = e,
        Session = session,
        LastMicros = e.TimestampMicros,
        Severity = severity,
    };
}
