namespace SecMon.Findings.Log;

/// <summary>
/// The findings log (<c>outputs.log</c>): one ECS document per line in a file that shippers (Filebeat, Elastic Agent,
/// Fluent Bit, Vector) tail, as Suricata's <c>eve.json</c> is tailed. Rotated by renaming: <c>findings.jsonl</c> →
/// <c>findings.jsonl.1</c> → <c>findings.jsonl.2</c> ..., the scheme logrotate uses and that Filebeat follows by file
/// identity (point its <c>filestream</c> input at <c>findings.jsonl*</c>).
/// </summary>
public sealed record FindingsLogOptions
{
    /// <summary>The file written. Default <c>DATA/findings.jsonl</c> (the data directory).</summary>
    public required string Path { get; init; }

    /// <summary>Rotate before a line would take the file beyond this many bytes; 0 turns size rotation off. A line
    /// is never split: a single line larger than this is written whole into a file of its own. Default 100 MiB.</summary>
    public long MaxSize { get; init; } = 100L * 1024 * 1024;

    /// <summary>Rotate when the UTC clock enters a new period of this length (periods are aligned on the Unix epoch,
    /// so <c>1d</c> rotates at midnight UTC and <c>1h</c> on the hour); zero turns time rotation off. A file with no
    /// line is never rotated. Default zero (off).</summary>
    public TimeSpan RotateEvery { get; init; }

    /// <summary>Rotated files kept (<c>.1</c> newest ... <c>.KEEP</c> oldest); older ones are deleted. 0 keeps none
    /// (a rotation deletes the file). Default 7.</summary>
    public int Keep { get; init; } = 7;

    /// <summary>Mode of a file the log creates (the process umask can only take permissions away). Default 0640:
    /// the owner writes, a shipper in the group reads, nobody else.</summary>
    public UnixFileMode Permissions { get; init; } =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    /// <summary>Whether each batch is forced to the disk (fsync) before it counts as written. Default false: each batch
    /// is handed to the operating system (it survives the process being killed, not a power cut), and the file is
    /// forced to the disk when the run ends and before each rotation; the embedded store is the durable record, the log
    /// is a feed for shippers.</summary>
    public bool Fsync { get; init; }
}
