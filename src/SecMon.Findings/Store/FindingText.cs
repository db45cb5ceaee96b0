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
    /// <summary>Severity bands that get a token (the lowest band needs none: nearly everything is in it).</summary>
    private static readonly int[] Bands = [(int)Severity.Medium, (int)Severity.High, (int)Severity.Critical];

    /// <summary>Builds the indexed text of <paramref name="f"/> into <paramref name="sb"/> (cleared first).</summary>
    public static void Build(Finding f, StringBuilder sb)
    {
        sb.Clear();
        var added = new List<string>(8);
        var message = f.Message;
        sb.Append(message).Append(' ').Append(f.RuleName).Append(' ').Append(f.RuleId);
        foreach (var (key, value) in f.Evidence.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var last = key.AsSpan(key.LastIndexOf('.') + 1);
            var searchable = last is "client_id" or "client_ids" or "username" or "usernames"
                || key == "user.name"
                || last.StartsWith("topic", StringComparison.Ordinal)
                || last.EndsWith("_topic", StringComparison.Ordinal);
            if (searchable)
            {
                AppendValue(sb, message, value, added);
            }
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
    public static string? CanonicalIp(string? ip) =>
        ip is not null && System.Net.IPAddress.TryParse(ip, out var parsed) ? parsed.ToString() : ip;

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
        if (string.IsNullOrEmpty(value) || message.Contains(value, StringComparison.OrdinalIgnoreCase))
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
