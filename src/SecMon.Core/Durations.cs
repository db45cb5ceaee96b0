using System.Globalization;

namespace SecMon.Core;

/// <summary>
/// The one duration grammar of SecMon, shared by the command line (<c>--duration</c>, <c>--learning</c>,
/// <c>--retention</c>, <c>--since</c>, <c>--before</c>), the rule packs (<c>within</c>, <c>per</c>, example times)
/// and configuration: a whole number followed by a unit, <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>, <c>d</c> or
/// <c>w</c> (<c>500ms</c>, <c>30s</c>, <c>10m</c>, <c>2h</c>, <c>1d</c>, <c>1w</c>); units in either case
/// (<c>2W</c>), no sign, no fraction (<c>90m</c>, not <c>1.5h</c>), no bare number (is <c>30</c> seconds or
/// minutes?), at most 100 years. Whether zero is allowed is the caller's to say (a rule window is not; a
/// learning period may be).
/// </summary>
public static class Durations
{
    /// <summary>The forms, as error messages name them.</summary>
    public const string Forms = "a whole number and a unit (ms, s, m, h, d, w), such as 30s, 10m, 2h, 1d, 1w";

    /// <summary>The longest duration accepted: 100 years of 365.25 days, in microseconds.</summary>
    public const long MaxMicros = 36_525L * 86_400_000_000L;

    private const long Millisecond = 1_000;
    private const long Second = 1_000_000;
    private const long Minute = 60 * Second;
    private const long Hour = 60 * Minute;
    private const long Day = 24 * Hour;
    private const long Week = 7 * Day;

    /// <summary>Parses a duration into microseconds; false when <paramref name="text"/> is not one (see the class).</summary>
    public static bool TryParseMicros(string? text, out long micros)
    {
        micros = 0;
        var s = text.AsSpan().Trim();
        var digits = 0;
        while (digits < s.Length && char.IsAsciiDigit(s[digits]))
        {
            digits++;
        }

        if (digits == 0 || digits > 18
            || !long.TryParse(s[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        var unit = Unit(s[digits..]);
        if (unit == 0 || n > MaxMicros / unit)
        {
            return false;
        }

        micros = n * unit;
        return true;
    }

    /// <summary>Parses a duration into a <see cref="TimeSpan"/>; false when <paramref name="text"/> is not one.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        if (TryParseMicros(text, out var micros))
        {
            value = TimeSpan.FromMicroseconds(micros);
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Formats microseconds in the largest exact unit up to days (<c>60s</c> → <c>1m</c>, a week → <c>7d</c>),
    /// as findings name windows; microseconds that are no whole millisecond are written with <c>us</c>.</summary>
    public static string Format(long micros)
    {
        ReadOnlySpan<(long Size, string Name)> units = [(Day, "d"), (Hour, "h"), (Minute, "m"), (Second, "s"), (Millisecond, "ms")];
        foreach (var (size, name) in units)
        {
            if (micros >= size && micros % size == 0)
            {
                return (micros / size).ToString(CultureInfo.InvariantCulture) + name;
            }
        }

        return micros.ToString(CultureInfo.InvariantCulture) + "us";
    }

    private static long Unit(ReadOnlySpan<char> unit) => unit.Length switch
    {
        1 => char.ToLowerInvariant(unit[0]) switch
        {
            's' => Second,
            'm' => Minute,
            'h' => Hour,
            'd' => Day,
            'w' => Week,
            _ => 0,
        },
        2 when unit.Equals("ms", StringComparison.OrdinalIgnoreCase) => Millisecond,
        _ => 0,
    };
}
