using System.Buffers.Binary;
using SecMon.Capture.Sources;

namespace SecMon.Capture.Tests.CaptureFiles;

/// <summary>
/// The pcapng reader used where libpcap refuses a file (interfaces of different link types or snapshot lengths), on
/// blocks built here: per-interface link types, time resolutions and offsets, both byte orders, the simple and the
/// obsolete packet blocks, unknown blocks skipped, a second section forgetting the first's interfaces; and damage,
/// each named with where it is, never an exception or an allocation the file's lengths ask for.
/// </summary>
public sealed class PcapngReaderTests
{
    private static readonly byte[] Frame = [.. Enumerable.Range(0, 60).Select(i => (byte)i)];

    [Fact]
    public void Read_PacketsOfTwoInterfaces_KeepTheirOwnLinkTypesAndClocks()
    {
        var file = new Pcapng(bigEndian: false)
            .Section()
            .Interface(1, 262_144)                          // Ethernet, microseconds
            .Interface(276, 65_535, tsresol: 9)             // Linux SLL2, nanoseconds
            .Interface(101, 0, tsresol: 0x94, tsoffset: 10) // raw IP, 2^-20 s, 10 s offset
            .Block(4, new byte[12])                         // name resolution: skipped
            .Enhanced(0, 1_700_000_000_123_456, Frame)
            .Enhanced(1, 1_700_000_000_123_456_789, Frame[..20], originalLength: 1500)
            .Enhanced(2, (1_700_000_000UL << 20) + (1UL << 19), Frame[..33]);
        using var reader = new PcapngReader(new MemoryStream(file.ToArray()));

        Assert.Equal(ReadStatus.Packet, reader.Read());
        Assert.Equal((1, 1_700_000_000_123_456L, 60, 60), (reader.LinkType, reader.TimestampMicros, reader.Data.Length, reader.OriginalLength));
        Assert.True(reader.Data.SequenceEqual(Frame));

        Assert.Equal(ReadStatus.Packet, reader.Read());
        Assert.Equal((276, 1_700_000_000_123_456L, 20, 1500), (reader.LinkType, reader.TimestampMicros, reader.Data.Length, reader.OriginalLength));

        Assert.Equal(ReadStatus.Packet, reader.Read());
        Assert.Equal((101, 1_700_000_010_500_000L, 33), (reader.LinkType, reader.TimestampMicros, reader.Data.Length));
        Assert.True(reader.Data.SequenceEqual(Frame.AsSpan(0, 33)));

        Assert.Equal(ReadStatus.End, reader.Read());
    }

