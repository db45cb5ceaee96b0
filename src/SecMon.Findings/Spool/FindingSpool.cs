using System.Globalization;
using Microsoft.Win32.SafeHandles;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;

namespace SecMon.Findings.Spool;

/// <summary>Bounds of a spool.</summary>
public sealed record SpoolOptions
{
    /// <summary>Most bytes of findings not yet delivered kept on disk. Beyond it new findings are refused (the newest are
    /// dropped and counted; what was accepted stays in order and is delivered). Default 256 MiB (about 200,000 findings).</summary>
    public long MaxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>A segment file is closed and a new one started beyond this size. Default 8 MiB.</summary>
    public long SegmentBytes { get; init; } = 8L * 1024 * 1024;
}

/// <summary>
/// A durable queue of findings in a directory (<c>DATA/spool/NAME/</c>): append-only segment files of ECS JSON lines
/// (<c>00000001.jsonl</c>...) and a cursor file (<c>cursor</c>: segment and byte offset of the first finding not yet
/// delivered, replaced atomically). Appends are flushed to disk before they count as accepted; the cursor moves only
/// after the output confirmed a batch, so a crash between the two delivers that batch again (at least once; outputs
/// de-duplicate on <c>event.id</c>). Delivered segments are deleted. Used from two threads: one appends, one reads and
/// acknowledges.
/// </summary>
public sealed partial class FindingSpool : IDisposable
{
    private readonly SpoolOptions _options;
    private readonly Lock _gate = new();
    private static readonly ReadOnlyMemory<byte> Newline = "\n"u8.ToArray();
    private SafeFileHandle? _writer;
    private long _writerLength;
    private FileStream? _lock;
    private ReadOnlyMemory<byte>[] _appendParts = [];
    private const int WriteParts = 512;
    private byte[] _readBuffer = new byte[64 * 1024];
    private int _writeSegment;
    private int _readSegment;
    private long _readOffset;
    private long _pendingBytes;

    private FindingSpool(string directory, SpoolOptions options)
    {
        Directory = directory;
        _options = options;
    }

    /// <summary>The spool's directory.</summary>
    public string Directory { get; }

    /// <summary>Bytes accepted and not yet delivered.</summary>
    public long PendingBytes
    {
        get
        {
            lock (_gate)
            {
                return _pendingBytes;
            }
        }
    }

    /// <summary>Opens (or creates) the spool in <paramref name="directory"/>, resuming where the last run stopped. One
    /// process at a time holds a spool (an exclusive lock on its <c>lock</c> file): two would deliver and acknowledge
    /// the same findings.</summary>
    /// <exception cref="IOException">The directory cannot be created or read, the cursor file is damaged, or another
    /// process holds the spool (<see cref="SpoolInUseException"/>).</exception>
    public static FindingSpool Open(string directory, SpoolOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        System.IO.Directory.CreateDirectory(directory);
        var spool = new FindingSpool(directory, options ?? new SpoolOptions());
        spool._lock = TakeLock(directory);
        try
        {
            spool.Load();
        }
        catch
        {
            spool.Dispose();
            throw;
        }

        return spool;
    }

