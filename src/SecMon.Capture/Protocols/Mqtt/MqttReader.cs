using System.Buffers.Binary;
using System.Text.Unicode;

namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// A bounds-checked cursor over the body of one MQTT packet. <c>declaredLength</c> is the packet's remaining
/// length; the span may hold fewer bytes (a PUBLISH whose payload has not arrived). A read past the declared
/// length is <see cref="MqttStatus.Malformed"/>; a read past the available bytes but within the declared length
/// is <see cref="MqttStatus.NeedMoreData"/>, with <see cref="Needed"/> set to the bytes it needs.
/// Error strings are built only on the malformed path.
/// </summary>
internal ref struct MqttReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _limit;

    /// <summary>Reads a complete body.</summary>
    public MqttReader(ReadOnlySpan<byte> body)
        : this(body, body.Length)
    {
    }

    /// <summary>Reads the available prefix of a body of <paramref name="declaredLength"/> bytes.</summary>
    public MqttReader(ReadOnlySpan<byte> available, int declaredLength)
    {
        _data = available.Length > declaredLength ? available[..declaredLength] : available;
        _limit = declaredLength;
    }

    /// <summary>Bytes read so far.</summary>
    public int Position { get; private set; }

    /// <summary>Why the last read was malformed.</summary>
    public string? Error { get; private set; }

    /// <summary>After <see cref="MqttStatus.NeedMoreData"/>: the body bytes needed before the read can succeed.</summary>
    public int Needed { get; private set; }

    /// <summary>Declared bytes left.</summary>
    public readonly int Remaining => _limit - Position;

    /// <summary>True when every declared byte has been read.</summary>
    public readonly bool AtEnd => Position == _limit;

    /// <summary>Marks the packet malformed with <paramref name="error"/>.</summary>
    public MqttStatus Fail(string error)
    {
        Error = error;
        return MqttStatus.Malformed;
    }

    /// <summary>Checks that <paramref name="count"/> more bytes exist (declared and available).</summary>
    public MqttStatus Ensure(int count, string what)
    {
        if (count > _limit - Position)
        {
            return Fail($"{what}: runs past the end of the packet");
        }

        if (count > _data.Length - Position)
        {
            Needed = Position + count;
            return MqttStatus.NeedMoreData;
        }

        return MqttStatus.Ok;
    }

    /// <summary>Reads one byte.</summary>
    public MqttStatus ReadByte(string what, out byte value)
    {
        value = 0;
        var s = Ensure(1, what);
        if (s != MqttStatus.Ok)
        {
            return s;
        }

        value = _data[Position];
        Position++;
        return MqttStatus.Ok;
    }

    /// <summary>Reads a Two Byte Integer (big-endian, 5.0 §1.5.2).</summary>
    public MqttStatus ReadUInt16(string what, out int value)
    {
        value = 0;
        var s = Ensure(2, what);
        if (s != MqttStatus.Ok)
        {
            return s;
        }

        value = BinaryPrimitives.ReadUInt16BigEndian(_data[Position..]);
        Position += 2;
        return MqttStatus.Ok;
    }

    /// <summary>Reads a Four Byte Integer (big-endian, 5.0 §1.5.3).</summary>
    public MqttStatus ReadUInt32(string what, out long value)
    {
        value = 0;
        var s = Ensure(4, what);
        if (s != MqttStatus.Ok)
        {
            return s;
        }

        value = BinaryPrimitives.ReadUInt32BigEndian(_data[Position..]);
        Position += 4;
        return MqttStatus.Ok;
    }

    /// <summary>Reads a Variable Byte Integer (5.0 §1.5.5): at most 4 bytes, minimal encoding.</summary>
    public MqttStatus ReadVarInt(string what, out int value)
    {
        value = 0;
        var available = _data[Position..];
        var s = MqttParser.TryReadVarInt(available, out value, out var length, out var error);
        if (s == MqttStatus.Ok)
        {
            Position += length;
            return MqttStatus.Ok;
        }

        if (s == MqttStatus.Malformed)
        {
            return Fail($"{what}: {error}");
        }

        // The varint's bytes ran out: malformed when the declared length ends there too.
        if (available.Length >= _limit - Position)
        {
            return Fail($"{what}: runs past the end of the packet");
        }

        Needed = _data.Length + 1;
        return MqttStatus.NeedMoreData;
    }

    /// <summary>Reads Binary Data (5.0 §1.5.6): a two-byte length and that many bytes.</summary>
    public MqttStatus ReadBinary(string what, out ReadOnlySpan<byte> value)
    {
        value = default;
        var s = ReadUInt16(what, out var length);
        if (s != MqttStatus.Ok)
        {
            return s;
        }

        s = Ensure(length, what);
        if (s != MqttStatus.Ok)
        {
            Position -= 2;
            return s;
        }

        value = _data.Slice(Position, length);
        Position += length;
        return MqttStatus.Ok;
    }

    /// <summary>
    /// Reads a UTF-8 Encoded String (3.1.1 §1.5.3, 5.0 §1.5.4): two-byte length, then well-formed UTF-8 with no
    /// U+0000 and no surrogate code points; anything else is malformed.
    /// </summary>
    public MqttStatus ReadString(string what, out ReadOnlySpan<byte> value)
    {
        var s = ReadBinary(what, out value);
        if (s != MqttStatus.Ok)
        {
            return s;
        }

        if (!Utf8.IsValid(value))
        {
            return Fail($"{what}: invalid UTF-8");
        }

        if (value.Contains((byte)0))
        {
            return Fail($"{what}: contains U+0000");
        }

        return MqttStatus.Ok;
    }

    /// <summary>Takes the next <paramref name="count"/> bytes (already ensured by the caller).</summary>
    public ReadOnlySpan<byte> Take(int count)
    {
        var span = _data.Slice(Position, count);
        Position += count;
        return span;
    }
}
