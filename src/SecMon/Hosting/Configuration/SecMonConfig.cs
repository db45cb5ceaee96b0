using SecMon.Capture;
using SecMon.Capture.Sources;
using SecMon.Core.Configuration;
using SecMon.Core.Findings;
using SecMon.Findings.Spool;
using SecMon.Hosting.Sinks;

namespace SecMon.Hosting.Configuration;

/// <summary>
/// The configuration file <c>analyze</c>, <c>capture</c> and <c>serve</c> read with <c>--config FILE</c>, and
/// <c>secmon config check FILE</c> validates: the sensor's identity, the data directory, extra rule packs and the
/// finding outputs. Every problem is collected with its location; a run starts only from a configuration without
/// errors. Relative paths are relative to the file's directory. Secrets come from the environment (see
/// <see cref="ConfigSection"/>).
/// </summary>
/// <example>
/// <code>
/// sensor:
///   name: gw-hall-3                 # observer.name of every finding (default: the host name)
///   id: hall-3                      # agent.id (default: derived from the host name, the same on every run)
///   ips: [192.0.2.10]               # observer.ip (default: none)
/// data: /var/lib/secmon             # data directory (default ./data; --data wins; relative to this file)
/// store: sqlite                     # where findings search reads: sqlite (default) or elasticsearch
/// spool: { max_size: 256MiB }       # the most each output's spool holds
/// capture: { memory_budget: 256MiB } # the analysis's memory: flows, rule and inventory state (default 256MiB)
/// rules: [/etc/secmon/rules.d]      # extra rule pack directories (the shipped rules/ are always loaded)
/// outputs:
///   elasticsearch: { nodes: [https://es1:9200], api_key: ${SECMON_ES_API_KEY} }
///   webhooks:
///     - { name: soc, url: https://soc.example/hooks/secmon, secret: ${SECMON_SOC_WEBHOOK_SECRET} }
/// </code>
/// </example>
internal sealed partial record SecMonConfig
{
    /// <summary>The file read (<c>(stdin)</c> for <c>config check -</c>); null for the built-in defaults (no <c>--config</c>).</summary>
    public string? Path { get; init; }

    /// <summary>The document as read (a command that binds more of it, such as the findings store, reads it here).</summary>
    public required ConfigNode Root { get; init; }

    /// <summary><c>sensor.name</c>: the sensor's name in findings; null: the host name.</summary>
    public string? SensorName { get; init; }

    /// <summary>The sensor named in every finding: <c>sensor.name</c> (default the host name), <c>sensor.id</c>
    /// (default derived from the host name, so the same on every run) and <c>sensor.ips</c> (default none).</summary>
    public SensorIdentity Identity { get; init; } = SensorIdentity.ForThisHost();

    /// <summary>The data directory: <c>--data</c> when given, else <c>data</c> from the file, else <c>./data</c>.</summary>
    public string DataDirectory { get; init; } = Hosting.DataDirectory.Default;

    /// <summary><c>rules</c>: extra rule pack directories.</summary>
    public IReadOnlyList<string> RuleDirectories { get; init; } = [];

    /// <summary><c>store</c>: where <c>secmon findings search|show|stats</c> (and the API) read findings:
    /// <c>sqlite</c> (default, the data directory's store) or <c>elasticsearch</c> (the cluster of
    /// <c>outputs.elasticsearch</c>, which then holds every sensor's findings). Devices and baselines stay in SQLite.</summary>
    public string Store { get; init; } = "sqlite";

    /// <summary><c>spool.max_size</c>: the most each output's spool holds (default 256 MiB); when full, the newest
    /// findings are refused and counted.</summary>
    public SpoolOptions Spool { get; init; } = new();

    /// <summary>The outputs made from <c>outputs.*</c> (besides the embedded store, which is always written).</summary>
    public IReadOnlyList<IFindingSink> Outputs { get; init; } = [];

    /// <summary>The interfaces <c>capture</c> and <c>serve</c> capture on when no <c>-i</c> is given, each with its filter,
    /// snap length and kernel buffer (<c>capture.interfaces</c>); with <c>-i</c>, a named interface's settings here are its
    /// defaults.</summary>
    public IReadOnlyList<LiveInterface> CaptureInterfaces { get; init; } = [];

    /// <summary>A directory of rotating capture files to read as they are written (<c>capture.watch</c>), or null.</summary>
    public WatchOptions? Watch { get; init; }

    /// <summary>No file: the defaults.</summary>
    public static SecMonConfig Defaults { get; } = new() { Root = ConfigNode.Mapping([], new ConfigLocation("(defaults)", 0, 0)) };

