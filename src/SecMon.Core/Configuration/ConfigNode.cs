namespace SecMon.Core.Configuration;

/// <summary>Where a configuration value was written: a file, line and column (1-based), or an environment variable
/// (<see cref="Line"/> 0).</summary>
public readonly record struct ConfigLocation(string Source, int Line, int Column)
{
    /// <summary><c>file:line:column</c>, or the environment variable's name.</summary>
    public override string ToString() => Line > 0 ? $"{Source}:{Line}:{Column}" : Source;
}

/// <summary>The shape of a <see cref="ConfigNode"/>.</summary>
public enum ConfigNodeKind
{
    /// <summary>A single value (text as written; YAML null is an empty scalar with <see cref="ConfigNode.IsNull"/>).</summary>
    Scalar,

    /// <summary>Keys and values.</summary>
    Mapping,

    /// <summary>A list.</summary>
    Sequence,
}

/// <summary>
/// One node of a configuration document with its location, independent of the file format (the host reads YAML
/// into this tree; options are bound from it through <see cref="ConfigSection"/>).
/// </summary>
public sealed class ConfigNode
{
    private ConfigNode(ConfigNodeKind kind, ConfigLocation location)
    {
        Kind = kind;
        Location = location;
    }

    /// <summary>Scalar, mapping or sequence.</summary>
    public ConfigNodeKind Kind { get; }

    /// <summary>Where the node was written.</summary>
    public ConfigLocation Location { get; }

    /// <summary>A scalar's text; null for other kinds and for an explicit YAML null (<c>~</c>, <c>null</c>, nothing).</summary>
    public string? Value { get; private init; }

    /// <summary>True for a scalar that is YAML null.</summary>
    public bool IsNull => Kind == ConfigNodeKind.Scalar && Value is null;

    /// <summary>A mapping's entries in the order written (keys are unique: a reader reports duplicates).</summary>
    public IReadOnlyList<KeyValuePair<string, ConfigNode>> Entries { get; private init; } = [];

    /// <summary>A sequence's items in order.</summary>
    public IReadOnlyList<ConfigNode> Items { get; private init; } = [];

    /// <summary>A scalar (<paramref name="value"/> null for YAML null).</summary>
    public static ConfigNode Scalar(string? value, ConfigLocation location) =>
        new(ConfigNodeKind.Scalar, location) { Value = value };

    /// <summary>A mapping.</summary>
    public static ConfigNode Mapping(IReadOnlyList<KeyValuePair<string, ConfigNode>> entries, ConfigLocation location) =>
        new(ConfigNodeKind.Mapping, location) { Entries = entries };

    /// <summary>A sequence.</summary>
    public static ConfigNode Sequence(IReadOnlyList<ConfigNode> items, ConfigLocation location) =>
        new(ConfigNodeKind.Sequence, location) { Items = items };

    /// <summary>The value under <paramref name="key"/> in a mapping; null when absent or not a mapping.</summary>
    public ConfigNode? Get(string key)
    {
        foreach (var entry in Entries)
        {
            if (string.Equals(entry.Key, key, StringComparison.Ordinal))
            {
                return entry.Value;
            }
        }

        return null;
    }

    /// <summary>The kind in words for error messages.</summary>
    internal string Describe() => Kind switch
    {
        ConfigNodeKind.Mapping => "a mapping",
        ConfigNodeKind.Sequence => "a list",
        _ => IsNull ? "null" : "a single value",
    };
}
