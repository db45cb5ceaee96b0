using System.Buffers.Binary;

namespace SecMon.Capture.Protocols.Coap;

/// <summary>CoAP message types (RFC 7252 §3, the T field).</summary>
internal enum CoapType : byte
{
    /// <summary>CON: needs an acknowledgement.</summary>
    Confirmable = 0,
    /// <summary>NON: needs none.</summary>
    NonConfirmable = 1,
    /// <summary>ACK: acknowledges a CON (and may carry its response, "piggybacked").</summary>
    Acknowledgement = 2,
    /// <summary>RST: the receiver could not process a message.</summary>
    Reset = 3,
}

/// <summary>Option numbers SecMon reads (RFC 7252 §5.10, RFC 7641 §2, RFC 7959 §2.1).</summary>
internal static class CoapOptionNumbers
{
    public const int UriHost = 3;
    public const int Observe = 6;
    public const int UriPort = 7;
    public const int UriPath = 11;
    public const int ContentFormat = 12;
    public const int UriQuery = 15;
    public const int Accept = 17;
    public const int Block2 = 23;
    public const int Block1 = 27;
    public const int ProxyUri = 35;
}

/// <summary>
/// One CoAP message as read from a datagram (RFC 7252 §3): header, token and the options SecMon decodes, with the
/// raw option bytes kept (as a slice of the datagram) so text options are turned into strings only for an event.
/// Valid only while the datagram's span is.
/// </summary>
internal ref struct CoapMessage
{
    /// <summary>Version (always 1 once parsed).</summary>
    public int Version;
    /// <summary>Message type.</summary>
    public CoapType Type;
    /// <summary>Code: class in bits 7-5, detail in bits 4-0.</summary>
    public byte Code;
    /// <summary>Message ID.</summary>
    public ushort MessageId;
    /// <summary>Token (0-8 bytes).</summary>
    public ReadOnlySpan<byte> Token;
    /// <summary>The options, still encoded (read them with <see cref="CoapOptionReader"/>).</summary>
    public ReadOnlySpan<byte> Options;
    /// <summary>Payload bytes after the marker.</summary>
    public int PayloadLength;
    /// <summary>Content-Format (12), or -1.</summary>
    public int ContentFormat;
    /// <summary>Accept (17), or -1.</summary>
    public int Accept;
    /// <summary>Uri-Port (7), or -1.</summary>
    public int UriPort;
    /// <summary>Observe (6), or -1 (RFC 7641: 0 registers, 1 deregisters in a request; a sequence number in a notification).</summary>
    public long Observe;
    /// <summary>Block1 (27) raw value, or -1 (RFC 7959 §2.2: NUM, M, SZX).</summary>
    public long Block1;
    /// <summary>Block2 (23) raw value, or -1.</summary>
    public long Block2;
    /// <summary>Options present.</summary>
    public int OptionCount;
    /// <summary>A Uri-Host, Uri-Path, Uri-Query or Proxy-Uri option is present (strings to build for an event).</summary>
    public bool HasUriText;
    /// <summary>An option number reserved by RFC 7252 §12.2 (0, 128, 132, 136, 140) is present.</summary>
    public bool HasReservedOption;

    /// <summary>Code class (0 request or empty, 2 success, 4 client error, 5 server error).</summary>
    public readonly int CodeClass => Code >> 5;

    /// <summary>Code detail.</summary>
    public readonly int CodeDetail => Code & 0x1F;

    /// <summary>True for 0.00, the empty message (an empty ACK, a CoAP ping or its RST).</summary>
    public readonly bool IsEmpty => Code == 0;

    /// <summary>True for a request (class 0, detail 1-31).</summary>
    public readonly bool IsRequest => Code is > 0 and < 32;

    /// <summary>True for a response (class 2-5).</summary>
    public readonly bool IsResponse => CodeClass is 2 or 4 or 5;
}

/// <summary>Walks the encoded options of a parsed message (they were validated by <see cref="CoapParser.TryParse"/>).</summary>
internal ref struct CoapOptionReader(ReadOnlySpan<byte> options)
{
    private ReadOnlySpan<byte> _rest = options;
    private int _number;

    /// <summary>The current option's number.</summary>
    public readonly int Number => _number;

    /// <summary>The current option's value.</summary>
    public ReadOnlySpan<byte> Value { get; private set; }

    /// <summary>Moves to the next option; false at the end.</summary>
    public bool MoveNext()
    {
        if (_rest.IsEmpty || !CoapParser.TryReadOption(_rest, out var delta, out var value, out var consumed, out _))
        {
            return false;
        }

        _number += delta;
        Value = value;
        _rest = _rest[consumed..];
        return true;
    }
}

