using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Detection.Engine;

/// <summary>
/// Per-flow memory of the <c>session.</c> fields rules read: for each flow id, the last value each field had on
/// an event of the flow. A missing value does not clear a known one: a dissector that does not repeat the
/// session's user name on a later packet type must not make the session look anonymous. (An MQTT connection
/// carries one session: a second CONNECT is a protocol violation, MQTT 3.1.1 §3.1.0 / 5.0 §3.1.) Bounded: the
/// least recently active flows are forgotten first.
/// </summary>
internal sealed class FlowMemory(int slots, int maxFlows)
{
    private readonly LruTable<string, Values> _flows = new(maxFlows, StringComparer.Ordinal);
    private string? _lastFlowId;
    private Values? _last;

    /// <summary>One flow's values (a group state: the flow context's scratch reaches it without the table).</summary>
    internal sealed class Values(int slots) : GroupState
    {
        public FieldValue[] Fields { get; } = Filled(slots);

        private static FieldValue[] Filled(int slots)
        {
            var fields = new FieldValue[slots];
            Array.Fill(fields, FieldValue.Missing);
            return fields;
        }
    }

    /// <summary>Flows forgotten to stay within the bound.</summary>
    public long Evicted => _flows.Evicted;

    /// <summary>The joined values of a flow after applying <paramref name="e"/>'s own values.</summary>
    public FieldValue[] Update(ProtocolEvent e, FlowScratch scratch, (int Slot, EventField Field)[] updates)
    {
        var values = Lookup(e.Flow, scratch);
        foreach (var (slot, field) in updates)
        {
            var v = field.Read(e);
            if (!v.IsMissing)
            {
                values[slot] = v;
            }
        }

        return values;
    }

    /// <summary>Flows remembered.</summary>
    public int Count => _flows.Count;

    /// <summary>Forgets a flow that ended (no event of it follows).</summary>
    public void Forget(string flowId)
    {
        if (ReferenceEquals(flowId, _lastFlowId) || string.Equals(flowId, _lastFlowId, StringComparison.Ordinal))
        {
            (_lastFlowId, _last) = (null, null);
        }

        _flows.Remove(flowId);
    }

    private FieldValue[] Lookup(FlowContext flow, FlowScratch scratch)
    {
        // Consecutive events mostly come from the same flow; flow contexts share their id string. A hit needs no
        // touch: no other flow was used since this one was looked up, so it is still the most recent.
        var flowId = flow.FlowId;
        if (_last is not null && ReferenceEquals(flowId, _lastFlowId))
        {
            return _last.Fields;
        }

        // Each flow context keeps its entry in its scratch (the table is still keyed by flow id, so two contexts of
        // one flow share the entry): a known flow costs no hashing, no key comparison and no visit to the table.
        if (scratch.Session is not Values { Evicted: false } values)
        {
            values = _flows.Get(flowId, touch: true) ?? Add(flowId);
            scratch.Session = values;
        }
        else
        {
            values.Touched = true;
        }

        _lastFlowId = flowId;
        _last = values;
        return values.Fields;
    }

    private Values Add(string flowId)
    {
        var values = new Values(slots);
        if (_flows.Add(flowId, values, out _) is { } evicted && ReferenceEquals(evicted.Value, _last))
        {
            _last = null;
        }

        return values;
    }
}
