using System.Collections.Concurrent;
using SecMon.Core.Events;

namespace SecMon.Capture.Output;

/// <summary>
/// Runs a sink (detection, the inventory, the store) on its own thread, so capture and detection use a core each:
/// events are handed over in batches, in capture order, through a bounded queue. When the queue is full the capture
/// thread waits (nothing is dropped: a file is read no faster than it is analysed). <see cref="Complete"/> hands over
/// the last batch and waits until the sink has seen every event; an exception on the sink's thread is rethrown there.
/// </summary>
internal sealed class BackgroundSink : IEventSink, IDisposable
{
    private const int BatchSize = 1024;
    private const int QueuedBatches = 16;
    private readonly IEventSink _inner;
    private readonly BlockingCollection<ProtocolEvent[]> _full = new(QueuedBatches);
    private readonly ConcurrentBag<ProtocolEvent[]> _free = [];
    private readonly Thread _thread;
    private ProtocolEvent[] _batch = new ProtocolEvent[BatchSize];
    private int _count;
    private volatile Exception? _failure;
    private bool _completed;

    /// <summary>Starts the sink's thread.</summary>
    public BackgroundSink(IEventSink inner, string name)
    {
        _inner = inner;
        _thread = new Thread(Drain) { Name = name, IsBackground = true };
        _thread.Start();
    }

    /// <inheritdoc />
    public void Emit(ProtocolEvent e)
    {
        _batch[_count++] = e;
        if (_count == BatchSize)
        {
            HandOver();
        }
    }

    /// <summary>Hands over what is left and waits until the sink has seen every event.</summary>
    public void Complete()
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        HandOver();
        _full.CompleteAdding();
        _thread.Join();
        if (_failure is not null)
        {
            throw new InvalidOperationException($"the {_thread.Name} thread failed: {_failure.Message}", _failure);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_completed)
        {
            _completed = true;
            _full.CompleteAdding();
            _thread.Join();
        }

        _full.Dispose();
    }

    private void HandOver()
    {
        if (_count == 0)
        {
            return;
        }

        if (_count < BatchSize)
        {
            _batch[_count] = null!; // marks the end of a short batch
        }

        if (_failure is not null)
        {
            // The sink is gone: keep reading so the capture summary is complete, and report the failure at Complete.
            _count = 0;
            return;
        }

        _full.Add(_batch);
        _batch = _free.TryTake(out var reused) ? reused : new ProtocolEvent[BatchSize];
        _count = 0;
    }

    private void Drain()
    {
        try
        {
            foreach (var batch in _full.GetConsumingEnumerable())
            {
                foreach (var e in batch)
                {
                    if (e is null)
                    {
                        break;
                    }

                    _inner.Emit(e);
                }

                Array.Clear(batch);
                _free.Add(batch);
            }
        }
        catch (Exception ex)
        {
            _failure = ex;
            // Let the producer go on: take and drop what is queued so it never blocks on a full queue.
            foreach (var _ in _full.GetConsumingEnumerable())
            {
            }
        }
    }
}
