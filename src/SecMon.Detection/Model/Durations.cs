using System.Globalization;

namespace SecMon.Detection.Model;

/// <summary>Durations in rule packs: an integer and a unit (<c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>).</summary>
internal static class Durations
{
    /// <summary>Parses a duration into microseconds; false when the text is not one or is not positive.</summary>
    public static bool TryParseMicros(string text, out long micros)
    {
        micros = 0;
        var s = text.Trim();
        var i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }

        if (i == 0 || !long.TryParse(s.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return false;
        }

        long unit = s[i..] switch
        {
            "ms" => 1_000,
            "s" => 1_000_000,
            "m" => 60_000_000,
            "h" => 3_600_000_000,
            "d" => 86_400_000_000,
            _ => 0,
        };
        if (unit == 0 || n > long.MaxValue / unit)
        {
            return false;
        }

        micros = n * unit;
        return true;
    }

    /// <summary>Formats microseconds back in the largest exact unit (<c>60s</c> → <c>1m</c>).</summary>
    public static string Format(long micros)
    {
        (long Size, string Name)[] units = [(86_400_000_000, "d"), (3_600_000_000, "h"), (60_000_000, "m"), (1_000_000, "s"), (1_000, "ms")];
        foreach (var (size, name) in units)
        {
            if (micros >= size && micros % size == 0)
            {
                return (micros / size).ToString(CultureInfo.InvariantCulture) + name;
            }
        }

        return micros.ToString(CultureInfo.InvariantCulture) + "us";
    }
}
