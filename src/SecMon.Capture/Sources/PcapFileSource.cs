using SharpPcap;
using SharpPcap.LibPcap;

namespace SecMon.Capture.Sources;

/// <summary>
/// One pcap or pcapng file, read through SharpPcap's offline device (libpcap underneath); gzip-compressed files
/// stream through <see cref="GzipCapture"/>. Reads with
/// <c>GetNextPacketPointers</c> rather than <c>GetNextPacket</c>: the latter allocates a header and a timeval
/// object per packet, the former hands libpcap's own header and data pointers over with no allocation.
/// </summary>
internal sealed unsafe class PcapFileSource : IDisposable
{
    // libpcap's struct pcap_pkthdr on LP64 Linux: struct timeval { long tv_sec; long tv_usec; } then
    // bpf_u_int32 caplen and len. SharpPcap targets the same ABI.
    private const int HeaderTimevalSeconds = 0;
    private const int HeaderTimevalMicros = 8;
    private const int HeaderCaplen = 16;
    private const int HeaderLen = 20;

    private readonly CaptureFileReaderDevice _device;
    private readonly GzipCapture? _gzip;
    private byte[] _buffer = new byte[2048];
    // Set when libpcap refused the file's further interfaces: the rest is read by SecMon's own pcapng reader.
    private PcapngReader? _pcapng;

    /// <summary>The name that stands for standard input (<c>tcpdump -w - | secmon analyze -</c>).</summary>
    public const string StandardInput = "-";

    private PcapFileSource(string path, CaptureFileReaderDevice device, GzipCapture? gzip)
    {
        Path = path;
        _device = device;
        _gzip = gzip;
        LinkType = (int)device.LinkType;
    }

    /// <summary>The file path as given (<see cref="StandardInput"/> for standard input).</summary>
    public string Path { get; }

    /// <summary>The current packet's link type (pcap LINKTYPE_ value): the file's, or in a pcapng file with several
    /// interfaces, the packet's interface's.</summary>
    public int LinkType { get; private set; }

    /// <summary>File size in bytes, decompressed for a gzip-compressed file (for progress).</summary>
    public long FileSize { get; private set; }

    /// <summary>Packets read so far from this file.</summary>
    public long PacketsRead { get; private set; }

    /// <summary>The current packet's number in the file (Wireshark's frame number): <see cref="PacketsRead"/>, but for
    /// a pcapng file of several interfaces, whose packets are handed over in capture-time order.</summary>
    public long FrameNumber { get; private set; }

    /// <summary>The current packet's capture interface in a pcapng file whose section describes several (dumpcap -i
    /// eth0 -i eth1): its interface id + 1; 0 in a file of one interface.</summary>
    public uint CaptureInterface { get; private set; }

    // A pcapng file of several interfaces is read by PcapngReader from its first packet, so that each packet keeps its
    // interface (libpcap reads it when the link types agree, but does not say which interface a packet came on), and
    // put back in capture-time order (TimeOrderBuffer: dumpcap writes each interface's packets in batches).
    private bool _readOwnPcapng;
    private TimeOrderBuffer? _timeOrder;
    private ReadStatus? _endOfFile;
    private long _framesRead;

    /// <summary>What was wrong, after <see cref="ReadStatus.Damaged"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>The current packet's bytes (a copy owned by this source, valid until the next read).</summary>
    public ReadOnlySpan<byte> Data => _buffer.AsSpan(0, DataLength);

    /// <summary>Captured length of the current packet.</summary>
    public int DataLength { get; private set; }

    /// <summary>Wire length of the current packet.</summary>
    public int OriginalLength { get; private set; }

    /// <summary>Capture time of the current packet.</summary>
    public long TimestampMicros { get; private set; }

    /// <summary>Opens a capture file that was opened before (no named pipe waits here); see the overload with a token.</summary>
    public static PcapFileSource? TryOpen(string path, out string? error) => TryOpen(path, CancellationToken.None, out error);

