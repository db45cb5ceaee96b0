using System.Globalization;
using System.Text.RegularExpressions;

namespace SecMon.Core.Configuration;

/// <summary>
/// Reads one mapping of a configuration into options: each getter returns the value (or the default when the key
/// is absent) and records a located error instead of throwing when the value is wrong; <see cref="Finish"/> reports
/// the keys nobody read (a typo is an error, not a silently ignored setting).
/// </summary>
/// <remarks>
/// Environment: a value written as <c>${NAME}</c> (or containing it) is taken from the environment variable NAME,
/// which is how secrets stay out of the file; and any key can be overridden by an environment variable named
/// <c>SECMON_</c> + its path in capitals with <c>__</c> between the parts (<c>outputs.elasticsearch.api_key</c> →
/// <c>SECMON_OUTPUTS__ELASTICSEARCH__API_KEY</c>, <c>outputs.webhooks[0].secret</c> →
/// <c>SECMON_OUTPUTS__WEBHOOKS__0__SECRET</c>). Error messages never repeat a value read by <see cref="Secret"/>.
/// </remarks>
public sealed partial class ConfigSection
{
    private readonly ConfigNode _node;
    private readonly Func<string, string?> _environment;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    /// <summary>Reads <paramref name="node"/> (a mapping, or null/absent: every key takes its default) at
    /// <paramref name="path"/>, recording problems in <paramref name="errors"/>.</summary>
    public ConfigSection(ConfigNode? node, string path, ConfigErrors errors, Func<string, string?>? environment = null,
        ConfigLocation? location = null)
    {
        ArgumentNullException.ThrowIfNull(errors);
        Path = path;
        Errors = errors;
        _environment = environment ?? Environment.GetEnvironmentVariable;
        var where = node?.Location ?? location ?? new ConfigLocation("(defaults)", 0, 0);
        if (node is { Kind: not ConfigNodeKind.Mapping, IsNull: false })
        {
            errors.Add(node.Location, path, $"expected a mapping of keys, found {node.Describe()}");
            node = null;
        }

        _node = node is { Kind: ConfigNodeKind.Mapping } ? node : ConfigNode.Mapping([], where);
    }

    /// <summary>This section's path (<c>outputs.elasticsearch</c>; empty for the document).</summary>
    public string Path { get; }

    /// <summary>Where the section was written.</summary>
    public ConfigLocation Location => _node.Location;

    /// <summary>Where problems are recorded.</summary>
    public ConfigErrors Errors { get; }

    /// <summary>The keys written in this section, in order.</summary>
    public IEnumerable<string> Keys => _node.Entries.Select(e => e.Key);

    /// <summary>True when <paramref name="key"/> is written (or overridden from the environment).</summary>
    public bool Has(string key) => _node.Get(key) is not null || Override(key) is not null;

    /// <summary>The path of <paramref name="key"/> in this section.</summary>
    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>Where <paramref name="key"/> was written (the section itself when absent).</summary>
    public ConfigLocation LocationOf(string key) => _node.Get(key)?.Location ?? _node.Location;

    /// <summary>Records an error about <paramref name="key"/> (validation that only the options know).</summary>
    public void Error(string key, string message) => Errors.Add(LocationOf(key), PathOf(key), message);

    /// <summary>Records a warning about <paramref name="key"/>.</summary>
    public void Warn(string key, string message) => Errors.Warn(LocationOf(key), PathOf(key), message);

    /// <summary>A text value; <paramref name="defaultValue"/> when absent; an error when <paramref name="required"/>
    /// and absent or empty.</summary>
    public string? Text(string key, string? defaultValue = null, bool required = false) =>
        ScalarText(key, required, secret: false) ?? defaultValue;

    /// <summary>A secret (a password, an API key, a webhook secret): as <see cref="Text"/>, but never repeated in an
    /// error, and a warning when written literally in the file instead of coming from the environment
    /// (<c>${NAME}</c> or the <c>SECMON_...</c> override).</summary>
    public string? Secret(string key, bool required = false)
    {
        var value = ScalarText(key, required, secret: true);
        if (value is not null && Override(key) is null && _node.Get(key)?.Value is { } written && !EnvReference().IsMatch(written))
        {
            Warn(key, $"a secret is written in the file: prefer ${{NAME}} (an environment variable) or {EnvName(PathOf(key))}");
        }

        return value;
    }

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Number(string key, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = ScalarText(key, false, false);
        if (text is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(key, $"'{text}' is not a whole number from {min} to {max}");
            return defaultValue;
        }

        return value;
    }

