namespace SecMon.Capture.Protocols.Tls;

/// <summary>Weak properties of a cipher suite, from its IANA number (TLS Cipher Suites registry).</summary>
[Flags]
internal enum CipherWeakness : byte
{
    /// <summary>Nothing known to be weak.</summary>
    None = 0,
    /// <summary>No encryption (<c>_WITH_NULL_</c>, RFC 9150 integrity-only suites).</summary>
    Null = 1,
    /// <summary>Export-grade key exchange or cipher (40/56-bit, RFC 2246 appendix A.5).</summary>
    Export = 2,
    /// <summary>RC4 (prohibited by RFC 7465).</summary>
    Rc4 = 4,
    /// <summary>Triple DES (64-bit block: Sweet32, RFC 8996's deprecations; NIST withdrew it).</summary>
    TripleDes = 8,
    /// <summary>Single DES (56-bit key, removed in TLS 1.2, RFC 5246 §1.2).</summary>
    Des = 16,
    /// <summary>Anonymous key exchange (<c>DH_anon</c>, <c>ECDH_anon</c>): no server authentication, trivially intercepted.</summary>
    Anon = 32,
}

/// <summary>What SecMon knows about cipher suite numbers: weaknesses, PSK key exchange, GREASE.</summary>
internal static class CipherSuites
{
    private static readonly Dictionary<ushort, CipherWeakness> Weak = Build();

    /// <summary>True for a GREASE value (RFC 8701 §2: 0x?A?A with both bytes equal).</summary>
    public static bool IsGrease(ushort value) => (value & 0x0F0F) == 0x0A0A && (value >> 8) == (value & 0xFF);

    /// <summary>The weaknesses of <paramref name="suite"/>.</summary>
    public static CipherWeakness Weakness(int suite) =>
        suite is >= 0 and <= 0xFFFF && Weak.TryGetValue((ushort)suite, out var w) ? w : CipherWeakness.None;

    /// <summary>Names of weakness flags, as the events list them: <c>null</c>, <c>export</c>, <c>rc4</c>, <c>3des</c>,
    /// <c>des</c>, <c>anon</c>.</summary>
    public static IReadOnlyList<string> Names(CipherWeakness w)
    {
        if (w == CipherWeakness.None)
        {
            return [];
        }

        var names = new List<string>(2);
        if ((w & CipherWeakness.Null) != 0) { names.Add("null"); }
        if ((w & CipherWeakness.Export) != 0) { names.Add("export"); }
        if ((w & CipherWeakness.Rc4) != 0) { names.Add("rc4"); }
        if ((w & CipherWeakness.TripleDes) != 0) { names.Add("3des"); }
        if ((w & CipherWeakness.Des) != 0) { names.Add("des"); }
        if ((w & CipherWeakness.Anon) != 0) { names.Add("anon"); }
        return names;
    }

    /// <summary>True when the suite's key exchange uses a pre-shared key (PSK, DHE_PSK, ECDHE_PSK, RSA_PSK: RFC 4279,
    /// 5487, 5489, 6655, 7905, 8442): the client names its key by a PSK identity in its ClientKeyExchange.</summary>
    public static bool IsPsk(int suite) => suite switch
    {
        >= 0x002C and <= 0x002E => true,   // *_PSK_WITH_NULL_SHA (RFC 4785)
        >= 0x008A and <= 0x0095 => true,   // RFC 4279
        >= 0x00A8 and <= 0x00B9 => true,   // RFC 5487
        >= 0xC033 and <= 0xC03B => true,   // ECDHE_PSK (RFC 5489)
        >= 0xC064 and <= 0xC071 => true,   // ARIA PSK (RFC 6209)
        >= 0xC08E and <= 0xC09B => true,   // Camellia PSK (RFC 6367)
        >= 0xC0A4 and <= 0xC0A9 => true,   // PSK/DHE_PSK AES-CCM (RFC 6655)
        >= 0xC0AA and <= 0xC0AB => true,   // PSK_DHE AES-CCM-8 (RFC 6655)
        >= 0xCCAB and <= 0xCCAE => true,   // ChaCha20-Poly1305 PSK (RFC 7905)
        >= 0xD001 and <= 0xD005 => true,   // ECDHE_PSK AES GCM/CCM (RFC 8442)
        _ => false,
    };

    private static Dictionary<ushort, CipherWeakness> Build()
    {
        var d = new Dictionary<ushort, CipherWeakness>();
        void Add(CipherWeakness w, params ushort[] suites)
        {
            foreach (var s in suites)
            {
                d[s] = d.GetValueOrDefault(s) | w;
            }
        }

        Add(CipherWeakness.Null,
            0x0000, 0x0001, 0x0002, 0x002C, 0x002D, 0x002E, 0x003B, 0x00B0, 0x00B1, 0x00B4, 0x00B5, 0x00B8, 0x00B9,
            0xC001, 0xC006, 0xC00B, 0xC010, 0xC015, 0xC039, 0xC03A, 0xC03B, 0xC0B4, 0xC0B5);
        Add(CipherWeakness.Export,
            0x0003, 0x0006, 0x0008, 0x000B, 0x000E, 0x0011, 0x0014, 0x0017, 0x0019, 0x0026, 0x0027, 0x0028, 0x0029,
            0x002A, 0x002B, 0x0060, 0x0061, 0x0062, 0x0063, 0x0064);
        Add(CipherWeakness.Rc4,
            0x0003, 0x0004, 0x0005, 0x0017, 0x0018, 0x0020, 0x0024, 0x0028, 0x002B, 0x0060, 0x0064, 0x0066, 0x008A,
            0x008E, 0x0092, 0xC002, 0xC007, 0xC00C, 0xC011, 0xC016, 0xC033);
        Add(CipherWeakness.TripleDes,
            0x000A, 0x000D, 0x0010, 0x0013, 0x0016, 0x001B, 0x001F, 0x0023, 0x008B, 0x008F, 0x0093, 0xC003, 0xC008,
            0xC00D, 0xC012, 0xC017, 0xC01A, 0xC01B, 0xC01C, 0xC034);
        Add(CipherWeakness.Des,
            0x0009, 0x000C, 0x000F, 0x0012, 0x0015, 0x001A, 0x001E, 0x0022, 0x0062, 0x0063);
        Add(CipherWeakness.Anon,
            0x0000, 0x0017, 0x0018, 0x0019, 0x001A, 0x001B, 0x0034, 0x003A, 0x0046, 0x006C, 0x006D, 0x0089, 0x009B,
            0x00A6, 0x00A7, 0x00BF, 0x00C5, 0xC015, 0xC016, 0xC017, 0xC018, 0xC019, 0xC046, 0xC047, 0xC05A, 0xC05B,
            0xC084, 0xC085);
        return d;
    }
}
