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

        // Most topics have no identifier level: scan first, allocate only when one must be replaced.
        if (!HasIdentifierLevel(topic))
        {
            return topic;
        }

        var levels = topic.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            if (IsIdentifier(levels[i]))
            {
                levels[i] = "+";
            }
        }

        return string.Join('/', levels);
    }

    private static bool HasIdentifierLevel(string topic)
    {
        var span = topic.AsSpan();
        while (true)
        {
            var slash = span.IndexOf('/');
            var level = slash < 0 ? span : span[..slash];
            if (IsIdentifier(level))
            {
                return true;
            }

            if (slash < 0)
            {
                return false;
            }

            span = span[(slash + 1)..];
        }
    }

    private static bool IsIdentifier(ReadOnlySpan<char> level)
    {
        if (level.Length == 0)
        {
            return false;
        }

        if (!level.ContainsAnyExceptInRange('0', '9'))
        {
            return true;
        }

        if (level.Length >= 8 && !level.ContainsAnyExcept(HexDigits) && level.IndexOfAnyInRange('0', '9') >= 0)
        {
            return true;
        }

        return level.Length == 36 && Guid.TryParseExact(level, "D", out _);
    }

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");
}
