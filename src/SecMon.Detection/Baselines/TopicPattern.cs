namespace SecMon.Detection.Baselines;

/// <summary>
/// Generalises an MQTT topic to a pattern for baselines: levels that are identifiers rather than names (decimal
/// numbers, hexadecimal strings of 8+ digits, UUIDs) become <c>+</c>, the MQTT single-level wildcard
/// (MQTT 5.0 §4.7.1.3), so <c>meters/4711/power</c> and <c>meters/4712/power</c> are one pattern.
/// </summary>
internal static class TopicPattern
{
    /// <summary>Longest topic kept (longer ones are cut, so a hostile topic cannot grow the baseline).</summary>
    public const int MaxLength = 256;

    public static string Normalise(string topic)
    {
        if (topic.Length > MaxLength)
        {
            topic = topic[..MaxLength];
        }

        var changed = false;
        var levels = topic.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            if (IsIdentifier(levels[i]))
            {
                levels[i] = "+";
                changed = true;
            }
        }

        return changed ? string.Join('/', levels) : topic;
    }

    private static bool IsIdentifier(string level)
    {
        if (level.Length == 0)
        {
            return false;
        }

        if (level.All(char.IsAsciiDigit))
        {
            return true;
        }

        if (level.Length >= 8 && level.All(char.IsAsciiHexDigit) && level.Any(char.IsAsciiDigit))
        {
            return true;
        }

        return level.Length == 36 && Guid.TryParseExact(level, "D", out _);
    }
}
