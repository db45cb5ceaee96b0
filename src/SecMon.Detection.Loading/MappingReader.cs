using SecMon.Core;
using YamlDotNet.RepresentationModel;

namespace SecMon.Detection.Loading;

/// <summary>
/// Reads a YAML mapping with a known set of keys: reports unknown keys (with a suggestion) and missing required
/// ones, and hands out values by key. Keys stay in the order written.
/// </summary>
internal sealed class MappingReader
{
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);
    private readonly LoadContext _ctx;

    public MappingReader(LoadContext ctx, YamlMappingNode node, string what, IReadOnlyCollection<string> keys)
    {
        _ctx = ctx;
        Node = node;
        What = what;
        foreach (var (k, v) in node.Children)
        {
            if (k is not YamlScalarNode ks || YamlScalars.IsNull(ks))
            {
                ctx.Error(k, $"{what}: keys must be plain names.");
                continue;
            }

            var name = ks.Value!;
            if (!keys.Contains(name))
            {
                ctx.Error(k, $"{what}: unknown key '{name}'{Suggestions.DidYouMean(name, keys)}; allowed keys: {string.Join(", ", keys)}.");
                continue;
            }

            _entries[name] = (ks, v);
        }
    }

    /// <summary>The mapping.</summary>
    public YamlMappingNode Node { get; }

    /// <summary>What the mapping is, for messages ("rule SECMON-MQTT-0001").</summary>
    public string What { get; }

    /// <summary>The value of <paramref name="key"/>, or null when absent.</summary>
    public YamlNode? Get(string key) => _entries.TryGetValue(key, out var e) ? e.Value : null;

    /// <summary>The key node of <paramref name="key"/>, or the mapping when absent (for error locations).</summary>
    public YamlNode KeyNode(string key) => _entries.TryGetValue(key, out var e) ? e.Key : Node;

    /// <summary>True when the key is present (even with a null value).</summary>
    public bool Has(string key) => _entries.ContainsKey(key);

    /// <summary>A required non-empty text value; reports and returns null when missing.</summary>
    public string? RequiredText(string key, string hint)
    {
        var v = Get(key);
        if (v is null || YamlScalars.IsNull(v))
        {
            _ctx.Error(v ?? Node, $"{What}: '{key}' is required ({hint}).");
            return null;
        }

        if (!YamlScalars.TryText(v, out var s) || s.Trim().Length == 0)
        {
            _ctx.Error(v, $"{What}: '{key}' must be text ({hint}), not {YamlScalars.Describe(v)}.");
            return null;
        }

        return s;
    }

    /// <summary>An optional text value.</summary>
    public string? OptionalText(string key)
    {
        var v = Get(key);
        if (v is null || YamlScalars.IsNull(v))
        {
            return null;
        }

        if (!YamlScalars.TryText(v, out var s))
        {
            _ctx.Error(v, $"{What}: '{key}' must be text, not {YamlScalars.Describe(v)}.");
            return null;
        }

        return s;
    }

    /// <summary>A text value or a list of them (a single value is a list of one).</summary>
    public List<(string Text, YamlNode Node)>? TextList(string key)
    {
        var v = Get(key);
        if (v is null || YamlScalars.IsNull(v))
        {
            return null;
        }

        return ReadTextList(_ctx, v, $"{What}: '{key}'");
    }

    /// <summary>Reads a scalar or a list of scalars as text.</summary>
    public static List<(string Text, YamlNode Node)> ReadTextList(LoadContext ctx, YamlNode v, string what)
    {
        var list = new List<(string, YamlNode)>();
        if (v is YamlSequenceNode seq)
        {
            foreach (var item in seq.Children)
            {
                if (YamlScalars.TryText(item, out var s))
                {
                    list.Add((s, item));
                }
                else
                {
                    ctx.Error(item, $"{what}: list items must be text, not {YamlScalars.Describe(item)}.");
                }
            }
        }
        else if (YamlScalars.TryText(v, out var s))
        {
            list.Add((s, v));
        }
        else
        {
            ctx.Error(v, $"{what} must be text or a list of text, not {YamlScalars.Describe(v)}.");
        }

        return list;
    }

    /// <summary>An optional positive integer within bounds.</summary>
    public long? OptionalInteger(string key, long min, long max)
    {
        var v = Get(key);
        if (v is null || YamlScalars.IsNull(v))
        {
            return null;
        }

        if (!YamlScalars.TryInteger(v, out var n) || n < min || n > max)
        {
            _ctx.Error(v, $"{What}: '{key}' must be a whole number from {min} to {max}, not {YamlScalars.Describe(v)}.");
            return null;
        }

        return n;
    }

    /// <summary>A duration (<c>30s</c>, <c>5m</c>); reports when malformed or (if required) missing.</summary>
    public long? Duration(string key, bool required)
    {
        var v = Get(key);
        if (v is null || YamlScalars.IsNull(v))
        {
            if (required)
            {
                _ctx.Error(v ?? Node, $"{What}: '{key}' is required (a duration such as 60s, 5m or 1h).");
            }

            return null;
        }

        if (!YamlScalars.TryText(v, out var s) || !Durations.TryParseMicros(s, out var micros) || micros <= 0)
        {
            _ctx.Error(v, $"{What}: '{key}' must be a positive duration with a unit (500ms, 30s, 5m, 1h, 1d, 1w), not {YamlScalars.Describe(v)}.");
            return null;
        }

        return micros;
    }

    /// <summary>An optional boolean.</summary>
    public bool? OptionalBoolean(string key)
    {
        var v = Get(key);
        if (v is null || YamlScalars.IsNull(v))
        {
            return null;
        }

        if (!YamlScalars.TryBoolean(v, out var b))
        {
            _ctx.Error(v, $"{What}: '{key}' must be true or false, not {YamlScalars.Describe(v)}.");
            return null;
        }

        return b;
    }
}
