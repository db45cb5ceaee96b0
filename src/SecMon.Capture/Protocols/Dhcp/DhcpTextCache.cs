namespace SecMon.Capture.Protocols.Dhcp;

/// <summary>
/// The strings of one run's DHCP option values that repeat (vendor classes, parameter request lists, host names,
/// MACs, server addresses): a small direct-mapped cache keyed by the bytes, so the common message allocates its event
/// and little else. A miss replaces the slot (bounded: <see cref="Slots"/> entries of at most 255 bytes each). Used by
/// the capture thread only.
/// </summary>
internal sealed class DhcpTextCache
{
    /// <summary>Entries per kind of value.</summary>
    public const int Slots = 256;

    private readonly Entry?[] _entries = new Entry?[Slots * 4];

    /// <summary>What a cached value is (the same bytes mean different text for each).</summary>
    public enum Kind
    {
        /// <summary>Host name or vendor class (UTF-8 text).</summary>
        Text,
        /// <summary>Parameter request list (fingerprint and codes).</summary>
        Fingerprint,
        /// <summary>A MAC or a client id (hex).</summary>
        Hex,
        /// <summary>An IPv4 address.</summary>
        Address,
    }

    /// <summary>The cached value of <paramref name="bytes"/> of <paramref name="kind"/>, or null (then call <see cref="Add"/>).</summary>
    public Entry? Find(Kind kind, ReadOnlySpan<byte> bytes)
    {
        var e = _entries[Index(kind, bytes)];
        return e is not null && bytes.SequenceEqual(e.Bytes) ? e : null;
    }

    /// <summary>Remembers <paramref name="text"/> (and <paramref name="codes"/>) for <paramref name="bytes"/>.</summary>
    public Entry Add(Kind kind, ReadOnlySpan<byte> bytes, string text, IReadOnlyList<long>? codes = null)
    {
        var e = new Entry(bytes.ToArray(), text, codes);
        _entries[Index(kind, bytes)] = e;
        return e;
    }

    private static int Index(Kind kind, ReadOnlySpan<byte> bytes)
    {
        // FNV-1a; not a security boundary: a collision only costs a miss.
        var h = 2166136261u;
        foreach (var b in bytes)
        {
            h = (h ^ b) * 16777619u;
        }

        return ((int)kind * Slots) + (int)(h & (Slots - 1));
    }

    /// <summary>One cached value.</summary>
    public sealed record Entry(byte[] Bytes, string Text, IReadOnlyList<long>? Codes);
}
