using System.Buffers;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;

namespace SecMon.Findings.Log;

/// <summary>
/// Writes each finding's ECS document as one line of a JSON-lines file (<see cref="FindingsLogOptions"/>), rotating
/// it by size and by time. A local file: written directly by the host's runner, without a spool.
/// </summary>
/// <remarks>
/// What a reader of the file can rely on, whatever fails:
/// <list type="bullet">
/// <item>Every line is a whole document. Rotation happens between lines; a write that fails half-way is cut off
/// again (the file is truncated back to its last whole line before anything else is written), and a file left with a
/// partial last line by a crash is cut back to its last newline when it is opened.</item>
/// <item>A retried batch doubles nothing: the runner retries the same batch after a transient failure, and the lines
/// of it that were already written (before the failure, possibly into a file since rotated) are skipped.</item>
/// </list>
/// SecMon rotates the file itself; an external logrotate must not rename or truncate it.
/// </remarks>
public sealed class FindingsLogSink : IFindingSink, IDisposable
{
    // Lines are gathered and written in chunks of about this size, so a batch of 10,000 findings does not need its
    // whole text in memory at once.
    private const int ChunkBytes = 1 << 20;

    private readonly FindingsLogOptions _options;
    private readonly TimeProvider _time;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private FileStream? _file;
    private long _size;
    private bool _sizeKnown;
    private long _period = -1;
    private PartialBatch? _partial;

    /// <summary>A sink writing to <paramref name="options"/>' path; nothing is opened until the first batch.</summary>
    public FindingsLogSink(FindingsLogOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options with { Path = System.IO.Path.GetFullPath(options.Path) };
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public string Name => "log";

    /// <summary>The options, with the path made absolute.</summary>
    public FindingsLogOptions Options => _options;

    /// <inheritdoc />
    public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        if (findings.Count == 0)
        {
            return SinkResult.Ok(0);
        }

        // The same batch again after a failure: its first lines are already in the log.
        var skip = _partial is { } p && p.Count == findings.Count && p.FirstId == findings[0].Id ? p.Written : 0;
        _partial = null;
        var written = skip;
        try
        {
            Open();
            var now = Period(_time.GetUtcNow());
            _buffer.ResetWrittenCount();
            var pending = 0;
            for (var i = skip; i < findings.Count; i++)
            {
                var before = _buffer.WrittenCount;
                FindingJson.Write(findings[i], _buffer);
                _buffer.GetSpan(1)[0] = (byte)'\n';
                _buffer.Advance(1);
                var line = _buffer.WrittenCount - before;
                var inFile = _size + before;
                var timeDue = _options.RotateEvery > TimeSpan.Zero && _period >= 0 && _period != now;
                var sizeDue = _options.MaxSize > 0 && inFile + line > _options.MaxSize;
                if (inFile > 0 && (timeDue || sizeDue))
                {
                    if (before > 0)
                    {
                        Commit(_buffer.WrittenSpan[..before]);
                        written += pending;
                        pending = 0;
                    }

                    Rotate();
                    var text = _buffer.WrittenSpan[before..].ToArray();
                    _buffer.ResetWrittenCount();
                    _buffer.Write(text);
                }

                pending++;
                if (_period < 0)
                {
                    _period = now;
                }

                if (_buffer.WrittenCount >= ChunkBytes)
                {
                    Commit(_buffer.WrittenSpan);
                    written += pending;
                    pending = 0;
                    _buffer.ResetWrittenCount();
                }
            }

            if (_buffer.WrittenCount > 0)
            {
                Commit(_buffer.WrittenSpan);
                _buffer.ResetWrittenCount();
            }

            return SinkResult.Ok(findings.Count);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _buffer.ResetWrittenCount();
            Close();
            if (written > 0)
            {
                _partial = new PartialBatch(findings[0].Id, findings.Count, written);
            }

            var transient = IsTransient(ex);
            return SinkResult.Failed($"cannot write the findings log '{_options.Path}': {ex.Message}" +
                (transient ? "" : " (make its directory writable by this user, or set outputs.log.path)"), transient);
        }
    }

