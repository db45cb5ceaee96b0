using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Output;

/// <summary>Counts events by type for the run summary.</summary>
internal sealed class EventCounter : IEventSink
{
    private readonly Dictionary<EventSchema, long> _bySchema = [];

    /// <inheritdoc />
    public void Emit(ProtocolEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_bySchema, e.Schema, out _);
        count++;
    }

    /// <summary>Counts by event type name, sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> ByType =>
        [.. _bySchema.Select(kv => KeyValuePair.Create(kv.Key.Type, kv.Value)).OrderBy(kv => kv.Key, StringComparer.Ordinal)];

    /// <summary>All events counted.</summary>
    public long Total => _bySchema.Values.Sum();
}

/// <summary>Sends every event to several sinks, in order.</summary>
internal sealed class FanOutSink : IEventSink
{
    private readonly IEventSink[] _sinks;

    /// <summary>Creates a fan-out over <paramref name="sinks"/>.</summary>
    public FanOutSink(params IEventSink[] sinks) => _sinks = sinks;

    /// <inheritdoc />
    public void Emit(ProtocolEvent e)
    {
        foreach (var s in _sinks)
        {
            s.Emit(e);
        }
    }

    /// <inheritdoc />
    public void FlowEnded(FlowContext toServer)
    {
        foreach (var s in _sinks)
        {
            s.FlowEnded(toServer);
        }
    }
}
