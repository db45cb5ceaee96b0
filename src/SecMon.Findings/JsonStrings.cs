namespace SecMon.Findings;

/// <summary>Makes strings safe to hand to <see cref="System.Text.Json.Utf8JsonWriter"/>.</summary>
internal static class JsonStrings
{
    /// <summary>
    /// Replaces lone surrogates with U+FFFD. Strings that came off the wire may hold them, UTF-8 cannot encode them
    /// and Utf8JsonWriter throws on them. The common case (no surrogates) returns the string itself.
    /// </summary>
    public static string Clean(string s)
    {
        var i = 0;
        for (; i < s.Length; i++)
        {
            if (char.IsSurrogate(s[i]))
            {
                break;
            }
        }

        if (i == s.Length)
        {
            return s;
        }

        var chars = s.ToCharArray();
        for (; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }
}
