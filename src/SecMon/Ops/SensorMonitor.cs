using SecMon.Findings.Spool;
using SecMon.Hosting;

namespace SecMon.Ops;

/// <summary>Where a host's live sensor is in its life, for <c>/readyz</c>.</summary>
internal enum SensorState
{
    /// <summary>The host runs no sensor (serve without <c>--interface</c>).</summary>
    None,

    /// <summary>Configured, not yet capturing (opening the store, the interface).</summary>
    Starting,

    /// <summary>Capturing.</summary>
    Capturing,

    /// <summary>Stopping: draining the pipeline, flushing the store and the spools.</summary>
    Draining,

    /// <summary>Stopped (<see cref="SensorMonitor.ExitCode"/> says how).</summary>
    Stopped,
}

/// <summary>
/// What the metrics and health endpoints know of the host's live sensor: its state, and the sensor itself while it
/// runs, so that a scrape reads the counters the sensor keeps anyway (<see cref="SecMon.Capture.CaptureStats"/>, the output runners,
/// the spools) instead of counting a second time. The counters kept in dictionaries (events by type, malformed messages
/// by protocol and reason) belong to the capture thread: it publishes a copy here once a second (<see cref="Publish"/>),
/// which is what a scrape reads. One per host (a singleton in its services).
/// </summary>
internal sealed class SensorMonitor
{
    private volatile Running? _running;
    private volatile string? _interfaces;
    private volatile string? _dataDirectory;
    private int _state;
    private int _exitCode;

    /// <summary>The running sensor (its run's counters include the kernel and channel drops, copied every second).</summary>
    internal sealed class Running(Sensor sensor)
    {
        private volatile IReadOnlyList<KeyValuePair<string, long>> _eventsByType = [];
        private volatile IReadOnlyList<(string Protocol, string Reason, long Count)> _malformedByReason = [];

        /// <summary>The sensor.</summary>
        public Sensor Sensor => sensor;

        /// <summary>Events by type as of the last tick.</summary>
        public IReadOnlyList<KeyValuePair<string, long>> EventsByType
        {
            get => _eventsByType;
            set => _eventsByType = value;
        }

        /// <summary>Malformed messages by protocol and reason as of the last tick.</summary>
        public IReadOnlyList<(string Protocol, string Reason, long Count)> MalformedByReason
        {
            get => _malformedByReason;
            set => _malformedByReason = value;
        }
    }

    /// <summary>The sensor's state.</summary>
    public SensorState State => (SensorState)Volatile.Read(ref _state);

    /// <summary>Once <see cref="SensorState.Stopped"/>: the sensor's exit code.</summary>
    public int ExitCode => Volatile.Read(ref _exitCode);

    /// <summary>The interfaces the sensor captures on (null without a sensor).</summary>
    public string? Interfaces => _interfaces;

    /// <summary>The data directory whose writability <c>/readyz</c> checks (the store's); null: the CA's.</summary>
    public string? DataDirectory
    {
        get => _dataDirectory;
        set => _dataDirectory = value;
    }

    /// <summary>The running sensor, or null.</summary>
    internal Running? Current => _running;

    /// <summary>The host will run a sensor on <paramref name="interfaces"/>: not ready until it captures.</summary>
    public void Expect(string interfaces)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaces);
        _interfaces = interfaces;
        Volatile.Write(ref _state, (int)SensorState.Starting);
    }

    /// <summary>The sensor captures (or reads its watched directory).</summary>
    internal void Started(Sensor sensor)
    {
        _running = new Running(sensor);
        Publish();
        Volatile.Write(ref _state, (int)SensorState.Capturing);
    }

    /// <summary>On the capture thread, once a second and at the end: copies the counters kept in dictionaries.</summary>
    internal void Publish()
    {
        if (_running is not { } r)
        {
            return;
        }

        var s = r.Sensor.Session;
        r.EventsByType = s.Counter.ByType;
        r.MalformedByReason = [.. s.Stats.MalformedByReason.Select(kv => (kv.Key.Protocol, RunSummary.ReasonName(kv.Key.Reason), kv.Value))];
    }

    /// <summary>
    /// What is not flushed yet, for the line of a second signal (<see cref="SecondSignal"/>): findings each output still
    /// holds in memory (lost if the process ends now) and the bytes waiting in each spool (kept on disk, delivered at the
    /// next start). Events still inside the capture and rules threads are not counted here.
    /// </summary>
    internal string Unflushed()
    {
        if (_running is not { } r || r.Sensor.Outputs is not { } outputs)
        {
            return State == SensorState.None ? "no sensor ran: nothing was pending" : "the sensor had not started capturing: nothing was pending";
        }

        var lost = new List<string>();
        var kept = new List<string>();
        foreach (var runner in outputs.Runners)
        {
            if (runner.Queued > 0)
            {
                lost.Add($"{runner.Queued} for {runner.Name}");
            }

            if (runner.Sink is SpooledSink spooled && spooled.PendingBytes > 0)
            {
                kept.Add($"{runner.Name}: {spooled.PendingBytes} bytes" + (_dataDirectory is { } d ? $" in {Sensor.SpoolDirectory(d, runner.Name)}" : ""));
            }
        }

        return "not flushed: " + (lost.Count == 0 ? "no findings held in memory" : "findings held in memory, lost: " + string.Join(", ", lost))
            + "; " + (kept.Count == 0 ? "no spool waits" : "spools kept for the next start: " + string.Join(", ", kept));
    }

    /// <summary>The capture stopped; the pipeline drains.</summary>
    internal void Draining() => Volatile.Write(ref _state, (int)SensorState.Draining);

    /// <summary>The sensor ended with <paramref name="exitCode"/>. Its last counters stay readable.</summary>
    internal void Stopped(int exitCode)
    {
        Volatile.Write(ref _exitCode, exitCode);
        Volatile.Write(ref _state, (int)SensorState.Stopped);
    }
}
