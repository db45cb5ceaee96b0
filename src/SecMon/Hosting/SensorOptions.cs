using SecMon.Capture;
using SecMon.Capture.Protocols;
using SecMon.Core.Findings;
using SecMon.Detection;
using SecMon.Detection.Baselines;
using SecMon.Findings.Spool;
using SecMon.Hosting.Sinks;

namespace SecMon.Hosting;

/// <summary>
/// Everything a sensor run is built from, whatever reads the packets (files for <c>analyze</c>, an interface for
/// <c>capture</c> and <c>serve</c>). Commands fill this from their options and hand it to <see cref="Sensor"/>.
/// </summary>
internal sealed record SensorOptions
{
    /// <summary>The data directory: the store (findings, devices, baselines) and the secret-hash key.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Where protocol events go as JSON lines (<c>-</c> = stdout); null: nowhere.</summary>
    public string? EventsPath { get; init; }

    /// <summary>The rules; null dissects only (no rules, no store, no findings).</summary>
    public RuleSet? Rules { get; init; }

    /// <summary>Live: where the rules can be replaced while the sensor runs (the API of <c>serve</c>); its current set
    /// wins over <see cref="Rules"/>. Null: the rules are fixed for the run.</summary>
    public RuleSwitch? RuleSwitch { get; init; }

    /// <summary>Baseline learning options; null keeps the defaults (or what the store continues).</summary>
    public BaselineOptions? Baselines { get; init; }

    /// <summary>The sensor named in every finding (<c>observer.*</c>, <c>agent.id</c>); null: this host's name, with an
    /// id derived from it (<see cref="SensorIdentity.ForThisHost()"/>).</summary>
    public SensorIdentity? Identity { get; init; }

    /// <summary>True for a live source: findings are printed as they are stored, devices and baselines are saved every
    /// <see cref="SaveEvery"/>, and a stalled output is waited for less.</summary>
    public bool Live { get; init; }

    /// <summary>Findings as ECS JSON lines on stdout, each batch once the embedded store has it, in the order found (live,
    /// instead of one line each on stderr).</summary>
    public bool JsonFindings { get; init; }

    /// <summary>Where <see cref="JsonFindings"/> go instead of stdout (left open); null: stdout.</summary>
    public Stream? FindingsOut { get; init; }

    /// <summary>Keep every finding of the run in memory (<see cref="DetectionPipeline.Findings"/>), for a caller that reads
    /// them after the run. Off by default: a finding is let go once the outputs have it, so memory does not grow with
    /// the number of findings.</summary>
    public bool KeepFindings { get; init; }

    /// <summary>Live: how often events waiting in a short batch are handed to the rules and inventory threads, and
    /// windows closed on the wall clock (the bound on how long a finding waits when traffic is slow). Default 1 second;
    /// <c>serve</c> uses 200 ms so that its API shows a finding well within a second of the traffic.</summary>
    public TimeSpan TickEvery { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Live: how often devices and baselines are saved. Default 1 minute.</summary>
    public TimeSpan SaveEvery { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Engine limits and timeouts.</summary>
    public CaptureOptions Capture { get; init; } = new();

    /// <summary>The protocols dissected. Default: every shipped protocol.</summary>
    public ProtocolCatalogue Protocols { get; init; } = ProtocolCatalogue.Shipped;

    /// <summary>Finding outputs besides the embedded store (configured outputs; tests plug theirs in here).</summary>
    public IReadOnlyList<IFindingSink> Outputs { get; init; } = [];

    /// <summary>The spool of each output that needs one; null: <see cref="SpoolOptions"/> defaults (256 MiB).</summary>
    public SpoolOptions? Spool { get; init; }

    /// <summary>How finding outputs are run; null: <see cref="SinkRunOptions"/> defaults (live: a stalled output is
    /// waited for 1 second, not 30).</summary>
    public SinkRunOptions? OutputRun { get; init; }

    /// <summary>Live: where the sensor reports its state and counters for the host's metrics and readiness
    /// (<c>serve</c>); null: nowhere.</summary>
    public SecMon.Ops.SensorMonitor? Monitor { get; init; }
}
