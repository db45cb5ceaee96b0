using System.Text;
using SecMon.Core.Findings;

namespace SecMon.Findings.Store;

/// <summary>
/// The text a finding is indexed under in <c>findings_fts</c>: what analysts search for (message, rule name
/// and id, MQTT client ids, user names, topics, device id and addresses) followed by filter tokens. A filter
/// token is one alphanumeric word that no one types by accident (<c>zd</c> + a 64-bit hash of the device id,
/// <c>zr</c> rule, <c>zs</c> source IP, <c>zv47/zv73/zv99</c> severity at least medium/high/critical), so every filter is an FTS5 term walked newest first (and then checked exactly against the
/// row's columns, so a hash collision costs a probe, never a wrong result).
/// </summary>
/// <remarks>The text is a pure function of the finding (evidence in key order), so the same finding always
/// produces the same text: FTS5's contentless 'delete' command needs exactly the inserted text.</remarks>
internal static class FindingText
{
    [ThreadStatic]
    private static List<string>? t_added;

    [ThreadStatic]
    private static string[]? t_keys;

    /// <summary>Severity bands that get a token (the lowest band needs none: nearly everything is in it).</summary>
    private static readonly int[] Bands = [(int)Severity.Medium, (int)Severity.High, (int)Severity.Critical];

    /// <summary>Builds the indexed text of <paramref name="f"/> into <paramref name="sb"/> (cleared first).</summary>
    public static void Build(Finding f, StringBuilder sb)
    {
        sb.Clear();
        var added = t_added ??= new List<string>(8);
        added.Clear();
        var message = f.Message;
        sb.Append(message).Append(' ').Append(f.RuleName).Append(' ').Append(f.RuleId);

        // Evidence in key order, so the text does not depend on the dictionary's order (FTS5 'delete' needs the
        // exact text that was inserted, derived again from the stored document).
        var keys = t_keys ??= new string[16];
        if (keys.Length < f.Evidence.Count)
        {
            keys = t_keys = new string[f.Evidence.Count * 2];
        }

        var n = 0;
        foreach (var key in f.Evidence.Keys)
        {
            var last = key.AsSpan(key.LastIndexOf('.') + 1);
            var searchable = last is "client_id" or "client_ids" or "username" or "usernames"
                || key == "user.name"
                || last.StartsWith("topic", StringComparison.Ordinal)
                || last.EndsWith("_topic", StringComparison.Ordinal);
            if (searchable)
            {
                keys[n++] = key;
            }
        }

        Array.Sort(keys, 0, n, StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            AppendValue(sb, message, f.Evidence[keys[i]], added);
            keys[i] = null!;
        }

        foreach (var user in f.RelatedUser)
        {
            Append(sb, message, user, added);
        }

        Append(sb, message, f.DeviceId, added);
        Append(sb, message, f.SourceIp, added);
        Append(sb, message, f.SourceMac, added);
        Append(sb, message, f.DestinationIp, added);

        sb.Append(' ').Append(RuleToken(f.RuleId));
        if (f.DeviceId is not null)
        {
            sb.Append(' ').Append(DeviceToken(f.DeviceId));
        }

        if (CanonicalIp(f.SourceIp) is { } sourceIp)
        {
            sb.Append(' ').Append(SourceIpToken(sourceIp));
        }

        foreach (var band in Bands)
        {
            if ((int)f.Severity >= band)
            {
                sb.Append(" zv").Append(band);
            }
        }
    }

    /// <summary>The token of a rule id.</summary>
    public static string RuleToken(string ruleId) => "zr" + Hash(ruleId);

    /// <summary>The token of a device id.</summary>
    public static string DeviceToken(string deviceId) => "zd" + Hash(deviceId);

    /// <summary>An IP address in its canonical text form (<see cref="System.Net.IPAddress.ToString"/>), so
    /// <c>2001:DB8::1</c> and <c>2001:db8:0::1</c> are one address; text that is not an address is returned as is.</summary>
    public static string? CanonicalIp(string? ip)
    {
        if (ip is null || IsCanonicalIpv4(ip))
        {
            return ip;
        }

        return System.Net.IPAddress.TryParse(ip, out var parsed) ? parsed.ToString() : ip;
    }

    // Four decimal parts 0-255 without leading zeros: already what IPAddress.ToString would print (the common
    // case, checked without allocating).
    private static bool IsCanonicalIpv4(string s)
    {
        var parts = 0;
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            var value = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i]) && i - start < 3)
            {
                value = (value * 10) + (s[i] - '0');
                i++;
            }

            var length = i - start;
            if (length == 0 || value > 255 || (length > 1 && s[start] == '0'))
            {
                return false;
            }

            parts++;
            if (i == s.Length)
            {
                break;
            }

            if (s[i] != '.' || parts == 4)
            {
                return false;
            }

            i++;
            if (i == s.Length)
            {
                return false;
            }
        }

        return parts == 4;
    }

    /// <summary>The token of a source IP (in its canonical text form).</summary>
    public static string SourceIpToken(string ip) => "zs" + Hash(ip);

    /// <summary>The token that every finding with severity at least <paramref name="minSeverity"/> carries, or null
    /// when no band token narrows the search (below medium).</summary>
    public static string? SeverityToken(int minSeverity)
    {
        string? token = null;
        foreach (var band in Bands)
        {
            if (minSeverity >= band)
            {
                token = "zv" + band;
            }
        }

        return token;
    }

    // FNV-1a, 64 bits, over UTF-16 code units: stable across runs and platforms (string.GetHashCode is not).
    private static string Hash(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var c in s)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return h.ToString("x16");
    }

    private static void AppendValue(StringBuilder sb, string message, object? value, List<string> added)
    {
        switch (value)
        {
            case string s:
                Append(sb, message, s, added);
                break;
            case IEnumerable<string> list:
                foreach (var item in list)
                {
                    Append(sb, message, item, added);
                }

                break;
            default:
                break;
        }
    }

    // Values the message already spells out, or that were appended already (the device id is often the source MAC,
    // related.user repeats the user name), add nothing to the index: fewer tokens, cheaper inserts.
    private static void Append(StringBuilder sb, string message, string? value, List<string> added)
    {
        // Ordinal, not ignoring case: a vectorized search; a value in another case is merely indexed twice.
        if (string.IsNullOrEmpty(value) || message.Contains(value, StringComparison.Ordinal))
        {
            return;
        }

        foreach (var a in added)
        {
            if (a.Equals(value, StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        added.Add(value);
        sb.Append(' ').Append(value);
    }
}