/// <summary>
/// CoAP's wire format over UDP (RFC 7252 §3): a 4-byte header (version, type, token length, code, message id), the
/// token, options as delta-encoded numbers with 4-bit delta and length nibbles (13: one more byte, 14: two more, 15:
/// reserved), then an optional payload after a 0xFF marker. Pure span reads, no allocation.
/// </summary>
internal static partial class CoapParser
{
    /// <summary>Header bytes before the token.</summary>
    public const int HeaderLength = 4;

    /// <summary>Longest token (RFC 7252 §3: lengths 9-15 are reserved).</summary>
    public const int MaxTokenLength = 8;

    private const byte PayloadMarker = 0xFF;

    /// <summary>
    /// Reads one message; allocation-free on every path (the error strings are constants: the probe runs this on
    /// datagrams of every unclaimed UDP flow). On failure <paramref name="error"/> says why and <paramref name="offset"/> where (the byte
    /// of the datagram at which the bad field starts). Every rule is a message format error of RFC 7252: version
    /// other than 1 (§3), token length 9-15 (§3), an empty message with bytes after the header (§4.1), a reserved
    /// code class (1, 3, 6, 7: §12.1), option nibble 15 (§3.1), an option running past the datagram, an option
    /// number past 65535, a payload marker with no payload (§3).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out CoapMessage message, out ParseError error, out int offset)
    {
        message = default;
        error = default;
        offset = 0;
        if (datagram.Length < HeaderLength)
        {
            error = new ParseError(MalformedReason.Truncated, "header", "shorter than the 4-byte header");
            return false;
        }

        var first = datagram[0];
        message.Version = first >> 6;
        message.Type = (CoapType)((first >> 4) & 3);
        var tokenLength = first & 0x0F;
        message.Code = datagram[1];
        message.MessageId = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        message.ContentFormat = message.Accept = message.UriPort = -1;
        message.Observe = message.Block1 = message.Block2 = -1;
        if (message.Version != 1)
        {
            error = new ParseError(MalformedReason.BadValue, "version", "only version 1 is defined");
            return false;
        }

        if (tokenLength > MaxTokenLength)
        {
            error = new ParseError(MalformedReason.BadLength, "token length", "lengths 9-15 are reserved");
            return false;
        }

        var codeClass = message.CodeClass;
        if (codeClass is 1 or 3 or 6 or 7)
        {
            offset = 1;
            error = new ParseError(MalformedReason.UnknownType, "code", "classes 1, 3, 6 and 7 are reserved");
            return false;
        }

        if (message.Code == 0 && (tokenLength != 0 || datagram.Length != HeaderLength))
        {
            error = new ParseError(MalformedReason.BadLength, "empty message", "an empty message (0.00) has no token, options or payload");
            return false;
        }

        offset = HeaderLength;
        if (datagram.Length < HeaderLength + tokenLength)
        {
            error = new ParseError(MalformedReason.Truncated, "token");
            return false;
        }

        message.Token = datagram.Slice(HeaderLength, tokenLength);
        return TryParseOptions(datagram, HeaderLength + tokenLength, ref message, out error, ref offset);
    }

