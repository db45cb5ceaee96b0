using System.Buffers.Binary;
using System.Net;
using SecMon.Capture.Decoding;

namespace SecMon.Capture.Tests.Decoding;

/// <summary>
/// Builds frames byte by byte, straight from the RFC layouts, independently of the decoder under test.
/// Checksums are left zero: the decoder does not verify them (offload makes them wrong on real captures).
/// </summary>
internal static class TestFrames
{
    public static readonly byte[] ClientMac = [0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E];
    public static readonly byte[] ServerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static byte[] Tcp(ushort sourcePort, ushort destinationPort, uint sequence, uint acknowledgment, TcpFlags flags,
                             ReadOnlySpan<byte> payload, ushort window = 65535, int optionBytes = 0)
    {
        var header = 20 + optionBytes;
        var b = new byte[header + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), sequence);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), acknowledgment);
        b[12] = (byte)((header / 4) << 4);
        b[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(14), window);
        for (var i = 20; i < header; i++)
        {
            b[i] = 1; // NOP options
        }

        payload.CopyTo(b.AsSpan(header));
        return b;
    }

    public static byte[] Udp(ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload, int? lengthField = null)
    {
        var b = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), (ushort)(lengthField ?? b.Length));
        payload.CopyTo(b.AsSpan(8));
        return b;
    }

    public static byte[] Ipv4(string source, string destination, byte protocol, ReadOnlySpan<byte> payload,
                              ushort id = 0x1234, bool moreFragments = false, int fragmentOffset = 0,
                              int optionBytes = 0, int? totalLength = null, int? headerLengthField = null, int version = 4, byte ttl = 64)
    {
        var header = 20 + optionBytes;
        var b = new byte[header + payload.Length];
        b[0] = (byte)((version << 4) | ((headerLengthField ?? header) / 4));
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)(totalLength ?? b.Length));
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6), (ushort)((moreFragments ? 0x2000 : 0) | (fragmentOffset / 8)));
        b[8] = ttl;
        b[9] = protocol;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(b, 12);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(b, 16);
        payload.CopyTo(b.AsSpan(header));
        return b;
    }

    /// <summary>An IPv6 packet; <paramref name="extensions"/> are (type, body) pairs placed in order, each body
    /// padded to its header's length unit (8 bytes; AH: 4).</summary>
    public static byte[] Ipv6(string source, string destination, byte protocol, ReadOnlySpan<byte> payload,
                              params (byte Type, byte[] Body)[] extensions)
    {
        var ext = new List<byte>();
        for (var i = 0; i < extensions.Length; i++)
        {
            var (type, body) = extensions[i];
            var next = i + 1 < extensions.Length ? extensions[i + 1].Type : protocol;
            if (type == 44)
            {
                ext.Add(next);
                ext.Add(0);
                ext.AddRange(body); // 6 bytes: offset/flags(2) + identification(4)
                continue;
            }

            var unit = type == 51 ? 4 : 8;
            var total = (body.Length + 2 + unit - 1) / unit * unit;
            ext.Add(next);
            ext.Add((byte)(type == 51 ? (total / 4) - 2 : (total / 8) - 1));
            ext.AddRange(body);
            ext.AddRange(new byte[total - 2 - body.Length]);
        }

        var b = new byte[40 + ext.Count + payload.Length];
        b[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), (ushort)(ext.Count + payload.Length));
        b[6] = extensions.Length > 0 ? extensions[0].Type : protocol;
        b[7] = 64;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(b, 8);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(b, 24);
        ext.ToArray().CopyTo(b, 40);
        payload.CopyTo(b.AsSpan(40 + ext.Count));
        return b;
    }

    public static byte[] Ethernet(ReadOnlySpan<byte> payload, ushort etherType = 0x0800, byte[]? source = null,
                                  byte[]? destination = null, params (ushort Tpid, ushort Tci)[] tags)
    {
        var b = new byte[14 + (4 * tags.Length) + payload.Length];
        (destination ?? ServerMac).CopyTo(b, 0);
        (source ?? ClientMac).CopyTo(b, 6);
        var o = 12;
        foreach (var (tpid, tci) in tags)
        {
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(o), tpid);
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(o + 2), tci);
            o += 4;
        }

        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(o), etherType);
        payload.CopyTo(b.AsSpan(o + 2));
        return b;
    }

    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>Writes a classic pcap file (microsecond timestamps, little-endian).</summary>
    public static void WritePcap(string path, int linkType, IEnumerable<(long Micros, byte[] Frame)> records)
    {
        using var f = File.Create(path);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B2C3D4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 65535);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)linkType);
        f.Write(header);
        Span<byte> record = stackalloc byte[16];
        foreach (var (micros, frame) in records)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(micros / 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(micros % 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)frame.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)frame.Length);
            f.Write(record);
            f.Write(frame);
        }
    }
}
