using SecMon.Core.Events;

namespace SecMon.Detection.Model;

/// <summary>
/// A field a rule reads, resolved against the schema catalogue at load time: its dotted name and kind.
/// <c>session.</c> names read the last value the field had on an event of the same flow
/// (<c>session.mqtt.username</c> on an <c>mqtt.subscribe</c> is the user name of the CONNECT on that flow).
/// </summary>
internal sealed record FieldRef(string Name, FieldKind Kind)
{
    /// <summary>The prefix of flow-scoped (joined) fields.</summary>
    public const string SessionPrefix = "session.";

    /// <summary>The dotted name as the rule wrote it (get-only: the names below are derived from it once).</summary>
    public string Name { get; } = Name;

    /// <summary>True for a <c>session.</c> field.</summary>
    public bool IsSession { get; } = Name.StartsWith(SessionPrefix, StringComparison.Ordinal);

    /// <summary>The event field name without the <c>session.</c> prefix (made once: findings read it for every
    /// placeholder and evidence field).</summary>
    public string BaseName { get; } = Name.StartsWith(SessionPrefix, StringComparison.Ordinal) ? Name[SessionPrefix.Length..] : Name;

    /// <summary>True when values of this field are lists (a condition matches when any element does).</summary>
    public bool IsList => Kind is FieldKind.StringList or FieldKind.NumberList;
}