    /// <summary>
    /// Opens a capture file. Returns null and a one-line reason when it cannot be opened, is not a capture, or
    /// <paramref name="cancellationToken"/> was cancelled while opening it (a named pipe with no writer yet).
    /// </summary>
    public static PcapFileSource? TryOpen(string path, CancellationToken cancellationToken, out string? error)
    {
        var stdin = path == StandardInput;
        if (!stdin && !File.Exists(path))
        {
            error = Directory.Exists(path)
                ? $"{path}: is a directory; give the capture files in it (e.g. {System.IO.Path.Combine(path, "*.pcap")})"
                : $"{path}: no such file; check the path (captures are .pcap or .pcapng files, e.g. from tcpdump -w)";
            return null;
        }

        // libpcap opens the file with fopen(): on a named pipe (mkfifo) that blocks until a writer opens the other
        // end, and a thread blocked in open(2) never sees Ctrl+C or SIGTERM. So the open runs on a worker and the
        // caller stops waiting when cancelled; the worker is then released by opening the pipe's other end.
        var opening = Task.Run(() => Open(path, stdin ? "/dev/stdin" : path), CancellationToken.None);
        try
        {
            opening.Wait(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The worker may not have reached open(2) yet: release it until it returns (a second at most). Standard
            // input is left alone (its writer is someone else's); the worker, blocked reading it, ends with the process.
            for (var i = 0; i < 20 && !stdin && !opening.IsCompleted; i++)
            {
                NamedPipe.ReleaseReader(path);
                opening.Wait(TimeSpan.FromMilliseconds(50), CancellationToken.None);
            }

            opening.ContinueWith(t => t.Result.Source?.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            error = stdin
                ? "-: interrupted while waiting for a capture on standard input, nothing was read"
                : $"{path}: interrupted while opening it, nothing was read (a named pipe waits until its writer starts, e.g. tcpdump -w {path})";
            return null;
        }
        catch (AggregateException)
        {
            // Not a reason to give: the worker's own exception is rethrown, unwrapped, just below.
        }

        (var source, error) = opening.GetAwaiter().GetResult();
        return source;
    }

    // Opens `openPath` (the path, or /dev/stdin for "-") as the capture named `path`.
    private static (PcapFileSource? Source, string? Error) Open(string path, string openPath)
    {
        CaptureFileReaderDevice? device = null;
        var stdin = path == StandardInput;
        var gzip = !stdin && GzipCapture.IsGzip(path) ? GzipCapture.Start(path) : null;
        try
        {
            device = new CaptureFileReaderDevice(gzip?.ReaderPath ?? openPath);
            device.Open();
            gzip?.ReaderOpened();
            var size = stdin ? 0 : gzip is null ? new FileInfo(path).Length : GzipCapture.EstimatedSize(path);
            return (new PcapFileSource(path, device, gzip)
            {
                FileSize = size,
                _readOwnPcapng = !stdin && gzip is null && DescribesSeveralInterfaces(path),
            }, null);
        }
        catch (Exception ex) when (ex is PcapException or IOException or UnauthorizedAccessException or DllNotFoundException)
        {
            device?.Dispose();
            gzip?.Dispose();
            return (null, ex is DllNotFoundException
                ? "libpcap is not installed; install it (Debian: apt-get install libpcap0.8) and run again"
                : stdin
                    ? $"-: standard input is not a pcap/pcapng capture ({Clean(ex.Message)}); pipe one in uncompressed, e.g. " +
                      "tcpdump -i eth0 -w - | secmon analyze -, or zstd -dc capture.pcap.zst | secmon analyze -"
                : gzip is not null
                    ? $"{path}: not a readable gzip-compressed pcap/pcapng capture ({gzip.Error ?? Clean(ex.Message)})"
                : CompressedWith(path) is { } tool
                    ? $"{path}: compressed with {tool}, which SecMon does not read (only gzip); decompress it first " +
                      $"({tool} -d {path}) or pipe it in: {tool} -dc {path} | secmon analyze -"
                    : $"{path}: not a readable pcap/pcapng capture ({Clean(ex.Message)})");
        }
    }

    // True for a pcapng file whose first section describes two interfaces or more before its first packet.
    private static bool DescribesSeveralInterfaces(string path)
    {
        var file = FileHead.OpenSeekable(path, 1 << 16);
        if (file is null)
        {
            return false;
        }

        try
        {
            Span<byte> magic = stackalloc byte[4];
            if (file.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 ||
                System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(magic) != 0x0A0D0D0A)
            {
                file.Dispose();
                return false; // not pcapng
            }

            file.Position = 0;
            using var reader = new PcapngReader(file);
            return reader.Read() == ReadStatus.Packet && reader.InterfaceCount > 1;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            file.Dispose();
            return false; // libpcap reads it, or says what is wrong
        }
    }

    // The compressor (its command's name) whose magic number begins a regular file, other than gzip (read only to
    // explain an error).
    private static string? CompressedWith(string path) => FileHead.Read(path, stackalloc byte[6]) switch
    {
        [0x28, 0xB5, 0x2F, 0xFD, ..] => "zstd",
        [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00] => "xz",
        [0x42, 0x5A, 0x68, ..] => "bzip2",
        [0x04, 0x22, 0x4D, 0x18, ..] => "lz4",
        _ => null,
    };

    /// <summary>Reads the next packet into this source's buffer.</summary>
    public ReadStatus Read()
    {
        if (_timeOrder is not null)
        {
            return ReadInTimeOrder();
        }

        if (_pcapng is not null)
        {
            return ReadPcapng();
        }

        if (_readOwnPcapng)
        {
            _timeOrder = new TimeOrderBuffer();
            return OpenPcapngReader() ? ReadInTimeOrder() : ReadStatus.Damaged;
        }

        var headerPtr = IntPtr.Zero;
        var dataPtr = IntPtr.Zero;
        var rc = _device.GetNextPacketPointers(ref headerPtr, ref dataPtr);
        switch (rc)
        {
            case 1:
                break;
            case -2:
                return GzipDamaged() ? ReadStatus.Damaged : ReadStatus.End;
            case 0:
                return ReadStatus.Timeout;
            case -1 when IsMultiInterfaceRefusal(_device.LastError):
                return SwitchToPcapngReader();
            default:
                // libpcap read a broken record: for a gzip-compressed file the cause may be damaged compressed data that
                // still inflated (to garbage); the worker cannot be asked without inflating the rest of the file.
                Error = Clean(_device.LastError) + (_gzip is null ? "" : "; the file is gzip-compressed: gzip -t tells whether the compressed data is damaged");
                return ReadStatus.Damaged;
        }

        var header = (byte*)headerPtr;
        var seconds = *(long*)(header + HeaderTimevalSeconds);
        var micros = *(long*)(header + HeaderTimevalMicros);
        var caplen = (int)*(uint*)(header + HeaderCaplen);
        var len = (int)*(uint*)(header + HeaderLen);
        if (caplen < 0 || caplen > 262_144)
        {
            // libpcap already refuses records above its maximum snap length; keep our own bound too.
            Error = $"record with captured length {caplen} is larger than any valid snap length";
            return ReadStatus.Damaged;
        }

        if (_buffer.Length < caplen)
        {
            _buffer = new byte[Math.Max(caplen, _buffer.Length * 2)];
        }

        new ReadOnlySpan<byte>((void*)dataPtr, caplen).CopyTo(_buffer);
        DataLength = caplen;
        OriginalLength = len;
        TimestampMicros = (seconds * 1_000_000) + micros;
        PacketsRead++;
        FrameNumber = PacketsRead;
        return ReadStatus.Packet;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _device.Dispose();
        _gzip?.Dispose();
        _pcapng?.Dispose();
    }

    // libpcap 1.10 reads only pcapng files whose interfaces all share the first one's link type and snapshot length
    // (pcap-ng.c); dumpcap on several interfaces writes others.
    private static bool IsMultiInterfaceRefusal(string? error) =>
        error is not null && error.Contains("different from the", StringComparison.Ordinal) &&
        error.Contains("of the first interface", StringComparison.Ordinal);

    // Reopens the file with PcapngReader and skips the packets libpcap already delivered, then reads on.
    private ReadStatus SwitchToPcapngReader() => OpenPcapngReader() ? ReadPcapng() : ReadStatus.Damaged;

    // Opens the file with PcapngReader past the packets already delivered (none when it is read so from the start);
    // false, with Error, when it cannot.
    private bool OpenPcapngReader()
    {
        try
        {
            if (Path == StandardInput)
            {
                // The packets before this one were read from the pipe by libpcap; they cannot be read again.
                Error = "a pcapng capture whose interfaces have different link types cannot be read from standard input; " +
                        "write it to a file and analyse the file";
                return false;
            }

            Stream stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            if (_gzip is not null)
            {
                stream = new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress);
            }

            _pcapng = new PcapngReader(stream);
            for (var skipped = 0L; skipped < PacketsRead; skipped++)
            {
                if (_pcapng.Read() != ReadStatus.Packet)
                {
                    Error = $"reading on past interfaces libpcap cannot mix: {_pcapng.Error ?? "the file ended"} after {skipped:N0} of the {PacketsRead:N0} packets libpcap read";
                    return false;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Error = $"reading on past interfaces libpcap cannot mix: cannot read the file again ({ex.Message.TrimEnd('.')})";
            return false;
        }

        return true;
    }

    private ReadStatus ReadPcapng()
    {
        ReadStatus status;
        try
        {
            status = _pcapng!.Read();
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            Error = $"cannot read on ({ex.Message.TrimEnd('.')})";
            return ReadStatus.Damaged;
        }

        if (status != ReadStatus.Packet)
        {
            Error = _pcapng.Error;
            return status;
        }

        CaptureInterface = _pcapng.InterfaceCount > 1 ? _pcapng.InterfaceId + 1 : 0;
        var data = _pcapng.Data;
        if (_buffer.Length < data.Length)
        {
            _buffer = new byte[Math.Max(data.Length, _buffer.Length * 2)];
        }

        data.CopyTo(_buffer);
        DataLength = data.Length;
        OriginalLength = _pcapng.OriginalLength;
        TimestampMicros = _pcapng.TimestampMicros;
        LinkType = _pcapng.LinkType;
        PacketsRead++;
        FrameNumber = PacketsRead;
        return ReadStatus.Packet;
    }

    // The next packet in capture-time order (see TimeOrderBuffer); the file's own end or damage after the last held one.
    private ReadStatus ReadInTimeOrder()
    {
        var order = _timeOrder!;
        while (_endOfFile is null && !order.Ready)
        {
            var status = ReadPcapng();
            if (status != ReadStatus.Packet)
            {
                _endOfFile = status; // Error says what, for Damaged; read once the packets before it are handed over
                break;
            }

            order.Add(Data, OriginalLength, TimestampMicros, LinkType, CaptureInterface, ++_framesRead);
        }

        if (order.Count == 0)
        {
            return _endOfFile ?? ReadStatus.End;
        }

        var held = order.Take();
        held.Data.AsSpan(0, held.Length).CopyTo(_buffer.Length >= held.Length ? _buffer : _buffer = new byte[held.Length]);
        TimeOrderBuffer.Release(held);
        DataLength = held.Length;
        OriginalLength = held.OriginalLength;
        TimestampMicros = held.TimestampMicros;
        LinkType = held.LinkType;
        CaptureInterface = held.CaptureInterface;
        FrameNumber = held.FrameNumber;
        PacketsRead = _framesRead - order.Count;
        return ReadStatus.Packet;
    }

    // At the end of a gzip-compressed file's packets (the worker has closed the pipe): true, with the reason in Error,
    // when the gzip stream itself was damaged, which libpcap sees only as an early end.
    private bool GzipDamaged()
    {
        if (_gzip is null)
        {
            return false;
        }

        _gzip.WaitForEnd();
        if (_gzip.Error is not { } gzipError)
        {
            return false;
        }

        Error = gzipError;
        return true;
    }

    private static string Clean(string? message)
    {
        var m = (message ?? "unknown error").Trim();
        return m.Length == 0 ? "unknown error" : m;
    }
}
