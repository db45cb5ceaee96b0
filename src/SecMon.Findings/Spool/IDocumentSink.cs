using SecMon.Core.Findings;

namespace SecMon.Findings.Spool;

/// <summary>
/// An output that sends each finding's ECS document as its bytes (<see cref="Ecs.FindingJson.Utf8"/>) and reads from the
/// <see cref="Finding"/> only what it routes and filters by: <see cref="Finding.Id"/>, <see cref="Finding.TimestampMicros"/>,
/// <see cref="Finding.RuleId"/>, <see cref="Finding.RuleName"/>, <see cref="Finding.Severity"/>,
/// <see cref="Finding.RiskScore"/>, <see cref="Finding.Message"/>, <see cref="Finding.DeviceId"/>,
/// <see cref="Finding.ObserverName"/> and <see cref="Finding.Protocol"/>. A <see cref="SpooledSink"/> in front of
/// such an output reads those fields from each spool line (<see cref="SpoolLine.ReadRouting"/>) instead of building
/// the whole finding back from its document: that was most of a delivery thread's CPU in a findings-heavy run
/// (bench/README.md, issue 13, session 12). The other properties of the findings it is given hold their defaults, so
/// an output that starts reading another field must be added to <see cref="SpoolLine.ReadRouting"/> first.
/// </summary>
public interface IDocumentSink : IFindingSink
{
}
