using System.Text;

namespace SecMon.Capture.Protocols;

/// <summary>Domain names in DNS wire format (RFC 1035 §3.1) carried by other protocols: DHCP's client FQDN (option 81,
/// RFC 4702 §2.1) and DHCPv6's (RFC 4704 §4.2).</summary>
internal static class WireNames
{
    /// <summary>The labels of <paramref name="wire"/> joined by dots, at most <paramref name="maxBytes"/> bytes of them:
    /// fully qualified (ending with the root label) or partial, no compression. A label length that runs past the data or
    /// is above 63 ends the name there. Kept as UTF-8 with replacement characters, never refused; null when no label.</summary>
    public static string? ToText(ReadOnlySpan<byte> wire, int maxBytes = 255)
    {
        Span<byte> text = stackalloc byte[maxBytes];
        var n = 0;
        var i = 0;
        while (i < wire.Length)
        {
            int length = wire[i];
            if (length == 0 || length > 63 || length > wire.Length - i - 1)
            {
                break;
            }

            if (n > 0 && n < text.Length)
            {
                text[n++] = (byte)'.';
            }

            var take = Math.Min(length, text.Length - n);
            wire.Slice(i + 1, take).CopyTo(text[n..]);
            n += take;
            i += 1 + length;
        }

        return n == 0 ? null : Encoding.UTF8.GetString(text[..n]);
    }
}
