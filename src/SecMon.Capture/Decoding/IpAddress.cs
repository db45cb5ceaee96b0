using System.Buffers.Binary;
using System.Globalization;

namespace SecMon.Capture.Decoding;

/// <summary>
/// An IPv4 or IPv6 address as a plain value (two 64-bit halves in network order, plus the family), so that
/// decoding and flow lookup never allocate. An IPv4 address is held in the low 32 bits of <see cref="Low"/>.
/// Numeric order equals the byte order of the wire form, which is what canonical flow keys and the
/// Community ID ordering need.
/// </summary>
internal readonly record struct IpAddress : IComparable<IpAddress>
{
    /// <summary>Creates an address from its halves (network order as big-endian numbers).</summary>
    public IpAddress(ulong high, ulong low, bool isV6)
    {
        High = high;
        Low = low;
        IsV6 = isV6;
    }

    /// <summary>Bytes 0-7 of an IPv6 address (zero for IPv4).</summary>
    public ulong High { get; }

    /// <summary>Bytes 8-15 of an IPv6 address, or the IPv4 address in the low 32 bits.</summary>
    public ulong Low { get; }

    /// <summary>True for IPv6.</summary>
    public bool IsV6 { get; }

    /// <summary>Length of the wire form: 4 or 16.</summary>
    public int ByteLength => IsV6 ? 16 : 4;

    /// <summary>True for a group address: IPv4 multicast (224.0.0.0/4) or the limited broadcast 255.255.255.255, IPv6
    /// multicast (ff00::/8).</summary>
    public bool IsGroup => IsV6 ? High >> 56 == 0xff : (Low & 0xf000_0000) == 0xe000_0000 || Low == 0xffff_ffff;

    /// <summary>Reads an IPv4 address from the first 4 bytes of <paramref name="bytes"/> (caller checks the length).</summary>
    public static IpAddress FromV4(ReadOnlySpan<byte> bytes) => new(0, BinaryPrimitives.ReadUInt32BigEndian(bytes), false);

    /// <summary>Reads an IPv6 address from the first 16 bytes of <paramref name="bytes"/> (caller checks the length).</summary>
    public static IpAddress FromV6(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), true);

    /// <summary>Parses the textual form (tests, configuration). Not for the packet path.</summary>
    public static IpAddress Parse(string text)
    {
        var address = System.Net.IPAddress.Parse(text);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        return written == 4 ? FromV4(bytes) : FromV6(bytes);
    }

    /// <summary>Writes the wire form (4 or 16 bytes) and returns its length.</summary>
    public int WriteTo(Span<byte> destination)
    {
        if (IsV6)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination, High);
            BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
            return 16;
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Low);
        return 4;
    }

    /// <summary>Orders IPv4 before IPv6, then by the wire bytes.</summary>
    public int CompareTo(IpAddress other)
    {
        if (IsV6 != other.IsV6)
        {
            return IsV6 ? 1 : -1;
        }

        var c = High.CompareTo(other.High);
        return c != 0 ? c : Low.CompareTo(other.Low);
    }

    /// <summary>Dotted quad for IPv4; RFC 5952 text for IPv6. Allocates: call once per flow, not per packet.</summary>
    public override string ToString()
    {
        if (!IsV6)
        {
            var v = (uint)Low;
            return string.Create(CultureInfo.InvariantCulture, $"{v >> 24}.{(v >> 16) & 0xFF}.{(v >> 8) & 0xFF}.{v & 0xFF}");
        }

        Span<byte> bytes = stackalloc byte[16];
        WriteTo(bytes);
        return new System.Net.IPAddress(bytes).ToString();
    }
}
