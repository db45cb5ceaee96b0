namespace SecMon.Core.Events;

/// <summary>The type of a field that rules and outputs read from an event or finding.</summary>
public enum FieldKind
{
    /// <summary>Text (client ids, topics, user names).</summary>
    Text,
    /// <summary>A 64-bit integer (ports, lengths, codes).</summary>
    Number,
    /// <summary>True or false.</summary>
    Boolean,
    /// <summary>An IPv4 or IPv6 address in its usual text form; rules may match it against CIDRs.</summary>
    Ip,
    /// <summary>A list of strings (subscription topic filters); a condition matches when any element does.</summary>
    StringList,
    /// <summary>A list of integers (per-filter QoS, SUBACK reason codes).</summary>
    NumberList,
}

/// <summary>
/// One field value read from an event, without boxing: the kind plus the number or the reference.
/// <see cref="IsMissing"/> is true when the event does not carry the field (an absent optional field).
/// </summary>
public readonly struct FieldValue
{
    private readonly object? _ref;
    private readonly long _number;

    private FieldValue(FieldKind kind, long number, object? reference)
    {
        Kind = kind;
        _number = number;
        _ref = reference;
        IsMissing = false;
    }

    /// <summary>The kind of the value; meaningless when <see cref="IsMissing"/>.</summary>
    public FieldKind Kind { get; }

    /// <summary>True when the event does not carry the field.</summary>
    public bool IsMissing { get; private init; }

    /// <summary>The absent value.</summary>
    public static FieldValue Missing { get; } = new() { IsMissing = true };

    /// <summary>The number (for <see cref="FieldKind.Number"/>) or 0/1 (for <see cref="FieldKind.Boolean"/>).</summary>
    public long Number => _number;

    /// <summary>The boolean value.</summary>
    public bool Boolean => _number != 0;

    /// <summary>The string (for <see cref="FieldKind.Text"/> and <see cref="FieldKind.Ip"/>).</summary>
    public string? Text => _ref as string;

    /// <summary>The list of strings, for <see cref="FieldKind.StringList"/>.</summary>
    public IReadOnlyList<string>? Strings => _ref as IReadOnlyList<string>;

    /// <summary>The list of numbers, for <see cref="FieldKind.NumberList"/>.</summary>
    public IReadOnlyList<long>? Numbers => _ref as IReadOnlyList<long>;

    /// <summary>A string value, or missing when null.</summary>
    public static FieldValue Of(string? value) => value is null ? Missing : new(FieldKind.Text, 0, value);

    /// <summary>An IP address value, or missing when null.</summary>
    public static FieldValue OfIp(string? value) => value is null ? Missing : new(FieldKind.Ip, 0, value);

    /// <summary>A number.</summary>
    public static FieldValue Of(long value) => new(FieldKind.Number, value, null);

    /// <summary>A number, or missing when null.</summary>
    public static FieldValue Of(long? value) => value is { } v ? new(FieldKind.Number, v, null) : Missing;

    /// <summary>A boolean.</summary>
    public static FieldValue Of(bool value) => new(FieldKind.Boolean, value ? 1 : 0, null);

    /// <summary>A boolean, or missing when null.</summary>
    public static FieldValue Of(bool? value) => value is { } v ? Of(v) : Missing;

    /// <summary>A list of strings, or missing when null.</summary>
    public static FieldValue Of(IReadOnlyList<string>? value) => value is null ? Missing : new(FieldKind.StringList, 0, value);

    /// <summary>A list of numbers, or missing when null.</summary>
    public static FieldValue Of(IReadOnlyList<long>? value) => value is null ? Missing : new(FieldKind.NumberList, 0, value);

    /// <inheritdoc />
    public override string ToString() => IsMissing ? "(missing)" : Kind switch
    {
        FieldKind.Number => _number.ToString(System.Globalization.CultureInfo.InvariantCulture),
        FieldKind.Boolean => Boolean ? "true" : "false",
        FieldKind.StringList => "[" + string.Join(", ", Strings!) + "]",
        FieldKind.NumberList => "[" + string.Join(", ", Numbers!) + "]",
        _ => Text ?? "",
    };
}
