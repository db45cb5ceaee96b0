using SecMon.Core.Events;
using SecMon.Detection.Conditions;
using SecMon.Detection.Loading;
using SecMon.Detection.Model;

namespace SecMon.Detection;

/// <summary>The outcome of loading rule packs: a rule set, or every error found (never both).</summary>
/// <param name="RuleSet">The rules, when there was no error.</param>
/// <param name="Errors">Every problem, each with file:line:column.</param>
public sealed record RuleLoadResult(RuleSet? RuleSet, IReadOnlyList<RuleError> Errors)
{
    /// <summary>True when the packs loaded without error.</summary>
    public bool Success => RuleSet is not null;
}

/// <summary>Options for loading rule packs.</summary>
public sealed record RuleLoadOptions
{
    /// <summary>Match timeout of regular expressions that need the backtracking engine. Default 100 ms.</summary>
    public TimeSpan RegexTimeout { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// Loads YAML rule packs (the shipped <c>rules/</c> directory and any given with <c>--rules</c>), validates
/// them against the catalogue of event schemas and reports every error at once with its location.
/// </summary>
public static class RulePackLoader
{
    /// <summary>
    /// Loads every <c>*.yaml</c>/<c>*.yml</c> file of each directory (or each file given), in name order.
    /// </summary>
    public static RuleLoadResult Load(IEnumerable<string> paths, IReadOnlyList<EventSchema> catalogue, RuleLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(catalogue);
        var files = new List<(string File, string? Text)>();
        var errors = new List<RuleError>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                // Compare extensions exactly (a search pattern like *.yml also matches *.yml~ on some platforms).
                var found = Directory.EnumerateFiles(path)
                    .Where(f => Path.GetExtension(f) is ".yaml" or ".yml")
                    .Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0)
                {
                    errors.Add(new RuleError(path, 0, 0, "no rule packs (*.yaml) in this directory."));
                }

                files.AddRange(found.Select(f => (f, (string?)null)));
            }
            else if (File.Exists(path))
            {
                files.Add((path, null));
            }
            else
            {
                errors.Add(new RuleError(path, 0, 0, "no such file or directory; give a directory of rule packs (*.yaml) or a pack file."));
            }
        }

        var texts = new List<(string File, string Text)>();
        foreach (var (file, _) in files)
        {
            try
            {
                texts.Add((file, File.ReadAllText(file)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                errors.Add(new RuleError(file, 0, 0, $"cannot read the pack: {ex.Message}"));
            }
        }

        return LoadTexts(texts, catalogue, options, errors);
    }

    /// <summary>Loads packs given as text (<paramref name="packs"/>: file name for messages, YAML).</summary>
    public static RuleLoadResult LoadTexts(IEnumerable<(string File, string Yaml)> packs, IReadOnlyList<EventSchema> catalogue, RuleLoadOptions? options = null) =>
        LoadTexts(packs, catalogue, options, []);

    private static RuleLoadResult LoadTexts(IEnumerable<(string File, string Yaml)> packs, IReadOnlyList<EventSchema> catalogue, RuleLoadOptions? options, List<RuleError> errors)
    {
        ArgumentNullException.ThrowIfNull(packs);
        ArgumentNullException.ThrowIfNull(catalogue);
        options ??= new RuleLoadOptions();
        var guard = new RegexGuard();
        var ctx = new LoadContext(catalogue, guard, options.RegexTimeout);
        ctx.Errors.AddRange(errors);
        var rules = new List<RuleDefinition>();
        var disabled = new List<string>();
        var suppressions = new List<(SuppressionDefinition, List<(string Id, YamlDotNet.RepresentationModel.YamlNode Node)>, string File)>();
        var seen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        var files = new List<string>();
        var disableOthers = new List<(string Id, YamlDotNet.RepresentationModel.YamlNode Node, string File)>();
        foreach (var (file, yaml) in packs)
        {
            files.Add(file);
            var result = new PackParser(ctx).Parse(file, yaml);
            if (result is null)
            {
                continue;
            }

            foreach (var (id, at) in result.AllIds)
            {
                if (seen.TryGetValue(id, out var first))
                {
                    ctx.Errors.Add(new RuleError(at.File, at.Line, at.Column, $"duplicate rule id '{id}': already defined at {first}. Rule ids are stable identifiers; give this rule its own."));
                }
                else
                {
                    seen[id] = at;
                }
            }

            rules.AddRange(result.Rules);
            disableOthers.AddRange(result.DisableOthers.Select(d => (d.Id, d.Node, file)));
            disabled.AddRange(result.Disabled);
            suppressions.AddRange(result.Suppressions.Select(s => (s.Suppression, s.RuleIds, file)));
        }

        foreach (var (_, ids, file) in suppressions)
        {
            foreach (var (id, node) in ids)
            {
                if (!seen.ContainsKey(id))
                {
                    ctx.File = file;
                    ctx.Error(node, $"suppression names rule '{id}', which no loaded pack defines{Suggestions.DidYouMean(id, seen.Keys)}.");
                }
            }
        }

        // 'disable: [ids]' in any pack switches rules of other packs off (a site pack quieting a shipped rule).
        foreach (var (id, node, file) in disableOthers)
        {
            if (!seen.ContainsKey(id))
            {
                ctx.File = file;
                ctx.Error(node, $"'disable' names rule '{id}', which no loaded pack defines{Suggestions.DidYouMean(id, seen.Keys)}.");
            }
            else if (rules.RemoveAll(r => r.Id == id) > 0)
            {
                disabled.Add(id);
            }
        }

        if (ctx.Errors.Count > 0)
        {
            return new RuleLoadResult(null, [.. ctx.Errors.OrderBy(e => e.File, StringComparer.Ordinal).ThenBy(e => e.Line).ThenBy(e => e.Column)]);
        }

        return new RuleLoadResult(new RuleSet(rules, [.. suppressions.Select(s => s.Item1)], files, disabled, catalogue, guard), []);
    }
}
