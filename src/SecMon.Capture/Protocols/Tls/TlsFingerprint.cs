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
    public static string Md5(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.ASCII.GetBytes(text)));
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
        sb.Append(Math.Min(h.Ciphers.Count, 99).ToString("00", CultureInfo.InvariantCulture));
        sb.Append(Math.Min(h.Extensions.Count, 99).ToString("00", CultureInfo.InvariantCulture));
        sb.Append(Ja4Alpn(h.AlpnFirstByte, h.AlpnLastByte)).Append('_');

        var ciphers = h.Ciphers.ToArray();
        Array.Sort(ciphers);
        sb.Append(Hash12(ciphers, null)).Append('_');

        var extensions = h.Extensions.Where(e => e is not (0x0000 or 0x0010)).ToArray();
        Array.Sort(extensions);
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

    private static string Hash12(int[] values, List<int>? then)
    {
        if (values.Length == 0)
        {
            return "000000000000";
        }

        var sb = new StringBuilder((values.Length + (then?.Count ?? 0)) * 5);
        for (var i = 0; i < values.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(values[i].ToString("x4", CultureInfo.InvariantCulture));
        }

        if (then is { Count: > 0 })
        {
            sb.Append('_');
            for (var i = 0; i < then.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(',');
                }

                sb.Append(then[i].ToString("x4", CultureInfo.InvariantCulture));
            }
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(sb.ToString())))[..12];
    }

    private static void Join(StringBuilder sb, IReadOnlyList<int> values, char separator)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(separator);
            }

            sb.Append(values[i].ToString(CultureInfo.InvariantCulture));
        }
    }
}
