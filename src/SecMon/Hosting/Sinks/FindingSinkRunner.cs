using System.Collections.Concurrent;
using SecMon.Core.Findings;

namespace SecMon.Hosting.Sinks;

/// <summary>How a finding sink is run. Defaults suit analysing files; live capture waits less for a stalled sink.</summary>
internal sealed record SinkRunOptions
{
    /// <summary>Batches queued for the sink before the producer waits. Default 64 (a batch is at most 10,000 findings).</summary>
    public int QueuedBatches { get; init; } = 64;

    /// <summary>How long the rules thread waits for room in a full queue before it declares the sink stalled and drops
    /// (and counts) what the sink cannot take; a stalled sink's later batches are dropped without waiting until its
    /// queue has room again. Default 30 seconds (a slow sink is waited for; a hung one is not).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>At the end of a run, how long the host waits for the sink to write what is queued. Default 60 seconds.</summary>
    public TimeSpan CompleteTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Tries of a batch the sink reports as failed transiently, before it is dropped. Default 4.</summary>
    public int TransientAttempts { get; init; } = 4;

    /// <summary>Delay before the second try; doubled for each further try, with jitter. Default 500 ms.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// Runs one <see cref="IFindingSink"/> on a thread of its own behind a bounded queue of batches. The sink never
/// blocks the rules thread for longer than <see cref="SinkRunOptions.StallTimeout"/>, and its failures never reach
/// the other sinks: a batch that fails permanently (or throws) is counted as dropped, the sink is marked failed and
/// sees no more batches, and everything after is counted too. Counters are read after <see cref="Complete"/>.
/// </summary>
internal sealed class FindingSinkRunner : IDisposable
{
    private readonly IFindingSink _sink;
    private readonly Action<IReadOnlyList<Finding>>? _afterEachBatch;
    private readonly SinkRunOptions _options;
    private readonly BlockingCollection<Finding[]> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private long _received;
    private long _delivered;
    private long _stored;
    private long _dropped;
    private long _retries;
    private volatile bool _stalled;
    private volatile string? _error;
    private volatile bool _failedPermanently;
    private bool _completed;
    private long _acceptedAt;
    private long _finishedAt;

    /// <summary>Starts the sink's thread. <paramref name="afterEachBatch"/>, when given, is called on that thread with
    /// each batch once the sink has had it (delivered or not): live capture prints findings there, so a finding shown
    /// is one the store already holds.</summary>
    public FindingSinkRunner(IFindingSink sink, SinkRunOptions? options = null, Action<IReadOnlyList<Finding>>? afterEachBatch = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sink = sink;
        _afterEachBatch = afterEachBatch;
        _options = options ?? new SinkRunOptions();
        _queue = new BlockingCollection<Finding[]>(Math.Max(1, _options.QueuedBatches));
        _thread = new Thread(Drain) { Name = "secmon-sink-" + sink.Name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>The sink's name.</summary>
    public string Name => _sink.Name;

    /// <summary>The sink run.</summary>
    public IFindingSink Sink => _sink;

    /// <summary>Findings handed to the sink.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Findings the sink accepted (new or already held).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Findings the sink reported as new.</summary>
    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>Findings the sink did not get: failed, stalled, or still queued when the host stopped waiting.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Tries of a batch after a transient failure (each retry counts once).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Findings handed to the runner that the sink has not yet taken or been counted as dropped: its queue.</summary>
    public long Queued => Math.Max(0, Received - Delivered - Dropped);

    /// <summary>The first failure, as one line; null while the sink has delivered everything.</summary>
    public string? Error => _error;

    /// <summary>When the sink had taken every batch (a <see cref="System.Diagnostics.Stopwatch"/> timestamp; 0 until then,
    /// and for a sink the host stopped waiting for): for a spooled output, when every finding was in its spool.</summary>
    public long AcceptedAt => Interlocked.Read(ref _acceptedAt);

    /// <summary>When the sink had finished after that (a spooled output: delivered what it could); 0 until then.</summary>
    public long FinishedAt => Interlocked.Read(ref _finishedAt);

    /// <summary>True when some finding did not reach the sink.</summary>
    public bool HasFailed => _error is not null || Dropped > 0;

    /// <summary>Queues a batch (the runner keeps the array: do not reuse it). Called from the one producer thread.</summary>
    public void Enqueue(Finding[] batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_completed || batch.Length == 0)
        {
            return;
        }

        Interlocked.Add(ref _received, batch.Length);
        if (_failedPermanently)
        {
            Interlocked.Add(ref _dropped, batch.Length);
            return;
        }

        var wait = _stalled ? TimeSpan.Zero : _options.StallTimeout;
        if (_queue.TryAdd(batch, wait))
        {
            _stalled = false;
            return;
        }

        Interlocked.Add(ref _dropped, batch.Length);
        if (!_stalled)
        {
            _stalled = true;
            _error ??= $"did not keep up (its queue of {_options.QueuedBatches} batches stayed full for {_options.StallTimeout.TotalSeconds:0.#} s)";
        }
    }

    /// <summary>No more batches will come: the sink finishes what is queued and completes, without anyone waiting yet.</summary>
    public void NoMoreBatches()
    {
        if (!_queue.IsAddingCompleted)
        {
            _queue.CompleteAdding();
        }
    }

    /// <summary>No more batches: waits up to <paramref name="deadline"/> for the sink to write what is queued and finish;
    /// what it has not taken by then is counted as dropped and its thread is told to stop.</summary>
    public void Complete(DateTime deadline)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        NoMoreBatches();
        var left = deadline - DateTime.UtcNow;
        if (!_thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero))
        {
            _stop.Cancel();
            _thread.Join(TimeSpan.FromMilliseconds(200)); // a call that ignores cancellation keeps its thread
            _error ??= $"did not finish within {_options.CompleteTimeout.TotalSeconds:0.#} s";

            // Whatever the sink had not delivered when the host stopped waiting (queued, or the batch in its hands) is
            // lost for this run: one count, whichever way the thread ended.
            var pending = Received - Delivered - Dropped;
            if (pending > 0)
            {
                Interlocked.Add(ref _dropped, pending);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_completed)
        {
            Complete(DateTime.UtcNow + _options.CompleteTimeout);
        }

        // A sink hung in a call that ignores cancellation still holds its thread: leave it what it uses.
        if (!_thread.IsAlive)
        {
            _stop.Dispose();
            _queue.Dispose();
        }
    }

