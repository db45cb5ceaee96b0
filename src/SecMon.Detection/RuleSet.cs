using SecMon.Core.Events;
using SecMon.Core.Findings;
using SecMon.Detection.Conditions;
using SecMon.Detection.Model;

namespace SecMon.Detection;

/// <summary>A rule as listed by <c>secmon rules</c>: its id, title, severity, kind and where it was written.</summary>
/// <param name="Id">ECS <c>rule.id</c>.</param>
/// <param name="Name">ECS <c>rule.name</c>.</param>
/// <param name="Severity">Base severity (escalations may raise it per finding).</param>
/// <param name="Kind">event, aggregate, threshold, sequence, namespace or baseline.</param>
/// <param name="Events">The event types the rule reads.</param>
/// <param name="Ruleset">The pack name (ECS <c>rule.ruleset</c>).</param>
/// <param name="File">The pack file.</param>
/// <param name="Line">The rule's line in the file.</param>
/// <param name="Examples">How many examples the rule carries.</param>
public sealed record RuleInfo(string Id, string Name, Severity Severity, string Kind, IReadOnlyList<string> Events, string Ruleset, string File, int Line, int Examples);

/// <summary>
/// Validated rule packs, ready for a <see cref="DetectionEngine"/>. Immutable and shareable; built by
/// <c>RulePackLoader</c> (SecMon.Detection.Loading). Rules are bound to each event schema the first time an event of it
/// arrives.
/// </summary>
public sealed class RuleSet
{
    internal RuleSet(
        IReadOnlyList<RuleDefinition> rules,
        IReadOnlyList<SuppressionDefinition> suppressions,
        IReadOnlyList<string> files,
        IReadOnlyList<string> disabled,
        IReadOnlyList<EventSchema> catalogue,
        RegexGuard guard)
    {
        Definitions = rules;
        Suppressions = suppressions;
        Files = files;
        DisabledRuleIds = disabled;
        Catalogue = catalogue;
        Guard = guard;
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        var suppressionFields = new List<FieldRef>();
        foreach (var s in suppressions)
        {
            s.Where?.CollectFields(suppressionFields);
        }

        foreach (var f in rules.SelectMany(r => r.SessionFields).Concat(suppressionFields.Where(f => f.IsSession)))
        {
            slots.TryAdd(f.BaseName, slots.Count);
        }

        SessionSlots = slots;
        Rules = [.. rules.Select(r => new RuleInfo(r.Id, r.Name, r.Severity, r.Kind, r.Events, r.Pack.Name, r.Pack.File, r.Location.Line, r.Examples.Count))];
    }

    /// <summary>The enabled rules.</summary>
    public IReadOnlyList<RuleInfo> Rules { get; }

    /// <summary>The pack files loaded.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>Rules present but switched off with <c>enabled: false</c>.</summary>
    public IReadOnlyList<string> DisabledRuleIds { get; }

    /// <summary>How many suppressions the packs define.</summary>
    public int SuppressionCount => Suppressions.Count;

    /// <summary>Regular-expression matches that hit their timeout (counted as no match) since loading.</summary>
    public long RegexTimeouts => Guard.Timeouts;

    internal IReadOnlyList<RuleDefinition> Definitions { get; }

    internal IReadOnlyList<SuppressionDefinition> Suppressions { get; }

    internal IReadOnlyList<EventSchema> Catalogue { get; }

    internal RegexGuard Guard { get; }

    /// <summary>Slot of each <c>session.</c> base field name in a flow's joined values.</summary>
    internal IReadOnlyDictionary<string, int> SessionSlots { get; }

    /// <summary>This rule set with the rules whose ids are in <paramref name="ids"/> switched off (listed in
    /// <see cref="DisabledRuleIds"/> as if their packs said <c>enabled: false</c>); ids it does not hold are ignored.</summary>
    public RuleSet Without(IReadOnlySet<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (!Definitions.Any(r => ids.Contains(r.Id)))
        {
            return this;
        }

        return new RuleSet([.. Definitions.Where(r => !ids.Contains(r.Id))], Suppressions, Files,
            [.. DisabledRuleIds, .. Definitions.Where(r => ids.Contains(r.Id)).Select(r => r.Id)], Catalogue, Guard);
    }

    /// <summary>A rule set with one rule and no suppressions (for running a rule's examples in isolation).</summary>
    internal RuleSet Only(RuleDefinition rule) => new([rule], [], Files, [], Catalogue, Guard);
}
