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
    // Bytes of a hello's text written on the stack; a longer one (thousands of cipher suites) uses a pooled array.
    private const int StackBytes = 1024;

    /// <summary>
    /// The fingerprints of a ClientHello and the lists the event derives with them, from <paramref name="cache"/> when
    /// the same hello was fingerprinted before. The key is everything JA3 and JA4 read: a fixed header (transport,
    /// highest version, SNI sent, first and last ALPN bytes), the signature algorithms (count-prefixed), then the JA3
    /// text, so equal keys mean equal fingerprints.
    /// </summary>
    public static ClientHelloFingerprints Client(TlsParser.ClientHello h, char transport, ByteKeyCache<ClientHelloFingerprints>? cache)
    {
        var length = 8 + (2 * h.SignatureAlgorithms.Count) + Ja3MaxBytes(h);
        byte[]? rented = null;
        var key = length <= StackBytes ? stackalloc byte[StackBytes] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
        try
        {
            key[0] = (byte)transport;
            key[1] = (byte)(h.HighestVersion >> 8);
            key[2] = (byte)h.HighestVersion;
            key[3] = (byte)((h.HasServerName ? 1 : 0) | (h.AlpnFirstByte is null ? 0 : 2) | (h.AlpnLastByte is null ? 0 : 4));
            key[4] = h.AlpnFirstByte ?? 0;
            key[5] = h.AlpnLastByte ?? 0;
            key[6] = (byte)(h.SignatureAlgorithms.Count >> 8);
            key[7] = (byte)h.SignatureAlgorithms.Count;
            var n = 8;
            foreach (var a in h.SignatureAlgorithms)
            {
                key[n++] = (byte)(a >> 8);
                key[n++] = (byte)a;
            }

            var ja3 = key.Slice(n, WriteJa3(h, key[n..]));
            key = key[..(n + ja3.Length)];
            if (cache is not null && cache.TryGet(key, out var hit) && hit is not null)
            {
                return hit;
            }

            var suites = new long[h.Ciphers.Count];
            var weak = CipherWeakness.None;
            for (var i = 0; i < suites.Length; i++)
            {
                suites[i] = h.Ciphers[i];
                weak |= CipherSuites.Weakness(h.Ciphers[i]);
            }

            var result = new ClientHelloFingerprints(Encoding.ASCII.GetString(ja3), Md5(ja3), Ja4(h, transport), suites, CipherSuites.Names(weak));
            cache?.Add(key, result);
            return result;
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The JA3S fingerprint of a ServerHello, from <paramref name="cache"/> when the same text was hashed before.</summary>
    public static ServerHelloFingerprints Server(TlsParser.ServerHello h, ByteKeyCache<ServerHelloFingerprints>? cache)
    {
        var length = 12 + (6 * h.ExtensionTypes.Count);
        byte[]? rented = null;
        var text = length <= StackBytes ? stackalloc byte[StackBytes] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
        try
        {
            text = text[..WriteJa3s(h, text)];
            if (cache is not null && cache.TryGet(text, out var hit) && hit is not null)
            {
                return hit;
            }

            var result = new ServerHelloFingerprints(Encoding.ASCII.GetString(text), Md5(text));
            cache?.Add(text, result);
            return result;
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>JA3 string: <c>SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats</c>.</summary>
    public static string Ja3String(TlsParser.ClientHello h)
    {
        var text = new byte[Ja3MaxBytes(h)];
        return Encoding.ASCII.GetString(text, 0, WriteJa3(h, text));
    }

    /// <summary>JA3S string: <c>SSLVersion,Cipher,Extensions</c>.</summary>
    public static string Ja3sString(TlsParser.ServerHello h)
    {
        var text = new byte[12 + (6 * h.ExtensionTypes.Count)];
        return Encoding.ASCII.GetString(text, 0, WriteJa3s(h, text));
    }

    // Each value is at most 5 decimal digits and a separator.
    private static int Ja3MaxBytes(TlsParser.ClientHello h) =>
        10 + (6 * (h.Ciphers.Count + h.Extensions.Count + h.Groups.Count + h.PointFormats.Count));

    private static int WriteJa3(TlsParser.ClientHello h, Span<byte> into)
    {
        var n = Decimal(h.LegacyVersion, into);
        into[n++] = (byte)',';
        n += Join(h.Ciphers, into[n..]);
        into[n++] = (byte)',';
        n += Join(h.Extensions, into[n..]);
        into[n++] = (byte)',';
        n += Join(h.Groups, into[n..]);
        into[n++] = (byte)',';
        n += Join(h.PointFormats, into[n..]);
        return n;
    }

    private static int WriteJa3s(TlsParser.ServerHello h, Span<byte> into)
    {
        var n = Decimal(h.LegacyVersion, into);
        into[n++] = (byte)',';
        n += Decimal(h.CipherSuite, into[n..]);
        into[n++] = (byte)',';
        n += Join(h.ExtensionTypes, into[n..]);
        return n;
    }

    private static int Join(IReadOnlyList<int> values, Span<byte> into)
    {
        var n = 0;
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                into[n++] = (byte)'-';
            }

            n += Decimal(values[i], into[n..]);
        }

        return n;
    }

    private static int Decimal(int value, Span<byte> into)
    {
        value.TryFormat(into, out var written, default, CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>MD5 of a JA3/JA3S string, lower-case hex (MD5 is what the JA3 specification uses: a fingerprint, not a
    /// security function).</summary>
    public static string Md5(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Md5(Encoding.ASCII.GetBytes(text));
    }

#pragma warning disable CA5351 // JA3 is defined as MD5; it identifies, it protects nothing
    private static string Md5(ReadOnlySpan<byte> ascii)
    {
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
        Span<char> ja4 = stackalloc char[36];
        ja4[0] = transport;
        var version = Ja4Version(h.HighestVersion);
        ja4[1] = version[0];
        ja4[2] = version[1];
        ja4[3] = h.HasServerName ? 'd' : 'i';
        ja4[4] = (char)('0' + (Math.Min(h.Ciphers.Count, 99) / 10));
        ja4[5] = (char)('0' + (Math.Min(h.Ciphers.Count, 99) % 10));
        ja4[6] = (char)('0' + (Math.Min(h.Extensions.Count, 99) / 10));
        ja4[7] = (char)('0' + (Math.Min(h.Extensions.Count, 99) % 10));
        Ja4Alpn(h.AlpnFirstByte, h.AlpnLastByte, ja4[8..]);
        ja4[10] = '_';

        var most = Math.Max(h.Ciphers.Count, h.Extensions.Count);
        int[]? rented = null;
        var sorted = most <= 256 ? stackalloc int[256] : (rented = System.Buffers.ArrayPool<int>.Shared.Rent(most));
        try
        {
            var ciphers = sorted[..h.Ciphers.Count];
            for (var i = 0; i < ciphers.Length; i++)
            {
                ciphers[i] = h.Ciphers[i];
            }

            ciphers.Sort();
            Hash12(ciphers, null, ja4.Slice(11, 12));
            ja4[23] = '_';

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
            Hash12(extensions, h.SignatureAlgorithms, ja4.Slice(24, 12));
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<int>.Shared.Return(rented);
            }
        }

        return new string(ja4);
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
    private static void Ja4Alpn(byte? first, byte? last, Span<char> into)
    {
        if (first is not { } f || last is not { } l)
        {
            into[0] = '0';
            into[1] = '0';
            return;
        }

        if (char.IsAsciiLetterOrDigit((char)f) && char.IsAsciiLetterOrDigit((char)l))
        {
            into[0] = (char)f;
            into[1] = (char)l;
            return;
        }

        const string hex = "0123456789abcdef";
        into[0] = hex[f >> 4];
        into[1] = hex[l & 0xF];
    }

    // Hashes "v1,v2,...[_w1,w2,...]" (4-digit lower-case hex) without building a string: the text is written as ASCII
    // into a stack buffer (a pooled one for a hello with hundreds of values), the first 12 hex digits of the hash into
    // the fingerprint.
    private static void Hash12(ReadOnlySpan<int> values, List<int>? then, Span<char> into)
    {
        if (values.IsEmpty)
        {
            into.Fill('0');
            return;
        }

        var length = ((values.Length + (then?.Count ?? 0)) * 5) + 1;
        byte[]? rented = null;
        var text = length <= StackBytes ? stackalloc byte[StackBytes] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
        try
        {
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
            Convert.TryToHexStringLower(hash[..6], into, out _);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
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

}

/// <summary>What a ClientHello's event carries that is computed from its lists: equal for equal hellos, so cached.</summary>
/// <param name="Ja3String">JA3 text.</param>
/// <param name="Ja3">Its MD5, lower-case hex.</param>
/// <param name="Ja4">JA4.</param>
/// <param name="CipherSuites">Suites offered, GREASE removed.</param>
/// <param name="WeakCiphers">Weak kinds among them.</param>
internal sealed record ClientHelloFingerprints(string Ja3String, string Ja3, string Ja4, IReadOnlyList<long> CipherSuites, IReadOnlyList<string> WeakCiphers);

/// <summary>JA3S of a ServerHello.</summary>
/// <param name="Ja3sString">JA3S text.</param>
/// <param name="Ja3s">Its MD5, lower-case hex.</param>
internal sealed record ServerHelloFingerprints(string Ja3sString, string Ja3s);
