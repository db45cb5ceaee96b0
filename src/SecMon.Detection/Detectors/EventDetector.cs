using SecMon.Core.Events;
using SecMon.Detection.Conditions;
using SecMon.Detection.Engine;

namespace SecMon.Detection.Detectors;

/// <summary>A plain rule: every matching event is a detection (aggregated when the rule says so).</summary>
internal sealed class EventDetector(RuleRuntime rule) : Detector
{
    public override Observer Bind(BindContext context, RuleBinding binding) => new Bound(rule, binding);

    private sealed class Bound(RuleRuntime rule, RuleBinding binding) : Observer
    {
        public override void Observe(ProtocolEvent e, FieldValue[]? session) =>
            binding.Raise(Trigger.ForEvent(rule, e, session, binding.SeverityOf(e, session)), e, session);
    }
}
