namespace SecMon.Capture.Protocols.Dns;

/// <summary>What the tunnelling rules read from a question name, computed once on the event.</summary>
/// <param name="RegisteredDomain">The registered domain, lower case (<c>example.co.uk</c>); the name itself when it has one
/// label (<c>wpad</c>); null for the root.</param>
/// <param name="Subdomain">What is left of the registered domain, lower case, without the dot; null when nothing is.</param>
/// <param name="TopLevelDomain">The public suffix (<c>com</c>, <c>co.uk</c>); null for a one-label name.</param>
/// <param name="SubdomainLength">Characters of <paramref name="Subdomain"/> (0 when there is none).</param>
/// <param name="SubdomainEntropy">Shannon entropy of the subdomain's characters (dots excluded), in hundredths of a bit
/// per character (352 = 3.52 bits); 0 when there is no subdomain.</param>
internal readonly record struct DnsNameParts(string? RegisteredDomain, string? Subdomain, string? TopLevelDomain, int SubdomainLength, int SubdomainEntropy);

/// <summary>
/// Splits a name into subdomain, registered domain and public suffix by a simple rule: the registered domain is the last
/// two labels, or the last three when the last two are one of a small built-in list of common multi-part public
/// suffixes (<c>co.uk</c>, <c>com.au</c>...). This is not the Public Suffix List (which SecMon does not download): a
/// name under a suffix not listed (<c>pvt.k12.ma.us</c>, private suffixes such as <c>github.io</c>) gets a registered
/// domain one level too short.
/// </summary>
internal static class DnsNames
{
    /// <summary>The multi-part public suffixes known (second-level registries of common country codes).</summary>
    internal static readonly HashSet<string> MultiPartSuffixes = new(StringComparer.Ordinal)
    {
        "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "ac.uk", "gov.uk", "nhs.uk", "police.uk", "sch.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au", "id.au", "asn.au",
        "co.nz", "net.nz", "org.nz", "govt.nz", "ac.nz",
        "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "ad.jp", "ed.jp", "gr.jp", "lg.jp",
        "co.kr", "or.kr", "ne.kr", "go.kr", "ac.kr",
        "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn",
        "com.hk", "net.hk", "org.hk", "gov.hk", "edu.hk",
        "com.tw", "net.tw", "org.tw", "gov.tw", "edu.tw",
        "com.sg", "net.sg", "org.sg", "gov.sg", "edu.sg",
        "co.in", "net.in", "org.in", "gov.in", "ac.in", "firm.in", "gen.in", "ind.in",
        "co.za", "org.za", "net.za", "gov.za", "ac.za", "web.za",
        "com.br", "net.br", "org.br", "gov.br", "edu.br",
        "com.mx", "net.mx", "org.mx", "gob.mx", "edu.mx",
        "com.ar", "net.ar", "org.ar", "gob.ar",
        "com.tr", "net.tr", "org.tr", "gov.tr", "edu.tr",
        "co.il", "org.il", "net.il", "ac.il", "gov.il",
        "com.ru", "net.ru", "org.ru",
        "com.ua", "net.ua", "org.ua", "gov.ua",
        "com.pl", "net.pl", "org.pl",
        "co.id", "or.id", "ac.id", "go.id", "web.id",
        "com.my", "net.my", "org.my", "gov.my",
        "com.ph", "net.ph", "org.ph", "gov.ph",
        "com.vn", "net.vn", "org.vn", "gov.vn",
        "co.th", "in.th", "or.th", "ac.th", "go.th",
        "com.sa", "net.sa", "org.sa", "gov.sa",
        "com.eg", "com.ng", "com.pk", "com.co", "com.pe", "com.ve", "com.ec", "com.uy",
        "co.ke", "or.ke", "co.tz", "co.ug",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> SuffixLookup = MultiPartSuffixes.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Splits <paramref name="name"/> (presentation form, no trailing dot but for the root <c>.</c>).</summary>
    public static DnsNameParts Split(string name)
    {
        if (name.Length == 0 || name == ".")
        {
            return default;
        }

        var lower = name.AsSpan().ContainsAnyInRange('A', 'Z') ? name.ToLowerInvariant() : name;
        var last = LabelStart(lower, lower.Length);
        if (last == 0)
        {
            return new DnsNameParts(lower, null, null, 0, 0);
        }

        var secondLast = LabelStart(lower, last - 1);
        var suffixStart = last;
        var multiPart = SuffixLookup.Contains(lower.AsSpan(secondLast));
        if (multiPart && secondLast > 0)
        {
            suffixStart = secondLast;
            secondLast = LabelStart(lower, secondLast - 1);
        }
        else if (multiPart)
        {
            // The name is itself a public suffix (co.uk): no registered domain under it.
            return new DnsNameParts(null, null, lower, 0, 0);
        }

        var registered = lower[secondLast..];
        var tld = lower[suffixStart..];
        if (secondLast == 0)
        {
            return new DnsNameParts(registered, null, tld, 0, 0);
        }

        var sub = lower[..(secondLast - 1)];
        return new DnsNameParts(registered, sub, tld, sub.Length, Entropy(sub));
    }

    // The index where the label ending before `end` starts (labels are separated by unescaped dots).
    private static int LabelStart(string name, int end)
    {
        for (var i = end - 1; i >= 0; i--)
        {
            if (name[i] == '.' && !Escaped(name, i))
            {
                return i + 1;
            }
        }

        return 0;
    }

    // True when the character at i is escaped by an odd run of backslashes before it.
    private static bool Escaped(string name, int i)
    {
        var n = 0;
        for (var j = i - 1; j >= 0 && name[j] == '\\'; j--)
        {
            n++;
        }

        return (n & 1) == 1;
    }

    /// <summary>Shannon entropy of <paramref name="s"/>'s characters other than dots, in hundredths of a bit per
    /// character, rounded. Linear in the length, no allocation (names are ASCII: other characters share one bucket).</summary>
    public static int Entropy(ReadOnlySpan<char> s)
    {
        Span<int> counts = stackalloc int[128];
        counts.Clear();
        var total = 0;
        foreach (var c in s)
        {
            if (c == '.')
            {
                continue;
            }

            counts[c < 128 ? c : 127]++;
            total++;
        }

        if (total == 0)
        {
            return 0;
        }

        var h = 0.0;
        foreach (var n in counts)
        {
            if (n > 0)
            {
                var p = (double)n / total;
                h -= p * Math.Log2(p);
            }
        }

        return (int)Math.Round(h * 100, MidpointRounding.AwayFromZero);
    }
}
