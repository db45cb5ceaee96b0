using System.Globalization;
using System.Text.Json;

namespace SecMon.Findings.Spool;

/// <summary>Another process (a running capture or serve) holds the spool.</summary>
public sealed class SpoolInUseException(string directory)
    : IOException($"the spool '{directory}' is in use by another secmon process (a running capture or serve delivers it); try again when it stops")
{
}

/// <summary>What a spool holds, read without taking it (<see cref="FindingSpool.Inspect"/>).</summary>
/// <param name="Directory">The spool's directory.</param>
/// <param name="PendingFindings">Findings not yet delivered.</param>
/// <param name="PendingBytes">Their size on disk.</param>
/// <param name="OldestPendingMicros">The <c>@timestamp</c> of the oldest finding waiting (UTC microseconds), or null.</param>
/// <param name="DeadLetters">Findings the output refused for good (<c>dead-letters.jsonl</c>).</param>
/// <param name="InUse">True when a process holds the spool now (it is being delivered).</param>
public sealed record SpoolStatus(string Directory, long PendingFindings, long PendingBytes, long? OldestPendingMicros, long DeadLetters, bool InUse);

public sealed partial class FindingSpool
{
    /// <summary>The name of the file holding the refused findings, one JSON line each with the reason.</summary>
    public const string DeadLetterFile = "dead-letters.jsonl";

    /// <summary>Reads what the spool in <paramref name="directory"/> holds without changing or locking it.</summary>
    /// <exception cref="IOException">The directory cannot be read or its cursor is damaged.</exception>
    public static SpoolStatus Inspect(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var inUse = false;
        try
        {
            TakeLock(directory).Dispose();
        }
        catch (SpoolInUseException)
        {
            inUse = true;
        }

        var (segment, offset) = ReadCursor(directory);
        var segments = System.IO.Directory.GetFiles(directory, "*.jsonl")
            .Select(p => int.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1)
            .Where(n => n > 0).Order().ToList();
        if (segment == 0)
        {
            segment = segments.Count > 0 ? segments[0] : 1;
        }

        long findings = 0, bytes = 0;
        long? oldest = null;
        foreach (var s in segments.Where(s => s >= segment))
        {
            using var file = new FileStream(Path.Combine(directory, s.ToString("D8", CultureInfo.InvariantCulture) + ".jsonl"),
                FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (s == segment)
            {
                file.Position = Math.Min(offset, file.Length);
            }

            using var reader = new StreamReader(file);
            while (reader.ReadLine() is { } line)
            {
                findings++;
                bytes += System.Text.Encoding.UTF8.GetByteCount(line) + 1;
                oldest ??= TimestampOf(line);
            }
        }

        var dead = Path.Combine(directory, DeadLetterFile);
        var deadLetters = File.Exists(dead) ? File.ReadLines(dead).LongCount(l => l.Length > 0) : 0;
        return new SpoolStatus(directory, findings, bytes, oldest, deadLetters, inUse);
    }

    private static FileStream TakeLock(string directory)
    {
        // FileShare.None is an exclusive advisory lock (flock) on Linux: released when the process dies, even by kill -9.
        try
        {
            return new FileStream(Path.Combine(directory, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException && File.Exists(Path.Combine(directory, "lock")))
        {
            throw new SpoolInUseException(directory);
        }
    }

    private static (int Segment, long Offset) ReadCursor(string directory)
    {
        var cursor = Path.Combine(directory, "cursor");
        if (!File.Exists(cursor))
        {
            return (0, 0);
        }

        var parts = File.ReadAllText(cursor).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            throw new IOException($"the spool cursor '{cursor}' is damaged; move the spool directory aside to start it anew (its findings can be replayed from it)");
        }

        return (segment, offset);
    }

    private static long? TimestampOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("@timestamp", out var ts) && ts.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(ts.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? SecMon.Core.Time.ToUnixMicros(t) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
