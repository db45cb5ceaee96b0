using System.Buffers.Binary;

namespace SecMon.Capture.Sources;

/// <summary>
/// A pcapng reader for what libpcap refuses: a file whose interfaces have different link types or snapshot lengths
/// (dumpcap on several interfaces, e.g. <c>-i eth0 -i any</c>, or Wireshark merging captures), which libpcap 1.10
/// stops at with "an interface has a type ... different from the type of the first interface". Each packet keeps
/// its own interface's link type. Reads the blocks of the pcapng specification (draft-ietf-opsawg-pcapng): Section
/// Header (either byte order; a new section forgets the interfaces of the last), Interface Description (link type,
/// snapshot length, if_tsresol, if_tsoffset), Enhanced Packet, Simple Packet and the obsolete Packet block; every other
/// block is skipped by its length. Every length is checked against the block before it is used: a block shorter than
/// its fields, longer than <see cref="MaxBlockBytes"/>, or whose trailing length differs from its leading one is
/// damage, reported with the block's offset; nothing is allocated by a length the file declares beyond the bound.
/// </summary>
internal sealed class PcapngReader : IDisposable
{
    /// <summary>The largest block read (libpcap's bound for pcapng blocks: 16 MiB).</summary>
    public const int MaxBlockBytes = 16 * 1024 * 1024;

    private const uint SectionHeader = 0x0A0D0D0A;
    private const uint InterfaceDescription = 1;
    private const uint ObsoletePacket = 2;
    private const uint SimplePacket = 3;
    private const uint EnhancedPacket = 6;
    private const uint ByteOrderMagic = 0x1A2B3C4D;
    private const int MaxSnapLength = 262_144;

    private readonly Stream _stream;
    private readonly List<Interface> _interfaces = [];
    private byte[] _block = new byte[4096];
    private bool _bigEndian;
    private bool _inSection;
    private long _offset;
    private int _dataStart;
    private int _dataLength;

    /// <summary>Reads pcapng blocks from <paramref name="stream"/> (owned: disposed with the reader).</summary>
    public PcapngReader(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
    }

    /// <summary>What was wrong, after <see cref="ReadStatus.Damaged"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>The current packet's link type (its interface's).</summary>
    public int LinkType { get; private set; }

    /// <summary>The current packet's capture time, microseconds since the Unix epoch.</summary>
    public long TimestampMicros { get; private set; }

    /// <summary>The current packet's wire length.</summary>
    public int OriginalLength { get; private set; }

    /// <summary>The current packet's interface: its index among the section's interface description blocks.</summary>
    public uint InterfaceId { get; private set; }

    /// <summary>Interfaces the current section describes.</summary>
    public int InterfaceCount => _interfaces.Count;

    /// <summary>The current packet's captured bytes (valid until the next read).</summary>
    public ReadOnlySpan<byte> Data => _block.AsSpan(_dataStart, _dataLength);

