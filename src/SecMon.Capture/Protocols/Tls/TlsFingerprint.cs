using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SecMon.Capture.Protocols.Tls;

/// <summary>
/// Client and server fingerprints of a hello: JA3 and JA3S (Salesforce, https://github.com/salesforce/ja3: the fields'
/// decimal values, GREASE removed, and their MD5) and JA4 (FoxIO, https://github.com/FoxIO-LLC/ja4, technical_details/JA4.md:
/// the TLS client fingerprint only, not the rest of the JA4+ family, whose licence differs).
/// </summary>
internal static class TlsFingerprint
{
    /// <summary>JA3 string: <c>SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats</c>.</summary>
    public static string Ja3String(TlsParser.ClientHello h)
    {
        var sb = new StringBuilder(256);
        sb.Append(h.LegacyVersion.ToString(CultureInfo.InvariantCulture)).Append(',');
        Join(sb, h.Ciphers, '-');
        sb.Append(',');
        Join(sb, h.Extensions, '-');
        sb.Append(',');
        Join(sb, h.Groups, '-');
        sb.Append(',');
        Join(sb, h.PointFormats, '-');
        return sb.ToString();
    }

    /// <summary>JA3S string: <c>SSLVersion,Cipher,Extensions</c>.</summary>
    public static string Ja3sString(TlsParser.ServerHello h)
    {
        var sb = new StringBuilder(64);
        sb.Append(h.LegacyVersion.ToString(CultureInfo.InvariantCulture)).Append(',')
            .Append(h.CipherSuite.ToString(CultureInfo.InvariantCulture)).Append(',');
        Join(sb, h.ExtensionTypes, '-');
        return sb.ToString();
    }

    /// <summary>MD5 of a JA3/JA3S string, lower-case hex (MD5 is what the JA3 specification uses: a fingerprint, not a
    /// security function).</summary>
#pragma warning disable CA5351 // JA3 is defined as MD5; it identifies, it protects nothing
    public static string Md5(string text)
    {
        Span<byte> ascii = text.Length <= 4096 ? stackalloc byte[text.Length] : new byte[text.Length];
        Encoding.ASCII.GetBytes(text, ascii);
        Span<byte> hash = stackalloc byte[16];
        MD5.HashData(ascii, hash);
        return Convert.ToHexStringLower(hash);
    }
#pragma warning restore CA5351

    /// <summary>
    /// JA4 (JA4.md): <c>{t|q|d}{version}{d|i}{ciphers:2}{extensions:2}{alpn}_{hash of sorted ciphers}_{hash of sorted
    /// extensions without SNI and ALPN, "_", signature algorithms in order}</c>, each hash the first 12 hex digits of
    /// SHA-256 over the comma-joined 4-digit hex values (000000000000 for an empty list).
    /// </summary>
    public static string Ja4(TlsParser.ClientHello h, char transport)
    {
        var sb = new StringBuilder(40);
        sb.Append(transport).Append(Ja4Version(h.HighestVersion)).Append(h.HasServerName ? 'd' : 'i');
        sb.Append((char)('0' + (Math.Min(h.Ciphers.Count, 99) / 10))).Append((char)('0' + (Math.Min(h.Ciphers.Count, 99) % 10)));
        sb.Append((char)('0' + (Math.Min(h.Extensions.Count, 99) / 10))).Append((char)('0' + (Math.Min(h.Extensions.Count, 99) % 10)));
        sb.Append(Ja4Alpn(h.AlpnFirstByte, h.AlpnLastByte)).Append('_');

        Span<int> sorted = stackalloc int[Math.Max(h.Ciphers.Count, h.Extensions.Count)];
        var ciphers = sorted[..h.Ciphers.Count];
        h.Ciphers.CopyTo(ciphers);
        ciphers.Sort();
        sb.Append(Hash12(ciphers, null)).Append('_');

        var count = 0;
        foreach (var e in h.Extensions)
        {
            if (e is not (0x0000 or 0x0010))
            {
                sorted[count++] = e; // JA4.md: SNI and ALPN are already in the first part
            }
        }

        var extensions = sorted[..count];
        extensions.Sort();
        sb.Append(Hash12(extensions, h.SignatureAlgorithms));
        return sb.ToString();
    }

    /// <summary>JA4's two-character version (JA4.md "TLS and DTLS Version").</summary>
    public static string Ja4Version(ushort v) => v switch
    {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xFEFF => "d1",
        0xFEFD => "d2",
        0xFEFC => "d3",
        _ => "00",
    };

    // JA4.md "ALPN Extension Value": the first and last characters of the first ALPN value; "00" when there is none;
    // when either is not alphanumeric, the first and last hex digits of the value's bytes instead.
    private static string Ja4Alpn(byte? first, byte? last)
    {
        if (first is not { } f || last is not { } l)
        {
            return "00";
        }

        if (char.IsAsciiLetterOrDigit((char)f) && char.IsAsciiLetterOrDigit((char)l))
        {
            return string.Concat((char)f, (char)l);
        }

        const string hex = "0123456789abcdef";
        return string.Concat(hex[f >> 4], hex[l & 0xF]);
    }

    // Hashes "v1,v2,...[_w1,w2,...]" (4-digit lower-case hex) without building a string: the text is written as ASCII
    // into a stack buffer (a hello holds at most MaxListed values of each list, 5 bytes each).
    private static string Hash12(ReadOnlySpan<int> values, List<int>? then)
    {
        if (values.IsEmpty)
        {
            return "000000000000";
        }

        Span<byte> text = stackalloc byte[((values.Length + (then?.Count ?? 0)) * 5) + 1];
        var n = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (i > 0)
            {
                text[n++] = (byte)',';
            }

            n += Hex4(values[i], text[n..]);
        }

        if (then is { Count: > 0 })
        {
            text[n++] = (byte)'_';
            for (var i = 0; i < then.Count; i++)
            {
                if (i > 0)
                {
                    text[n++] = (byte)',';
                }

                n += Hex4(then[i], text[n..]);
            }
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(text[..n], hash);
        return Convert.ToHexStringLower(hash[..6]);
    }

    private static int Hex4(int value, Span<byte> into)
    {
        const string hex = "0123456789abcdef";
        into[0] = (byte)hex[(value >> 12) & 0xF];
        into[1] = (byte)hex[(value >> 8) & 0xF];
        into[2] = (byte)hex[(value >> 4) & 0xF];
        into[3] = (byte)hex[value & 0xF];
        return 4;
    }

    private static void Join(StringBuilder sb, IReadOnlyList<int> values, char separator)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(separator);
            }

            sb.Append(values[i]);
        }
    }
}
