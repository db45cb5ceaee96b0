namespace SecMon.Core;

/// <summary>Capture timestamps are UTC microseconds since the Unix epoch (pcap's resolution).</summary>
public static class Time
{
    /// <summary>Converts microseconds since the epoch to a <see cref="DateTimeOffset"/>.</summary>
    public static DateTimeOffset FromUnixMicros(long micros) =>
        DateTimeOffset.UnixEpoch.AddTicks(micros * TimeSpan.TicksPerMicrosecond);

    /// <summary>Converts a <see cref="DateTimeOffset"/> to microseconds since the epoch.</summary>
    public static long ToUnixMicros(DateTimeOffset t) =>
        (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    /// <summary>Formats as RFC 3339 UTC with microseconds (<c>2026-11-24T08:00:00.123456Z</c>), as ECS <c>@timestamp</c>.</summary>
    public static string FormatMicros(long micros) =>
        FromUnixMicros(micros).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
