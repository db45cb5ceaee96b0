using System.Buffers.Binary;
using System.Numerics;
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
        slot = Hash(text) & (Slots - 1);
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

    /// <summary>A list of <paramref name="n"/> times <paramref name="name"/> (the owners of answers that all point at the
    /// question): for one or two, the one kept with the name at <paramref name="slot"/>, else a new one. Never written once
    /// handed out.</summary>
    public static string[] Run(string? name, int slot, int n)
    {
        var entries = t_entries;
        if (name is null || n is < 1 or > 2 || entries is null || (uint)slot >= (uint)entries.Length || !ReferenceEquals(entries[slot].Name, name))
        {
            var run = new string[n];
            Array.Fill(run, name);
            return run!;
        }

        ref var e = ref entries[slot];
        return n == 1 ? e.Run1 ??= [name] : e.Run2 ??= [name, name];
    }

    // A multiplicative hash of the text, 8 bytes at a time (names are short; a collision costs only a miss).
    private static int Hash(ReadOnlySpan<byte> text)
    {
        var h = (ulong)text.Length * 0x9E3779B97F4A7C15UL;
        while (text.Length >= 8)
        {
            h = BitOperations.RotateLeft((h ^ BinaryPrimitives.ReadUInt64LittleEndian(text)) * 0x100000001B3UL, 29);
            text = text[8..];
        }

        ulong tail = 0;
        for (var i = 0; i < text.Length; i++)
        {
            tail |= (ulong)text[i] << (8 * i);
        }

        h = (h ^ tail) * 0x9E3779B97F4A7C15UL;
        return (int)(h >> 32);
    }

    private struct Entry
    {
        public string? Name;
        public DnsNameParts Parts;
        public bool HasParts;
        public string[]? Run1;
        public string[]? Run2;
    }
}
