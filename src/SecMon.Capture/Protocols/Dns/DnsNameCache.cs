using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace SecMon.Capture.Protocols.Dns;

/// <summary>
/// A name as decoded once: its presentation form, its label measures and (made on first read) its parts. Shared by every
/// event that carries the name, so an event holds one reference where it held the name, two label counts and the parts
/// (56 bytes less per event). Never changed once handed out, but for <see cref="Parts"/> and the owner runs, each
/// made once and published whole (a reference), so a reader on another thread sees either nothing yet or all of it.
/// </summary>
internal sealed class DnsName
{
    private PartsBox? _parts;
    private string[]? _run1;
    private string[]? _run2;

    /// <summary>Creates the entry of <paramref name="text"/>, whose wire form has <paramref name="labelCount"/> labels,
    /// the longest <paramref name="longestLabel"/> bytes.</summary>
    public DnsName(string text, int hash, int labelCount, int longestLabel)
    {
        Text = text;
        Hash = hash;
        LabelCount = labelCount;
        LongestLabel = longestLabel;
    }

    /// <summary>Presentation form (RFC 1035 §5.1 escapes), as sent.</summary>
    public string Text { get; }

    /// <summary>The cache's hash of <see cref="Text"/>'s bytes.</summary>
    public int Hash { get; }

    /// <summary>Labels (0 for the root).</summary>
    public int LabelCount { get; }

    /// <summary>Longest label, bytes.</summary>
    public int LongestLabel { get; }

    /// <summary>Registered domain, subdomain, suffix and the subdomain's measures (<see cref="DnsNames.Split"/>), computed
    /// on first read. The presentation form decides the labels (escapes are unambiguous), so one split serves every
    /// message with this name.</summary>
    public DnsNameParts Parts => (_parts ??= new PartsBox(DnsNames.Split(Text))).Value;

    /// <summary>A list of <paramref name="n"/> times this name (owners of answers that all point at the question): for
    /// one or two the one kept here, else a new one. Never written once handed out.</summary>
    public string[] Run(int n)
    {
        switch (n)
        {
            case 1:
                return _run1 ??= [Text];
            case 2:
                return _run2 ??= [Text, Text];
            default:
                var run = new string[n];
                Array.Fill(run, Text);
                return run;
        }
    }

    private sealed class PartsBox(DnsNameParts value)
    {
        public readonly DnsNameParts Value = value;
    }
}

/// <summary>
/// Names already decoded (<see cref="DnsName"/>), shared by every DNS flow the thread dissects: a network asks for the
/// same names again and again, and an answer repeats its query's question, so most messages cost no name string and no
/// split. Keyed by the name's presentation form (exact bytes: a name sent with other letter cases is another entry, since
/// events report names as sent). Two-way set-associative, the most recently used of a set first, and bounded
/// (<see cref="Slots"/> entries per thread: 64 KiB of references plus the names); a direct-mapped table of 4,096 lost
/// about a third of its look-ups to collisions with 4,000 names in use. A thread's own table, so engines on other
/// threads (tests run several at once) never share one unlocked.
/// </summary>
internal static class DnsNameCache
{
    /// <summary>Entries per thread (a power of two; two per set).</summary>
    public const int Slots = 8192;

    [ThreadStatic]
    private static DnsName?[]? t_entries;

    /// <summary>The entry of <paramref name="text"/> (ASCII presentation form) whose wire form <paramref name="info"/>
    /// measured.</summary>
    public static DnsName Name(ReadOnlySpan<byte> text, in DnsNameInfo info)
    {
        var entries = t_entries ??= new DnsName?[Slots];
        var hash = Hash(text);
        var set = (hash & ((Slots / 2) - 1)) * 2;
        var first = entries[set];
        if (first is not null && first.Hash == hash && Ascii.Equals(text, first.Text))
        {
            return first;
        }

        var second = entries[set + 1];
        if (second is not null && second.Hash == hash && Ascii.Equals(text, second.Text))
        {
            entries[set + 1] = first;
            entries[set] = second;
            return second;
        }

        var name = new DnsName(Encoding.ASCII.GetString(text), hash, info.LabelCount, info.LongestLabel);
        entries[set + 1] = first;
        entries[set] = name;
        return name;
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
}
