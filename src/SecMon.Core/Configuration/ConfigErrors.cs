namespace SecMon.Core.Configuration;

/// <summary>One problem in a configuration: where, which key, what is wrong and what to do.</summary>
/// <param name="Location">Where the value (or the mapping missing a key) was written.</param>
/// <param name="Path">The key's path (<c>outputs.webhooks[0].url</c>).</param>
/// <param name="Message">What is wrong and what to do, in words; never a secret's value.</param>
/// <param name="IsWarning">True for something that works but should be changed (a secret written in the file).</param>
public sealed record ConfigError(ConfigLocation Location, string Path, string Message, bool IsWarning = false)
{
    /// <summary><c>file:line:column: path: message</c> (<c>warning:</c> before the message for a warning).</summary>
    public override string ToString() =>
        $"{Location}: {(Path.Length > 0 ? Path + ": " : "")}{(IsWarning ? "warning: " : "")}{Message}";
}

/// <summary>
/// Collects every problem found while a configuration is read and bound, so that validation lists all of them at
/// once (STYLE.md: fail at start-up with every error listed) instead of stopping at the first.
/// </summary>
public sealed class ConfigErrors
{
    private readonly List<ConfigError> _items = [];

    /// <summary>Errors and warnings in the order they are written in the file (then environment overrides).</summary>
    public IReadOnlyList<ConfigError> Items =>
        [.. _items.OrderBy(e => e.Location.Line == 0).ThenBy(e => e.Location.Source, StringComparer.Ordinal)
            .ThenBy(e => e.Location.Line).ThenBy(e => e.Location.Column)];

    /// <summary>True when at least one item is an error (warnings do not count).</summary>
    public bool HasErrors => _items.Exists(e => !e.IsWarning);

    /// <summary>Number of errors (not warnings).</summary>
    public int ErrorCount => _items.Count(e => !e.IsWarning);

    /// <summary>Adds an error.</summary>
    public void Add(ConfigLocation location, string path, string message) => _items.Add(new ConfigError(location, path, message));

    /// <summary>Adds a warning.</summary>
    public void Warn(ConfigLocation location, string path, string message) =>
        _items.Add(new ConfigError(location, path, message, IsWarning: true));
}
