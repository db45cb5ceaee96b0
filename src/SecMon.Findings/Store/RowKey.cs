namespace SecMon.Findings.Store;

/// <summary>
/// The findings table's integer key (SQLite rowid): the finding's timestamp in microseconds times 2,048 plus a
/// slot taken from a hash of its <c>event.id</c>. Ordering by this key is ordering by time, so "newest first"
/// and a time range are a walk over the table's own B-tree (and over FTS5's rowid-ordered doclists, which
/// can stop at the page size), with no sort. A finding whose preferred key is taken takes a free key of the same
/// microsecond (or, when all 2,048 are taken, of a following one). Microseconds up to 2^52 (year 2112) fit;
/// later or negative times are clamped, which only affects where such a finding sorts.
/// </summary>
internal static class RowKey
{
    /// <summary>Slots per microsecond.</summary>
    public const int Slots = 2048;

    /// <summary>Largest timestamp (microseconds) that keeps its place in the order.</summary>
    public const long MaxMicros = (long.MaxValue / Slots) - 1;

    /// <summary>The first key of <paramref name="micros"/>.</summary>
    public static long Lowest(long micros) => Math.Clamp(micros, 0, MaxMicros) * Slots;

    /// <summary>The last key of <paramref name="micros"/>.</summary>
    public static long Highest(long micros) => Lowest(micros) + (Slots - 1);

    /// <summary>The preferred slot of <paramref name="id"/> (FNV-1a over its UTF-16 code units).</summary>
    public static int Slot(string id)
    {
        var hash = 2166136261u;
        foreach (var c in id)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Slots);
    }

    /// <summary>The preferred key of <paramref name="id"/> at <paramref name="micros"/>.</summary>
    public static long Of(long micros, string id) => Lowest(micros) + Slot(id);

    /// <summary>Encodes a key as an opaque cursor (base64url of its 8 bytes, big-endian).</summary>
    public static string ToCursor(long key)
    {
        Span<byte> bytes = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes, key);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Decodes a cursor made by <see cref="ToCursor"/>.</summary>
    public static bool TryParseCursor(string cursor, out long key)
    {
        key = 0;
        if (cursor.Length != 11)
        {
            return false;
        }

        var b64 = cursor.Replace('-', '+').Replace('_', '/') + "=";
        Span<byte> bytes = stackalloc byte[8];
        if (!Convert.TryFromBase64String(b64, bytes, out var written) || written != 8)
        {
            return false;
        }

        key = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes);
        return true;
    }
}
