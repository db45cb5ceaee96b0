using System.Buffers.Binary;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>
/// Just enough of the classic pcap format (draft-ietf-opsawg-pcap §4, §5) to cut real captures apart and to
/// write small hostile ones: a 24-byte file header, then records of a 16-byte header and the packet bytes.
/// </summary>
internal static class ClassicPcap
{
    /// <summary>Length of the file header.</summary>
    public const int FileHeaderLength = 24;

    /// <summary>Length of a record header.</summary>
    public const int RecordHeaderLength = 16;

    /// <summary>
    /// The byte offset (of its record header) and captured length of every record of an intact classic pcap file,
    /// in file order (record i is packet number i + 1).
    /// </summary>
    public static IReadOnlyList<(int Offset, int CapturedLength)> Records(byte[] file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Length < FileHeaderLength)
        {
            throw new ArgumentException("shorter than a pcap file header", nameof(file));
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        var littleEndian = magic switch
        {
            0xa1b2c3d4 or 0xa1b23c4d => true,   // microsecond / nanosecond, written little-endian
            0xd4c3b2a1 or 0x4d3cb2a1 => false,  // the same, written big-endian
            _ => throw new ArgumentException($"not a classic pcap file (magic 0x{magic:x8})", nameof(file)),
        };

        var records = new List<(int, int)>();
        var offset = FileHeaderLength;
        while (offset < file.Length)
        {
            if (file.Length - offset < RecordHeaderLength)
            {
                throw new ArgumentException($"truncated record header at byte {offset}", nameof(file));
            }

            var lengthField = file.AsSpan(offset + 8, 4);
            var captured = checked((int)(littleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(lengthField) : BinaryPrimitives.ReadUInt32BigEndian(lengthField)));
            if (file.Length - offset - RecordHeaderLength < captured)
            {
                throw new ArgumentException($"truncated record data at byte {offset}", nameof(file));
            }

            records.Add((offset, captured));
            offset += RecordHeaderLength + captured;
        }

        return records;
    }

    /// <summary>A little-endian, microsecond-resolution file header (version 2.4) with the given link type.</summary>
    public static byte[] FileHeader(uint linkType, uint snapLength = 262144)
    {
        var header = new byte[FileHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), linkType);
        return header;
    }

    /// <summary>A little-endian record: header (timestamp, captured = original length) and the packet bytes.</summary>
    public static byte[] Record(uint seconds, uint microseconds, ReadOnlySpan<byte> data)
    {
        var record = new byte[RecordHeaderLength + data.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record, seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), microseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12), (uint)data.Length);
        data.CopyTo(record.AsSpan(RecordHeaderLength));
        return record;
    }
}
