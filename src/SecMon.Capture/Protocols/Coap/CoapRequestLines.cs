namespace SecMon.Capture.Protocols.Coap;

/// <summary>
/// Request lines (method and URI) already built, shared by every CoAP flow the thread dissects: devices are asked for
/// the same few resources again and again, and devices of one kind expose the same paths, so most requests cost no
/// string. Keyed by the bytes that decide a line (the code, then number, length and value of each Uri-Host, Uri-Port,
/// Uri-Path, Uri-Query and Proxy-Uri option, in order) and the character bound the line was cut at. Direct-mapped and
/// bounded (<see cref="Slots"/> entries per thread); a key longer than <see cref="MaxKey"/> bytes is never stored. A
/// thread's own table, so sessions of engines on other threads (tests run several at once) never share one unlocked.
/// </summary>
internal static class CoapRequestLines
{
    /// <summary>Entries per thread (a power of two).</summary>
    public const int Slots = 1024;

    /// <summary>Longest key remembered, bytes.</summary>
    public const int MaxKey = 128;

    [ThreadStatic]
    private static Entry[]? t_entries;

    /// <summary>The line stored for <paramref name="key"/> and <paramref name="maxChars"/>, or null; <paramref name="slot"/> is
    /// where <see cref="Store"/> puts a line built for it.</summary>
    public static CoapRequestLine? Find(ReadOnlySpan<byte> key, int maxChars, out int slot)
    {
        var entries = t_entries ??= new Entry[Slots];
        var hash = new HashCode();
        hash.AddBytes(key);
        slot = hash.ToHashCode() & (Slots - 1);
        ref var e = ref entries[slot];
        return e.MaxChars == maxChars && e.Key is { } k && key.SequenceEqual(k) ? e.Line : null;
    }

    /// <summary>Remembers <paramref name="line"/> at the slot <see cref="Find"/> gave, replacing what was there.</summary>
    public static void Store(int slot, ReadOnlySpan<byte> key, int maxChars, CoapRequestLine line)
    {
        var entries = t_entries ??= new Entry[Slots];
        entries[slot] = new Entry(key.ToArray(), maxChars, line);
    }

    private readonly record struct Entry(byte[]? Key, int MaxChars, CoapRequestLine? Line);
}