    /// <summary>Appends <paramref name="findings"/> and flushes them to disk. Returns false (nothing written) when they
    /// would take the spool beyond <see cref="SpoolOptions.MaxBytes"/>.</summary>
    public bool TryAppend(IReadOnlyList<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        lock (_gate)
        {
            // Each document is written from the bytes the store (or another spool) already made, in one gathered
            // write (writev) with the newlines between them: no copy into a buffer of our own first. That copy was a
            // third of each spooled output's runner thread in a findings-heavy run (bench/README.md, issue 13, session 13).
            if (_appendParts.Length < findings.Count * 2)
            {
                _appendParts = new ReadOnlyMemory<byte>[Math.Max(findings.Count * 2, 64)];
            }

            var parts = _appendParts;
            var count = 0;
            long bytes = 0;
            foreach (var f in findings)
            {
                var document = FindingJson.Utf8(f);
                parts[count++] = document;
                parts[count++] = Newline;
                bytes += document.Length + 1;
            }

            if (_pendingBytes + bytes > _options.MaxBytes)
            {
                Array.Clear(parts, 0, count);
                return false;
            }

            if (_writer is null || _writerLength >= _options.SegmentBytes)
            {
                // A new run continues the last segment unless it is full.
                if (_writer is not null || SegmentLength(_writeSegment) >= _options.SegmentBytes)
                {
                    _writeSegment++;
                }

                _writer?.Dispose();
                _writer = File.OpenHandle(SegmentPath(_writeSegment), FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read | FileShare.Delete);
                _writerLength = RandomAccess.GetLength(_writer);
            }

            try
            {
                // At most WriteParts buffers per call: the system takes at most IOV_MAX (1024 on Linux) per writev.
                var at = _writerLength;
                for (var first = 0; first < count; first += WriteParts)
                {
                    var segment = new ArraySegment<ReadOnlyMemory<byte>>(parts, first, Math.Min(WriteParts, count - first));
                    RandomAccess.Write(_writer, segment, at);
                    foreach (var part in segment)
                    {
                        at += part.Length;
                    }
                }
            }
            catch (IOException)
            {
                // A part of the batch may be on disk without its last newline: cut back to where it began, so the
                // next append starts on a line of its own (the batch was not accepted).
                TryCut(_writer, _writerLength);
                throw;
            }
            finally
            {
                Array.Clear(parts, 0, count); // the documents belong to their findings, not to the spool
            }

            _writerLength += bytes;
            RandomAccess.FlushToDisk(_writer);
            _pendingBytes += bytes;
            return true;
        }
    }

