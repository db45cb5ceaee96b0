using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Output;

/// <summary>
/// Runs a sink (detection, the inventory, the store) on its own thread, so capture and detection use a core each:
/// events are handed over in batches, in capture order, through a bounded queue. When the queue is full the capture
/// thread waits (nothing is dropped: a file is read no faster than it is analysed). <see cref="Complete"/> hands over
/// the last batch and waits until the sink has seen every event; an exception on the sink's thread is rethrown there.
/// <see cref="Tick"/> (live capture) hands over a partial batch and then ticks an <see cref="ITickSink"/> on its thread.
/// The end of a flow (<see cref="IEventSink.FlowEnded"/>) travels in the same batches, so the sink sees it after the
/// flow's last event.
/// </summary>
internal sealed class BackgroundSink : ITickSink, IDisposable
{
    private const int BatchSize = 1024;
    private const int QueuedBatches = 16;
    private readonly IEventSink _inner;
    // A hand-over: a batch (null-terminated when short) and whether the sink is ticked after it. An item is an event,
    // or the to-server context of a flow that ended.
    private readonly BlockingCollection<(object[] Batch, bool Tick)> _full = new(QueuedBatches);
    private readonly ConcurrentBag<object[]> _free = [];
    private readonly Thread _thread;
    private object[] _batch = new object[BatchSize];
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

    /// <summary>The sink threw: it sees no more events, and <see cref="Complete"/> will say why.</summary>
    public bool HasFailed => _failure is not null;

    /// <inheritdoc />
    public void Emit(ProtocolEvent e) => Add(e);

    /// <inheritdoc />
    public void FlowEnded(FlowContext toServer) => Add(toServer);

    private void Add(object item)
    {
        _batch[_count++] = item;
        if (_count == BatchSize)
        {
            HandOver(tick: false);
        }
    }

    /// <summary>
    /// Hands over the events emitted so far (even a short batch) and has the sink ticked after them, on its thread.
    /// Live capture calls this about once a second, so events do not wait for a full batch while traffic is slow.
    /// </summary>
    public void Tick()
    {
        if (!_completed)
        {
            HandOver(tick: true);
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
        HandOver(tick: false);
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

    private void HandOver(bool tick)
    {
        if (_count == 0 && !tick)
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

        _full.Add((_batch, tick));
        _batch = _free.TryTake(out var reused) ? reused : new object[BatchSize];
        _count = 0;
    }

    private void Drain()
    {
        try
        {
            foreach (var (batch, tick) in _full.GetConsumingEnumerable())
            {
                foreach (var item in batch)
                {
                    if (item is null)
                    {
                        break;
                    }

                    // FlowContext is sealed (one type compare); everything else Add took is an event, so the cast to
                    // the abstract event type needs no check of the hierarchy per event.
                    if (item is FlowContext ended)
                    {
                        _inner.FlowEnded(ended);
                    }
                    else
                    {
                        _inner.Emit(Unsafe.As<ProtocolEvent>(item));
                    }
                }

                Array.Clear(batch);
                _free.Add(batch);
                if (tick && _inner is ITickSink ticking)
                {
                    ticking.Tick();
                }
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