    /// <summary>A file or directory path; a relative one is relative to the directory of the file it is written in
    /// (from an environment variable: to the current directory). Nothing is checked on disk.</summary>
    public string? FilePath(string key, bool required = false)
    {
        var text = ScalarText(key, required, false);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var written = Override(key) is null ? _node.Get(key)?.Location : null;
        var baseDirectory = written is { Line: > 0 } w && System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(w.Source)) is { } d
            ? d
            : Directory.GetCurrentDirectory();
        return System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, text));
    }

    /// <summary>true or false (also yes/no, on/off).</summary>
    public bool Bool(string key, bool defaultValue)
    {
        var text = ScalarText(key, false, false);
        switch (text?.ToLowerInvariant())
        {
            case null:
                return defaultValue;
            case "true" or "yes" or "on":
                return true;
            case "false" or "no" or "off":
                return false;
            default:
                Error(key, $"'{text}' is not true or false");
                return defaultValue;
        }
    }

    /// <summary>A duration in SecMon's one grammar (<c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>7d</c>,
    /// <c>1w</c>), at least <paramref name="min"/> (default: zero).</summary>
    public TimeSpan Duration(string key, TimeSpan defaultValue, TimeSpan? min = null)
    {
        var text = ScalarText(key, false, false);
        if (text is null)
        {
            return defaultValue;
        }

        if (!Durations.TryParse(text, out var value) || value < (min ?? TimeSpan.Zero))
        {
            Error(key, $"'{text}' is not a duration{(min is { } m && m > TimeSpan.Zero ? $" of at least {Durations.Format((long)(m.Ticks / 10))}" : "")} (write e.g. 500ms, 30s, 5m, 2h, 7d, 1w)");
            return defaultValue;
        }

        return value;
    }

    /// <summary>A size in bytes: a whole number with an optional unit (<c>B</c>, <c>KiB</c>, <c>MiB</c>, <c>GiB</c> =
    /// 1024-based; <c>KB</c>, <c>MB</c>, <c>GB</c> = 1000-based), at least <paramref name="min"/>.</summary>
    public long Size(string key, long defaultValue, long min = 0)
    {
        var text = ScalarText(key, false, false);
        if (text is null)
        {
            return defaultValue;
        }

        if (!TryParseSize(text, out var value) || value < min)
        {
            Error(key, $"'{text}' is not a size{(min > 0 ? $" of at least {FormatSize(min)}" : "")} (write e.g. 512KiB, 100MiB, 1GiB)");
            return defaultValue;
        }

        return value;
    }

    /// <summary>One of <paramref name="allowed"/> (compared ignoring case, returned as listed).</summary>
    public string Choice(string key, string defaultValue, params string[] allowed)
    {
        var text = ScalarText(key, false, false);
        if (text is null)
        {
            return defaultValue;
        }

        foreach (var a in allowed)
        {
            if (string.Equals(a, text, StringComparison.OrdinalIgnoreCase))
            {
                return a;
            }
        }

        Error(key, $"'{text}' is not one of: {string.Join(", ", allowed)}");
        return defaultValue;
    }

    /// <summary>An absolute URL with one of <paramref name="schemes"/> (default http and https).</summary>
    public Uri? Url(string key, bool required = false, params string[] schemes)
    {
        var text = ScalarText(key, required, false);
        if (text is null)
        {
            return null;
        }

        schemes = schemes.Length == 0 ? ["https", "http"] : schemes;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || !schemes.Contains(uri.Scheme, StringComparer.OrdinalIgnoreCase))
        {
            Error(key, $"'{text}' is not an absolute {string.Join(" or ", schemes)} URL");
            return null;
        }

        return uri;
    }

    /// <summary>A list of texts: written as a YAML list, or as one value (a list of one).</summary>
    public IReadOnlyList<string> Strings(string key)
    {
        _read.Add(key);
        if (Override(key) is { } overridden)
        {
            return overridden.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        var node = _node.Get(key);
        switch (node)
        {
            case null or { IsNull: true }:
                return [];
            case { Kind: ConfigNodeKind.Scalar }:
                return [Expand(key, node.Value!, node.Location, secret: false) ?? ""];
            case { Kind: ConfigNodeKind.Sequence }:
                var list = new List<string>(node.Items.Count);
                for (var i = 0; i < node.Items.Count; i++)
                {
                    var item = node.Items[i];
                    if (item.Kind != ConfigNodeKind.Scalar || item.IsNull)
                    {
                        Errors.Add(item.Location, $"{PathOf(key)}[{i}]", $"expected a single value, found {item.Describe()}");
                        continue;
                    }

                    list.Add(Expand(key, item.Value!, item.Location, secret: false) ?? "");
                }

                return list;
            default:
                Error(key, $"expected a list of values, found {node.Describe()}");
                return [];
        }
    }

    /// <summary>A nested mapping; an empty section when absent (every key takes its default).</summary>
    public ConfigSection Section(string key)
    {
        _read.Add(key);
        return new ConfigSection(_node.Get(key), PathOf(key), Errors, _environment, _node.Location);
    }

    /// <summary>A list of mappings (<c>webhooks: [{url: ...}, {url: ...}]</c>); a single mapping is a list of one.</summary>
    public IReadOnlyList<ConfigSection> Sections(string key)
    {
        _read.Add(key);
        var node = _node.Get(key);
        switch (node)
        {
            case null or { IsNull: true }:
                return [];
            case { Kind: ConfigNodeKind.Mapping }:
                return [new ConfigSection(node, $"{PathOf(key)}[0]", Errors, _environment)];
            case { Kind: ConfigNodeKind.Sequence }:
                return node.Items.Select((item, i) => new ConfigSection(item, $"{PathOf(key)}[{i}]", Errors, _environment)).ToArray();
            default:
                Error(key, $"expected a list of mappings, found {node.Describe()}");
                return [];
        }
    }

    /// <summary>Reports every key written in this section that no getter read (a misspelt or unsupported key).</summary>
    public void Finish()
    {
        var known = _read.Order(StringComparer.Ordinal).ToArray();
        foreach (var (key, node) in _node.Entries)
        {
            if (!_read.Contains(key))
            {
                Errors.Add(node.Location, PathOf(key), known.Length == 0
                    ? "unknown key: this section takes no keys"
                    : $"unknown key (known here: {string.Join(", ", known)})");
            }
        }
    }

    /// <summary>A size as a user writes it: the largest binary unit that divides it (<c>32MiB</c>, <c>1536KiB</c>), else
    /// bytes (<c>1000B</c>).</summary>
    public static string FormatSize(long bytes)
    {
        foreach (var (unit, name) in new[] { (1L << 30, "GiB"), (1L << 20, "MiB"), (1L << 10, "KiB") })
        {
            if (bytes != 0 && bytes % unit == 0)
            {
                return (bytes / unit).ToString(CultureInfo.InvariantCulture) + name;
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture) + "B";
    }

    /// <summary>Parses a size such as <c>100MiB</c> (see <see cref="Size"/>).</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        var match = SizePattern().Match(text.Trim());
        if (!match.Success || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        long unit = match.Groups[2].Value.ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KIB" => 1L << 10,
            "M" or "MIB" => 1L << 20,
            "G" or "GIB" => 1L << 30,
            "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            _ => 0,
        };
        if (unit == 0 || number > long.MaxValue / unit)
        {
            return false;
        }

        bytes = number * unit;
        return true;
    }

    /// <summary>The environment variable that overrides the key at <paramref name="path"/>.</summary>
    public static string EnvName(string path) =>
        "SECMON_" + path.Replace("[", ".", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal)
            .Replace(".", "__", StringComparison.Ordinal).ToUpperInvariant();

    private string? Override(string key) => _environment(EnvName(PathOf(key))) is { Length: > 0 } v ? v : null;

    private string? ScalarText(string key, bool required, bool secret)
    {
        _read.Add(key);
        if (Override(key) is { } overridden)
        {
            return overridden;
        }

        var node = _node.Get(key);
        if (node is null || node.IsNull)
        {
            if (required)
            {
                Errors.Add(node?.Location ?? _node.Location, PathOf(key), node is null ? "required key is missing" : "required value is empty");
            }

            return null;
        }

        if (node.Kind != ConfigNodeKind.Scalar)
        {
            Error(key, $"expected a single value, found {node.Describe()}");
            return null;
        }

        var value = Expand(key, node.Value!, node.Location, secret);
        if (value is null)
        {
            return null; // an unset variable, reported by Expand: one error for it, not a second "empty"
        }

        if (required && value.Length == 0)
        {
            Error(key, "required value is empty");
            return null;
        }

        return value;
    }

    private string? Expand(string key, string text, ConfigLocation location, bool secret)
    {
        if (!text.Contains("${", StringComparison.Ordinal))
        {
            return text;
        }

        var ok = true;
        var expanded = EnvReference().Replace(text, m =>
        {
            var value = _environment(m.Groups[1].Value);
            if (value is null)
            {
                Errors.Add(location, PathOf(key), $"environment variable {m.Groups[1].Value} is not set{(secret ? " (it holds a secret)" : "")}");
                ok = false;
                return "";
            }

            return value;
        });
        return ok ? expanded : null;
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex EnvReference();

    [GeneratedRegex(@"^([0-9]+)\s*([A-Za-z]*)$")]
    private static partial Regex SizePattern();
}