    /// <summary>Reads up to <paramref name="max"/> findings from the cursor on (without moving it). A line that cannot be
    /// read back (a torn write at a crash) is skipped and returned in <paramref name="unreadable"/>. With
    /// <paramref name="routingOnly"/> each finding holds only what an <see cref="IDocumentSink"/> reads
    /// (<see cref="SpoolLine.ReadRouting"/>) and its document's bytes.</summary>
    public SpoolBatch Peek(int max, List<string>? unreadable = null, bool routingOnly = false)
    {
        lock (_gate)
        {
            var findings = new List<Finding>();
            var segment = _readSegment;
            var offset = _readOffset;
            while (findings.Count < max && segment <= _writeSegment)
            {
                var path = SegmentPath(segment);
                if (!File.Exists(path))
                {
                    segment++;
                    offset = 0;
                    continue;
                }

                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
                file.Position = offset;
                var position = offset;
                var buffer = _readBuffer;
                int filled = 0, next = 0;
                while (findings.Count < max)
                {
                    // A line counts only when its newline was written: a torn last line (a crash mid-append) waits, unread.
                    var newline = buffer.AsSpan(next, filled - next).IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        buffer.AsSpan(next, filled - next).CopyTo(buffer);
                        filled -= next;
                        next = 0;
                        if (filled == buffer.Length)
                        {
                            Array.Resize(ref buffer, buffer.Length * 2); // a line longer than the buffer
                            _readBuffer = buffer;
                        }

                        var read = file.Read(buffer, filled, buffer.Length - filled);
                        if (read == 0)
                        {
                            break;
                        }

                        filled += read;
                        continue;
                    }

                    // The line's bytes are the finding's document: outputs that send the document send them as read
                    // (FindingJson.Utf8), without encoding the finding again.
                    var line = buffer.AsSpan(next, newline).ToArray();
                    try
                    {
                        if (routingOnly)
                        {
                            findings.Add(SpoolLine.ReadRouting(line));
                        }
                        else
                        {
                            var finding = FindingJson.Read(line);
                            FindingJson.Remember(finding, line);
                            findings.Add(finding);
                        }
                    }
                    catch (FormatException ex)
                    {
                        unreadable?.Add($"{path} at byte {position}: {ex.Message}");
                    }

                    position += newline + 1;
                    next += newline + 1;
                }

                offset = position;
                if (findings.Count < max)
                {
                    if (segment == _writeSegment)
                    {
                        break;
                    }

                    segment++;
                    offset = 0;
                }
            }

            return new SpoolBatch(findings, segment, offset);
        }
    }

    /// <summary>The output confirmed <paramref name="batch"/>: moves the cursor past it (durably) and deletes segments
    /// that are wholly delivered.</summary>
    public void Acknowledge(SpoolBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_gate)
        {
            var delivered = Distance(_readSegment, _readOffset, batch.Segment, batch.Offset);
            var cursor = Path.Combine(Directory, "cursor");
            File.WriteAllText(cursor + ".tmp", string.Create(CultureInfo.InvariantCulture, $"{batch.Segment} {batch.Offset}\n"));
            File.Move(cursor + ".tmp", cursor, overwrite: true);
            for (var s = _readSegment; s < batch.Segment; s++)
            {
                File.Delete(SegmentPath(s));
            }

            _readSegment = batch.Segment;
            _readOffset = batch.Offset;
            _pendingBytes = Math.Max(0, _pendingBytes - delivered);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _writer?.Dispose();
            _writer = null;
            _lock?.Dispose();
            _lock = null;
        }
    }

    private static void TryCut(SafeFileHandle file, long length)
    {
        try
        {
            RandomAccess.SetLength(file, length);
        }
        catch (IOException)
        {
            // The disk refuses even that: the torn line is cut when the spool is next opened (TrimTornLine).
        }
    }

    private long Distance(int fromSegment, long fromOffset, int toSegment, long toOffset)
    {
        if (fromSegment == toSegment)
        {
            return toOffset - fromOffset;
        }

        long total = SegmentLength(fromSegment) - fromOffset;
        for (var s = fromSegment + 1; s < toSegment; s++)
        {
            total += SegmentLength(s);
        }

        return total + toOffset;
    }

    private long SegmentLength(int segment) => File.Exists(SegmentPath(segment)) ? new FileInfo(SegmentPath(segment)).Length : 0;

    private string SegmentPath(int segment) => Path.Combine(Directory, segment.ToString("D8", CultureInfo.InvariantCulture) + ".jsonl");

    private void Load()
    {
        var segments = System.IO.Directory.GetFiles(Directory, "*.jsonl")
            .Select(p => int.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1)
            .Where(n => n > 0).Order().ToList();
        var cursor = Path.Combine(Directory, "cursor");
        if (File.Exists(cursor))
        {
            var parts = File.ReadAllText(cursor).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out _readSegment)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _readOffset))
            {
                throw new IOException($"the spool cursor '{cursor}' is damaged; move the spool directory aside to start it anew (its findings can be replayed from it)");
            }
        }
        else
        {
            _readSegment = segments.Count > 0 ? segments[0] : 1;
            _readOffset = 0;
        }

        _writeSegment = Math.Max(_readSegment, segments.Count > 0 ? segments[^1] : _readSegment);
        TrimTornLine(SegmentPath(_writeSegment));
        _pendingBytes = Distance(_readSegment, _readOffset, _writeSegment, SegmentLength(_writeSegment));
    }

    // A crash in the middle of an append leaves a last line without its newline: cut it, so the next append starts
    // on a line of its own (that finding was never accepted: its batch was not acknowledged to the rules thread).
    private static void TrimTornLine(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var end = file.Length;
        var buffer = new byte[4096];
        while (end > 0)
        {
            var start = Math.Max(0, end - buffer.Length);
            file.Position = start;
            file.ReadExactly(buffer, 0, (int)(end - start));
            var newline = Array.LastIndexOf(buffer, (byte)'\n', (int)(end - start) - 1);
            if (newline >= 0)
            {
                file.SetLength(start + newline + 1);
                return;
            }

            end = start;
        }

        file.SetLength(0);
    }
}

/// <summary>Findings read from a spool and the cursor position just past them.</summary>
/// <param name="Findings">The findings, oldest first.</param>
/// <param name="Segment">The segment of the position after the batch.</param>
/// <param name="Offset">The byte offset in that segment.</param>
public sealed record SpoolBatch(IReadOnlyList<Finding> Findings, int Segment, long Offset);
