using System.Globalization;

namespace SecMon.Core.Devices;

/// <summary>
/// A 48-bit MAC address as a plain value (the six bytes big-endian in the low bits of <see cref="Value"/>). The one
/// MAC normaliser of SecMon: the capture decodes frames into it, and every MAC a user or a flow gives in text is read
/// by <see cref="TryParse"/> and written in ECS form (<c>00-1A-2B-3C-4D-5E</c>) by <see cref="ToString"/>.
/// </summary>
public readonly record struct MacAddress(ulong Value)
{
    /// <summary>Reads a MAC from the first 6 bytes of <paramref name="bytes"/> (caller checks the length).</summary>
    public static MacAddress Read(ReadOnlySpan<byte> bytes) =>
        new(((ulong)bytes[0] << 40) | ((ulong)bytes[1] << 32) | ((ulong)bytes[2] << 24) |
            ((ulong)bytes[3] << 16) | ((ulong)bytes[4] << 8) | bytes[5]);

    /// <summary>
    /// True for an address that names one device: not all zeros (loopback and cooked captures carry zeros), and
    /// unicast (the I/G bit, the lowest bit of the first octet, clear: IEEE 802 §8.2; broadcast and multicast set it).
    /// </summary>
    public bool IsUsable => Value != 0 && (Value & (1UL << 40)) == 0;

    /// <summary>
    /// Reads a MAC in any common notation: <c>00:1a:2b:3c:4d:5e</c> or <c>00-1A-2B-3C-4D-5E</c> (one separator
    /// throughout), or Cisco's <c>001a.2b3c.4d5e</c>; surrounding white space is ignored. False for anything else.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out MacAddress mac)
    {
        mac = default;
        var t = text.Trim();
        Span<char> hex = stackalloc char[12];
        if (t.Length == 17 && t[2] is ':' or '-')
        {
            var separator = t[2];
            for (var i = 0; i < 6; i++)
            {
                if (i < 5 && t[(i * 3) + 2] != separator)
                {
                    return false;
                }

                hex[i * 2] = t[i * 3];
                hex[(i * 2) + 1] = t[(i * 3) + 1];
            }
        }
        else if (t.Length == 14 && t[4] == '.' && t[9] == '.')
        {
            t[..4].CopyTo(hex);
            t.Slice(5, 4).CopyTo(hex[4..]);
            t.Slice(10, 4).CopyTo(hex[8..]);
        }
        else
        {
            return false;
        }

        // AllowHexSpecifier alone: no sign, no white space, no 0x prefix inside the groups.
        if (!ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        mac = new MacAddress(value);
        return true;
    }

    /// <summary>ECS form, upper-case hex separated by hyphens: <c>00-1A-2B-3C-4D-5E</c>. Allocates: once per flow.</summary>
    public override string ToString() => string.Create(17, Value, static (span, v) =>
    {
        for (var i = 0; i < 6; i++)
        {
            var b = (byte)(v >> (40 - (8 * i)));
            b.TryFormat(span[(i * 3)..], out _, "X2", CultureInfo.InvariantCulture);
            if (i < 5)
            {
                span[(i * 3) + 2] = '-';
            }
        }
    });
}
