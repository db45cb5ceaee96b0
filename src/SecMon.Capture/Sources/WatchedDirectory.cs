using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecMon.Capture.Sources;

/// <summary>How a directory of rotating capture files is watched (<c>secmon capture --watch DIR</c>, <c>capture.watch</c>).</summary>
internal sealed record WatchOptions(string Directory)
{
    /// <summary>File name pattern (<c>*</c> and <c>?</c>). Default <c>*</c>: every file but hidden ones and compressed or
    /// temporary names (.gz, .xz, .bz2, .zst, .tmp, .part), which libpcap cannot read or a writer has not finished.</summary>
    public string Pattern { get; init; } = "*";

    /// <summary>How long the newest file must stay unchanged before it is read although no newer file exists yet (the
    /// writer may be idle). Default 30 s. The files before the newest are read as soon as the writer moves on.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the directory is listed. Default 1 s.</summary>
    public TimeSpan Poll { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// A directory that a capture writer (tcpdump <c>-G</c>/<c>-C</c>, dumpcap ring buffers) fills with rotating files,
/// read so that each packet is analysed once, across restarts. Files are taken in the order they were written (last
/// write time, then name). A file is ready when a newer one exists (the writer has moved on) or it has not changed for
/// <see cref="WatchOptions.Settle"/>; a ready file that grows after it was read (an idle writer woke up) is read on from
/// the packet after the last one read. What was read is kept in a state file in the data directory, per file: a
/// fingerprint of its first bytes (a ring buffer reusing a name with new content is a new file), its size then, and the
/// packets read (no size when a run stopped in the middle of it). A file removed from the directory leaves the state.
/// </summary>
internal sealed class WatchedDirectory
{
    /// <summary>The pcap file header's size: a shorter file has not been started by its writer.</summary>
    public const int MinFileBytes = 24;

    private const int FingerprintBytes = 4096;
    private static readonly string[] SkippedSuffixes = [".gz", ".xz", ".bz2", ".zst", ".lz4", ".tmp", ".part", ".temp"];

    private readonly Dictionary<string, FileState> _files;
    private readonly Dictionary<string, FileState> _durable;
    private readonly Queue<(string Name, FileState State)> _unsaved = new();
    private readonly string _statePath;
    private readonly TimeProvider _time;

    private WatchedDirectory(WatchOptions options, string statePath, Dictionary<string, FileState> files, TimeProvider time)
    {
        Options = options;
        _statePath = statePath;
        _files = files;
        _durable = new Dictionary<string, FileState>(files, StringComparer.Ordinal);
        _time = time;
    }

    /// <summary>What is watched.</summary>
    public WatchOptions Options { get; }

    /// <summary>The state file.</summary>
    public string StatePath => _statePath;

    /// <summary>Files recorded in the state (read, or read in part).</summary>
    public int KnownFiles => _files.Count;

    /// <summary>Opens the watch of <paramref name="options"/>'s directory, its state kept under <paramref name="dataDirectory"/>
    /// (<c>watch/NAME-HASH.json</c>, one per watched directory); null and a reason when the directory does not exist or
    /// the state cannot be read.</summary>
    public static WatchedDirectory? TryOpen(WatchOptions options, string dataDirectory, out string? error, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var full = Path.GetFullPath(options.Directory);
        if (!System.IO.Directory.Exists(full))
        {
            error = $"{options.Directory}: no such directory; give the directory the capture writer fills (e.g. tcpdump -G 300 -w {Path.Combine(options.Directory, "cap-%Y%m%d-%H%M%S.pcap")})";
            return null;
        }

        var key = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(full)))[..16];
        var name = string.Concat(Path.GetFileName(full.TrimEnd('/')).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-'));
        var statePath = Path.Combine(dataDirectory, "watch", $"{(name.Length == 0 ? "root" : name)}-{key}.json");
        var files = new Dictionary<string, FileState>(StringComparer.Ordinal);
        if (File.Exists(statePath))
        {
            try
            {
                var saved = JsonSerializer.Deserialize(File.ReadAllText(statePath), WatchJson.Default.WatchStateFile);
                if (saved?.Files is not null)
                {
                    foreach (var (file, state) in saved.Files)
                    {
                        files[file] = state;
                    }
                }
            }
            catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
            {
                error = $"{statePath}: cannot read what was read before ({ex.Message}); move it away to read the directory again from the start";
                return null;
            }
        }

        error = null;
        return new WatchedDirectory(options with { Directory = full }, statePath, files, time ?? TimeProvider.System);
    }

    /// <summary>The next file to read now, and the packets of it already read (to skip); null when none is ready.</summary>
    public ReadyFile? Next()
    {
        var listed = List();
        for (var i = 0; i < listed.Count; i++)
        {
            var file = listed[i];
            var newest = i == listed.Count - 1;
            if (newest && _time.GetUtcNow() - file.LastWrite < Options.Settle)
            {
                return null; // the writer may still be writing it
            }

            var skip = 0L;
            if (_files.TryGetValue(file.Name, out var known) && Fingerprint(file.Path, known.FingerprintLength) == known.Fingerprint)
            {
                if (known.Size == file.Size)
                {
                    continue; // read to its end; it has not grown since
                }

                skip = known.Packets; // it grew: read on after the packets already read
            }

            return new ReadyFile(file.Name, file.Path, file.Size, skip, newest);
        }

        return null;
    }

    /// <summary>Records that <paramref name="file"/> was read up to packet <paramref name="packets"/> (to its end as listed,
    /// or <paramref name="toTheEnd"/> false: the run stopped in the middle of it): <see cref="Next"/>
    /// goes on from there at once, and the state file learns it at the next <see cref="Save"/> that reaches this record's
    /// time (so that what the packets made is stored before the state says they were read: after a crash a file is read
    /// again rather than skipped, and findings, whose ids are deterministic, are kept once).</summary>
    public void Record(ReadyFile file, long packets, bool toTheEnd)
    {
        ArgumentNullException.ThrowIfNull(file);
        var length = (int)Math.Min(file.Size, FingerprintBytes);
        // Stopped before its end: no size, so that the file is read on from here whatever its size.
        var state = new FileState(Fingerprint(file.Path, length), length, toTheEnd ? file.Size : -1, packets, _time.GetUtcNow());
        _files[file.Name] = state;
        _unsaved.Enqueue((file.Name, state));
    }

    /// <summary>Writes to the state file the records made at least <paramref name="age"/> ago (all of them with
    /// <see cref="TimeSpan.Zero"/>, once the run has stored everything) and forgets files no longer in the directory.
    /// Throws <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when the state cannot be written.</summary>
    public void Save(TimeSpan age)
    {
        var cutoff = _time.GetUtcNow() - age;
        var changed = false;
        while (_unsaved.TryPeek(out var next) && next.State.Read <= cutoff)
        {
            _unsaved.Dequeue();
            _durable[next.Name] = next.State;
            changed = true;
        }

        if (!changed)
        {
            return;
        }

        var present = List().Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _durable.Keys.Where(k => !present.Contains(k)).ToList())
        {
            _durable.Remove(gone);
            _files.Remove(gone);
        }

        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(_statePath)!);
        var temp = _statePath + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(new WatchStateFile(Options.Directory, _durable), WatchJson.Default.WatchStateFile));
        File.Move(temp, _statePath, overwrite: true);
    }

    private List<ListedFile> List()
    {
        var listed = new List<ListedFile>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Options.Directory, Options.Pattern))
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith('.') || SkippedSuffixes.Any(s => name.EndsWith(s, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            var info = new FileInfo(path);
            if (!info.Exists || info.Length < MinFileBytes)
            {
                continue;
            }

            listed.Add(new ListedFile(name, path, info.Length, info.LastWriteTimeUtc));
        }

        listed.Sort((a, b) => a.LastWrite != b.LastWrite ? a.LastWrite.CompareTo(b.LastWrite) : string.CompareOrdinal(a.Name, b.Name));
        return listed;
    }

    private static string Fingerprint(string path, int length)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[length];
            var read = stream.ReadAtLeast(buffer, length, throwOnEndOfStream: false);
            return Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, read)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private sealed record ListedFile(string Name, string Path, long Size, DateTimeOffset LastWrite);
}

/// <summary>A file ready to read: its name and path, its size when listed, the packets already read (skip them), and
/// whether it is the newest of the directory (its writer may append to it later).</summary>
internal sealed record ReadyFile(string Name, string Path, long Size, long SkipPackets, bool Newest);

/// <summary>What was read of one file.</summary>
internal sealed record FileState(string Fingerprint, int FingerprintLength, long Size, long Packets, DateTimeOffset Read);

/// <summary>The state file: the directory and what was read of each of its files.</summary>
internal sealed record WatchStateFile(string Directory, Dictionary<string, FileState> Files);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(WatchStateFile))]
internal sealed partial class WatchJson : JsonSerializerContext;
