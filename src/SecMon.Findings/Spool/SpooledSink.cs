using SecMon.Core.Findings;
using SecMon.Findings.Ecs;

namespace SecMon.Findings.Spool;

/// <summary>
/// Puts a durable <see cref="FindingSpool"/> in front of an output that can be slow or down (anything over the
/// network): the host's runner hands batches to the spool (a local append, fast), and a delivery thread of this sink
/// sends them on, oldest first, acknowledging each batch only once the output confirmed it. Transient failures (the
/// output down, 429, 5xx) are retried with growing delays (jitter, at most <see cref="SpoolDelivery.MaxRetryDelay"/>) for as long as
/// the sink runs; a batch the output refuses for good goes to <c>dead-letters.jsonl</c> in the spool directory with the
/// reason (to be replayed after a fix) and delivery goes on. What is not delivered when the run ends stays in the spool
/// and goes first on the next run. When the spool is full (<see cref="SpoolOptions.MaxBytes"/>) new findings are
/// refused (a transient failure to the runner, which counts them once its tries are spent).
/// </summary>
public sealed class SpooledSink : IFindingSink, IDisposable
{
    private readonly IFindingSink _inner;
    private readonly SpoolDelivery _delivery;
    private readonly FindingSpool _spool;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _connecting = new();
    private readonly SemaphoreSlim _appended = new(0);
    private readonly ManualResetEventSlim _ending = new();
    private readonly ManualResetEventSlim _released = new(initialState: true);
    private readonly Thread _thread;
    private volatile bool _completing;
    private long _delivered;
    private long _deadLettered;
    private long _failures;

    /// <summary>Starts delivering what <paramref name="spool"/> holds (from earlier runs too) to <paramref name="inner"/>.</summary>
    public SpooledSink(IFindingSink inner, FindingSpool spool, SpoolDelivery? delivery = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(spool);
        _inner = inner;
        _spool = spool;
        _delivery = delivery ?? new SpoolDelivery();
        _thread = new Thread(Deliver) { Name = "secmon-spool-" + inner.Name, IsBackground = true };
        _thread.Start();
    }

    /// <inheritdoc />
    public string Name => _inner.Name;

    /// <summary>Findings the output confirmed.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Findings the output refused for good (in <c>dead-letters.jsonl</c>).</summary>
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    /// <summary>Deliveries the output failed transiently (each is retried: the output down, 429, 5xx).</summary>
    public long TransientFailures => Interlocked.Read(ref _failures);

    /// <summary>The last failure the output reported (one line), or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>Bytes of findings in the spool, not yet delivered.</summary>
    public long PendingBytes => _spool.PendingBytes;

    /// <inheritdoc />
    public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        try
        {
            if (!_spool.TryAppend(findings))
            {
                return SinkResult.Failed($"the spool in '{_spool.Directory}' is full ({_spool.PendingBytes:N0} bytes not yet delivered{Why()})", transient: true);
            }
        }
        catch (IOException ex)
        {
            return SinkResult.Failed($"cannot write the spool in '{_spool.Directory}': {ex.Message}", transient: true);
        }

