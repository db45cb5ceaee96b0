using System.Buffers.Binary;

namespace SecMon.Findings.Store;

/// <summary>
/// Reads a database file's 100-byte header without opening it with SQLite (SQLite file format §1.3), so a
/// file that is not a database, or one from a newer SecMon, is refused before anything could write to it.
/// </summary>
internal readonly record struct SqliteHeader(bool Exists, bool Empty, bool Valid, int UserVersion, int ApplicationId)
{
    private static ReadOnlySpan<byte> Magic => "SQLite format 3\0"u8;

    /// <summary>Reads the header of <paramref name="path"/>.</summary>
    public static SqliteHeader Read(string path)
    {
        if (!File.Exists(path))
        {
            return new(false, false, false, 0, 0);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length == 0)
        {
            return new(true, true, false, 0, 0);
        }

        Span<byte> header = stackalloc byte[100];
        var read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < header.Length || !header[..16].SequenceEqual(Magic))
        {
            return new(true, false, false, 0, 0);
        }

        // §1.3.14 user version at offset 60, §1.3.15 application id at offset 68, both big-endian.
        return new(true, false, true,
            BinaryPrimitives.ReadInt32BigEndian(header[60..]),
            BinaryPrimitives.ReadInt32BigEndian(header[68..]));
    }
}
