using SecMon.Core.Configuration;
using SecMon.Core.Findings;

namespace SecMon.Findings.Log;

/// <summary>
/// <c>outputs.log</c>: the findings log (<see cref="FindingsLogSink"/>).
/// <code>
/// outputs:
///   log:
///     path: /var/log/secmon/findings.jsonl   # default DATA/findings.jsonl; relative: from the file's directory
///     max_size: 100MiB                        # rotate before a line would go beyond it; 0 = never by size
///     rotate_every: 1d                        # also rotate when a new UTC day (hour, ...) starts; default off
///     keep: 7                                 # rotated files kept: findings.jsonl.1 ... .7
///     permissions: "0640"                     # mode of a created file
///     fsync: false                            # force each batch to the disk
/// </code>
/// </summary>
public sealed class FindingsLogOutputFactory : IFindingOutputFactory
{
    /// <inheritdoc />
    public string Key => "log";

    /// <inheritdoc />
    public IReadOnlyList<IFindingSink> Create(ConfigSection outputs, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(context);
        if (!outputs.Has(Key))
        {
            return [];
        }

        var errors = outputs.Errors.ErrorCount;
        var section = outputs.Section(Key);
        var options = Bind(section, context.DataDirectory);
        var enabled = section.Bool("enabled", true);
        section.Finish();
        return enabled && outputs.Errors.ErrorCount == errors
            ? [new FindingsLogSink(options, context.Time)]
            : [];
    }

    /// <summary>Binds <c>outputs.log</c>; errors are recorded in the section.</summary>
    public static FindingsLogOptions Bind(ConfigSection section, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(section);
        // A path written in the file is taken from the file's directory, as every relative path in it.
        var path = section.FilePath("path") ?? Path.Combine(dataDirectory, "findings.jsonl");
        if (path.EndsWith('/') || path.Contains('\0', StringComparison.Ordinal))
        {
            section.Error("path", "is not a file name; write the path of the log file (e.g. /var/log/secmon/findings.jsonl)");
        }

        var defaults = new FindingsLogOptions { Path = path };
        var permissions = defaults.Permissions;
        if (section.Text("permissions") is { } mode)
        {
            if (mode.Length is < 3 or > 4 || !mode.All(c => c is >= '0' and <= '7'))
            {
                section.Error("permissions", $"'{mode}' is not an octal file mode such as 0640 or 0600");
            }
            else
            {
                permissions = (UnixFileMode)Convert.ToInt32(mode, 8);
                if ((permissions & UnixFileMode.UserWrite) == 0)
                {
                    section.Error("permissions", $"'{mode}' does not let the owner write; the log is appended to across runs");
                }

                if ((permissions & (UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit)) != 0)
                {
                    section.Error("permissions", $"'{mode}': set-user-id, set-group-id and sticky bits have no place on a log file");
                }
            }
        }

        return defaults with
        {
            MaxSize = section.Size("max_size", defaults.MaxSize),
            RotateEvery = section.Duration("rotate_every", defaults.RotateEvery),
            Keep = section.Number("keep", defaults.Keep, min: 0, max: 1000),
            Permissions = permissions,
            Fsync = section.Bool("fsync", defaults.Fsync),
        };
    }
}
