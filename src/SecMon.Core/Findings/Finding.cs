namespace SecMon.Core.Findings;

/// <summary>
/// A finding: one ECS alert document (DESIGN.md "The spine"). The typed properties are the ECS fields every
/// finding has; <see cref="Evidence"/> holds the protocol evidence under the protocol's own field set
/// (<c>mqtt.client_id</c>, <c>tls.version</c>) as flat dotted names. Never a password or a payload.
/// <c>Source*</c> is always the client that opened the exchange and <c>Destination*</c> the server (ECS
/// <c>source.*</c>/<c>destination.*</c>, repeated as <c>client.*</c>/<c>server.*</c>), whichever way the triggering
/// packet went: a finding about a CONNACK still names the device that connected as its source.
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

    /// <summary>ECS <c>event.type</c>: values ECS expects with every one of <see cref="Category"/>.</summary>
    public IReadOnlyList<string> EventType { get; init; } = ["info"];

    /// <summary>ECS <c>event.risk_score</c> (0-100); null writes none.</summary>
    public double? RiskScore { get; init; }

    /// <summary>ECS <c>rule.category</c>: what kind of weakness or attack the rule detects.</summary>
    public string? RuleCategory { get; init; }

    /// <summary>ECS <c>message</c>: the rule's name, a colon and a short subject ("MQTT wildcard subscription: client
    /// 'dash' at 10.0.0.5 subscribed to [#] on broker 10.0.0.1:1883"). Kibana's External Alerts rule names each alert
    /// by it, so it starts with the rule name.</summary>
    public required string Message { get; init; }

    /// <summary>ECS <c>source.ip</c> (and <c>client.ip</c>): the client's address.</summary>
    public string? SourceIp { get; init; }

    /// <summary>ECS <c>source.port</c>.</summary>
    public int? SourcePort { get; init; }

    /// <summary>ECS <c>source.mac</c>.</summary>
    public string? SourceMac { get; init; }

    /// <summary>ECS <c>destination.ip</c> (and <c>server.ip</c>): the server's address.</summary>
    public string? DestinationIp { get; init; }

    /// <summary>ECS <c>destination.port</c>.</summary>
    public int? DestinationPort { get; init; }

    /// <summary>ECS <c>destination.mac</c>.</summary>
    public string? DestinationMac { get; init; }

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

    /// <summary>ECS <c>host.ip</c>: the device's address.</summary>
    public string? DeviceIp { get; init; }

    /// <summary>ECS <c>host.mac</c>: the device's MAC, when the link layer carried one.</summary>
    public string? DeviceMac { get; init; }

    /// <summary>ECS <c>user.name</c>: the user the session logged in as (never a password).</summary>
    public string? UserName { get; init; }

    /// <summary>ECS <c>observer.name</c> (and <c>agent.name</c>): the sensor's name (<see cref="SensorIdentity.Name"/>).</summary>
    public string? ObserverName { get; init; }

    /// <summary>ECS <c>observer.hostname</c>.</summary>
    public string? ObserverHostname { get; init; }

    /// <summary>ECS <c>agent.id</c>: the sensor's stable id (ECS has no <c>observer.id</c>).</summary>
    public string? ObserverId { get; init; }

    /// <summary>ECS <c>observer.version</c> (and <c>agent.version</c>): SecMon's version.</summary>
    public string? ObserverVersion { get; init; }

    /// <summary>ECS <c>observer.ip</c>: the sensor's addresses, when configured.</summary>
    public IReadOnlyList<string> ObserverIps { get; init; } = [];

    /// <summary>ECS <c>log.file.path</c>: the capture file the finding was read from (<c>secmon analyze</c>).</summary>
    public string? SourceFile { get; init; }

    /// <summary>ECS <c>observer.ingress.interface.name</c>: the interface the traffic was captured on (live capture).</summary>
    public string? CaptureInterface { get; init; }

    /// <summary>ECS <c>threat.framework</c>: <c>MITRE ATT&amp;CK for ICS</c> for T08xx ids, <c>MITRE ATT&amp;CK</c> for
    /// Enterprise ids (T1110.001).</summary>
    public string? ThreatFramework { get; init; }

    /// <summary>ECS <c>threat.technique.id</c>: a technique id (<c>T0859</c>), or a sub-technique's id
    /// (<c>T1110.001</c>; written as technique <c>T1110</c> with <c>threat.technique.subtechnique.id</c>).</summary>
    public string? ThreatTechniqueId { get; init; }

    /// <summary>ECS <c>threat.technique.name</c> (of a sub-technique: written as <c>threat.technique.subtechnique.name</c>).</summary>
    public string? ThreatTechniqueName { get; init; }

    /// <summary>The parent technique's name of a sub-technique (ECS <c>threat.technique.name</c>), e.g. Brute Force.</summary>
    public string? ThreatParentTechniqueName { get; init; }

    /// <summary>ECS <c>threat.tactic.id</c> (<c>TA0109</c> for ICS, <c>TA0006</c> for Enterprise).</summary>
    public string? ThreatTacticId { get; init; }

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

    // The ECS document's UTF-8 bytes, made once (SecMon.Findings' FindingJson.Utf8) and kept on the finding: a weak
    // table keyed by finding (as before) gave the collector a dependent handle per finding to trace in every
    // collection (a few per cent of a run's CPU with rules, bench/README.md "Session 28"). Neither equality, the hash
    // code nor ToString sees it.
    private EncodedDocument _encoded;

    /// <summary>The bytes given to <see cref="RememberEncoded"/> on this instance, or null. A copy made with <c>with</c>
    /// is another finding: it copies the field but not the bytes' owner, so it gets null and encodes its own.</summary>
    internal byte[]? Encoded => Volatile.Read(ref _encoded.Holder) is { } h && ReferenceEquals(h.Owner, this) ? h.Utf8 : null;

    /// <summary>Keeps <paramref name="utf8"/> as this finding's encoded document unless it has one; returns the one kept
    /// (two threads that encode a finding at once make the same bytes; every later caller gets the first kept).</summary>
    internal byte[] RememberEncoded(byte[] utf8)
    {
        var mine = new EncodedHolder(this, utf8);
        while (true)
        {
            var current = Volatile.Read(ref _encoded.Holder);
            if (current is not null && ReferenceEquals(current.Owner, this))
            {
                return current.Utf8;
            }

            if (ReferenceEquals(Interlocked.CompareExchange(ref _encoded.Holder, mine, current), current))
            {
                return utf8;
            }
        }
    }

    private sealed class EncodedHolder(Finding owner, byte[] utf8)
    {
        public Finding Owner { get; } = owner;

        public byte[] Utf8 { get; } = utf8;
    }

    // Equal to every other: the record's generated Equals and GetHashCode compare each field, and a finding is the same
    // finding whether or not it was encoded yet.
    private struct EncodedDocument : IEquatable<EncodedDocument>
    {
        public EncodedHolder? Holder;

        public readonly bool Equals(EncodedDocument other) => true;

        public override readonly bool Equals(object? obj) => obj is EncodedDocument;

        public override readonly int GetHashCode() => 0;
    }
}
