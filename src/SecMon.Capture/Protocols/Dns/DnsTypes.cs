using System.Globalization;

namespace SecMon.Capture.Protocols.Dns;

/// <summary>Record types, classes, opcodes and response codes by their IANA names (DNS parameters registry), as ECS
/// and dig write them; an unnamed value is written in RFC 3597's generic form (<c>TYPE65280</c>, <c>CLASS7</c>).</summary>
internal static class DnsTypes
{
    public const ushort A = 1;
    public const ushort Ns = 2;
    public const ushort Cname = 5;
    public const ushort Soa = 6;
    public const ushort Null = 10;
    public const ushort Ptr = 12;
    public const ushort Mx = 15;
    public const ushort Txt = 16;
    public const ushort Aaaa = 28;
    public const ushort Srv = 33;
    public const ushort Opt = 41;

    private static readonly string[] Small = BuildSmall();

    private static string[] BuildSmall()
    {
        var names = new string[256];
        (int, string)[] known =
        [
            (1, "A"), (2, "NS"), (5, "CNAME"), (6, "SOA"), (10, "NULL"), (12, "PTR"), (13, "HINFO"), (15, "MX"), (16, "TXT"),
            (17, "RP"), (18, "AFSDB"), (24, "SIG"), (25, "KEY"), (28, "AAAA"), (29, "LOC"), (33, "SRV"), (35, "NAPTR"),
            (36, "KX"), (37, "CERT"), (39, "DNAME"), (41, "OPT"), (42, "APL"), (43, "DS"), (44, "SSHFP"), (45, "IPSECKEY"),
            (46, "RRSIG"), (47, "NSEC"), (48, "DNSKEY"), (49, "DHCID"), (50, "NSEC3"), (51, "NSEC3PARAM"), (52, "TLSA"),
            (53, "SMIMEA"), (55, "HIP"), (59, "CDS"), (60, "CDNSKEY"), (61, "OPENPGPKEY"), (62, "CSYNC"), (63, "ZONEMD"),
            (64, "SVCB"), (65, "HTTPS"), (99, "SPF"), (249, "TKEY"), (250, "TSIG"), (251, "IXFR"), (252, "AXFR"),
            (253, "MAILB"), (254, "MAILA"), (255, "ANY"),
        ];
        foreach (var (value, name) in known)
        {
            names[value] = name;
        }

        for (var i = 0; i < names.Length; i++)
        {
            names[i] ??= "TYPE" + i.ToString(CultureInfo.InvariantCulture);
        }

        return names;
    }

    /// <summary>The record type's name (<c>A</c>, <c>TXT</c>, <c>TYPE65280</c>).</summary>
    public static string Name(ushort type) => type switch
    {
        < 256 => Small[type],
        256 => "URI",
        257 => "CAA",
        _ => "TYPE" + type.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The class's name (<c>IN</c>); <paramref name="mdns"/> strips the top bit first (RFC 6762 §10.2 cache-flush,
    /// §5.4 unicast-response).</summary>
    public static string ClassName(ushort @class, bool mdns)
    {
        if (mdns)
        {
            @class &= 0x7FFF;
        }

        return @class switch
        {
            1 => "IN",
            3 => "CH",
            4 => "HS",
            254 => "NONE",
            255 => "ANY",
            _ => "CLASS" + @class.ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The opcode's name (RFC 1035, 1996, 2136, 8490).</summary>
    public static string OpCode(int opcode) => opcode switch
    {
        0 => "QUERY",
        1 => "IQUERY",
        2 => "STATUS",
        4 => "NOTIFY",
        5 => "UPDATE",
        6 => "DSO",
        _ => opcode.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The response code's name (RFC 1035, 2136, 6891).</summary>
    public static string ResponseCode(int rcode) => rcode switch
    {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        23 => "BADCOOKIE",
        _ => rcode.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The opcodes a probe accepts: QUERY, IQUERY, STATUS, NOTIFY, UPDATE.</summary>
    public static bool IsKnownOpCode(int opcode) => opcode is 0 or 1 or 2 or 4 or 5;
}
