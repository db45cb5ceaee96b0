using SecMon.Core;

namespace SecMon.Findings.Store;

/// <summary>
/// The filters of a findings search as the user typed them (the options of <c>secmon findings search|stats</c>, the
/// query parameters of the API's <c>GET /api/v1/findings</c>): parsed once, here, into a <see cref="FindingQuery"/>
/// with the same forms and the same messages for both.
/// </summary>
public sealed record FindingFilter
{
    /// <summary>Free text (<see cref="FindingQuery.Text"/>).</summary>
    public string? Text { get; init; }

    /// <summary>ISO-8601 time or a span back from now (30m, 24h, 7d).</summary>
    public string? Since { get; init; }

    /// <summary>As <see cref="Since"/>; a date alone includes that whole day.</summary>
    public string? Until { get; init; }

    /// <summary>low, medium, high, critical or a number 0-100.</summary>
    public string? Severity { get; init; }

    /// <summary>A rule id.</summary>
    public string? Rule { get; init; }

    /// <summary>A device id (a MAC in any notation, or an IP).</summary>
    public string? Device { get; init; }

    /// <summary>A source IP.</summary>
    public string? SourceIp { get; init; }

    /// <summary>A sensor name (<c>observer.name</c>).</summary>
    public string? Sensor { get; init; }

    /// <summary>
    /// Builds the query, or returns null with <paramref name="error"/> saying what is wrong; <paramref name="name"/>
    /// turns a filter's name (<c>since</c>, <c>until</c>, <c>severity</c>) into how the user wrote it
    /// (<c>--since</c> on the command line, <c>since</c> in a URL).
    /// </summary>
    public FindingQuery? TryBuild(DateTimeOffset now, Func<string, string> name, out string error)
    {
        ArgumentNullException.ThrowIfNull(name);
        error = "";
        long? since = null;
        long? until = null;
        if (Since is { } s)
        {
            if (!TimeBound.TryParse(s, now, out var v, out var e))
            {
                error = name("since") + ": " + e;
                return null;
            }

            since = v;
        }

        if (Until is { } u)
        {
            if (!TimeBound.TryParse(u, now, out var v, out var e, upperBound: true))
            {
                error = name("until") + ": " + e;
                return null;
            }

            until = v;
        }

        if (since > until)
        {
            error = $"{name("since")} ({Time.FormatMicros(since.Value)}) is after {name("until")} ({Time.FormatMicros(until.Value)})";
            return null;
        }

        int? severity = null;
        if (Severity is { } sev)
        {
            if (!SeverityNames.TryParse(sev, out var v))
            {
                error = $"{name("severity")}: '{sev}' is not low, medium, high, critical or a number 0-100";
                return null;
            }

            severity = v;
        }

        return new FindingQuery
        {
            Text = Text,
            SinceMicros = since,
            UntilMicros = until,
            MinSeverity = severity,
            RuleId = Rule,
            DeviceId = Device,
            SourceIp = SourceIp,
            Sensor = Sensor,
        };
    }
}
