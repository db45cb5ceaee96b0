using System.Globalization;
using SecMon.Core;

namespace SecMon.Findings;

/// <summary>
/// Parses the time bounds users type for <c>--since</c> and <c>--until</c>: an ISO-8601 date or time
/// (<c>2026-11-24</c>, <c>2026-11-24T08:00:00Z</c>, <c>2026-11-24T09:00+01:00</c>; UTC when no offset is given),
/// <c>now</c>, or a span back from now in the duration grammar of <see cref="Durations"/> (<c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c>, <c>2w</c>). As an upper bound
/// a date alone (<c>2026-11-24</c>) means the end of that day, so <c>--until 2026-11-24</c> includes the 24th.
/// </summary>
public static class TimeBound
{
    /// <summary>Parses <paramref name="text"/> relative to <paramref name="now"/> into UTC microseconds since the epoch.</summary>
    /// <param name="text">What the user typed.</param>
    /// <param name="now">The current time, for <c>now</c> and spans.</param>
    /// <param name="micros">The time, when the method returns true.</param>
    /// <param name="error">What is wrong, when the method returns false.</param>
    /// <param name="upperBound">True for <c>--until</c>: a date alone means the last microsecond of that day.</param>
    public static bool TryParse(string? text, DateTimeOffset now, out long micros, out string error, bool upperBound = false)
    {
        micros = 0;
        error = "";
        var t = text?.Trim() ?? "";
        if (t.Length == 0)
        {
            error = "empty time";
            return false;
        }

        if (t.Equals("now", StringComparison.OrdinalIgnoreCase))
        {
            micros = Time.ToUnixMicros(now);
            return true;
        }

        // A span back from now: the one duration grammar (SecMon.Core.Durations), at most 100 years.
        if (Durations.TryParseMicros(t, out var span))
        {
            micros = Time.ToUnixMicros(now) - span;
            return true;
        }

        if (upperBound && DateTimeOffset.TryParseExact(t, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var day))
        {
            micros = Time.ToUnixMicros(day.AddDays(1)) - 1;
            return true;
        }

        if (DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            micros = Time.ToUnixMicros(at);
            return true;
        }

        error = $"'{t}' is not a time: use ISO-8601 (2026-11-24, 2026-11-24T08:00:00Z) or a span back from now (30m, 24h, 7d, 2w)";
        return false;
    }
}
