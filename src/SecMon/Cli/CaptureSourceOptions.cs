using System.CommandLine;
using SecMon.Capture.Sources;
using SecMon.Core.Configuration;
using SecMon.Hosting.Configuration;

namespace SecMon.Cli;

/// <summary>
/// Where a live sensor reads packets (<c>capture</c>, <c>serve</c>): interfaces with <c>-i</c> (their filter, snap length
/// and kernel buffer) or a watched directory of rotating capture files with <c>--watch</c>; the configuration file's
/// <c>capture</c> section when neither is given. The command line wins over the file.
/// </summary>
internal sealed class CaptureSourceOptions
{
    public CaptureSourceOptions(bool interfaceRequired = false)
    {
        Interface = CliHelpers.InterfaceOption("Interface to capture on (e.g. eth0, lo, any; 'secmon interfaces' lists them). Several at once:\n" +
            "-i eth0 -i wlan0 (or -i eth0,wlan0): their packets are analysed together, each known by its interface.", required: interfaceRequired);
    }

    public Option<string[]> Interface { get; }

    public Option<string?> Bpf { get; } = new("--bpf")
    {
        Description = "BPF capture filter (man pcap-filter), e.g. \"tcp port 1883 or tcp port 8883\"; for every interface given.",
        HelpName = "EXPR",
    };

    public Option<int?> Snaplen { get; } = new("--snaplen")
    {
        Description = $"Bytes kept of each packet ({LiveInterface.MinSnaplen} to {LiveInterface.DefaultSnaplen}; default {LiveInterface.DefaultSnaplen}, whole packets). " +
            "Smaller saves memory\nbut cuts payloads: protocols past the cut are counted as truncated, not dissected.",
        HelpName = "BYTES",
    };

    public Option<string?> Buffer { get; } = new("--buffer")
    {
        Description = $"Kernel capture buffer per interface (default {LiveInterface.DefaultBufferBytes >> 20}MiB, at most 1GiB), e.g. 128MiB: " +
            "more room for bursts;\nkernel drops are counted in the summary and the metrics.",
        HelpName = "SIZE",
    };

    public Option<string?> Watch { get; } = new("--watch")
    {
        Description = "Instead of an interface: read a directory of rotating capture files as they are written (tcpdump -G/-C -w DIR/...,\n" +
            "dumpcap ring buffers), each file once when the writer has moved on to the next; what was read is kept in the data\n" +
            "directory, so a restart goes on where the last run stopped (no file read twice, none skipped).",
        HelpName = "DIR",
    };

    public Option<TimeSpan?> Settle { get; } = CliHelpers.DurationOption("--settle",
        "With --watch: read the newest file once it has not changed for this long, although no newer file exists yet (default 30s).");

    /// <summary>Every option, to add to a command.</summary>
    public IEnumerable<Option> All => [Interface, Bpf, Snaplen, Buffer, Watch, Settle];

    /// <summary>The options that configure a sensor source (serve runs the sensor only with one of them).</summary>
    public bool AnyGiven(ParseResult parse) =>
        CliHelpers.Interfaces(parse, Interface).Count > 0 || parse.GetValue(Watch) is not null;

    /// <summary>
    /// The source: interfaces (the command line's, each with the file's settings for it as defaults, else the file's), or a
    /// watched directory; exactly one of the two is non-null, or both are null when <paramref name="optional"/> and nothing
    /// was given. False after saying on stderr what is wrong (a usage error).
    /// </summary>
    public bool TryResolve(ParseResult parse, SecMonConfig settings, bool optional, out IReadOnlyList<LiveInterface>? interfaces, out WatchOptions? watch)
    {
        ArgumentNullException.ThrowIfNull(settings);
        interfaces = null;
        watch = null;
        var error = parse.InvocationConfiguration.Error;
        void Error(string message) => error.WriteLine("secmon: " + message);
        var names = CliHelpers.Interfaces(parse, Interface);
        var watchDir = parse.GetValue(Watch);
        var bpf = parse.GetValue(Bpf);
        var snaplen = parse.GetValue(Snaplen);
        long? buffer = null;
        if (parse.GetValue(Buffer) is { } bufferText)
        {
            if (!ConfigSection.TryParseSize(bufferText, out var bytes) || bytes < LiveInterface.MinBufferBytes || bytes > LiveInterface.MaxBufferBytes)
            {
                Error($"--buffer {bufferText}: not a size from 1MiB to 1GiB (write e.g. 64MiB)");
                return false;
            }

            buffer = bytes;
        }

        if (snaplen is { } s && (s < LiveInterface.MinSnaplen || s > LiveInterface.DefaultSnaplen))
        {
            Error($"--snaplen {s}: give {LiveInterface.MinSnaplen} to {LiveInterface.DefaultSnaplen} bytes");
            return false;
        }

        if (names.Count > 0 && watchDir is not null)
        {
            Error("give --interface or --watch, not both: a sensor reads one kind of source");
            return false;
        }

        if (watchDir is not null || (names.Count == 0 && settings.Watch is not null))
        {
            if (bpf is not null || snaplen is not null || buffer is not null)
            {
                Error("--bpf, --snaplen and --buffer are for interfaces; a watched directory is read as its files were written");
                return false;
            }

            watch = watchDir is not null
                ? (settings.Watch ?? new WatchOptions(watchDir)) with { Directory = watchDir }
                : settings.Watch;
            watch = watch! with { Settle = parse.GetValue(Settle) ?? watch.Settle };
            return true;
        }

        if (parse.GetValue(Settle) is not null)
        {
            Error("--settle is for --watch DIR");
            return false;
        }

        var chosen = names.Count > 0
            ? names.Select(n => settings.CaptureInterfaces.FirstOrDefault(i => i.Name == n) ?? new LiveInterface(n)).ToList()
            : [.. settings.CaptureInterfaces];
        if (chosen.Count == 0)
        {
            if (optional && bpf is null && snaplen is null && buffer is null)
            {
                return true;
            }

            Error("nothing to capture: give --interface IF (or several), --watch DIR, or capture.interfaces / capture.watch in --config" +
                ("; 'secmon interfaces' lists what can be captured"));
            return false;
        }

        interfaces = [.. chosen.Select(i => i with
        {
            Bpf = bpf ?? i.Bpf,
            Snaplen = snaplen ?? i.Snaplen,
            BufferBytes = buffer is { } b ? (int)b : i.BufferBytes,
        })];
        return true;
    }
}
