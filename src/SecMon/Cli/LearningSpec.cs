using System.Globalization;
using SecMon.Core;
using SecMon.Detection.Baselines;

namespace SecMon.Cli;

/// <summary>
/// What <c>--learning</c> says about the baseline learning period, in capture time: a duration from the first event
/// (<c>10m</c>), a share of the input files' time span (<c>25%</c>: "learn from the first part of this capture";
/// files only), or the capture time at which learning ends (<c>2026-11-24T08:00:00Z</c>).
/// </summary>
internal sealed record LearningSpec(TimeSpan? Duration, double? Share, long? UntilMicros)
{
    /// <summary>What the option's help says about its forms.</summary>
    public const string Forms = "a duration (10m, 1h), a share of the input files' time span (25%), or the capture time learning ends at (2026-11-24T08:00:00Z)";

    /// <summary>Why a live command (<c>capture</c>, <c>serve</c>) refuses a share of the capture.</summary>
    public const string ShareNeedsFiles = "--learning: a share of the capture (25%) needs capture files (secmon analyze); " +
        "live capture learns for a duration (--learning 1h) or until a time (--learning 2026-11-24T08:00:00Z)";

    /// <summary>Parses one of the three forms; false with what is wrong.</summary>
    public static bool TryParse(string? text, out LearningSpec? spec, out string error)
    {
        spec = null;
        error = "";
        var t = text?.Trim() ?? "";
        if (t.EndsWith('%'))
        {
            if (double.TryParse(t.AsSpan(0, t.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var percent)
                && percent > 0 && percent <= 100)
            {
                spec = new LearningSpec(null, percent / 100, null);
                return true;
            }

            error = $"'{t}' is not a share of the capture: use more than 0% and at most 100% (e.g. 25%)";
            return false;
        }

        if (Durations.TryParse(t, out var duration))
        {
            spec = new LearningSpec(duration, null, null);
            return true;
        }

        if (t.Length >= 10 && char.IsAsciiDigit(t[0])
            && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            spec = new LearningSpec(null, null, Time.ToUnixMicros(at));
            return true;
        }

        error = $"'{t}' is not a learning period: use {Forms}";
        return false;
    }

    /// <summary>The baseline options for this period; <paramref name="span"/> (first and last packet time of the
    /// input) is needed for a share and ignored otherwise.</summary>
    public BaselineOptions ToOptions((long First, long Last)? span = null)
    {
        if (UntilMicros is { } until)
        {
            return new BaselineOptions { LearningEndMicros = until };
        }

        if (Share is { } share)
        {
            var (first, last) = span ?? throw new InvalidOperationException("a share of the capture needs the input's time span");
            return new BaselineOptions { LearningEndMicros = first + (long)Math.Round((last - first) * share) };
        }

        return new BaselineOptions { LearningPeriod = Duration!.Value };
    }
}
