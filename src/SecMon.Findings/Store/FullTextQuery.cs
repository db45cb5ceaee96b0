using System.Text;

namespace SecMon.Findings.Store;

/// <summary>
/// Turns what a user types into an SQLite FTS5 query. Every word must occur (AND); <c>"two words"</c> is a
/// phrase; <c>word*</c> matches words starting with <c>word</c>; <c>-word</c> excludes. Everything the user
/// types is quoted before it reaches FTS5, so no input is an FTS5 syntax error: a client id such as
/// <c>sensor-17</c> or an address such as <c>10.0.0.5</c> becomes a phrase of its tokens.
/// </summary>
public static class FullTextQuery
{
    /// <summary>Longest search text accepted, in characters.</summary>
    public const int MaxLength = 1000;

    /// <summary>Most words (and phrases) in one search.</summary>
    public const int MaxTerms = 32;

    /// <summary>Translates <paramref name="text"/> into an FTS5 MATCH expression.</summary>
    /// <param name="text">The user's search text.</param>
    /// <param name="match">The FTS5 expression, when the method returns true.</param>
    /// <param name="error">What is wrong with the text, when the method returns false.</param>
    public static bool TryTranslate(string text, out string match, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        match = "";
        error = "";
        if (text.Length > MaxLength)
        {
            error = $"the search text is longer than {MaxLength} characters";
            return false;
        }

        var include = new List<string>();
        var exclude = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                i++;
                continue;
            }

            var negate = false;
            if (text[i] == '-' && i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1]))
            {
                negate = true;
                i++;
            }

            string term;
            var prefix = false;
            if (text[i] == '"')
            {
                var end = text.IndexOf('"', i + 1);
                if (end < 0)
                {
                    end = text.Length;
                }

                term = text[(i + 1)..end];
                i = Math.Min(text.Length, end + 1);
                if (i < text.Length && text[i] == '*')
                {
                    prefix = true;
                    i++;
                }
            }
            else
            {
                var start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    i++;
                }

                term = text[start..i];
                if (term.EndsWith('*'))
                {
                    prefix = true;
                    term = term.TrimEnd('*');
                }
            }

            // A term without letters or digits has no tokens (unicode61 splits on everything else): skip it.
            if (!term.Any(char.IsLetterOrDigit))
            {
                continue;
            }

            var quoted = "\"" + term.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" + (prefix ? " *" : "");
            (negate ? exclude : include).Add(quoted);
        }

        if (include.Count + exclude.Count > MaxTerms)
        {
            error = $"the search text has more than {MaxTerms} words";
            return false;
        }

        if (include.Count == 0)
        {
            error = exclude.Count > 0
                ? "the search text needs at least one word to look for, not only -exclusions"
                : "the search text has no words to look for (letters or digits)";
            return false;
        }

        var sb = new StringBuilder();
        sb.Append('(').AppendJoin(" AND ", include).Append(')');
        foreach (var e in exclude)
        {
            sb.Append(" NOT ").Append(e);
        }

        match = sb.ToString();
        return true;
    }
}
