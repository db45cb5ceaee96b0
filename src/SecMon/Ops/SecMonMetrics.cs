using Prometheus;
using SecMon.Findings.Spool;
using SecMon.Pki.Est;

namespace SecMon.Ops;

/// <summary>
/// The host's Prometheus metrics (README.md, "Metrics, health and logs", lists them). Nothing here is called per packet
/// or per finding: the sensor, its outputs and the EST service keep their counters as they always did, and a scrape
/// copies them into the collectors first (<see cref="CollectorRegistry.AddBeforeCollectCallback(Action)"/>). Labels are
/// bounded: event types, protocols and malformed reasons, rule ids and severity bands, output names and EST outcomes;
/// never a device, an address or a client id. A registry of its own per host (not prometheus-net's static default), so
/// hosts in one process (tests) do not mix their numbers; it also carries the process and .NET runtime metrics.
/// </summary>
internal sealed class SecMonMetrics
{
    private readonly SensorMonitor _monitor;
    private readonly IServiceProvider _services;
    private readonly Counter _packets;
    private readonly Counter _bytes;
    private readonly Counter _drops;
    private readonly Counter _flows;
    private readonly Counter _malformedFrames;
    private readonly Counter _parserErrors;
    private readonly Counter _events;
    private readonly Counter _findings;
    private readonly Gauge _capturing;
    private readonly Counter _outputReceived;
    private readonly Counter _outputDelivered;
    private readonly Counter _outputDropped;
    private readonly Counter _outputRetries;
    private readonly Counter _outputDeadLetters;
    private readonly Gauge _outputQueued;
    private readonly Gauge _spoolPending;
    private readonly Gauge _outputFailed;
    private readonly Counter _estIssued;
    private readonly Counter _estRefused;
    private readonly Counter _connectionsRefused;

    /// <summary>Creates the registry and its collectors.</summary>
    public SecMonMetrics(SensorMonitor monitor, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentNullException.ThrowIfNull(services);
        _monitor = monitor;
        _services = services;
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var f = Metrics.WithCustomRegistry(Registry);
        _packets = f.CreateCounter("secmon_packets_total", "Packets read from the capture interfaces.");
        _bytes = f.CreateCounter("secmon_bytes_total", "Bytes captured (captured length of every packet).");
        _drops = f.CreateCounter("secmon_drops_total",
            "Packets or flows dropped, by kind: kernel (libpcap statistics), channel (the capture queue was full), flow_eviction " +
            "(the flow table was full), memory_pressure (flows evicted because the heap was above capture.memory_budget's share), ip_fragment (incomplete fragmented datagrams), reassembly_overflow (a TCP reassembly bound).", "kind");
        _flows = f.CreateCounter("secmon_flows_total", "Flows created.");
        _malformedFrames = f.CreateCounter("secmon_malformed_frames_total", "Frames that could not be decoded, by kind: malformed, truncated, unknown_link_type.", "kind");
        _parserErrors = f.CreateCounter("secmon_parser_errors_total", "Malformed application messages, by protocol and reason.", "protocol", "reason");
        _events = f.CreateCounter("secmon_events_total", "Protocol events, by event type.", "type");
        _findings = f.CreateCounter("secmon_findings_total", "Findings made by the rules, by rule id and severity band.", "rule", "severity");
        _capturing = f.CreateGauge("secmon_sensor_capturing", "1 while the sensor captures, else 0.");
        _outputReceived = f.CreateCounter("secmon_output_received_total", "Findings handed to each output (the store is output 'store').", "output");
        _outputDelivered = f.CreateCounter("secmon_output_delivered_total", "Findings each output confirmed (for a spooled output: delivered from its spool).", "output");
        _outputDropped = f.CreateCounter("secmon_output_dropped_total", "Findings an output did not get (it failed for good, stalled, or did not finish in time).", "output");
        _outputRetries = f.CreateCounter("secmon_output_retries_total", "Transient output failures, each retried.", "output");
        _outputDeadLetters = f.CreateCounter("secmon_output_dead_letters_total", "Findings a spooled output refused for good (kept in its dead letters).", "output");
        _outputQueued = f.CreateGauge("secmon_output_queue_depth", "Findings queued in memory for each output.", "output");
        _spoolPending = f.CreateGauge("secmon_spool_pending_bytes", "Bytes of findings in each output's spool, not yet delivered.", "output");
        _outputFailed = f.CreateGauge("secmon_output_failed", "1 once an output missed a finding or reported a failure, else 0.", "output");
        _estIssued = f.CreateCounter("secmon_est_issued_total", "Certificates issued through EST.");
        _estRefused = f.CreateCounter("secmon_est_refused_total",
            "EST requests refused, by outcome: unauthorized, bad_request, forbidden, not_found, payload_too_large, too_many_requests.", "outcome");
        _connectionsRefused = f.CreateCounter("secmon_connections_refused_total",
            "Connections closed on arrival because a bound was reached, by listener (est, http, api) and bound: per_address (one client address or IPv6 /64) or total.",
            "listener", "limit");
        Registry.AddBeforeCollectCallback(Update);
    }

