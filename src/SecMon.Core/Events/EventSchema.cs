using SecMon.Core.Devices;

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
/// the type's own, and the device facts they carry (<see cref="Facts"/>). The single source for the JSON output, rule
/// validation, rule evaluation and the device inventory.
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

    // One bit per DeviceFactKind declared.
    private readonly ulong _factKinds;

    private EventSchema(EventSchema schema, IReadOnlyList<DeviceFact> facts)
    {
        Type = schema.Type;
        Protocol = schema.Protocol;
        Fields = schema.Fields;
        _byName = schema._byName;
        Facts = facts;
        foreach (var f in facts)
        {
            _factKinds |= 1UL << (int)f.Kind;
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

    /// <summary>The device facts events of this type carry (identities, user names, values, counts, posture
    /// evidence), in declaration order; empty when none.</summary>
    public IReadOnlyList<DeviceFact> Facts { get; } = [];

    /// <summary>Whether a fact of <paramref name="kind"/> is declared: asked for every event by rules (a MAC in the
    /// payload naming a device, a TLS session), so known without walking <see cref="Facts"/> (whose enumerator was
    /// allocated on each walk).</summary>
    public bool Declares(DeviceFactKind kind) => (_factKinds & (1UL << (int)kind)) != 0;

    /// <summary>This schema with <paramref name="facts"/> declared after the ones it has.</summary>
    /// <exception cref="ArgumentException">A fact names a field the schema lacks, of a kind the fact cannot read, or
    /// keeps a field whose name says it is a password or a secret.</exception>
    public EventSchema WithFacts(params DeviceFact[] facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        foreach (var fact in facts)
        {
            ArgumentNullException.ThrowIfNull(fact);
            Check(fact);
        }

        return new EventSchema(this, [.. Facts, .. facts]);
    }

    private void Check(DeviceFact fact)
    {
        if (fact.Field is { } name)
        {
            var (kinds, what) = fact.Kind is DeviceFactKind.Accepted or DeviceFactKind.TlsEstablished
                ? ((FieldKind[])[FieldKind.Boolean], "a boolean")
                : fact.Kind == DeviceFactKind.Values
                    ? ([FieldKind.Text, FieldKind.Ip, FieldKind.StringList], "text or an IP address")
                    : ([FieldKind.Text, FieldKind.StringList], "text");
            RequireField(fact, name, kinds, what);
            // A device keeps identities, user names and values for good, and shows them: never a secret.
            if (fact.Kind is not (DeviceFactKind.Accepted or DeviceFactKind.TlsEstablished) &&
                (name.Contains("password", StringComparison.OrdinalIgnoreCase) || name.Contains("secret", StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArgumentException($"Event type {Type}: the {fact.Kind} fact would keep {name}; passwords and secrets are never device facts.", nameof(fact));
            }
        }

        if (fact.Certificate is { } cert)
        {
            foreach (var certField in cert.TextFields)
            {
                RequireField(fact, certField, [FieldKind.Text], "text");
            }

            if (cert.Inferred is { } inferred)
            {
                RequireField(fact, inferred, [FieldKind.Boolean], "a boolean");
            }
        }

        foreach (var credential in fact.Credentials)
        {
            // Only the presence of a credential is read, never its value.
            RequireField(fact, credential, [FieldKind.Text, FieldKind.Boolean], "text or a boolean");
        }
    }

    private void RequireField(DeviceFact fact, string name, FieldKind[] kinds, string what)
    {
        if (!_byName.TryGetValue(name, out var field))
        {
            throw new ArgumentException($"Event type {Type} declares a {fact.Kind} fact on {name}, which it does not have.", nameof(fact));
        }

        if (Array.IndexOf(kinds, field.Kind) < 0)
        {
            throw new ArgumentException($"Event type {Type}: the {fact.Kind} fact reads {name} as {what}, but it is {field.Kind}.", nameof(fact));
        }
    }
}
