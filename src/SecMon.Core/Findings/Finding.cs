namespace SecMon.Core.Findings;

/// <summary>
/// A finding: one ECS alert document (DESIGN.md "The spine"). The typed properties are the ECS fields every
/// finding has; <see cref="Evidence"/> holds the protocol evidence under the protocol's own field set
/// (<c>mqtt.client_id</c>, <c>tls.version</c>) as flat dotted names. Never a password or a payload.
/// </summary>
public sealed record Finding
{
    /// <summary>ECS <c>event.id</c>: deterministic (hash of rule id, flow id and the first triggering event's
    /// timestamp and sequence), so writing the same finding twice stores one document.</summary>
    public required string Id { get; init; }

    /// <summary>ECS <c>@timestamp</c>: capture time of the triggering event, UTC microseconds since the epoch.</summary>
    public required long TimestampMicros { get; init; }

    /// <summary>ECS <c>rule.id</c>, e.g. <c>SECMON-MQTT-0001</c>.</summary>
    public required string RuleId { get; init; }

    /// <summary>ECS <c>rule.name</c>.</summary>
    public required string RuleName { get; init; }

    /// <summary>ECS <c>rule.description</c>.</summary>
    public string? RuleDescription { get; init; }

    /// <summary>ECS <c>rule.ruleset</c>: the rule pack's name.</summary>
    public string? Ruleset { get; init; }

    /// <summary>ECS <c>rule.version</c>.</summary>
    public string? RuleVersion { get; init; }

    /// <summary>ECS <c>rule.reference</c>: first reference URL.</summary>
    public string? RuleReference { get; init; }

    /// <summary>ECS <c>event.severity</c>.</summary>
    public required Severity Severity { get; init; }

    /// <summary>ECS <c>event.category</c> (allowed values: network, authentication, intrusion_detection...).</summary>
    public IReadOnlyList<string> Category { get; init; } = ["network"];

    /// <summary>ECS <c>event.type</c> (allowed values: info, denied, allowed, access, connection...).</summary>
    public IReadOnlyList<string> EventType { get; init; } = ["info"];

    /// <summary>ECS <c>message</c>: one human sentence naming the device and what it did.</summary>
    public required string Message { get; init; }

    /// <summary>ECS <c>source.ip</c>.</summary>
    public string? SourceIp { get; init; }

    /// <summary>ECS <c>source.port</c>.</summary>
    public int? SourcePort { get; init; }

    /// <summary>ECS <c>source.mac</c>.</summary>
    public string? SourceMac { get; init; }

    /// <summary>ECS <c>destination.ip</c>.</summary>
    public string? DestinationIp { get; init; }

    /// <summary>ECS <c>destination.port</c>.</summary>
    public int? DestinationPort { get; init; }

    /// <summary>ECS <c>network.transport</c>.</summary>
    public string? Transport { get; init; }

    /// <summary>ECS <c>network.protocol</c>.</summary>
    public string? Protocol { get; init; }

    /// <summary>ECS <c>network.community_id</c>.</summary>
    public string? CommunityId { get; init; }

    /// <summary>SecMon's flow id of the triggering event (custom <c>flow.id</c>).</summary>
    public string? FlowId { get; init; }

    /// <summary>ECS <c>device.id</c>: the device the finding is about (MAC where seen, else IP).</summary>
    public string? DeviceId { get; init; }

    /// <summary>ECS <c>observer.name</c>: the sensor (host name) or the analysed file.</summary>
    public string? ObserverName { get; init; }

    /// <summary>ECS <c>threat.technique.id</c> (MITRE ATT&amp;CK for ICS, e.g. <c>T0859</c>), with framework
    /// <c>MITRE ATT&amp;CK</c>.</summary>
    public string? ThreatTechniqueId { get; init; }

    /// <summary>ECS <c>threat.technique.name</c>.</summary>
    public string? ThreatTechniqueName { get; init; }

    /// <summary>ECS <c>threat.tactic.name</c>.</summary>
    public string? ThreatTacticName { get; init; }

    /// <summary>ECS <c>related.ip</c>.</summary>
    public IReadOnlyList<string> RelatedIp { get; init; } = [];

    /// <summary>ECS <c>related.user</c> (user names, never passwords).</summary>
    public IReadOnlyList<string> RelatedUser { get; init; } = [];

    /// <summary>Number of events this finding aggregates (threshold count, repeated sessions).</summary>
    public long EventCount { get; init; } = 1;

    /// <summary>Protocol evidence as flat dotted names (<c>mqtt.client_id</c> → value). Values are
    /// <see cref="string"/>, <see cref="long"/>, <see cref="bool"/> or lists of those.</summary>
    public IReadOnlyDictionary<string, object> Evidence { get; init; } = new Dictionary<string, object>();
}