    /// <summary>The registry the <c>/metrics</c> endpoint exports.</summary>
    public CollectorRegistry Registry { get; }

    // Counters move to the values the owners hold (IncTo never goes back: a counter is monotonic for Prometheus).
    private void Update()
    {
        if (_services.GetService(typeof(EnrollmentService)) is EnrollmentService est)
        {
            var c = est.Counters;
            _estIssued.IncTo(c.Issued);
            foreach (var outcome in Enum.GetValues<EnrollmentOutcome>().Where(o => o is not (EnrollmentOutcome.Issued or EnrollmentOutcome.Pending)))
            {
                _estRefused.WithLabels(Snake(outcome.ToString())).IncTo(c.Count(outcome));
            }
        }

        if (_services.GetService(typeof(Api.ConnectionGuards)) is Api.ConnectionGuards guards)
        {
            foreach (var g in guards.All)
            {
                _connectionsRefused.WithLabels(g.Listener, "per_address").IncTo(g.RefusedPerAddress);
                _connectionsRefused.WithLabels(g.Listener, "total").IncTo(g.RefusedTotal);
            }
        }

        _capturing.Set(_monitor.State == SensorState.Capturing ? 1 : 0);
        if (_monitor.Current is not { } running)
        {
            return;
        }

        var s = running.Sensor.Session.Stats;
        _packets.IncTo(Volatile.Read(ref s.Packets));
        _bytes.IncTo(Volatile.Read(ref s.Bytes));
        _flows.IncTo(Volatile.Read(ref s.Flows));
        _drops.WithLabels("kernel").IncTo(Volatile.Read(ref s.KernelDrops));
        _drops.WithLabels("channel").IncTo(Volatile.Read(ref s.ChannelDrops));
        // Disjoint kinds: a flow evicted because the table was full, or because the heap was above the memory budget's share.
        var pressure = Volatile.Read(ref s.PressureFlowEvictions);
        _drops.WithLabels("flow_eviction").IncTo(Volatile.Read(ref s.FlowEvictions) - pressure);
        _drops.WithLabels("memory_pressure").IncTo(pressure);
        _drops.WithLabels("ip_fragment").IncTo(Volatile.Read(ref s.IpFragmentDrops));
        _drops.WithLabels("reassembly_overflow").IncTo(Volatile.Read(ref s.ReassemblyOverflows));
        _malformedFrames.WithLabels("malformed").IncTo(Volatile.Read(ref s.MalformedFrames));
        _malformedFrames.WithLabels("truncated").IncTo(Volatile.Read(ref s.TruncatedFrames));
        _malformedFrames.WithLabels("unknown_link_type").IncTo(Volatile.Read(ref s.UnknownLinkType));
        foreach (var (protocol, reason, count) in running.MalformedByReason)
        {
            _parserErrors.WithLabels(protocol, reason).IncTo(count);
        }

        foreach (var (type, count) in running.EventsByType)
        {
            _events.WithLabels(type).IncTo(count);
        }

        if (running.Sensor.Detection is { } detection)
        {
            foreach (var (rule, severity, count) in detection.FindingsBySeverity)
            {
                _findings.WithLabels(rule, severity).IncTo(count);
            }
        }

        if (running.Sensor.Outputs is { } outputs)
        {
            foreach (var runner in outputs.Runners)
            {
                var spooled = runner.Sink as SpooledSink;
                var name = runner.Name;
                _outputReceived.WithLabels(name).IncTo(runner.Received);
                _outputDelivered.WithLabels(name).IncTo(spooled?.Delivered ?? runner.Delivered);
                _outputDropped.WithLabels(name).IncTo(runner.Dropped);
                _outputRetries.WithLabels(name).IncTo(runner.Retries + (spooled?.TransientFailures ?? 0));
                _outputQueued.WithLabels(name).Set(runner.Queued);
                _outputFailed.WithLabels(name).Set(runner.HasFailed ? 1 : 0);
                if (spooled is not null)
                {
                    _outputDeadLetters.WithLabels(name).IncTo(spooled.DeadLettered);
                    _spoolPending.WithLabels(name).Set(spooled.PendingBytes);
                }
            }
        }
    }

    // TooManyRequests -> too_many_requests.
    private static string Snake(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