    /// <summary>Reads and binds <paramref name="path"/>; null with <paramref name="errors"/> holding every error (and
    /// warnings either way). <paramref name="exitCode"/>: 66 when the file cannot be read, 77 when it may not be, 78
    /// (EX_CONFIG) when it has errors. <paramref name="dataDirectory"/>: the data directory given on the command line
    /// (<c>--data</c>), which wins over the file's <c>data</c>; null when not given.</summary>
    public static SecMonConfig? Load(string path, string? dataDirectory, ConfigErrors errors, out int exitCode,
        Func<string, string?>? environment = null, IReadOnlyList<IFindingOutputFactory>? outputs = null)
    {
        exitCode = 0;
        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > ConfigFile.MaxBytes)
            {
                errors.Add(new ConfigLocation(path, 0, 0), "", $"is {info.Length} bytes; a configuration file is at most {ConfigFile.MaxBytes} bytes");
                exitCode = 65;
                return null;
            }

            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            errors.Add(new ConfigLocation(path, 0, 0), "", ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file; give the path of a YAML configuration file",
                UnauthorizedAccessException => "permission denied; make the file readable by this user",
                _ => $"cannot read: {ex.Message}",
            });
            exitCode = ex is UnauthorizedAccessException ? 77 : 66;
            return null;
        }

        return FromText(text, path, System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!, dataDirectory, errors, out exitCode,
            environment, outputs);
    }

    /// <summary>Reads and binds a configuration from <paramref name="input"/> (<c>secmon config check -</c>: a file piped
    /// in), as <see cref="Load"/> does a file: its locations name <c>(stdin)</c>, and relative paths in it are relative to
    /// the current directory. 65 when it is longer than a configuration file may be, 78 when it has errors.</summary>
    public static SecMonConfig? LoadStandardInput(TextReader input, string? dataDirectory, ConfigErrors errors, out int exitCode,
        Func<string, string?>? environment = null, IReadOnlyList<IFindingOutputFactory>? outputs = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(errors);
        var text = new System.Text.StringBuilder();
        var chunk = new char[81920];
        for (int read; (read = input.Read(chunk, 0, chunk.Length)) > 0;)
        {
            text.Append(chunk, 0, read);
            if (text.Length > ConfigFile.MaxBytes)
            {
                errors.Add(new ConfigLocation(StandardInput, 0, 0), "",
                    $"is longer than {ConfigFile.MaxBytes} characters; a configuration file is at most {ConfigFile.MaxBytes} bytes");
                exitCode = 65;
                return null;
            }
        }

        return FromText(text.ToString(), StandardInput, Environment.CurrentDirectory, dataDirectory, errors, out exitCode,
            environment, outputs);
    }

    /// <summary>The name standard input's locations carry.</summary>
    public const string StandardInput = "(stdin)";

    private static SecMonConfig? FromText(string text, string source, string baseDirectory, string? dataDirectory, ConfigErrors errors,
        out int exitCode, Func<string, string?>? environment, IReadOnlyList<IFindingOutputFactory>? outputs)
    {
        exitCode = 0;
        var root = ConfigFile.Parse(text, source, errors);
        if (root is null)
        {
            exitCode = 78;
            return null;
        }

        var config = Bind(root, baseDirectory, dataDirectory, errors, environment, outputs ?? OutputCatalogue.Shipped) with { Path = source };
        if (errors.HasErrors)
        {
            exitCode = 78;
            return null;
        }

        return config;
    }

    private static SecMonConfig Bind(ConfigNode root, string baseDirectory, string? dataDirectory, ConfigErrors errors,
        Func<string, string?>? environment, IReadOnlyList<IFindingOutputFactory> factories)
    {
        var document = new ConfigSection(root, "", errors, environment);
        var sensor = document.Section("sensor");
        var name = sensor.Text("name");
        var id = sensor.Text("id");
        if (id is not null && !SensorIdPattern().IsMatch(id))
        {
            sensor.Error("id", $"'{id}' is not a sensor id: 1 to 64 letters, digits, '-', '_' or '.'");
            id = null;
        }

        var ips = new List<string>();
        foreach (var ip in sensor.Strings("ips"))
        {
            if (System.Net.IPAddress.TryParse(ip, out var address))
            {
                ips.Add(address.ToString());
            }
            else
            {
                sensor.Error("ips", $"'{ip}' is not an IP address");
            }
        }

        sensor.Finish();

        var data = document.FilePath("data") is { } written && dataDirectory is null ? written : dataDirectory ?? Hosting.DataDirectory.Default;
        var rules = document.Strings("rules").Select(r => System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, r))).ToArray();

        var (captureInterfaces, watch, budget) = BindCapture(document.Section("capture"));
        var store = document.Choice("store", "sqlite", "sqlite", "elasticsearch");
        var spoolSection = document.Section("spool");
        var spool = new SpoolOptions();
        spool = spool with { MaxBytes = spoolSection.Size("max_size", spool.MaxBytes, min: 1L << 20) };
        spoolSection.Finish();
        var outputsSection = document.Section("outputs");
        var context = new OutputContext(data, TimeProvider.System);
        var sinks = new List<IFindingSink>();
        foreach (var factory in factories)
        {
            sinks.AddRange(factory.Create(outputsSection, context));
        }

        outputsSection.Finish();
        var names = new HashSet<string>(StringComparer.Ordinal) { "sqlite" };
        foreach (var sink in sinks)
        {
            if (!names.Add(sink.Name))
            {
                errors.Add(outputsSection.Location, "outputs", $"two outputs are named '{sink.Name}'; give each a name of its own (its spool directory is spool/NAME)");
            }
        }

        if (store == "elasticsearch" && !outputsSection.Has("elasticsearch"))
        {
            document.Error("store", "store: elasticsearch needs outputs.elasticsearch (the cluster to read from)");
        }

        var scans = BindScans(document.Section("scans"));
        var protocols = BindProtocols(document.Section("protocols"));
        document.Finish();
        return new SecMonConfig
        {
            Capture = CaptureOptions.ForMemoryBudget(budget) with { Scans = scans },
            Protocols = protocols,
            Store = store,
            Spool = spool,
            Root = root,
            SensorName = name,
            Identity = SensorIdentity.ForThisHost(name, id) with { Ips = ips },
            DataDirectory = data,
            RuleDirectories = rules,
            Outputs = sinks,
            CaptureInterfaces = captureInterfaces,
            Watch = watch,
        };
    }

    // capture: {interfaces: [{name, bpf, snaplen, buffer}], watch: {directory, pattern, settle}, memory_budget}
    private static (IReadOnlyList<LiveInterface>, WatchOptions?, long MemoryBudget) BindCapture(ConfigSection capture)
    {
        var budget = capture.Size("memory_budget", CaptureOptions.DefaultMemoryBudgetBytes, min: CaptureOptions.MinMemoryBudgetBytes);
        if (budget > CaptureOptions.MaxMemoryBudgetBytes)
        {
            capture.Error("memory_budget", $"{budget} bytes is more than the 64GiB a budget may be; write e.g. 256MiB (the default) or 1GiB");
            budget = CaptureOptions.DefaultMemoryBudgetBytes;
        }

        var interfaces = new List<LiveInterface>();
        foreach (var entry in capture.Sections("interfaces"))
        {
            var name = entry.Text("name", required: true);
            var bpf = entry.Text("bpf");
            var snaplen = entry.Number("snaplen", LiveInterface.DefaultSnaplen,
                min: LiveInterface.MinSnaplen, max: LiveInterface.DefaultSnaplen);
            var buffer = entry.Size("buffer", LiveInterface.DefaultBufferBytes, min: LiveInterface.MinBufferBytes);
            if (buffer > LiveInterface.MaxBufferBytes)
            {
                entry.Error("buffer", $"{buffer} bytes is more than the 1GiB a kernel capture buffer may take here; write e.g. 64MiB");
                buffer = LiveInterface.DefaultBufferBytes;
            }

            entry.Finish();
            if (name is null)
            {
                continue;
            }

            if (interfaces.Any(i => i.Name == name))
            {
                entry.Error("name", $"interface '{name}' is listed twice: each packet would be analysed twice");
                continue;
            }

            interfaces.Add(new LiveInterface(name) { Bpf = bpf, Snaplen = snaplen, BufferBytes = (int)buffer });
        }

        WatchOptions? watch = null;
        if (capture.Has("watch"))
        {
            var section = capture.Section("watch");
            var directory = section.FilePath("directory", required: true);
            var defaults = new WatchOptions(".");
            var pattern = section.Text("pattern", defaults.Pattern)!;
            var settle = section.Duration("settle", defaults.Settle);
            section.Finish();
            if (pattern.IndexOfAny(['/', '\\']) >= 0)
            {
                section.Error("pattern", $"'{pattern}' is a path; the pattern matches file names in the directory (e.g. *.pcap)");
            }
            else if (directory is not null)
            {
                watch = defaults with { Directory = directory, Pattern = pattern, Settle = settle };
            }
        }

        if (interfaces.Count > 0 && watch is not null)
        {
            capture.Error("watch", "capture.interfaces and capture.watch are both given; a sensor reads one kind of source: keep one");
        }

        capture.Finish();
        return (interfaces, watch, budget);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex SensorIdPattern();
}