    /// <summary>Reads blocks until the next packet, the end of the file, or damage.</summary>
    public ReadStatus Read()
    {
        while (true)
        {
            var status = ReadBlock(out var type, out var body);
            if (status != ReadStatus.Packet)
            {
                return status;
            }

            if (type == SectionHeader)
            {
                continue; // read by ReadBlock
            }

            if (!_inSection)
            {
                return Damaged("the file does not start with a pcapng section header block");
            }

            switch (type)
            {
                case InterfaceDescription:
                    if (!ReadInterface(body))
                    {
                        return ReadStatus.Damaged;
                    }

                    break;
                case EnhancedPacket:
                case ObsoletePacket:
                    return ReadPacket(type, body);
                case SimplePacket:
                    return ReadSimplePacket(body);
                default:
                    break; // name resolution, statistics, secrets, custom blocks: not needed
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    // One block into _block: its type and its body (between the leading length and the trailing one). A section header
    // is handled here, since its byte order decides how the lengths are read.
    private ReadStatus ReadBlock(out uint type, out Span<byte> body)
    {
        body = default;
        type = 0;
        var start = _offset;
        Span<byte> head = stackalloc byte[12];
        var got = _stream.ReadAtLeast(head[..8], 8, throwOnEndOfStream: false);
        _offset += got;
        if (got == 0)
        {
            return ReadStatus.End;
        }

        if (got < 8)
        {
            return Damaged($"the file ends inside a block header at byte {start:N0}");
        }

        var rawType = BinaryPrimitives.ReadUInt32LittleEndian(head);
        if (rawType == SectionHeader)
        {
            // The byte order comes from the magic after the length.
            if (_stream.ReadAtLeast(head[8..12], 4, throwOnEndOfStream: false) < 4)
            {
                return Damaged($"the file ends inside the section header at byte {start:N0}");
            }

            _offset += 4;
            var magic = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
            if (magic == ByteOrderMagic)
            {
                _bigEndian = false;
            }
            else if (BinaryPrimitives.ReverseEndianness(magic) == ByteOrderMagic)
            {
                _bigEndian = true;
            }
            else
            {
                return Damaged($"the section header at byte {start:N0} has no byte-order magic");
            }

            var shbLength = U32(head[4..]);
            if (shbLength < 28 || shbLength % 4 != 0 || shbLength > MaxBlockBytes)
            {
                return Damaged($"the section header at byte {start:N0} declares {shbLength:N0} bytes");
            }

            if (!Fill((int)shbLength - 12, start))
            {
                return ReadStatus.Damaged;
            }

            if (U32(_block.AsSpan((int)shbLength - 16, 4)) != shbLength)
            {
                return Damaged($"the section header at byte {start:N0}: its trailing length differs from its leading one");
            }

            _interfaces.Clear();
            _inSection = true;
            type = SectionHeader;
            return ReadStatus.Packet;
        }

        type = U32(head);
        var length = U32(head[4..]);
        if (length < 12 || length % 4 != 0 || length > MaxBlockBytes)
        {
            return Damaged($"the block at byte {start:N0} (type {type}) declares {length:N0} bytes (12 to {MaxBlockBytes:N0}, a multiple of 4)");
        }

        if (!Fill((int)length - 8, start))
        {
            return ReadStatus.Damaged;
        }

        var bodyLength = (int)length - 12;
        if (U32(_block.AsSpan(bodyLength, 4)) != length)
        {
            return Damaged($"the block at byte {start:N0} (type {type}): its trailing length differs from its leading one");
        }

        body = _block.AsSpan(0, bodyLength);
        return ReadStatus.Packet;
    }

    // Reads count bytes into _block from its start (grown to fit: count is at most MaxBlockBytes).
    private bool Fill(int count, long blockStart)
    {
        if (_block.Length < count)
        {
            _block = new byte[Math.Max(count, Math.Min(_block.Length * 2, MaxBlockBytes))];
        }

        var got = _stream.ReadAtLeast(_block.AsSpan(0, count), count, throwOnEndOfStream: false);
        _offset += got;
        if (got < count)
        {
            Damaged($"the file ends inside the block at byte {blockStart:N0} ({count - got:N0} bytes missing)");
            return false;
        }

        return true;
    }

    private bool ReadInterface(Span<byte> body)
    {
        if (body.Length < 8)
        {
            Damaged($"an interface description block before byte {_offset:N0} is {body.Length} bytes long (8 at least)");
            return false;
        }

        var linkType = U16(body);
        var snapLength = U32(body[4..]);
        var divisor = 1_000_000L; // ticks per second: microseconds unless if_tsresol says otherwise
        var offsetSeconds = 0L;
        var options = body[8..];
        while (options.Length >= 4)
        {
            var code = U16(options);
            var length = U16(options[2..]);
            if (code == 0 || 4 + length > options.Length)
            {
                break;
            }

            var value = options.Slice(4, length);
            if (code == 9 && length == 1)
            {
                // if_tsresol: 10^-v seconds, or 2^-v with the top bit set.
                var v = value[0] & 0x7F;
                var power = (value[0] & 0x80) == 0 ? (v <= 18 ? Pow10(v) : 0) : (v <= 62 ? 1L << v : 0);
                if (power == 0)
                {
                    Damaged($"an interface description block before byte {_offset:N0} gives a time resolution of {value[0]:X2} (too fine to read)");
                    return false;
                }

                divisor = power;
            }
            else if (code == 14 && length == 8)
            {
                offsetSeconds = _bigEndian ? BinaryPrimitives.ReadInt64BigEndian(value) : BinaryPrimitives.ReadInt64LittleEndian(value);
            }

            options = options[(4 + ((length + 3) & ~3))..];
        }

        _interfaces.Add(new Interface(linkType, snapLength, divisor, offsetSeconds));
        return true;
    }

    private ReadStatus ReadPacket(uint type, Span<byte> body)
    {
        if (body.Length < 20)
        {
            return Damaged($"a packet block before byte {_offset:N0} is {body.Length} bytes long (20 at least)");
        }

        var interfaceId = type == EnhancedPacket ? U32(body) : U16(body);
        var ticks = ((ulong)U32(body[4..]) << 32) | U32(body[8..]);
        var caplen = U32(body[12..]);
        var origlen = U32(body[16..]);
        if (interfaceId >= (uint)_interfaces.Count)
        {
            return Damaged($"a packet block before byte {_offset:N0} names interface {interfaceId}, but the section describes {_interfaces.Count}");
        }

        if (caplen > MaxSnapLength || caplen > (uint)(body.Length - 20))
        {
            return Damaged($"a packet block before byte {_offset:N0} declares {caplen:N0} captured bytes in a {body.Length - 20:N0}-byte body");
        }

        var iface = _interfaces[(int)interfaceId];
        InterfaceId = interfaceId;
        Set(iface, Micros(iface, ticks), 20, (int)caplen, origlen);
        return ReadStatus.Packet;
    }

    private ReadStatus ReadSimplePacket(Span<byte> body)
    {
        if (body.Length < 4 || _interfaces.Count == 0)
        {
            return Damaged($"a simple packet block before byte {_offset:N0} has no interface or no length");
        }

        // RFC-draft §4.4: interface 0, no timestamp; the captured length is the smaller of the wire length and the
        // interface's snapshot length (the block is padded past it).
        var iface = _interfaces[0];
        InterfaceId = 0;
        var origlen = U32(body);
        var caplen = Math.Min(origlen, (uint)(body.Length - 4));
        if (iface.SnapLength != 0)
        {
            caplen = Math.Min(caplen, iface.SnapLength);
        }

        Set(iface, TimestampMicros, 4, (int)Math.Min(caplen, MaxSnapLength), origlen);
        return ReadStatus.Packet;
    }

    private void Set(Interface iface, long micros, int start, int caplen, uint origlen)
    {
        LinkType = iface.LinkType;
        TimestampMicros = micros;
        _dataStart = start;
        _dataLength = caplen;
        OriginalLength = (int)Math.Min(origlen, int.MaxValue);
    }

    private static long Micros(Interface iface, ulong ticks)
    {
        var micros = iface.TicksPerSecond == 1_000_000
            ? (long)Math.Min(ticks, long.MaxValue)
            : (long)UInt128.Min((UInt128)ticks * 1_000_000 / (ulong)iface.TicksPerSecond, long.MaxValue);
        return micros + (iface.OffsetSeconds * 1_000_000);
    }

    private static long Pow10(int v)
    {
        var p = 1L;
        for (var i = 0; i < v; i++)
        {
            p *= 10;
        }

        return p;
    }

    private uint U32(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

    private ushort U16(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

    private ReadStatus Damaged(string error)
    {
        Error = error;
        return ReadStatus.Damaged;
    }

    private sealed record Interface(int LinkType, uint SnapLength, long TicksPerSecond, long OffsetSeconds);
}