    [Fact]
    public void Read_BigEndianSection_SimpleAndObsoletePackets_AndASecondSection()
    {
        var file = new Pcapng(bigEndian: true)
            .Section()
            .Interface(1, 40)
            .Simple(Frame)                       // cut to the interface's snapshot length (40)
            .Obsolete(0, 1_000_000, Frame[..30])
            .Section()                           // a new section: interface 0 must be described again
            .Enhanced(0, 5, Frame);
        using var reader = new PcapngReader(new MemoryStream(file.ToArray()));

        Assert.Equal(ReadStatus.Packet, reader.Read());
        Assert.Equal((1, 40, 60), (reader.LinkType, reader.Data.Length, reader.OriginalLength));
        Assert.Equal(ReadStatus.Packet, reader.Read());
        Assert.Equal((1_000_000L, 30), (reader.TimestampMicros, reader.Data.Length));
        Assert.Equal(ReadStatus.Damaged, reader.Read());
        Assert.Contains("names interface 0, but the section describes 0", reader.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("huge", "declares 4,294,967,292 bytes")]
    [InlineData("not multiple of 4", "declares 30 bytes")]
    [InlineData("trailer differs", "trailing length differs")]
    [InlineData("cut inside block", "the file ends inside the block at byte 52")]
    [InlineData("caplen beyond body", "declares 5,000 captured bytes in a 60-byte body")]
    [InlineData("no section header", "does not start with a pcapng section header")]
    public void Read_DamagedBlocks_AreDamageWithTheirPlace(string damage, string expected)
    {
        var good = new Pcapng(bigEndian: false).Section().Interface(1, 0);
        byte[] bytes = damage switch
        {
            "huge" => [.. good.ToArray(), .. U32(6), .. U32(0xFFFF_FFFC), .. new byte[40]],
            "not multiple of 4" => [.. good.ToArray(), .. U32(6), .. U32(30), .. new byte[22]],
            "trailer differs" => Trailer(good.Enhanced(0, 1, Frame).ToArray()),
            "cut inside block" => good.Enhanced(0, 1, Frame).ToArray()[..100],
            "caplen beyond body" => CaplenBeyondBody(good.Enhanced(0, 1, Frame).ToArray()),
            _ => new Pcapng(bigEndian: false).Interface(1, 0).ToArray(),
        };
        using var reader = new PcapngReader(new MemoryStream(bytes));

        Assert.Equal(ReadStatus.Damaged, reader.Read());
        Assert.Contains(expected, reader.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TruncatedFuzz_NeverThrows()
    {
        var whole = new Pcapng(bigEndian: false).Section().Interface(1, 0).Interface(113, 0, tsresol: 3)
            .Enhanced(0, 1, Frame).Enhanced(1, 2, Frame[..10]).Simple(Frame).ToArray();
        var random = new Random(7);
        for (var i = 0; i < 2_000; i++)
        {
            var bytes = whole[..random.Next(whole.Length + 1)];
            if (i % 2 == 1 && bytes.Length > 0)
            {
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            }

            using var reader = new PcapngReader(new MemoryStream(bytes));
            var status = ReadStatus.Packet;
            for (var n = 0; n < 10 && status == ReadStatus.Packet; n++)
            {
                status = reader.Read();
                Assert.True(status != ReadStatus.Packet || reader.Data.Length <= Frame.Length);
            }

            Assert.True(status is ReadStatus.End or ReadStatus.Damaged or ReadStatus.Packet);
            Assert.True(status != ReadStatus.Damaged || !string.IsNullOrEmpty(reader.Error));
        }
    }

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private static byte[] Trailer(byte[] file)
    {
        file[^1] ^= 0x01;
        return file;
    }

    private static byte[] CaplenBeyondBody(byte[] file)
    {
        // The last block is the enhanced packet: its caplen is 8 + 4 + 4 + 4 + 4 bytes into it.
        var block = file.Length - (32 + Frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(block + 20), 5_000);
        return file;
    }

    /// <summary>Writes pcapng blocks (draft-ietf-opsawg-pcapng) in one byte order.</summary>
    private sealed class Pcapng(bool bigEndian)
    {
        private readonly List<byte> _bytes = [];

        public Pcapng Section()
        {
            var body = new List<byte>();
            body.AddRange(W32(0x1A2B3C4D));
            body.AddRange(W16(1));
            body.AddRange(W16(0));
            body.AddRange(Enumerable.Repeat((byte)0xFF, 8)); // section length unknown
            return Block(0x0A0D0D0A, [.. body]);
        }

        public Pcapng Interface(ushort linkType, uint snapLength, byte? tsresol = null, long? tsoffset = null)
        {
            var body = new List<byte>();
            body.AddRange(W16(linkType));
            body.AddRange(W16(0));
            body.AddRange(W32(snapLength));
            if (tsresol is { } r)
            {
                body.AddRange([.. W16(9), .. W16(1), r, 0, 0, 0]);
            }

            if (tsoffset is { } o)
            {
                var value = new byte[8];
                if (bigEndian)
                {
                    BinaryPrimitives.WriteInt64BigEndian(value, o);
                }
                else
                {
                    BinaryPrimitives.WriteInt64LittleEndian(value, o);
                }

                body.AddRange([.. W16(14), .. W16(8), .. value]);
            }

            body.AddRange([.. W16(0), .. W16(0)]); // opt_endofopt
            return Block(1, [.. body]);
        }

        public Pcapng Enhanced(uint interfaceId, ulong ticks, byte[] data, int? originalLength = null) =>
            Block(6, [.. W32(interfaceId), .. W32((uint)(ticks >> 32)), .. W32((uint)ticks), .. W32((uint)data.Length),
                      .. W32((uint)(originalLength ?? data.Length)), .. Padded(data)]);

        public Pcapng Obsolete(ushort interfaceId, ulong ticks, byte[] data) =>
            Block(2, [.. W16(interfaceId), .. W16(0), .. W32((uint)(ticks >> 32)), .. W32((uint)ticks), .. W32((uint)data.Length),
                      .. W32((uint)data.Length), .. Padded(data)]);

        public Pcapng Simple(byte[] data) => Block(3, [.. W32((uint)data.Length), .. Padded(data)]);

        public Pcapng Block(uint type, byte[] body)
        {
            var length = (uint)(12 + body.Length);
            _bytes.AddRange(W32(type));
            _bytes.AddRange(W32(length));
            _bytes.AddRange(body);
            _bytes.AddRange(W32(length));
            return this;
        }

        public byte[] ToArray() => [.. _bytes];

        private static byte[] Padded(byte[] data) => [.. data, .. new byte[(4 - (data.Length % 4)) % 4]];

        private byte[] W32(uint v)
        {
            var b = new byte[4];
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(b, v);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            }

            return b;
        }

        private byte[] W16(ushort v)
        {
            var b = new byte[2];
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt16BigEndian(b, v);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(b, v);
            }

            return b;
        }
    }
}
