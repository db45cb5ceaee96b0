namespace SecMon.Capture.Protocols.Dns;

/// <summary>
/// The per-answer lists of a response event (<c>dns.answer.type</c>, <c>.class</c>, <c>.ttl</c>), shared when they
/// repeat one value, as the records of one RRset do (RFC 2181 §5.2: one type, one class, one TTL): two A records of class
/// IN take the same <c>["A", "A"]</c> and <c>["IN", "IN"]</c> every time. Shared lists are never written after they are
/// built (events expose them read-only, as the header flag sets).
/// </summary>
internal static class DnsAnswerLists
{
    // Runs of up to MaxRun equal values are shared.
    private const int MaxRun = 8;
    private const int TtlSlots = 256;

    private static readonly string[]?[] TypeRuns = new string[256 * (MaxRun + 1)][];
    private static readonly string[]?[] InRuns = new string[MaxRun + 1][];

    [ThreadStatic]
    private static TtlRun[]? t_ttlRuns;

    /// <summary>The type names of <paramref name="types"/>.</summary>
    public static string[] Types(ReadOnlySpan<ushort> types)
    {
        if (types.Length is > 0 and <= MaxRun && types[0] < 256 && AllEqual(types))
        {
            // A benign race: two threads may each build the run; either is right and neither is ever written again.
            ref var run = ref TypeRuns[(types[0] * (MaxRun + 1)) + types.Length];
            return run ??= Repeat(DnsTypes.Name(types[0]), types.Length);
        }

        var names = new string[types.Length];
        for (var i = 0; i < types.Length; i++)
        {
            names[i] = DnsTypes.Name(types[i]);
        }

        return names;
    }

    /// <summary>The class names of <paramref name="classes"/> (mDNS's top bit already cleared).</summary>
    public static string[] Classes(ReadOnlySpan<ushort> classes)
    {
        if (classes.Length is > 0 and <= MaxRun && classes[0] == 1 && AllEqual(classes))
        {
            ref var run = ref InRuns[classes.Length];
            return run ??= Repeat("IN", classes.Length);
        }

        var names = new string[classes.Length];
        for (var i = 0; i < classes.Length; i++)
        {
            names[i] = DnsTypes.ClassName(classes[i], mdns: false);
        }

        return names;
    }

    /// <summary>The TTLs of <paramref name="ttls"/>.</summary>
    public static long[] Ttls(ReadOnlySpan<uint> ttls)
    {
        if (ttls.Length is > 0 and <= MaxRun && AllEqual(ttls))
        {
            // A thread's own direct-mapped table of recent runs (TTLs vary more than types).
            var runs = t_ttlRuns ??= new TtlRun[TtlSlots];
            ref var run = ref runs[((int)(unchecked(ttls[0] * 0x9E3779B1u) >> 24) ^ ttls.Length) & (TtlSlots - 1)];
            if (run.Values is { } known && known.Length == ttls.Length && known[0] == ttls[0])
            {
                return known;
            }

            var values = new long[ttls.Length];
            Array.Fill(values, ttls[0]);
            run = new TtlRun(values);
            return values;
        }

        var list = new long[ttls.Length];
        for (var i = 0; i < ttls.Length; i++)
        {
            list[i] = ttls[i];
        }

        return list;
    }

    /// <summary>The data of the A and AAAA answers among <paramref name="data"/>, in order.</summary>
    public static string[] Addresses(string[] data, ReadOnlySpan<ushort> types, int count)
    {
        var list = new string[count];
        var n = 0;
        for (var i = 0; i < types.Length && n < count; i++)
        {
            if (types[i] is DnsTypes.A or DnsTypes.Aaaa)
            {
                list[n++] = data[i];
            }
        }

        return list;
    }

    private static bool AllEqual<T>(ReadOnlySpan<T> values) where T : IEquatable<T>
    {
        for (var i = 1; i < values.Length; i++)
        {
            if (!values[i].Equals(values[0]))
            {
                return false;
            }
        }

        return true;
    }

    private static string[] Repeat(string value, int n)
    {
        var run = new string[n];
        Array.Fill(run, value);
        return run;
    }

    private readonly record struct TtlRun(long[]? Values);
}