    // Options from optionsStart to the payload marker or the end, then the payload (RFC 7252 §3, RFC 8323 §3.2 alike).
    // offset: where a bad field starts, in message's bytes.
    private static bool TryParseOptions(ReadOnlySpan<byte> message, int optionsStart, ref CoapMessage m, out ParseError error, ref int offset)
    {
        error = default;
        var position = optionsStart;
        var number = 0;
        while (position < message.Length && message[position] != PayloadMarker)
        {
            offset = position;
            if (!TryReadOption(message[position..], out var delta, out var value, out var consumed, out error))
            {
                return false;
            }

            number += delta;
            if (number > ushort.MaxValue)
            {
                error = new ParseError(MalformedReason.BadValue, "option number", "past 65535");
                return false;
            }

            m.OptionCount++;
            m.HasReservedOption |= IsReservedOption(number);
            Decode(ref m, number, value);
            position += consumed;
        }

        m.Options = message[optionsStart..position];
        if (position < message.Length)
        {
            // The payload marker (§3: a marker followed by a zero-length payload is a format error).
            offset = position;
            m.PayloadLength = message.Length - position - 1;
            if (m.PayloadLength == 0)
            {
                error = new ParseError(MalformedReason.BadLength, "payload", "a payload marker with no payload");
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads one option's header and value from the start of <paramref name="data"/> (RFC 7252 §3.1).</summary>
    public static bool TryReadOption(ReadOnlySpan<byte> data, out int delta, out ReadOnlySpan<byte> value, out int consumed, out ParseError error)
    {
        value = default;
        consumed = 0;
        error = default;
        var b = data[0];
        var position = 1;
        if (!TryReadNibble(data, b >> 4, ref position, out delta, "option delta", out error) ||
            !TryReadNibble(data, b & 0x0F, ref position, out var length, "option length", out error))
        {
            return false;
        }

        if (length > data.Length - position)
        {
            error = new ParseError(MalformedReason.Truncated, "option value");
            return false;
        }

        value = data.Slice(position, length);
        consumed = position + length;
        return true;
    }

    // A 4-bit delta or length and its extension: 13 adds one byte (+13), 14 two bytes (+269), 15 is reserved.
    private static bool TryReadNibble(ReadOnlySpan<byte> data, int nibble, ref int position, out int value, string field, out ParseError error)
    {
        error = default;
        value = nibble;
        switch (nibble)
        {
            case < 13:
                return true;
            case 13 when position < data.Length:
                value = data[position++] + 13;
                return true;
            case 14 when position + 1 < data.Length:
                value = BinaryPrimitives.ReadUInt16BigEndian(data[position..]) + 269;
                position += 2;
                return true;
            case 15:
                error = new ParseError(MalformedReason.BadValue, field, "nibble 15 is reserved outside the payload marker");
                return false;
            default:
                error = new ParseError(MalformedReason.Truncated, field);
                return false;
        }
    }

    private static void Decode(ref CoapMessage m, int number, ReadOnlySpan<byte> value)
    {
        switch (number)
        {
            case CoapOptionNumbers.UriHost or CoapOptionNumbers.UriPath or CoapOptionNumbers.UriQuery or CoapOptionNumbers.ProxyUri:
                m.HasUriText = true;
                break;
            // uint options (§3.2); a value longer than the option's range is treated as unrecognised (§5.4.3), not read.
            case CoapOptionNumbers.ContentFormat when value.Length <= 2:
                m.ContentFormat = (int)ReadUInt(value);
                break;
            case CoapOptionNumbers.Accept when value.Length <= 2:
                m.Accept = (int)ReadUInt(value);
                break;
            case CoapOptionNumbers.UriPort when value.Length <= 2:
                m.UriPort = (int)ReadUInt(value);
                break;
            case CoapOptionNumbers.Observe when value.Length <= 3:
                m.Observe = ReadUInt(value);
                break;
            case CoapOptionNumbers.Block1 when value.Length <= 3:
                m.Block1 = ReadUInt(value);
                break;
            case CoapOptionNumbers.Block2 when value.Length <= 3:
                m.Block2 = ReadUInt(value);
                break;
            default:
                break;
        }
    }

    /// <summary>A uint option value: big-endian, leading zeros allowed, 0 bytes for 0 (§3.2).</summary>
    public static long ReadUInt(ReadOnlySpan<byte> value)
    {
        long v = 0;
        foreach (var b in value)
        {
            v = (v << 8) | b;
        }

        return v;
    }

    /// <summary>Block1/Block2 fields (RFC 7959 §2.2): block number, more flag, size 2^(SZX+4) (SZX 7 is reserved: 0).</summary>
    public static (long Number, bool More, int Size) Block(long raw) =>
        (raw >> 4, (raw & 0x08) != 0, (raw & 7) == 7 ? 0 : 1 << (int)((raw & 7) + 4));

    /// <summary>Option numbers 0, 128, 132, 136 and 140 are reserved (§12.2): no real peer sends them.</summary>
    public static bool IsReservedOption(int number) => number is 0 or 128 or 132 or 136 or 140;
}
