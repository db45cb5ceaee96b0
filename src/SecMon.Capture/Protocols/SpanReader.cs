using System.Buffers.Binary;

namespace SecMon.Capture.Protocols;

/// <summary>
/// The one cursor every wire parser reads with (MQTT, TLS): big-endian integers, byte runs, length-prefixed
/// vectors and MQTT's variable byte integer, each with a length check before the read. A failed read returns false
/// and leaves the reason in <see cref="Error"/> (see <see cref="MalformedReason"/>); nothing throws.
/// </summary>
/// <remarks>
/// A message may be only partly here: <c>declaredLength</c> is how long it says it is, the span what has arrived
/// (a PUBLISH whose payload is still on the wire). A read past the declared length is malformed
/// (<see cref="MalformedReason.Truncated"/>); a read past the bytes that arrived but within the declared length
/// fails with no reason and <see cref="Needed"/> set to the bytes it needs, so the caller can wait for exactly those.
/// Lengths read from the wire only ever select bytes that are here: nothing is allocated from them.
/// </remarks>
internal ref struct SpanReader
{
    /// <summary>Longest variable byte integer (MQTT 3.1.1 §2.2.3, 5.0 §1.5.5).</summary>
    public const int MaxVarIntLength = 4;

    private readonly ReadOnlySpan<byte> _data;
    private readonly int _limit;
    private int _position;
    private int _needed;
    private ParseError _error;

    /// <summary>Reads a complete message.</summary>
    public SpanReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _limit = data.Length;
    }

    /// <summary>Reads the arrived prefix <paramref name="available"/> of a message of <paramref name="declaredLength"/> bytes.</summary>
    public SpanReader(ReadOnlySpan<byte> available, int declaredLength)
    {
        _data = available.Length > declaredLength ? available[..declaredLength] : available;
        _limit = declaredLength;
    }

    /// <summary>Bytes read so far.</summary>
    public readonly int Position => _position;

    /// <summary>Declared bytes left.</summary>
    public readonly int Remaining => _limit - _position;

    /// <summary>True when every declared byte has been read.</summary>
    public readonly bool AtEnd => _position == _limit;

    /// <summary>Why the last failed read was malformed (no reason when it was only incomplete).</summary>
    public readonly ParseError Error => _error;

    /// <summary>After a read failed for want of bytes that have not arrived: the message bytes needed (else 0).</summary>
    public readonly int Needed => _needed;

    /// <summary>Records a malformed verdict and returns false.</summary>
    public bool Fail(MalformedReason reason, string? field = null, string? detail = null)
    {
        _error = new ParseError(reason, field, detail);
        return false;
    }

    /// <summary>Records a malformed verdict found by a nested reader and returns false.</summary>
    public bool Fail(in ParseError error)
    {
        _error = error;
        return false;
    }

    /// <summary>True when <paramref name="count"/> more bytes are declared and here; otherwise false, malformed
    /// (past the declared length) or incomplete (<see cref="Needed"/>).</summary>
    public bool Ensure(int count, string? field = null)
    {
        if ((uint)count > (uint)(_limit - _position))
        {
            return Fail(MalformedReason.Truncated, field);
        }

        if (count > _data.Length - _position)
        {
            _needed = _position + count;
            return false;
        }

        return true;
    }

    /// <summary>Reads one byte.</summary>
    public bool TryReadByte(out byte value, string? field = null)
    {
        if ((uint)_position < (uint)_data.Length)
        {
            value = _data[_position++];
            return true;
        }

        value = 0;
        return Ensure(1, field);
    }

    /// <summary>Reads a big-endian 16-bit integer (MQTT Two Byte Integer, TLS uint16).</summary>
    public bool TryReadUInt16BE(out ushort value, string? field = null)
    {
        if (_data.Length - _position >= 2)
        {
            value = BinaryPrimitives.ReadUInt16BigEndian(_data[_position..]);
            _position += 2;
            return true;
        }

        value = 0;
        return Ensure(2, field);
    }

    /// <summary>Reads a big-endian 24-bit integer (TLS uint24).</summary>
    public bool TryReadUInt24BE(out int value, string? field = null)
    {
        if (_data.Length - _position >= 3)
        {
            value = (_data[_position] << 16) | (_data[_position + 1] << 8) | _data[_position + 2];
            _position += 3;
            return true;
        }

        value = 0;
        return Ensure(3, field);
    }

    /// <summary>Reads a big-endian 32-bit integer (MQTT Four Byte Integer, TLS uint32).</summary>
    public bool TryReadUInt32BE(out uint value, string? field = null)
    {
        if (_data.Length - _position >= 4)
        {
            value = BinaryPrimitives.ReadUInt32BigEndian(_data[_position..]);
            _position += 4;
            return true;
        }

        value = 0;
        return Ensure(4, field);
    }

    /// <summary>Takes the next <paramref name="count"/> bytes (a slice of the input, not a copy).</summary>
    public bool TryReadBytes(int count, out ReadOnlySpan<byte> value, string? field = null)
    {
        if (!Ensure(count, field))
        {
            value = default;
            return false;
        }

        value = _data.Slice(_position, count);
        _position += count;
        return true;
    }

    /// <summary>Skips <paramref name="count"/> bytes.</summary>
    public bool TrySkip(int count, string? field = null)
    {
        if (!Ensure(count, field))
        {
            return false;
        }

        _position += count;
        return true;
    }

    /// <summary>Reads a vector with a one-byte length (TLS <c>&lt;0..2^8-1&gt;</c>).</summary>
    public bool TryReadVector8(out ReadOnlySpan<byte> value, string? field = null)
    {
        value = default;
        return TryReadByte(out var length, field) && TryReadBytes(length, out value, field);
    }

    /// <summary>Reads a vector with a big-endian two-byte length (TLS <c>&lt;0..2^16-1&gt;</c>, MQTT Binary Data 5.0 §1.5.6).</summary>
    public bool TryReadVector16(out ReadOnlySpan<byte> value, string? field = null)
    {
        value = default;
        return TryReadUInt16BE(out var length, field) && TryReadBytes(length, out value, field);
    }

    /// <summary>Reads a vector with a big-endian three-byte length (TLS <c>&lt;0..2^24-1&gt;</c>).</summary>
    public bool TryReadVector24(out ReadOnlySpan<byte> value, string? field = null)
    {
        value = default;
        return TryReadUInt24BE(out var length, field) && TryReadBytes(length, out value, field);
    }

    /// <summary>Reads an MQTT Variable Byte Integer (see <see cref="TryReadVarInt(ReadOnlySpan{byte}, out int, out int, out MalformedReason)"/>).</summary>
    public bool TryReadVarInt(out int value, string? field = null)
    {
        var available = _data[_position..];
        if (TryReadVarInt(available, out value, out var length, out var reason))
        {
            _position += length;
            return true;
        }

        if (reason != MalformedReason.None)
        {
            return Fail(reason, field);
        }

        // The integer's bytes ran out: malformed when the declared length ends there too.
        if (available.Length >= _limit - _position)
        {
            return Fail(MalformedReason.Truncated, field);
        }

        _needed = _data.Length + 1;
        return false;
    }

    /// <summary>
    /// Reads an MQTT Variable Byte Integer: 7 bits per byte, least significant first, bit 7 = continuation, at most
    /// 4 bytes (3.1.1 §2.2.3, 5.0 §1.5.5). A non-minimal encoding (a trailing 0x00 continuation byte) is
    /// <see cref="MalformedReason.Overlong"/>: 5.0 requires the minimal form [MQTT-1.5.5-1] and 3.1.1's encoding
    /// algorithm only produces it, so accepting another would let two parsers disagree on where a packet ends.
    /// False with <see cref="MalformedReason.None"/> while the bytes end inside the integer. Allocation-free.
    /// </summary>
    public static bool TryReadVarInt(ReadOnlySpan<byte> data, out int value, out int length, out MalformedReason reason)
    {
        value = 0;
        length = 0;
        reason = MalformedReason.None;
        var result = 0;
        var shift = 0;
        for (var i = 0; i < MaxVarIntLength; i++)
        {
            if (i >= data.Length)
            {
                return false;
            }

            var b = data[i];
            result |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (i > 0 && b == 0)
                {
                    reason = MalformedReason.Overlong;
                    return false;
                }

                value = result;
                length = i + 1;
                return true;
            }

            shift += 7;
        }

        reason = MalformedReason.LengthOverflow;
        return false;
    }
}
