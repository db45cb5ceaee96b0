using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SecMon.Capture.Protocols.Tls;

/// <summary>What SecMon reports of one certificate: names, validity, key, serial, fingerprint.</summary>
/// <param name="Subject">Subject DN, formatted as .NET's <c>X500DistinguishedName.Name</c> (RFC 4514 order: last RDN first).</param>
/// <param name="Issuer">Issuer DN, same format.</param>
/// <param name="Serial">Serial number, upper-case hex of its DER content (as <c>X509Certificate2.SerialNumber</c>).</param>
/// <param name="NotBeforeMicros">Start of validity, µs since the Unix epoch.</param>
/// <param name="NotAfterMicros">End of validity, µs since the Unix epoch.</param>
/// <param name="KeyAlgorithm">RSA, EC, DSA, Ed25519, Ed448, RSASSA-PSS, or the algorithm OID.</param>
/// <param name="KeySize">Key size in bits (RSA/DSA modulus, the curve's size), when known.</param>
/// <param name="Curve">EC curve (nistp256, nistp384, nistp521, secp256k1), when EC.</param>
/// <param name="SelfSigned">Issuer and subject are the same name.</param>
/// <param name="Sha256">SHA-256 of the DER, lower-case hex.</param>
internal sealed record X509Summary(
    string Subject, string Issuer, string Serial, long NotBeforeMicros, long NotAfterMicros,
    string KeyAlgorithm, int? KeySize, string? Curve, bool SelfSigned, string Sha256)
{
    /// <summary>ISO 8601 text of a time in µs (ECS date: <c>2021-01-01T00:00:00Z</c>).</summary>
    public static string IsoTime(long micros) =>
        DateTimeOffset.FromUnixTimeMilliseconds(micros / 1000).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>
/// A cheap reader of X.509 certificates (RFC 5280 §4.1) straight from the DER a TLS Certificate message carries: no
/// certificate object, no exception, nothing sized by a length beyond the bytes present. It reads only what SecMon
/// reports (<see cref="X509Summary"/>) and verifies nothing (no signature, no chain): it describes what a peer presented.
/// </summary>
internal static class X509Reader
{
    // DER tags (X.690 §8).
    private const byte TagInteger = 0x02;
    private const byte TagBitString = 0x03;
    private const byte TagOid = 0x06;
    private const byte TagSequence = 0x30;
    private const byte TagSet = 0x31;
    private const byte TagUtcTime = 0x17;
    private const byte TagGeneralizedTime = 0x18;
    private const byte TagVersion = 0xA0; // [0] EXPLICIT

    // Characters that make .NET quote a DN value (RFC 4514 §2.4 specials).
    private static readonly System.Buffers.SearchValues<char> Special = System.Buffers.SearchValues.Create(",+=\"\n<>#;");

    /// <summary>Reads a certificate's summary; false when the DER is not a certificate SecMon can read.</summary>
    public static bool TryRead(ReadOnlySpan<byte> der, out X509Summary? summary)
    {
        summary = null;
        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
        if (!TryReadTlv(ref der, out var tag, out var cert) || tag != TagSequence
            || !TryReadTlv(ref cert, out tag, out var tbs) || tag != TagSequence)
        {
            return false;
        }

        if (!TryPeekTag(tbs, out tag))
        {
            return false;
        }

        if (tag == TagVersion && !TryReadTlv(ref tbs, out _, out _))
        {
            return false;
        }

        if (!TryReadTlv(ref tbs, out tag, out var serial) || tag != TagInteger
            || !TryReadTlv(ref tbs, out tag, out _) || tag != TagSequence // signature AlgorithmIdentifier
            || !TryReadTlv(ref tbs, out tag, out var issuer) || tag != TagSequence
            || !TryReadTlv(ref tbs, out tag, out var validity) || tag != TagSequence
            || !TryReadTlv(ref tbs, out tag, out var subject) || tag != TagSequence
            || !TryReadTlv(ref tbs, out tag, out var spki) || tag != TagSequence)
        {
            return false;
        }

        if (!TryReadTime(ref validity, out var notBefore) || !TryReadTime(ref validity, out var notAfter)
            || !TryFormatName(issuer, out var issuerText) || !TryFormatName(subject, out var subjectText)
            || !TryReadKey(spki, out var algorithm, out var size, out var curve))
        {
            return false;
        }

        summary = new X509Summary(subjectText, issuerText, Convert.ToHexString(serial), notBefore, notAfter,
            algorithm, size, curve, issuer.SequenceEqual(subject), "");
        return true;
    }

    /// <summary>Reads a certificate's summary with its SHA-256; null when unreadable.</summary>
    public static X509Summary? Read(ReadOnlySpan<byte> der) =>
        TryRead(der, out var s) && s is not null ? s with { Sha256 = Convert.ToHexStringLower(SHA256.HashData(der)) } : null;

    /// <summary>Reads one DER TLV with a low tag number and a definite length of at most 4 bytes.</summary>
    internal static bool TryReadTlv(ref ReadOnlySpan<byte> data, out byte tag, out ReadOnlySpan<byte> content)
    {
        tag = 0;
        content = default;
        if (data.Length < 2 || (data[0] & 0x1F) == 0x1F)
        {
            return false; // high tag numbers do not occur in the fields read here
        }

        tag = data[0];
        int length = data[1];
        var header = 2;
        if (length >= 0x80)
        {
            var n = length & 0x7F;
            if (n is 0 or > 4 || data.Length < 2 + n)
            {
                return false; // indefinite length (not DER) or absurd
            }

            length = 0;
            for (var i = 0; i < n; i++)
            {
                length = (length << 8) | data[2 + i];
                if (length < 0)
                {
                    return false;
                }
            }

            header += n;
        }

        if (length > data.Length - header)
        {
            return false;
        }

        content = data.Slice(header, length);
        data = data[(header + length)..];
        return true;
    }

    private static bool TryPeekTag(ReadOnlySpan<byte> data, out byte tag)
    {
        tag = data.IsEmpty ? (byte)0 : data[0];
        return !data.IsEmpty;
    }

    // Time ::= CHOICE { utcTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1), generalTime (YYYYMMDDHHMMSSZ, §4.1.2.5.2) }
    private static bool TryReadTime(ref ReadOnlySpan<byte> data, out long micros)
    {
        micros = 0;
        if (!TryReadTlv(ref data, out var tag, out var t))
        {
            return false;
        }

        int year;
        if (tag == TagUtcTime && t.Length == 13 && t[12] == 'Z' && Digits(t[..2], out var yy))
        {
            year = yy >= 50 ? 1900 + yy : 2000 + yy; // RFC 5280 §4.1.2.5.1
            t = t[2..];
        }
        else if (tag == TagGeneralizedTime && t.Length == 15 && t[14] == 'Z' && Digits(t[..4], out var yyyy))
        {
            year = yyyy;
            t = t[4..];
        }
        else
        {
            return false;
        }

        if (!Digits(t[..2], out var month) || !Digits(t.Slice(2, 2), out var day) || !Digits(t.Slice(4, 2), out var hour)
            || !Digits(t.Slice(6, 2), out var minute) || !Digits(t.Slice(8, 2), out var second)
            || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var time = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc);
        micros = (time.Ticks - DateTime.UnixEpoch.Ticks) / 10;
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> s, out int value)
    {
        value = 0;
        foreach (var b in s)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        return true;
    }

    // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING } (RFC 5280 §4.1.2.7)
    private static bool TryReadKey(ReadOnlySpan<byte> spki, out string algorithm, out int? size, out string? curve)
    {
        algorithm = "";
        size = null;
        curve = null;
        if (!TryReadTlv(ref spki, out var tag, out var algId) || tag != TagSequence
            || !TryReadTlv(ref algId, out tag, out var oid) || tag != TagOid
            || !TryReadTlv(ref spki, out tag, out var key) || tag != TagBitString || key.IsEmpty)
        {
            return false;
        }

        var dotted = OidText(oid);
        key = key[1..]; // unused-bits count
        switch (dotted)
        {
            case "1.2.840.113549.1.1.1" or "1.2.840.113549.1.1.10": // rsaEncryption (RFC 8017), RSASSA-PSS (RFC 4055)
                algorithm = dotted.EndsWith(".10", StringComparison.Ordinal) ? "RSASSA-PSS" : "RSA";
                // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
                if (TryReadTlv(ref key, out tag, out var rsa) && tag == TagSequence && TryReadTlv(ref rsa, out tag, out var modulus) && tag == TagInteger)
                {
                    size = IntegerBits(modulus);
                }

                break;
            case "1.2.840.10045.2.1": // id-ecPublicKey (RFC 5480 §2.1.1): the named curve is the parameter
                algorithm = "EC";
                if (TryReadTlv(ref algId, out tag, out var curveOid) && tag == TagOid)
                {
                    (curve, size) = OidText(curveOid) switch
                    {
                        "1.2.840.10045.3.1.7" => ("nistp256", 256),
                        "1.3.132.0.34" => ("nistp384", 384),
                        "1.3.132.0.35" => ("nistp521", (int?)521),
                        "1.3.132.0.10" => ("secp256k1", 256),
                        "1.3.36.3.3.2.8.1.1.7" => ("brainpoolP256r1", 256),
                        "1.3.36.3.3.2.8.1.1.11" => ("brainpoolP384r1", 384),
                        "1.3.36.3.3.2.8.1.1.13" => ("brainpoolP512r1", 512),
                        var other => (other, null),
                    };
                }

                break;
            case "1.3.101.112": // RFC 8410
                algorithm = "Ed25519";
                size = 256;
                break;
            case "1.3.101.113":
                algorithm = "Ed448";
                size = 456;
                break;
            case "1.2.840.10040.4.1": // DSA: Dss-Parms ::= SEQUENCE { p, q, g } (RFC 3279 §2.3.2)
                algorithm = "DSA";
                if (TryReadTlv(ref algId, out tag, out var parms) && tag == TagSequence && TryReadTlv(ref parms, out tag, out var p) && tag == TagInteger)
                {
                    size = IntegerBits(p);
                }

                break;
            default:
                algorithm = dotted;
                break;
        }

        return true;
    }

    private static int IntegerBits(ReadOnlySpan<byte> integer)
    {
        var i = 0;
        while (i < integer.Length && integer[i] == 0)
        {
            i++;
        }

        return i == integer.Length ? 0 : ((integer.Length - i - 1) * 8) + (32 - System.Numerics.BitOperations.LeadingZeroCount((uint)integer[i]));
    }

    /// <summary>Dotted text of a DER OID (X.690 §8.19); "?" when malformed.</summary>
    internal static string OidText(ReadOnlySpan<byte> oid)
    {
        if (oid.IsEmpty || oid.Length > 64)
        {
            return "?";
        }

        var sb = new StringBuilder(oid.Length * 3);
        ulong value = 0;
        var first = true;
        for (var i = 0; i < oid.Length; i++)
        {
            if (value > (ulong.MaxValue >> 7))
            {
                return "?";
            }

            value = (value << 7) | (uint)(oid[i] & 0x7F);
            if ((oid[i] & 0x80) != 0)
            {
                continue;
            }

            if (first)
            {
                var arc1 = value < 40 ? 0UL : value < 80 ? 1UL : 2UL;
                sb.Append(arc1).Append('.').Append(value - (arc1 * 40));
                first = false;
            }
            else
            {
                sb.Append('.').Append(value);
            }

            value = 0;
        }

        return (oid[^1] & 0x80) != 0 ? "?" : sb.ToString();
    }

    // Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET OF AttributeTypeAndValue (RFC 5280 §4.1.2.4).
    // Formatted as .NET formats X500DistinguishedName.Name: RDNs in reverse order joined by ", ", multi-valued RDNs
    // joined by " + ", short names for the usual attributes, OID.x.y.z otherwise, quoted when a value holds a
    // special character.
    private static bool TryFormatName(ReadOnlySpan<byte> name, out string text)
    {
        text = "";
        Span<Range> rdns = stackalloc Range[32];
        var count = 0;
        var whole = name;
        while (!name.IsEmpty)
        {
            var start = whole.Length - name.Length;
            if (!TryReadTlv(ref name, out var tag, out _) || tag != TagSet || count == rdns.Length)
            {
                return false;
            }

            rdns[count++] = new Range(start, whole.Length - name.Length);
        }

        var sb = new StringBuilder(64);
        for (var i = count - 1; i >= 0; i--)
        {
            var rdn = whole[rdns[i]];
            TryReadTlv(ref rdn, out _, out var set);
            var firstAttribute = true;
            while (!set.IsEmpty)
            {
                if (!TryReadTlv(ref set, out var tag, out var atv) || tag != TagSequence
                    || !TryReadTlv(ref atv, out tag, out var oid) || tag != TagOid)
                {
                    return false;
                }

                var valueTlv = atv;
                if (!TryReadTlv(ref atv, out var valueTag, out var value))
                {
                    return false;
                }

                if (sb.Length > 0)
                {
                    sb.Append(firstAttribute ? ", " : " + ");
                }

                firstAttribute = false;
                sb.Append(AttributeName(OidText(oid))).Append('=');
                AppendValue(sb, valueTag, value, valueTlv[..(valueTlv.Length - atv.Length)]);
            }
        }

        text = sb.ToString();
        return true;
    }

    private static string AttributeName(string oid) => oid switch
    {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "S",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "2.5.4.42" => "G",
        "2.5.4.43" => "I",
        "1.2.840.113549.1.9.1" => "E",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => "OID." + oid,
    };

    private static void AppendValue(StringBuilder sb, byte tag, ReadOnlySpan<byte> value, ReadOnlySpan<byte> tlv)
    {
        string? s = tag switch
        {
            0x0C => Encoding.UTF8.GetString(value),                  // UTF8String
            0x13 or 0x16 or 0x12 => Encoding.ASCII.GetString(value), // PrintableString, IA5String, NumericString
            0x14 => Encoding.Latin1.GetString(value),                // T61String, read as Latin-1 (as most readers do)
            0x1E when value.Length % 2 == 0 => Encoding.BigEndianUnicode.GetString(value), // BMPString
            _ => null,
        };
        if (s is null)
        {
            sb.Append('#').Append(Convert.ToHexString(tlv)); // RFC 4514 §2.4: the DER of a value of another type
            return;
        }

        var quote = s.Length == 0 || s[0] == ' ' || s[^1] == ' ' || s.AsSpan().IndexOfAny(Special) >= 0;
        if (!quote)
        {
            sb.Append(s);
            return;
        }

        sb.Append('"').Append(s.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}
