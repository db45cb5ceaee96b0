using System.Buffers.Binary;

namespace SecMon.Fuzz;

/// <summary>
/// The one input format of every target: a run of records, each a flags byte, a big-endian 16-bit length and that many
/// bytes (a datagram, a TCP segment's payload or a link-layer frame's payload). Flags: bit 0 the direction (0 to the
/// server, 1 to the client), bit 1 a gap (stream targets: the bytes are lost, not delivered), bit 7 on the first record
/// a session that starts mid-stream. A record cut short by the end of the input keeps the bytes that are there, so every
/// byte string is a valid input and the fuzzer never wastes a run on framing.
/// </summary>
internal static class FuzzInput
{
    /// <summary>Bytes before a record's payload.</summary>
    public const int HeaderLength = 3;

    /// <summary>Flag: the record travels to the client.</summary>
    public const byte ToClient = 0x01;

    /// <summary>Flag: the record's bytes are a gap in the stream.</summary>
    public const byte Gap = 0x02;

    /// <summary>Flag (first record only): the session starts mid-stream.</summary>
    public const byte MidStream = 0x80;

    /// <summary>Reads the record at <paramref name="offset"/>; false at the end of the input.</summary>
    public static bool TryNext(ReadOnlySpan<byte> input, ref int offset, out byte flags, out ReadOnlySpan<byte> payload)
    {
        flags = 0;
        payload = default;
        if (offset >= input.Length)
        {
            return false;
        }

        flags = input[offset];
        var rest = input[(offset + 1)..];
        if (rest.Length < 2)
        {
            payload = rest;
            offset = input.Length;
            return true;
        }

        var length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(rest), rest.Length - 2);
        payload = rest.Slice(2, length);
        offset += HeaderLength + length;
        return true;
    }

    /// <summary>Appends one record to <paramref name="output"/> (payloads longer than 65,535 bytes are cut).</summary>
    public static void Write(Stream output, byte flags, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(output);
        var length = Math.Min(payload.Length, ushort.MaxValue);
        Span<byte> header = stackalloc byte[HeaderLength];
        header[0] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(header[1..], (ushort)length);
        output.Write(header);
        output.Write(payload[..length]);
    }
}
