using SecMon.Core.Findings;
using SecMon.Findings.Ecs;

namespace SecMon.Findings.Store;

/// <summary>A findings search: free text plus filters, newest first, one page at a time.</summary>
public sealed record FindingQuery
{
    /// <summary>Largest page size.</summary>
    public const int MaxLimit = 10_000;

    /// <summary>Free text (see <see cref="FullTextQuery"/>): words all of which must occur in the message, rule,
    /// MQTT client id, user name, topic or device/addresses; <c>"a phrase"</c>, <c>prefix*</c>, <c>-exclude</c>.
    /// Null or empty: no text condition.</summary>
    public string? Text { get; init; }

    /// <summary>Only findings at or after this time (UTC microseconds since the epoch), inclusive.</summary>
    public long? SinceMicros { get; init; }

    /// <summary>Only findings at or before this time (UTC microseconds since the epoch), inclusive.</summary>
    public long? UntilMicros { get; init; }

    /// <summary>Only findings with <c>event.severity</c> at least this (e.g. <see cref="Severity.High"/> = 73).</summary>
    public int? MinSeverity { get; init; }

    /// <summary>Only findings of this rule id (exact).</summary>
    public string? RuleId { get; init; }

    /// <summary>Only findings about this device id (exact; a MAC in any common notation is normalized).</summary>
    public string? DeviceId { get; init; }

    /// <summary>Only findings with this <c>source.ip</c>.</summary>
    public string? SourceIp { get; init; }

    /// <summary>Only findings of this sensor (<c>observer.name</c>, exact): several sensors write to one cluster.</summary>
    public string? Sensor { get; init; }

    /// <summary>Page size, 1..<see cref="MaxLimit"/>. Default 50.</summary>
    public int Limit { get; init; } = 50;

    /// <summary>The <see cref="FindingPage.NextCursor"/> of the previous page, or null for the first page.</summary>
    public string? After { get; init; }
}

/// <summary>One page of search results, newest first.</summary>
/// <param name="Items">The findings on this page.</param>
/// <param name="NextCursor">Pass as <see cref="FindingQuery.After"/> for the next page; null when this is the last page.</param>
public sealed record FindingPage(IReadOnlyList<StoredFinding> Items, string? NextCursor);

/// <summary>A finding as stored: the filter columns and the ECS document.</summary>
public sealed record StoredFinding
{
    /// <summary>ECS <c>event.id</c>.</summary>
    public required string Id { get; init; }

    /// <summary>ECS <c>@timestamp</c>, UTC microseconds since the epoch.</summary>
    public required long TimestampMicros { get; init; }

    /// <summary>ECS <c>event.severity</c>.</summary>
    public required int Severity { get; init; }

    /// <summary>ECS <c>rule.id</c>.</summary>
    public required string RuleId { get; init; }

    /// <summary>ECS <c>rule.name</c>.</summary>
    public required string RuleName { get; init; }

    /// <summary>ECS <c>device.id</c>.</summary>
    public string? DeviceId { get; init; }

    /// <summary>ECS <c>source.ip</c>.</summary>
    public string? SourceIp { get; init; }

    /// <summary>The ECS document (one line of JSON), exactly as <see cref="FindingJson.Write(Finding)"/> wrote it.</summary>
    public required string Json { get; init; }

    /// <summary>Reads the document back into a <see cref="Finding"/>.</summary>
    public Finding ToFinding() => FindingJson.Read(Json);

    /// <summary>The document's <c>message</c> alone (see <see cref="FindingJson.ReadMessage"/>).</summary>
    /// <exception cref="FormatException">The document is unreadable.</exception>
    public string ReadMessage() => FindingJson.ReadMessage(Json);
}

/// <summary>Counts of stored findings by rule, severity and device.</summary>
public sealed record FindingStats
{
    /// <summary>Findings counted.</summary>
    public required long Total { get; init; }

    /// <summary>Per rule, highest severity first, then most findings.</summary>
    public required IReadOnlyList<RuleCount> ByRule { get; init; }

    /// <summary>Per severity band (critical first), bands without findings left out.</summary>
    public required IReadOnlyList<SeverityCount> BySeverity { get; init; }

    /// <summary>Per device (findings without a device under an empty id), most findings first.</summary>
    public required IReadOnlyList<DeviceCount> ByDevice { get; init; }
}

/// <summary>Findings of one rule.</summary>
/// <param name="RuleId">ECS <c>rule.id</c>.</param>
/// <param name="RuleName">ECS <c>rule.name</c>.</param>
/// <param name="Severity">The highest <c>event.severity</c> among them.</param>
/// <param name="Count">How many findings.</param>
/// <param name="Devices">How many distinct devices they are about.</param>
public sealed record RuleCount(string RuleId, string RuleName, int Severity, long Count, long Devices);

/// <summary>Findings in one severity band.</summary>
/// <param name="Severity">The band's name (<see cref="SeverityNames"/>).</param>
/// <param name="Count">How many findings.</param>
public sealed record SeverityCount(string Severity, long Count);

/// <summary>Findings about one device.</summary>
/// <param name="DeviceId">ECS <c>device.id</c> (empty for findings without a device).</param>
/// <param name="Count">How many findings.</param>
/// <param name="Rules">How many distinct rules fired.</param>
/// <param name="MaxSeverity">The highest <c>event.severity</c>.</param>
/// <param name="LastSeenMicros">The newest finding's time.</param>
public sealed record DeviceCount(string DeviceId, long Count, long Rules, int MaxSeverity, long LastSeenMicros);
