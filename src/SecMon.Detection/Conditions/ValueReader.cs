using SecMon.Core.Events;
using SecMon.Detection.Model;

namespace SecMon.Detection.Conditions;

/// <summary>Reads one field of an event, bound once per event schema (no name lookups per event).</summary>
internal abstract class ValueReader
{
    /// <summary>Reads the value; <paramref name="session"/> holds the flow's joined values (may be null).</summary>
    public abstract FieldValue Read(ProtocolEvent e, FieldValue[]? session);

    /// <summary>True when the reader always returns <see cref="FieldValue.Missing"/> (field absent from the schema).</summary>
    public virtual bool AlwaysMissing => false;
}

/// <summary>Reads a field of the event itself through its schema's accessor.</summary>
internal sealed class EventFieldReader(EventField field) : ValueReader
{
    public override FieldValue Read(ProtocolEvent e, FieldValue[]? session) => field.Read(e);
}

/// <summary>Reads a <c>session.</c> field from the flow's joined values.</summary>
internal sealed class SessionFieldReader(int slot) : ValueReader
{
    public override FieldValue Read(ProtocolEvent e, FieldValue[]? session) =>
        session is not null ? session[slot] : FieldValue.Missing;
}

/// <summary>A field the event type does not have.</summary>
internal sealed class MissingReader : ValueReader
{
    public static MissingReader Instance { get; } = new();

    public override FieldValue Read(ProtocolEvent e, FieldValue[]? session) => FieldValue.Missing;

    public override bool AlwaysMissing => true;
}

/// <summary>Binds field references to one event schema.</summary>
internal sealed class BindContext(EventSchema schema, IReadOnlyDictionary<string, int> sessionSlots)
{
    /// <summary>The schema being bound to.</summary>
    public EventSchema Schema { get; } = schema;

    /// <summary>Slot of each <c>session.</c> base field name in a flow's joined values.</summary>
    public IReadOnlyDictionary<string, int> SessionSlots { get; } = sessionSlots;

    /// <summary>The reader for <paramref name="field"/> on this schema.</summary>
    public ValueReader Reader(FieldRef field)
    {
        if (field.IsSession)
        {
            return SessionSlots.TryGetValue(field.BaseName, out var slot) ? new SessionFieldReader(slot) : MissingReader.Instance;
        }

        return Schema.TryGetField(field.Name, out var f) ? new EventFieldReader(f) : MissingReader.Instance;
    }

    /// <summary>Readers for several fields.</summary>
    public ValueReader[] Readers(IReadOnlyList<FieldRef> fields)
    {
        var r = new ValueReader[fields.Count];
        for (var i = 0; i < r.Length; i++)
        {
            r[i] = Reader(fields[i]);
        }

        return r;
    }
}