        _appended.Release();
        return SinkResult.Ok(0);
    }

    /// <summary>
    /// Holds delivery before its next batch until <see cref="ReleaseDelivery"/>; findings are still appended to the
    /// spool meanwhile, and <see cref="Complete"/> waits for the release (or its token). The host holds it while it
    /// finishes its own part of a run (the store's last findings, the devices' and baselines' save), which would
    /// otherwise share the machine's cores with the outputs' sending and take longer: the outputs deliver right after.
    /// </summary>
    public void HoldDelivery() => _released.Reset();

    /// <summary>Lets delivery go on after <see cref="HoldDelivery"/>.</summary>
    public void ReleaseDelivery() => _released.Set();

    /// <inheritdoc />
    public void Complete(CancellationToken cancellationToken)
    {
        // Deliver what the spool holds until it is empty, the output has failed SpoolDelivery.TriesAtEnd times in a row
        // or the host stops waiting; the rest waits for the next run or 'secmon outputs flush'.
        _completing = true;
        _ending.Set();
        if (_spool.PendingBytes == 0)
        {
            // Nothing came and nothing will: an output still getting ready (a node that does not answer) does not
            // hold the run's end. With findings to deliver it goes on: it is what the first delivery needs.
            _connecting.Cancel();
        }

        _appended.Release();
        using var registration = cancellationToken.Register(_stop.Cancel);
        _thread.Join();
        _inner.Complete(cancellationToken);
        if (_spool.PendingBytes > 0)
        {
            throw new IOException($"{_spool.PendingBytes:N0} bytes of findings stay in the spool '{_spool.Directory}' for the next run{Why()}");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _completing = true;
        _ending.Set();
        _stop.Cancel();
        _connecting.Cancel();
        _appended.Release();
        _thread.Join();
        _spool.Dispose();
        (_inner as IDisposable)?.Dispose();
        _stop.Dispose();
        _connecting.Dispose();
        _appended.Dispose();
        _ending.Dispose();
        _released.Dispose();
    }

    private string Why() => LastError is null ? "" : $"; the output said: {LastError}";

    private void Deliver()
    {
        var ct = _stop.Token;
        var delay = _delivery.RetryDelay;
        var failuresInRow = 0;
        var unreadable = new List<string>();
        var connected = _inner is not IConnectingSink;
        while (!ct.IsCancellationRequested)
        {
            SpoolBatch batch;
            try
            {
                batch = _spool.Peek(_delivery.BatchSize, unreadable, routingOnly: _inner is IDocumentSink);
            }
            catch (IOException ex)
            {
                LastError = ex.Message;
                Wait(delay, ct);
                continue;
            }

            if (batch.Findings.Count == 0)
            {
                if (unreadable.Count > 0)
                {
                    _spool.Acknowledge(batch); // only unreadable lines: pass them
                    WriteDeadLetters([], string.Join("; ", unreadable));
                    unreadable.Clear();
                    continue;
                }

                if (_completing)
                {
                    return;
                }

                if (!connected)
                {
                    connected = true;
                    Connect(ct);
                    continue;
                }

                _appended.Wait(TimeSpan.FromMilliseconds(500), CancellationToken.None);
                continue;
            }

            if (!_released.IsSet && !WaitForRelease(ct))
            {
                return;
            }

            connected = true; // the write gets it ready
            SinkResult result;
            try
            {
                result = _inner.Write(batch.Findings, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Isolation boundary: the output's exception is its failure, dead-lettered with the reason.
            catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
            {
                result = SinkResult.Failed($"{ex.GetType().Name}: {ex.Message}", transient: false);
            }

            if (result.Succeeded)
            {
                // Refused items are written to the dead letters before the batch is acknowledged (a crash between
                // the two sends the batch again: the delivered ones are de-duplicated, the refused ones refused again).
                foreach (var rejected in result.Rejected)
                {
                    WriteDeadLetters([rejected.Finding], rejected.Reason);
                }

                _spool.Acknowledge(batch);
                Interlocked.Add(ref _delivered, batch.Findings.Count - result.Rejected.Count);
                delay = _delivery.RetryDelay;
                failuresInRow = 0;
            }
            else if (result.Transient)
            {
                LastError = result.Error;
                Interlocked.Increment(ref _failures);
                // Failures before the end count too: an output that was down for the run gets one more try when the
                // run ends (the backoff wait is cut short), not a series of growing waits that hold the run's end.
                if (++failuresInRow >= _delivery.TriesAtEnd && _completing)
                {
                    return;
                }

                Wait(delay, ct);
                delay = TimeSpan.FromTicks(Math.Min(_delivery.MaxRetryDelay.Ticks, delay.Ticks * 2));
                continue;
            }
            else
            {
                LastError = result.Error;
                WriteDeadLetters(batch.Findings, result.Error!);
                _spool.Acknowledge(batch);
            }

            if (unreadable.Count > 0)
            {
                WriteDeadLetters([], string.Join("; ", unreadable));
                unreadable.Clear();
            }
        }
    }

    private bool WaitForRelease(CancellationToken ct)
    {
        try
        {
            _released.Wait(ct);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    // The output gets ready while nothing waits for it (IConnectingSink): best effort, its first write reports a failure.
    private void Connect(CancellationToken ct)
    {
        using var connecting = CancellationTokenSource.CreateLinkedTokenSource(ct, _connecting.Token);
        try
        {
            ((IConnectingSink)_inner).Connect(connecting.Token);
        }
#pragma warning disable CA1031 // Best effort: whatever failed here fails again in the first write, which reports it.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
        }
    }

    private void WriteDeadLetters(IReadOnlyList<Finding> findings, string reason)
    {
        var path = Path.Combine(_spool.Directory, FindingSpool.DeadLetterFile);
        using var file = new StreamWriter(path, append: true);
        var at = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var quotedReason = System.Text.Json.JsonSerializer.Serialize(reason);
        if (findings.Count == 0)
        {
            file.WriteLine($"{{\"dead_letter.at\":\"{at}\",\"dead_letter.reason\":{quotedReason}}}");
        }

        foreach (var f in findings)
        {
            file.WriteLine($"{{\"dead_letter.at\":\"{at}\",\"dead_letter.reason\":{quotedReason},\"finding\":{FindingJson.Write(f)}}}");
        }

        Interlocked.Add(ref _deadLettered, findings.Count);
    }

    // Waits with jitter. A wait that began before the run's end is cut short by it (Complete); at the end the waits
    // are at most the first retry delay, not the one grown over a run with the output down.
    private void Wait(TimeSpan delay, CancellationToken ct)
    {
        var jittered = delay * (0.5 + Random.Shared.NextDouble());
        if (_completing)
        {
            ct.WaitHandle.WaitOne(TimeSpan.FromTicks(Math.Min(jittered.Ticks, _delivery.RetryDelay.Ticks)));
        }
        else
        {
            WaitHandle.WaitAny([ct.WaitHandle, _ending.WaitHandle], jittered);
        }
    }
}

/// <summary>How a <see cref="SpooledSink"/> delivers.</summary>
public sealed record SpoolDelivery
{
    /// <summary>Findings per delivery. Default 500.</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>Delay before the first retry of a transient failure; doubled for each further one. Default 1 second.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between retries. Default 30 seconds.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Once <see cref="SpooledSink.Complete"/> was called: transient failures in a row (those before the call
    /// count too) after which delivery stops and what is left waits in the spool, so an output that is down does not
    /// hold the end of a run (the sensor uses 3: an output down for the run gets one more try at its end, at once). Default: no limit (delivery goes on until the caller stops waiting,
    /// as <c>secmon outputs flush</c> wants).</summary>
    public int TriesAtEnd { get; init; } = int.MaxValue;
}
