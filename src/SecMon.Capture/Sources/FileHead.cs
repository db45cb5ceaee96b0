namespace SecMon.Capture.Sources;

/// <summary>The first bytes of a capture file, read to tell its format, never from a pipe (stdin, a named pipe behind a
/// link): reading would consume bytes that libpcap must read.</summary>
internal static class FileHead
{
    /// <summary>Opens <paramref name="path"/> for reading when it is a regular (seekable) file; null otherwise, or when
    /// it cannot be opened (libpcap's own open then says what is wrong).</summary>
    public static FileStream? OpenSeekable(string path, int bufferSize = 1)
    {
        FileStream? file = null;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize);
            if (file.CanSeek)
            {
                return file;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        file?.Dispose();
        return null;
    }

    /// <summary>Reads up to <paramref name="head"/>'s length of bytes from the start of a regular file: the bytes read
    /// (none for a pipe, or a file that cannot be read).</summary>
    public static ReadOnlySpan<byte> Read(string path, Span<byte> head)
    {
        using var file = OpenSeekable(path);
        try
        {
            return file is null ? [] : head[..file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)];
        }
        catch (IOException)
        {
            return [];
        }
    }
}
