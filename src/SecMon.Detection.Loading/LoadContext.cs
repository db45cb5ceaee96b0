using SecMon.Core.Events;
using SecMon.Detection.Conditions;
using SecMon.Detection.Model;
using YamlDotNet.RepresentationModel;

namespace SecMon.Detection.Loading;

/// <summary>The event types a condition or placeholder is checked against.</summary>
/// <param name="Schemas">The known event types the rule (or step) reads.</param>
/// <param name="Strict">True: a field must exist in every one of them. False: in at least one type of the
/// whole catalogue (suppressions apply to every rule).</param>
/// <param name="Unchecked">True when the rule names unknown event types: its fields are not checked, to
/// avoid a cascade of errors behind the one that matters.</param>
internal sealed record FieldScope(IReadOnlyList<EventSchema> Schemas, bool Strict, bool Unchecked)
{
    public string Describe() => string.Join(", ", Schemas.Select(s => s.Type));
}

/// <summary>State shared while loading the packs: the catalogue, the errors found so far, regex settings.</summary>
internal sealed class LoadContext
{
    private readonly Dictionary<string, FieldKind?> _allFields = new(StringComparer.Ordinal);

    public LoadContext(IReadOnlyList<EventSchema> catalogue, RegexGuard guard, TimeSpan regexTimeout)
    {
        Schemas = new Dictionary<string, EventSchema>(StringComparer.Ordinal);
        foreach (var s in catalogue)
        {
            Schemas.TryAdd(s.Type, s);
        }

        foreach (var f in CommonFields.All)
        {
            _allFields[f.Name] = f.Kind;
        }

        foreach (var s in catalogue)
        {
            foreach (var f in s.Fields)
            {
                if (_allFields.TryGetValue(f.Name, out var k) && k != f.Kind)
                {
                    _allFields[f.Name] = null;
                }
                else
                {
                    _allFields[f.Name] = f.Kind;
                }
            }
        }

        Guard = guard;
        RegexTimeout = regexTimeout;
    }

    /// <summary>The file being read.</summary>
    public string File { get; set; } = "";

    /// <summary>Event types already reported unknown in the current file (examples do not repeat the error).</summary>
    public HashSet<string> ReportedUnknownTypes { get; } = new(StringComparer.Ordinal);

    /// <summary>Every error so far.</summary>
    public List<RuleError> Errors { get; } = [];

    /// <summary>Known event types.</summary>
    public Dictionary<string, EventSchema> Schemas { get; }

    /// <summary>Counts regex timeouts for the rule set being built.</summary>
    public RegexGuard Guard { get; }

    /// <summary>The match timeout of every backtracking regular expression.</summary>
    public TimeSpan RegexTimeout { get; }

    /// <summary>Records an error at <paramref name="node"/> (or the start of the file).</summary>
    public void Error(YamlNode? node, string message)
    {
        if (node is null)
        {
            Errors.Add(new RuleError(File, 0, 0, message));
        }
        else
        {
            Errors.Add(new RuleError(File, (int)node.Start.Line, (int)node.Start.Column, message));
        }
    }

    /// <summary>Where <paramref name="node"/> is.</summary>
    public SourceLocation At(YamlNode node) => new(File, (int)node.Start.Line, (int)node.Start.Column);

    /// <summary>"a list of the known event types" for messages.</summary>
    public string KnownTypes() => Schemas.Count == 0
        ? "no event types are known (no protocol dissectors are registered)"
        : "known types: " + string.Join(", ", Schemas.Keys.Order(StringComparer.Ordinal));

    /// <summary>Resolves a field name in a scope; reports and returns null when it is unknown or ambiguous.</summary>
    public FieldRef? ResolveField(YamlNode node, string name, FieldScope scope)
    {
        if (name.StartsWith(FieldRef.SessionPrefix, StringComparison.Ordinal))
        {
            var baseName = name[FieldRef.SessionPrefix.Length..];
            if (scope.Unchecked)
            {
                return new FieldRef(name, _allFields.TryGetValue(baseName, out var guess) && guess is { } g0 ? g0 : FieldKind.Text);
            }

            if (!_allFields.TryGetValue(baseName, out var k))
            {
                Error(node, $"unknown field '{name}': session fields name a field of any event type after 'session.', and no event type has '{baseName}'{Suggestions.DidYouMean(baseName, _allFields.Keys)}.");
                return null;
            }

            if (k is null)
            {
                Error(node, $"'{name}' is ambiguous: event types give '{baseName}' different types.");
                return null;
            }

            return new FieldRef(name, k.Value);
        }

        if (scope.Unchecked)
        {
            return new FieldRef(name, _allFields.TryGetValue(name, out var guess) && guess is { } g ? g : FieldKind.Text);
        }

        if (!scope.Strict)
        {
            if (!_allFields.TryGetValue(name, out var k))
            {
                Error(node, $"unknown field '{name}': no event type has it{Suggestions.DidYouMean(name, _allFields.Keys)}. List fields with 'secmon rules fields'.");
                return null;
            }

            if (k is null)
            {
                Error(node, $"'{name}' is ambiguous: event types give it different types.");
                return null;
            }

            return new FieldRef(name, k.Value);
        }

        FieldKind? kind = null;
        foreach (var s in scope.Schemas)
        {
            if (!s.TryGetField(name, out var f))
            {
                var hint = _allFields.ContainsKey(name)
                    ? $" It exists on other event types; to read it from an earlier event of the same flow, write 'session.{name}'."
                    : Suggestions.DidYouMean(name, s.Fields.Select(x => x.Name)) + " List fields with 'secmon rules fields'.";
                Error(node, $"unknown field '{name}' for event type {s.Type}.{hint}");
                return null;
            }

            if (kind is { } prev && prev != f.Kind)
            {
                Error(node, $"'{name}' has different types in the event types this rule reads ({scope.Describe()}); split the rule.");
                return null;
            }

            kind = f.Kind;
        }

        return kind is { } resolved ? new FieldRef(name, resolved) : null;
    }
}
