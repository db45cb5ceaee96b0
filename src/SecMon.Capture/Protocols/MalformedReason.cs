namespace SecMon.Capture.Protocols;

/// <summary>
/// Why a wire parser rejected its input: one small vocabulary for every protocol, so malformed input can be
/// counted per protocol and per reason (<see cref="CaptureStats.MalformedByReason"/>) instead of by free text.
/// </summary>
internal enum MalformedReason : byte
{
    /// <summary>Not malformed (or not yet decided: the input is incomplete).</summary>
    None = 0,
    /// <summary>A field or a length runs past the end of its message.</summary>
    Truncated,
    /// <summary>A length field cannot be encoded that way (an MQTT variable byte integer longer than 4 bytes).</summary>
    LengthOverflow,
    /// <summary>A value is not minimally encoded (MQTT 5.0 [MQTT-1.5.5-1]).</summary>
    Overlong,
    /// <summary>A string is not well-formed UTF-8, or holds a code point the protocol forbids (U+0000).</summary>
    BadUtf8,
    /// <summary>Reserved bits are set, or flags are combined in a way the specification forbids.</summary>
    BadFlags,
    /// <summary>A reserved or unknown message type.</summary>
    UnknownType,
    /// <summary>An unknown property or extension whose length cannot be known.</summary>
    UnknownProperty,
    /// <summary>A field holds a value the specification forbids (QoS 3, an unknown protocol name, topic alias 0).</summary>
    BadValue,
    /// <summary>The message's length does not fit its type (an MQTT 3.1.1 PUBACK that is not 2 bytes long).</summary>
    BadLength,
    /// <summary>A required element is missing (a SUBSCRIBE without a topic filter).</summary>
    Missing,
    /// <summary>Bytes are left after the last field.</summary>
    TrailingBytes,
    /// <summary>The message exceeds a configured limit (its bytes are skipped, never buffered).</summary>
    TooLarge,
}

/// <summary>
/// A parser's verdict on malformed input: the <see cref="Reason"/> (counted), and for the human message the field
/// that failed and what was wrong with it. Both strings are constants on every path but a few malformed ones, so
/// a rejected candidate (resynchronisation tries many) costs no allocation.
/// </summary>
/// <param name="Reason">Why, from the shared vocabulary.</param>
/// <param name="Field">The field that failed ("topic name"), when there is one.</param>
/// <param name="Detail">What was wrong; null for the reason's usual wording.</param>
internal readonly record struct ParseError(MalformedReason Reason, string? Field = null, string? Detail = null)
{
    /// <summary>True when there is an error.</summary>
    public bool IsError => Reason != MalformedReason.None;

    /// <summary>The message: "field: detail", or the detail alone.</summary>
    public override string ToString()
    {
        var detail = Detail ?? Describe(Reason);
        return Field is null ? detail : $"{Field}: {detail}";
    }

    /// <summary>The usual wording of a reason.</summary>
    public static string Describe(MalformedReason reason) => reason switch
    {
        MalformedReason.None => "not malformed",
        MalformedReason.Truncated => "runs past the end of the packet",
        MalformedReason.LengthOverflow => "variable byte integer longer than 4 bytes",
        MalformedReason.Overlong => "variable byte integer not minimally encoded",
        MalformedReason.BadUtf8 => "invalid UTF-8",
        MalformedReason.BadFlags => "reserved flags are set",
        MalformedReason.UnknownType => "unknown message type",
        MalformedReason.UnknownProperty => "unknown property",
        MalformedReason.BadValue => "value not allowed",
        MalformedReason.BadLength => "length does not fit the message type",
        MalformedReason.Missing => "missing",
        MalformedReason.TrailingBytes => "trailing bytes",
        MalformedReason.TooLarge => "exceeds the configured limit",
        _ => reason.ToString(),
    };

    /// <summary>snake_case name of a reason, as reported in summaries (<c>truncated</c>, <c>bad_utf8</c>).</summary>
    public static string Name(MalformedReason reason) => reason switch
    {
        MalformedReason.None => "none",
        MalformedReason.Truncated => "truncated",
        MalformedReason.LengthOverflow => "length_overflow",
        MalformedReason.Overlong => "overlong",
        MalformedReason.BadUtf8 => "bad_utf8",
        MalformedReason.BadFlags => "bad_flags",
        MalformedReason.UnknownType => "unknown_type",
        MalformedReason.UnknownProperty => "unknown_property",
        MalformedReason.BadValue => "bad_value",
        MalformedReason.BadLength => "bad_length",
        MalformedReason.Missing => "missing",
        MalformedReason.TrailingBytes => "trailing_bytes",
        MalformedReason.TooLarge => "too_large",
        _ => reason.ToString(),
    };
}
