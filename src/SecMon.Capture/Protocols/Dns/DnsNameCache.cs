using System.Text;

namespace SecMon.Capture.Protocols.Dns;

/// <summary>
/// Question names already turned into strings, with their parts (<see cref="DnsNames.Split"/>) once computed, shared by
/// every DNS flow the thread dissects: a network asks for the same names again and again, and an answer repeats its
/// query's question, so most messages cost no name string and no split. Keyed by the name's presentation form (exact
/// bytes: a name sent with other letter cases is another entry, since events report names as sent). Direct-mapped and
/// bounded (<see cref="Slots"/> entries per thread); a thread's own table, so engines on other threads (tests run several
/// at once) never share one unlocked.
/// </summary>
internal static class DnsNameCache
{
    /// <summary>Entries per thread (a power of two).</summary>
    public const int Slots = 4096;

    [ThreadStatic]
    private static Entry[]? t_entries;

    /// <summary>The string of <paramref name="text"/> (ASCII presentation form); <paramref name="slot"/> says where it is
    /// kept, for <see cref="Parts"/>.</summary>
    public static string Name(ReadOnlySpan<byte> text, out int slot)
    {
        var entries = t_entries ??= new Entry[Slots];
        var hash = new HashCode();
        hash.AddBytes(text);
        slot = hash.ToHashCode() & (Slots - 1);
        ref var e = ref entries[slot];
        if (e.Name is { } known && Ascii.Equals(text, known))
        {
            return known;
        }

        var name = Encoding.ASCII.GetString(text);
        e = new Entry { Name = name };
        return name;
    }

    /// <summary>The parts of <paramref name="name"/>, computed once while it stays at <paramref name="slot"/> (the slot
    /// <see cref="Name"/> gave it; any other name's parts are computed each time).</summary>
    public static DnsNameParts Parts(string name, int slot)
    {
        var entries = t_entries;
        if (entries is null || (uint)slot >= (uint)entries.Length || !ReferenceEquals(entries[slot].Name, name))
        {
            return DnsNames.Split(name);
        }

        ref var e = ref entries[slot];
        if (!e.HasParts)
        {
            e.Parts = DnsNames.Split(name);
            e.HasParts = true;
        }

        return e.Parts;
    }

    private struct Entry
    {
        public string? Name;
        public DnsNameParts Parts;
        public bool HasParts;
    }
}