    /// <summary>Forces what was written to the disk and closes the file.</summary>
    public void Complete(CancellationToken cancellationToken)
    {
        if (_file is { } file)
        {
            file.Flush(flushToDisk: true);
            Close();
        }
    }

    /// <inheritdoc />
    public void Dispose() => Close();

    // Disk full and quota are worth another try; a read-only file system, a missing permission or a path that is
    // not a directory are not, until someone changes the configuration.
    private static bool IsTransient(Exception ex) => ex switch
    {
        UnauthorizedAccessException or DirectoryNotFoundException or PathTooLongException => false,
        IOException io => io.HResult is not (Errno.ReadOnlyFileSystem or Errno.NotDirectory or Errno.IsDirectory),
        _ => false,
    };

    private long Period(DateTimeOffset at) =>
        _options.RotateEvery > TimeSpan.Zero ? (at.UtcTicks - DateTime.UnixEpoch.Ticks) / _options.RotateEvery.Ticks : 0;

    private void Open()
    {
        if (_file is not null)
        {
            return;
        }

        var path = _options.Path;
        if (System.IO.Path.GetDirectoryName(path) is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
        }

        var existed = File.Exists(path);
        var streamOptions = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read | FileShare.Delete,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            streamOptions.UnixCreateMode = _options.Permissions;
        }

        var file = new FileStream(path, streamOptions);
        try
        {
            var length = file.Length;
            if (_sizeKnown && length > _size)
            {
                // This process's own write failed half-way: cut the file back to the last line it completed.
                file.SetLength(_size);
                length = _size;
            }
            else if (length > 0)
            {
                length = CutPartialLine(file, length);
            }

            file.Position = length;
            _size = length;
            _sizeKnown = true;
            if (existed && length > 0 && _period < 0 && _options.RotateEvery > TimeSpan.Zero)
            {
                _period = Period(File.GetLastWriteTimeUtc(path));
            }

            _file = file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    // A crash (kill -9, power cut) in the middle of a write can leave a partial last line: cut the file back to its
    // last newline, so that a shipper never reads half a document followed by a whole one on the same line.
    private static long CutPartialLine(FileStream file, long length)
    {
        var chunk = new byte[64 * 1024];
        var end = length;
        while (end > 0)
        {
            var start = Math.Max(0, end - chunk.Length);
            var count = (int)(end - start);
            file.Position = start;
            file.ReadExactly(chunk, 0, count);
            var newline = chunk.AsSpan(0, count).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                var keep = start + newline + 1;
                if (keep < length)
                {
                    file.SetLength(keep);
                }

                return keep;
            }

            end = start;
        }

        file.SetLength(0);
        return 0;
    }

    private void Commit(ReadOnlySpan<byte> lines)
    {
        _file!.Write(lines);
        _file.Flush(flushToDisk: _options.Fsync);
        _size += lines.Length;
    }

    private void Rotate()
    {
        _file!.Flush(flushToDisk: true);
        Close();
        var path = _options.Path;
        if (_options.Keep == 0)
        {
            File.Delete(path);
        }
        else
        {
            // Older files than KEEP (left by a larger keep before) go, then each moves one place up, then the file.
            for (var n = _options.Keep + 1; File.Exists($"{path}.{n}"); n++)
            {
                File.Delete($"{path}.{n}");
            }

            for (var n = _options.Keep - 1; n >= 1; n--)
            {
                if (File.Exists($"{path}.{n}"))
                {
                    File.Move($"{path}.{n}", $"{path}.{n + 1}", overwrite: true);
                }
            }

            File.Move(path, $"{path}.1", overwrite: true);
        }

        _size = 0;
        _sizeKnown = true;
        _period = -1;
        Open();
    }

    private void Close()
    {
        var file = _file;
        _file = null;
        try
        {
            file?.Dispose();
        }
        catch (IOException)
        {
            // Flushing on close failed: nothing was buffered (BufferSize 0), and the next open cuts the file back.
        }
    }

    private sealed record PartialBatch(string FirstId, int Count, int Written);

    // errno values (Linux) that .NET puts in IOException.HResult for errors it has no exception type for.
    private static class Errno
    {
        public const int NotDirectory = 20;
        public const int IsDirectory = 21;
        public const int ReadOnlyFileSystem = 30;
    }
}
