namespace SecMon.Core.Events;

/// <summary>A named, typed field of an event type, with its accessor.</summary>
public abstract class EventField
{
    /// <summary>Creates a field descriptor.</summary>
    protected EventField(string name, FieldKind kind, string description)
    {
        Name = name;
        Kind = kind;
        Description = description;
    }

    /// <summary>The dotted name rules and JSON use (<c>mqtt.client_id</c>); ECS names where ECS has one.</summary>
    public string Name { get; }

    /// <summary>The value type.</summary>
    public FieldKind Kind { get; }

    /// <summary>One line for documentation and <c>--help</c> listings.</summary>
    public string Description { get; }

    /// <summary>Reads the field; <see cref="FieldValue.Missing"/> when the event does not carry it.</summary>
    public abstract FieldValue Read(ProtocolEvent e);
}

/// <summary>A field of events of type <typeparamref name="TEvent"/>.</summary>
public sealed class EventField<TEvent> : EventField where TEvent : ProtocolEvent
{
    private readonly Func<TEvent, FieldValue> _get;

    /// <summary>Creates a field descriptor with its accessor.</summary>
    public EventField(string name, FieldKind kind, Func<TEvent, FieldValue> get, string description = "")
        : base(name, kind, description)
    {
        ArgumentNullException.ThrowIfNull(get);
        _get = get;
    }

    /// <inheritdoc />
    public override FieldValue Read(ProtocolEvent e) => e is TEvent t ? _get(t) : FieldValue.Missing;
}

/// <summary>
/// The fields an event type carries: the common flow fields (<see cref="CommonFields"/>) followed by
/// the type's own. The single source for the JSON output, rule validation and rule evaluation.
/// </summary>
public sealed class EventSchema
{
    private readonly Dictionary<string, EventField> _byName;

    /// <summary>Creates a schema for the event type <paramref name="type"/> with its own fields.</summary>
    public EventSchema(string type, IEnumerable<EventField> ownFields)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(ownFields);
        Type = type;
        var dot = type.IndexOf('.', StringComparison.Ordinal);
        Protocol = dot > 0 ? type[..dot] : type;
        Fields = [.. CommonFields.All, .. ownFields];
        _byName = new Dictionary<string, EventField>(StringComparer.Ordinal);
        foreach (var f in Fields)
        {
            if (!_byName.TryAdd(f.Name, f))
            {
                throw new ArgumentException($"Event type {type} declares the field {f.Name} twice.", nameof(ownFields));
            }
        }
    }

    /// <summary>The event type name (<c>mqtt.connect</c>).</summary>
    public string Type { get; }

    /// <summary>The protocol part of the type name (<c>mqtt</c> for <c>mqtt.connect</c>).</summary>
    public string Protocol { get; }

    /// <summary>Every field, common ones first, in output order.</summary>
    public IReadOnlyList<EventField> Fields { get; }

    /// <summary>Looks a field up by its dotted name.</summary>
    public bool TryGetField(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EventField? field)
        => _byName.TryGetValue(name, out field);
}
