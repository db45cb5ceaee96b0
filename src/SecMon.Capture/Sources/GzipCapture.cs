using System.IO.Compression;
using System.IO.Pipes;

namespace SecMon.Capture.Sources;

/// <summary>
/// A gzip-compressed capture (tcpdump -z gzip, Wireshark's "compress with gzip", rotated *.pcap.gz files) handed to
/// libpcap, which reads only uncompressed files, through a pipe: a worker thread decompresses the file into the
/// pipe's write end and libpcap opens the read end by its /proc/self/fd path, so packets stream through without
/// a temporary file and memory stays at the pipe's buffer. Concatenated gzip members are read as one stream.
/// Compressed data the inflater rejects ends the pipe early; <see cref="Error"/> then says so, and the reader reports
/// the file as damaged even when the damage fell between two packet records. A stream merely cut short is not an
/// error to .NET's GZipStream (it does not insist on the trailer): libpcap then sees a truncated record, or, when the
/// cut fell exactly between two records, the end of the file.
/// </summary>
internal sealed class GzipCapture : IDisposable
{
    private static readonly byte[] Magic = [0x1F, 0x8B];

    private readonly AnonymousPipeServerStream _pipe;
    private readonly Thread _worker;
    private readonly string _path;
    private volatile string? _error;

    private GzipCapture(string path)
    {
        _path = path;
        _pipe = new AnonymousPipeServerStream(PipeDirection.Out, HandleInheritability.None);
        ReaderPath = $"/proc/self/fd/{_pipe.ClientSafePipeHandle.DangerousGetHandle()}";
        _worker = new Thread(Decompress) { IsBackground = true, Name = "secmon-gunzip" };
    }

    /// <summary>The path libpcap opens: the pipe's read end.</summary>
    public string ReaderPath { get; }

    /// <summary>Why the decompressed stream ended early (damaged compressed data, a read error); null while it has
    /// not, or when it ended cleanly. Read after <see cref="WaitForEnd"/>.</summary>
    public string? Error => _error;

    /// <summary>True when <paramref name="path"/> should be read as gzip: its name ends in .gz, or it is a regular
    /// file that starts with gzip's magic bytes (a named pipe is never peeked at: that would consume its bytes).</summary>
    public static bool IsGzip(string path)
    {
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return StartsWithMagic(path);
    }

    private static bool StartsWithMagic(string path)
    {
        try
        {
            if (new FileInfo(path).Length < Magic.Length)
            {
                return false; // empty, or a named pipe (its length is 0): opening one would wait for its writer
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // libpcap's own open reports what is wrong with the file
        }

        Span<byte> head = stackalloc byte[2];
        return FileHead.Read(path, head).SequenceEqual(Magic);
    }

    /// <summary>The decompressed size for progress: gzip's trailer (ISIZE, RFC 1952 §2.3.1) holds the last member's
    /// size modulo 4 GiB, right for the usual single-member file under 4 GiB; when it is clearly wrapped (smaller than
    /// the compressed file), a guess of four times the compressed size.</summary>
    public static long EstimatedSize(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            if (file.Length < 18)
            {
                return file.Length;
            }

            file.Seek(-4, SeekOrigin.End);
            Span<byte> trailer = stackalloc byte[4];
            file.ReadExactly(trailer);
            var size = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer);
            return size >= file.Length ? size : file.Length * 4;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return 0;
        }
    }

    /// <summary>Starts decompressing <paramref name="path"/> into the pipe.</summary>
    public static GzipCapture Start(string path)
    {
        var capture = new GzipCapture(path);
        capture._worker.Start();
        return capture;
    }

    /// <summary>Closes this process's copy of the read end once libpcap opened its own, so that the worker's writes
    /// fail (and it stops) when libpcap closes the file before its end.</summary>
    public void ReaderOpened() => _pipe.DisposeLocalCopyOfClientHandle();

    /// <summary>Waits until the worker has written everything it will write (the reader saw the end of the pipe).</summary>
    public void WaitForEnd() => _worker.Join(TimeSpan.FromSeconds(5));

    /// <inheritdoc />
    public void Dispose()
    {
        _pipe.Dispose();
        _worker.Join(TimeSpan.FromSeconds(5));
    }

    private bool TryWrite(ReadOnlySpan<byte> data)
    {
        try
        {
            _pipe.Write(data);
            return true;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            return false;
        }
    }

    private void Decompress()
    {
        long written = 0;
        try
        {
            using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            // 16 KB of output per read: the inflater throws away what a read decoded when it meets a damaged block, so
            // smaller reads hand over more of the packets before the damage.
            var buffer = new byte[1 << 14];
            int n;
            while ((n = gzip.Read(buffer)) > 0)
            {
                if (!TryWrite(buffer.AsSpan(0, n)))
                {
                    return; // the reader closed the pipe before the end (stopped or cancelled): nothing more is wanted
                }

                written += n;
            }

            if (written == 0)
            {
                _error = "the gzip stream holds no data";
            }
        }
        catch (InvalidDataException ex)
        {
            _error = !StartsWithMagic(_path)
                ? "not gzip data (a .gz name, but not gzip's magic bytes)"
                : $"gzip data damaged after {written:N0} decompressed bytes ({ex.Message.TrimEnd('.')})";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _error = $"cannot read the gzip file after {written:N0} decompressed bytes ({ex.Message.TrimEnd('.')})";
        }
        finally
        {
            try
            {
                _pipe.Dispose();
            }
            catch (IOException)
            {
                // The read end is already closed.
            }
        }
    }
}
