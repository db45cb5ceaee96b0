using System.Diagnostics;
using SecMon.Core.Findings;
using SecMon.Findings.Spool;

namespace SecMon.Hosting.Sinks;

/// <summary>
/// Every finding sink of a run, each behind its own <see cref="FindingSinkRunner"/>: the rules thread publishes a
/// batch once and each sink takes it at its own pace. At the end, <see cref="Complete"/> gives all of them the same
/// deadline, so one hung sink does not make the others wait twice.
/// </summary>
internal sealed class FindingOutputs : IDisposable
{
    private readonly List<FindingSinkRunner> _runners = [];

    /// <summary>Starts a runner for each sink; <paramref name="announce"/> (live printing) follows the first sink: it
    /// sees each batch once that sink (the store) has had it.</summary>
    public FindingOutputs(IEnumerable<IFindingSink> sinks, SinkRunOptions? options = null, Action<IReadOnlyList<Finding>>? announce = null)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        Options = options ?? new SinkRunOptions();
        foreach (var sink in sinks)
        {
            _runners.Add(new FindingSinkRunner(sink, Options, _runners.Count == 0 ? announce : null));
        }
    }

    /// <summary>How the sinks are run.</summary>
    public SinkRunOptions Options { get; }

    /// <summary>The runners, in registration order.</summary>
    public IReadOnlyList<FindingSinkRunner> Runners => _runners;

    /// <summary>True when some finding did not reach some sink (read after <see cref="Complete"/>).</summary>
    public bool AnyFailed => _runners.Exists(r => r.HasFailed);

    /// <summary>Hands <paramref name="findings"/> to every sink (one shared copy). Called from the rules thread.</summary>
    public void Publish(IReadOnlyList<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        if (findings.Count == 0 || _runners.Count == 0)
        {
            return;
        }

        var batch = findings.ToArray();
        foreach (var runner in _runners)
        {
            runner.Enqueue(batch);
        }
    }

    /// <summary>No more findings: waits (up to <see cref="SinkRunOptions.CompleteTimeout"/> in all) for every sink to write
    /// what it was given. <paramref name="whenStored"/>, when given, runs once the first sink (the embedded store) has
    /// finished, before the wait for the others.</summary>
    public void Complete(Action? whenStored = null)
    {
        // Every sink is told first, so they all finish side by side: a sink waited for in turn after a slow one would
        // find the shared deadline spent although it had finished long before.
        var deadline = DateTime.UtcNow + Options.CompleteTimeout;
        foreach (var runner in _runners)
        {
            runner.NoMoreBatches();
        }

        if (whenStored is not null)
        {
            // The run's own end goes first: the spooled outputs hold their sending (not their spools) while the store
            // takes its last findings and whenStored saves, and deliver right after, within the same deadline (a
            // service's stop stays bounded; what is not sent by then waits in the spool). Sending beside it shared the
            // cores and made the end of a bench-1x run with every output take twice as long (bench/README.md,
            // "Session 18").
            var spooled = _runners.Skip(1).Select(r => r.Sink).OfType<SpooledSink>().ToList();
            spooled.ForEach(s => s.HoldDelivery());
            try
            {
                _runners[0].Complete(deadline);
                whenStored();
            }
            finally
            {
                spooled.ForEach(s => s.ReleaseDelivery());
            }
        }

        var handedOver = Stopwatch.GetTimestamp();
        foreach (var runner in _runners)
        {
            runner.Complete(deadline);
            handedOver = Math.Max(handedOver, runner.AcceptedAt);
        }

        HandedOverAt = handedOver;
    }

    /// <summary>When every sink had every finding it was given, stored or in its spool, and the work after the store
    /// (<c>whenStored</c>) was done: the end of the analysis. What the spooled outputs delivered after it is their own
    /// time (a <see cref="Stopwatch"/> timestamp, set by <see cref="Complete"/>).</summary>
    public long HandedOverAt { get; private set; }

    /// <summary>One line per sink that missed findings, for stderr after the run summary.</summary>
    public IEnumerable<string> Failures() => _runners.Where(r => r.HasFailed).Select(r => r.Dropped == 0
        ? $"output '{r.Name}': {r.Error}"
        : $"output '{r.Name}' missed {r.Dropped:N0} of {r.Received:N0} findings: {r.Error ?? "dropped"}");

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var runner in _runners)
        {
            runner.Dispose();
        }
    }
}