    private void Drain()
    {
        var ct = _stop.Token;
        try
        {
            foreach (var first in _queue.GetConsumingEnumerable(ct))
            {
                var batch = Gather(first);
                if (_failedPermanently)
                {
                    Interlocked.Add(ref _dropped, batch.Length);
                }
                else
                {
                    Deliver(batch, ct);
                }

                Announce(batch);
            }
        }
        catch (OperationCanceledException)
        {
            return; // the host stopped waiting; Complete counts what was left
        }

        Interlocked.Exchange(ref _acceptedAt, System.Diagnostics.Stopwatch.GetTimestamp());
        if (_failedPermanently)
        {
            return;
        }

        try
        {
            _sink.Complete(ct);
        }
#pragma warning disable CA1031 // Isolation boundary: a sink's failure is counted and reported, never thrown at the host.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            _error ??= Describe(ex);
        }

        Interlocked.Exchange(ref _finishedAt, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    // Batches that queued up while the sink was busy go to it as one (at most GatherLimit findings): a sink with a
    // fixed cost per write (a spool's flush to disk, a bulk request, a transaction) then catches up instead of holding
    // the rules thread, and with it capture, behind its queue (measured in bench/README.md, issue 13).
    private Finding[] Gather(Finding[] first)
    {
        if (first.Length >= GatherLimit || _queue.Count == 0)
        {
            return first;
        }

        var gathered = new List<Finding>(first);
        while (gathered.Count < GatherLimit && _queue.TryTake(out var next))
        {
            gathered.AddRange(next);
        }

        return [.. gathered];
    }

    private const int GatherLimit = 1000;

    private void Deliver(Finding[] batch, CancellationToken ct)
    {
        var delay = _options.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            SinkResult result;
            try
            {
                result = _sink.Write(batch, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // Isolation boundary: a sink's exception is its failure, counted and reported.
            catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
            {
                result = SinkResult.Failed(Describe(ex), transient: false);
            }

            if (result.Succeeded)
            {
                Interlocked.Add(ref _delivered, batch.Length);
                Interlocked.Add(ref _stored, result.Stored);
                return;
            }

            if (!result.Transient || attempt >= _options.TransientAttempts)
            {
                _error ??= result.Transient ? $"{result.Error} (gave up after {attempt} tries)" : result.Error;
                _failedPermanently = !result.Transient;
                Interlocked.Add(ref _dropped, batch.Length);
                return;
            }

            // Backoff with jitter (so many sensors do not retry in step), cancelled when the host stops waiting.
            var jittered = delay * (0.5 + Random.Shared.NextDouble());
            if (ct.WaitHandle.WaitOne(jittered))
            {
                ct.ThrowIfCancellationRequested();
            }

            delay *= 2;
            Interlocked.Increment(ref _retries);
        }
    }

    private void Announce(Finding[] batch)
    {
        try
        {
            _afterEachBatch?.Invoke(batch);
        }
#pragma warning disable CA1031 // Isolation boundary: printing findings must not stop the sink.
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
#pragma warning restore CA1031
        {
        }
    }

    private static string Describe(Exception ex) => ex is IOException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
}
