using System.Text.RegularExpressions;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Core.Findings;
using SecMon.Detection.Conditions;
using SecMon.Detection.Model;
using YamlDotNet.RepresentationModel;

namespace SecMon.Detection.Loading;

/// <summary>Parses and validates one rule mapping of a pack.</summary>
internal sealed partial class RuleParser(LoadContext ctx, PackInfo pack)
{
    private static readonly string[] RuleKeys =
    [
        "id", "name", "description", "severity", "risk_score", "version", "category", "type", "rule_category", "references", "technique",
        "events", "where", "message", "device", "aggregate", "threshold", "sequence", "namespace", "baseline",
        "escalate", "examples", "enabled",
    ];

    private static readonly string[] Severities = ["low", "medium", "high", "critical"];
    private static readonly string[] Sides = ["client", "server", "source", "destination"];
    private static readonly string[] StatefulKeys = ["threshold", "sequence", "namespace", "baseline"];

    private readonly ConditionParser _conditions = new(ctx);

    [GeneratedRegex("^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$", RegexOptions.CultureInvariant)]
    private static partial Regex RuleIdPattern();

    [GeneratedRegex(@"^T\d{4}(\.\d{3})?$", RegexOptions.CultureInvariant)]
    private static partial Regex TechniquePattern();

    [GeneratedRegex(@"^\s*count\s*>=\s*(?<n>\d+)\s+within\s+(?<w>\S+)(\s+by\s+(?<by>.+?))?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex ThresholdShorthand();

    /// <summary>Parses a rule; null when it is too broken to use (errors are in the context).</summary>
    public (RuleDefinition? Rule, bool Enabled) Parse(YamlMappingNode node)
    {
        var idNode = node.Children.TryGetValue(new YamlScalarNode("id"), out var n) ? n : null;
        var label = idNode is not null && YamlScalars.TryText(idNode, out var idText) ? $"rule {idText}" : "rule";
        var m = new MappingReader(ctx, node, label, RuleKeys);
        var errorsBefore = ctx.Errors.Count;

        var id = m.RequiredText("id", "a stable id such as SECMON-MQTT-0001");
        if (id is not null && !RuleIdPattern().IsMatch(id))
        {
            ctx.Error(m.Get("id"), $"rule id '{id}' must be upper-case words and digits joined by dashes, such as SITE-MQTT-0001.");
        }

        var name = m.RequiredText("name", "a short title");
        var description = m.RequiredText("description", "what the rule detects and why it matters");
        var severity = ParseSeverity(m);
        var version = m.OptionalText("version") ?? "1";
        var category = ParseCategories(m);
        var eventType = ParseEventTypes(m, category);
        var ruleCategory = m.OptionalText("rule_category");
        var riskScore = m.OptionalInteger("risk_score", 0, 100);
        var references = ParseReferences(m);
        var technique = ParseTechnique(m);
        var device = ParseSide(m.Get("device"), m.What) ?? DeviceSide.Client;
        var enabled = m.OptionalBoolean("enabled") ?? true;

        var stateful = StatefulKeys.Where(m.Has).ToList();
        if (stateful.Count > 1)
        {
            ctx.Error(m.KeyNode(stateful[1]), $"{label}: a rule has at most one of threshold, sequence, namespace, baseline (found {string.Join(" and ", stateful)}); split it into two rules.");
        }

        if (m.Has("aggregate") && stateful.Any(s => s is "threshold" or "sequence" or "baseline"))
        {
            ctx.Error(m.KeyNode("aggregate"), $"{label}: aggregate combines with plain and namespace rules only; a {stateful[0]} already reports once per group.");
        }

        SequenceSpec? sequence = null;
        IReadOnlyList<string> events;
        FieldScope scope;
        FieldScope subjectScope;
        if (m.Get("sequence") is { } seqNode)
        {
            // A sequence reads the union of its steps' event types; its rule-level 'events' is implied.
            if (m.Has("events"))
            {
                ctx.Error(m.KeyNode("events"), $"{label}: a sequence rule lists its event types in each step, not in 'events'.");
            }

            (sequence, events, scope, subjectScope) = ParseSequence(seqNode, m);
        }
        else
        {
            events = ParseEventList(m.Get("events"), m.Node, label, out var schemas, out var unknown);
            scope = new FieldScope(schemas, Strict: true, Unchecked: unknown);
            subjectScope = scope;
        }

        var where = _conditions.Parse(m.Get("where"), scope);
        var threshold = m.Get("threshold") is { } th ? ParseThreshold(th, scope, label) : null;
        var aggregate = m.Get("aggregate") is { } ag ? ParseAggregate(ag, scope, label) : null;
        var ns = m.Get("namespace") is { } nsNode ? ParseNamespace(nsNode, scope, label) : null;
        var baseline = m.Get("baseline") is { } bl ? ParseBaseline(bl, scope, label) : null;
        var escalations = ParseEscalations(m.Get("escalate"), subjectScope, label);
        var message = ParseMessage(m, subjectScope, threshold, sequence, baseline, ns);
        var examples = m.Get("examples") is { } ex ? new ExampleParser(ctx).Parse(ex, label, events) : [];

        if (ctx.Errors.Count > errorsBefore || id is null || name is null || description is null || severity is null || message is null)
        {
            return (null, enabled);
        }

        var fields = new List<FieldRef>();
        where.CollectFields(fields);
        foreach (var e in escalations)
        {
            e.Where.CollectFields(fields);
        }

        foreach (var p in message.Parts)
        {
            if (p.Field is { } f)
            {
                fields.Add(f);
            }
        }

        CollectSpecFields(fields, threshold, sequence, aggregate, ns, baseline);

        var rule = new RuleDefinition
        {
            Id = id,
            Name = name,
            Description = description.Trim(),
            Severity = severity.Value,
            Version = version,
            Category = category,
            EventType = eventType,
            RuleCategory = ruleCategory,
            RiskScore = (int?)riskScore,
            References = references,
            Technique = technique,
            Events = events,
            Where = where,
            Escalations = escalations,
            Message = message,
            Device = device,
            Aggregate = aggregate,
            Threshold = threshold,
            Sequence = sequence,
            Namespace = ns,
            Baseline = baseline,
            Examples = examples,
            Pack = pack,
            Location = ctx.At(node),
            SessionFields = [.. fields.Where(f => f.IsSession).DistinctBy(f => f.Name)],
        };
        return (rule, enabled);
    }

    private static void CollectSpecFields(List<FieldRef> into, ThresholdSpec? th, SequenceSpec? seq, AggregateSpec? ag, NamespaceSpec? ns, BaselineSpec? bl)
    {
        if (th is not null)
        {
            into.AddRange(th.By);
            if (th.Distinct is not null)
            {
                into.Add(th.Distinct);
            }
        }

        if (seq is not null)
        {
            into.AddRange(seq.By);
            foreach (var s in seq.Steps)
            {
                s.Where.CollectFields(into);
                if (s.Distinct is not null)
                {
                    into.Add(s.Distinct);
                }
            }
        }

        if (ag is not null)
        {
            into.AddRange(ag.By);
            into.AddRange(ag.Collect);
        }

        if (ns is not null)
        {
            into.Add(ns.Identity);
            into.Add(ns.Resource);
            into.AddRange(ns.Scope);
        }

        if (bl is not null)
        {
            into.AddRange(bl.EntityFields);
            into.AddRange(bl.Values);
        }
    }

    private Severity? ParseSeverity(MappingReader m)
    {
        var text = m.RequiredText("severity", "low, medium, high or critical");
        if (text is null)
        {
            return null;
        }

        return text.Trim().ToUpperInvariant() switch
        {
            "LOW" => Severity.Low,
            "MEDIUM" => Severity.Medium,
            "HIGH" => Severity.High,
            "CRITICAL" => Severity.Critical,
            _ => Report(m.Get("severity")!, $"{m.What}: severity '{text}' is not one of low, medium, high, critical{Suggestions.DidYouMean(text, Severities)}."),
        };
    }

    private Severity? Report(YamlNode node, string message)
    {
        ctx.Error(node, message);
        return null;
    }

    /// <summary>Parses a severity word for escalations and examples.</summary>
    public static Severity? SeverityOf(string text) => text.Trim().ToUpperInvariant() switch
    {
        "LOW" => Severity.Low,
        "MEDIUM" => Severity.Medium,
        "HIGH" => Severity.High,
        "CRITICAL" => Severity.Critical,
        _ => null,
    };

    private List<string> ParseCategories(MappingReader m)
    {
        var list = m.TextList("category");
        if (list is null)
        {
            return ["network"];
        }

        foreach (var (c, node) in list)
        {
            if (!EcsVocabulary.Categories.ContainsKey(c))
            {
                ctx.Error(node, $"{m.What}: '{c}' is not an ECS event.category{Suggestions.DidYouMean(c, EcsVocabulary.Categories.Keys)}; allowed: {string.Join(", ", EcsVocabulary.Categories.Keys)}.");
            }
        }

        return [.. list.Select(x => x.Text)];
    }

    private List<string> ParseEventTypes(MappingReader m, List<string> categories)
    {
        var list = m.TextList("type");
        if (list is null)
        {
            return ["info"];
        }

        foreach (var (t, node) in list)
        {
            if (!EcsVocabulary.Types.Contains(t))
            {
                ctx.Error(node, $"{m.What}: '{t}' is not an ECS event.type{Suggestions.DidYouMean(t, EcsVocabulary.Types)}; allowed: {string.Join(", ", EcsVocabulary.Types.Order(StringComparer.Ordinal))}.");
            }
            else if (categories.FirstOrDefault(c => EcsVocabulary.Categories.TryGetValue(c, out var types) && !types.Contains(t)) is { } c)
            {
                // ECS lists the event types expected with each category (ecs_flat.yml expected_event_types); a type must
                // fit every category of the finding: 'allowed' fits network but not authentication (start, end, info).
                var expected = categories.Select(x => EcsVocabulary.Categories.TryGetValue(x, out var types) ? types : [])
                    .Aggregate((a, b) => [.. a.Intersect(b)]);
                ctx.Error(node, $"{m.What}: ECS does not expect event.type '{t}' with category '{c}'; types expected with every one of {string.Join("/", categories)}: {(expected.Length == 0 ? "none" : string.Join(", ", expected))}.");
            }
        }

        return [.. list.Select(x => x.Text)];
    }

    private List<string> ParseReferences(MappingReader m)
    {
        var list = m.TextList("references") ?? [];
        foreach (var (r, node) in list)
        {
            if (!Uri.TryCreate(r, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                ctx.Error(node, $"{m.What}: reference '{r}' must be an http(s) URL.");
            }
        }

        return [.. list.Select(x => x.Text)];
    }

    private TechniqueRef? ParseTechnique(MappingReader m)
    {
        var node = m.Get("technique");
        if (node is null || YamlScalars.IsNull(node))
        {
            return null;
        }

        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, $"{m.What}: technique is a mapping: {{id: T0859, name: Valid Accounts, tactic: Lateral Movement}}.");
            return null;
        }

        var t = new MappingReader(ctx, map, $"{m.What} technique", ["id", "name", "tactic", "tactic_id", "parent"]);
        var id = t.RequiredText("id", "a MITRE ATT&CK technique id such as T0859");
        if (id is not null && !TechniquePattern().IsMatch(id))
        {
            ctx.Error(t.Get("id"), $"{m.What}: technique id '{id}' must look like T0859 or T1110.001.");
            return null;
        }

        if (id is null)
        {
            return null;
        }

        // T08xx ids are ATT&CK for ICS, the others Enterprise: their tactics differ (Lateral Movement is TA0109 in ICS,
        // TA0008 in Enterprise), so the tactic is checked against the technique's own framework.
        var framework = MitreAttack.FrameworkOf(id);
        var tactic = t.OptionalText("tactic");
        var tacticId = t.OptionalText("tactic_id");
        var known = MitreAttack.Tactics(framework);
        if (tactic is not null && MitreAttack.TacticId(framework, tactic) is not { } expected)
        {
            ctx.Error(t.Get("tactic"), $"{m.What}: '{tactic}' is not a tactic of {framework} (technique {id}){Suggestions.DidYouMean(tactic, known.Keys)}; tactics: {string.Join(", ", known.Keys)}.");
        }
        else if (tactic is not null && tacticId is not null && tacticId != MitreAttack.TacticId(framework, tactic))
        {
            ctx.Error(t.Get("tactic_id"), $"{m.What}: tactic '{tactic}' of {framework} is {MitreAttack.TacticId(framework, tactic)}, not {tacticId}.");
        }
        else if (tactic is null && tacticId is not null)
        {
            ctx.Error(t.Get("tactic_id"), $"{m.What}: give the tactic's name with its id: tactic: <name>.");
        }

        var parent = t.OptionalText("parent");
        if (parent is not null && !id.Contains('.', StringComparison.Ordinal))
        {
            ctx.Error(t.Get("parent"), $"{m.What}: 'parent' names the technique of a sub-technique (T1110.001: Brute Force); {id} is not a sub-technique.");
        }

        return new TechniqueRef(id, t.OptionalText("name"), tactic)
        {
            Framework = framework,
            TacticId = tactic is null ? null : MitreAttack.TacticId(framework, tactic),
            Parent = parent,
        };
    }

    /// <summary>Parses a device side word.</summary>
    public DeviceSide? ParseSide(YamlNode? node, string what)
    {
        if (node is null || YamlScalars.IsNull(node))
        {
            return null;
        }

        YamlScalars.TryText(node, out var s);
        switch (s)
        {
            case "client":
                return DeviceSide.Client;
            case "server":
                return DeviceSide.Server;
            case "source":
                return DeviceSide.Source;
            case "destination":
                return DeviceSide.Destination;
            default:
                ctx.Error(node, $"{what}: device must be client, server, source or destination, not {YamlScalars.Describe(node)}{Suggestions.DidYouMean(s, Sides)}.");
                return null;
        }
    }

    private List<string> ParseEventList(YamlNode? node, YamlNode owner, string what, out List<EventSchema> schemas, out bool unknown)
    {
        schemas = [];
        unknown = false;
        if (node is null || YamlScalars.IsNull(node))
        {
            ctx.Error(owner, $"{what}: 'events' is required: the event type(s) the rule reads, such as mqtt.connect. {ctx.KnownTypes()}.");
            unknown = true;
            return [];
        }

        var list = MappingReader.ReadTextList(ctx, node, $"{what}: 'events'");
        foreach (var (type, n) in list)
        {
            if (ctx.Schemas.TryGetValue(type, out var s))
            {
                schemas.Add(s);
            }
            else
            {
                unknown = true;
                ctx.ReportedUnknownTypes.Add(type);
                ctx.Error(n, $"{what}: unknown event type '{type}'{Suggestions.DidYouMean(type, ctx.Schemas.Keys)}; {ctx.KnownTypes()}.");
            }
        }

        if (list.Count == 0)
        {
            unknown = true;
        }

        return [.. list.Select(x => x.Text).Distinct()];
    }

    private FieldRef[] ParseFieldList(YamlNode? node, FieldScope scope, string what, bool allowLists = false)
    {
        if (node is null || YamlScalars.IsNull(node))
        {
            return [];
        }

        var result = new List<FieldRef>();
        foreach (var (name, n) in MappingReader.ReadTextList(ctx, node, what))
        {
            if (ctx.ResolveField(n, name.Trim(), scope) is { } f)
            {
                if (f.IsList && !allowLists)
                {
                    ctx.Error(n, $"{what}: cannot group by {f.Name}, a list field.");
                    continue;
                }

                result.Add(f);
            }
        }

        return [.. result];
    }

    private FieldRef[] ParseGroupBy(YamlNode? node, FieldScope scope, string what)
    {
        var by = ParseFieldList(node, scope, what);
        if (by.Length > GroupKeyLimit)
        {
            ctx.Error(node, $"{what}: group by at most {GroupKeyLimit} fields.");
            return [.. by.Take(GroupKeyLimit)];
        }

        return by;
    }

    /// <summary>The most fields a group key can have.</summary>
    public const int GroupKeyLimit = 4;

    private ThresholdSpec? ParseThreshold(YamlNode node, FieldScope scope, string label)
    {
        if (node is YamlScalarNode s && YamlScalars.TryText(s, out var text))
        {
            var match = ThresholdShorthand().Match(text);
            if (!match.Success)
            {
                ctx.Error(node, $"{label}: threshold shorthand is 'count >= N within DURATION [by field, field]', e.g. 'count >= 10 within 60s by source.ip'.");
                return null;
            }

            if (!int.TryParse(match.Groups["n"].Value, out var count) || count < 1 || count > MaxThresholdCount)
            {
                ctx.Error(node, $"{label}: threshold count must be from 1 to {MaxThresholdCount}.");
                return null;
            }

            if (!Durations.TryParseMicros(match.Groups["w"].Value, out var window) || window <= 0)
            {
                ctx.Error(node, $"{label}: '{match.Groups["w"].Value}' is not a positive duration (30s, 5m, 1h, 1d, 1w).");
                return null;
            }

            var byNames = match.Groups["by"].Success
                ? new YamlSequenceNode(match.Groups["by"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(x => new YamlScalarNode(x)))
                : null;
            var by = byNames is null ? [] : ParseGroupByAt(byNames, node, scope, label);
            return new ThresholdSpec(count, window, by, null, 0);
        }

        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, $"{label}: threshold is 'count >= N within D by f1, f2' or a mapping {{count, within, by, distinct, min_distinct}}.");
            return null;
        }

        var t = new MappingReader(ctx, map, $"{label} threshold", ["count", "within", "by", "distinct", "min_distinct"]);
        var c = t.OptionalInteger("count", 1, MaxThresholdCount);
        if (c is null && !t.Has("count"))
        {
            ctx.Error(map, $"{label} threshold: 'count' is required (events needed within the window).");
        }

        var w = t.Duration("within", required: true);
        var byFields = ParseGroupBy(t.Get("by"), scope, $"{label} threshold by");
        FieldRef? distinct = null;
        if (t.Get("distinct") is { } dn && YamlScalars.TryText(dn, out var dname))
        {
            distinct = ctx.ResolveField(dn, dname, scope);
        }

        var minDistinct = (int)(t.OptionalInteger("min_distinct", 1, MaxThresholdCount) ?? 0);
        if (minDistinct > 0 && distinct is null && t.Get("distinct") is null)
        {
            ctx.Error(t.KeyNode("min_distinct"), $"{label} threshold: min_distinct needs 'distinct: <field>' (the field whose distinct values are counted).");
        }

        return c is null || w is null ? null : new ThresholdSpec((int)c, w.Value, byFields, distinct, minDistinct);
    }

    private FieldRef[] ParseGroupByAt(YamlSequenceNode names, YamlNode at, FieldScope scope, string label)
    {
        // Shorthand fields have no nodes of their own; report at the shorthand.
        var result = new List<FieldRef>();
        foreach (var n in names.Children)
        {
            var name = ((YamlScalarNode)n).Value!;
            if (ctx.ResolveField(at, name, scope) is { } f)
            {
                if (f.IsList)
                {
                    ctx.Error(at, $"{label}: cannot group by {f.Name}, a list field.");
                    continue;
                }

                result.Add(f);
            }
        }

        if (result.Count > GroupKeyLimit)
        {
            ctx.Error(at, $"{label}: group by at most {GroupKeyLimit} fields.");
        }

        return [.. result.Take(GroupKeyLimit)];
    }

    /// <summary>Upper bound of counts (bounds the per-group memory of a threshold).</summary>
    public const int MaxThresholdCount = 100_000;

    private AggregateSpec? ParseAggregate(YamlNode node, FieldScope scope, string label)
    {
        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, $"{label}: aggregate is a mapping {{by: [fields], within: 1h, collect: [fields], alert_first: true, describe: latest}}.");
            return null;
        }

        var a = new MappingReader(ctx, map, $"{label} aggregate", ["by", "within", "collect", "alert_first", "describe"]);
        var by = ParseGroupBy(a.Get("by"), scope, $"{label} aggregate by");
        var w = a.Duration("within", required: true);
        var collect = ParseFieldList(a.Get("collect"), scope, $"{label} aggregate collect", allowLists: true);
        var alertFirst = a.OptionalBoolean("alert_first") ?? false;
        var describe = a.OptionalText("describe");
        if (describe is not null and not "first" and not "latest")
        {
            ctx.Error(a.Get("describe")!, $"{label} aggregate: describe is 'first' (the default: the summary's message and fields are the window's first event's) or 'latest' (its latest event's, for events that carry running totals such as network.scan).");
        }

        return w is null ? null : new AggregateSpec(by, w.Value, collect, alertFirst, describe == "latest");
    }

    private NamespaceSpec? ParseNamespace(YamlNode node, FieldScope scope, string label)
    {
        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, $"{label}: namespace is a mapping {{identity: mqtt.client_id, resource: mqtt.topic, scope: [destination.ip, destination.port], min_peers: 2}}.");
            return null;
        }

        var r = new MappingReader(ctx, map, $"{label} namespace", ["identity", "resource", "scope", "min_peers"]);
        FieldRef? Field(string key, bool textOnly)
        {
            var n = r.Get(key);
            if (n is null || !YamlScalars.TryText(n, out var name))
            {
                ctx.Error(n ?? map, $"{label} namespace: '{key}' is required (a field name).");
                return null;
            }

            var f = ctx.ResolveField(n, name, scope);
            if (f is not null && textOnly && f.Kind != FieldKind.Text)
            {
                ctx.Error(n, $"{label} namespace: '{key}' must be a text field; {f.Name} is {ConditionParser.KindName(f.Kind)}.");
                return null;
            }

            return f;
        }

        var identity = Field("identity", textOnly: true);
        var resource = Field("resource", textOnly: true);
        var scopeFields = ParseGroupBy(r.Get("scope"), scope, $"{label} namespace scope");
        var minPeers = (int)(r.OptionalInteger("min_peers", 1, 1000) ?? 2);
        return identity is null || resource is null ? null : new NamespaceSpec(identity, resource, scopeFields, minPeers);
    }

    private BaselineSpec? ParseBaseline(YamlNode node, FieldScope scope, string label)
    {
        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, $"{label}: baseline is a mapping {{kind: new_value, entity: client, value: destination.ip}} or {{kind: rate, entity: client, per: 1m}}.");
            return null;
        }

        var b = new MappingReader(ctx, map, $"{label} baseline", ["kind", "entity", "value", "normalize", "per", "tolerance"]);
        var kindText = b.RequiredText("kind", "new_value or rate");
        BaselineKind? kind = kindText switch
        {
            "new_value" => BaselineKind.NewValue,
            "rate" => BaselineKind.Rate,
            null => null,
            _ => null,
        };
        if (kindText is not null && kind is null)
        {
            ctx.Error(b.Get("kind"), $"{label} baseline: kind must be new_value or rate{Suggestions.DidYouMean(kindText, ["new_value", "rate"])}.");
        }

        DeviceSide? side = DeviceSide.Client;
        FieldRef[] entityFields = [];
        if (b.Get("entity") is { } en)
        {
            if (en is YamlScalarNode es && YamlScalars.TryText(es, out var word) && Sides.Contains(word))
            {
                side = ParseSide(en, label);
            }
            else
            {
                side = null;
                entityFields = ParseGroupBy(en, scope, $"{label} baseline entity");
            }
        }

        FieldRef[] values = [];
        var topicPattern = false;
        long per = 0;
        double tolerance = 3;
        if (kind == BaselineKind.NewValue)
        {
            values = ParseFieldList(b.Get("value"), scope, $"{label} baseline value", allowLists: true);
            if (values.Length == 0 && b.Get("value") is null)
            {
                ctx.Error(map, $"{label} baseline: 'value' is required for new_value (the field, or fields, whose new values are reported).");
            }

            if (values.Any(v => v.IsList) && values.Length > 1)
            {
                ctx.Error(b.Get("value"), $"{label} baseline: a list field (such as mqtt.topic_filters) must be the only value.");
            }

            if (b.OptionalText("normalize") is { } norm)
            {
                if (norm != "topic_pattern")
                {
                    ctx.Error(b.Get("normalize"), $"{label} baseline: normalize supports topic_pattern only (numeric, hex and UUID topic levels become +).");
                }

                topicPattern = true;
            }

            if (b.Has("per") || b.Has("tolerance"))
            {
                ctx.Error(b.KeyNode(b.Has("per") ? "per" : "tolerance"), $"{label} baseline: per and tolerance belong to kind: rate.");
            }
        }
        else if (kind == BaselineKind.Rate)
        {
            per = b.Duration("per", required: true) ?? 0;
            if (b.Get("tolerance") is { } tn)
            {
                if (!YamlScalars.TryDouble(tn, out tolerance) || tolerance < 1)
                {
                    ctx.Error(tn, $"{label} baseline: tolerance is a factor of at least 1 (3 = alert above 3x the highest or below a third of the lowest learned rate).");
                }
            }

            if (b.Has("value") || b.Has("normalize"))
            {
                ctx.Error(b.KeyNode(b.Has("value") ? "value" : "normalize"), $"{label} baseline: value and normalize belong to kind: new_value.");
            }
        }

        return kind is null ? null : new BaselineSpec(kind.Value, side, entityFields, values, topicPattern, per, tolerance);
    }

    private (SequenceSpec?, List<string>, FieldScope, FieldScope) ParseSequence(YamlNode node, MappingReader rule)
    {
        var label = rule.What;
        var empty = new FieldScope([], Strict: true, Unchecked: true);
        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, $"{label}: sequence is a mapping {{by: [fields], within: 5m, steps: [...]}}.");
            return (null, [], empty, empty);
        }

        var s = new MappingReader(ctx, map, $"{label} sequence", ["by", "within", "steps"]);
        var window = s.Duration("within", required: true);
        if (s.Get("steps") is not YamlSequenceNode stepsNode || stepsNode.Children.Count < 2)
        {
            ctx.Error(s.Get("steps") ?? map, $"{label} sequence: 'steps' is a list of at least two steps, each {{name, events, where, count}}.");
            return (null, [], empty, empty);
        }

        var steps = new List<(MappingReader Reader, List<string> Events, FieldScope Scope)>();
        var allSchemas = new List<EventSchema>();
        var anyUnknown = false;
        foreach (var stepNode in stepsNode.Children)
        {
            if (stepNode is not YamlMappingNode stepMap)
            {
                ctx.Error(stepNode, $"{label} sequence: each step is a mapping {{name, events, where, count, distinct}}.");
                continue;
            }

            var r = new MappingReader(ctx, stepMap, $"{label} step", ["name", "events", "where", "count", "distinct"]);
            var ev = ParseEventList(r.Get("events"), stepMap, $"{label} step", out var schemas, out var unknown);
            anyUnknown |= unknown;
            allSchemas.AddRange(schemas.Where(x => !allSchemas.Contains(x)));
            steps.Add((r, ev, new FieldScope(schemas, Strict: true, Unchecked: unknown)));
        }

        var unionScope = new FieldScope(allSchemas, Strict: true, Unchecked: anyUnknown);
        var by = ParseGroupBy(s.Get("by"), unionScope, $"{label} sequence by");
        var parsed = new List<SequenceStep>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            var (r, ev, scope) = steps[i];
            var stepName = r.OptionalText("name") ?? $"step{i + 1}";
            if (!names.Add(stepName))
            {
                ctx.Error(r.KeyNode("name"), $"{label} sequence: step name '{stepName}' is used twice.");
            }

            var where = _conditions.Parse(r.Get("where"), scope);
            var count = (int)(r.OptionalInteger("count", 1, MaxThresholdCount) ?? 1);
            FieldRef? distinct = null;
            if (r.Get("distinct") is { } dn && YamlScalars.TryText(dn, out var dname))
            {
                distinct = ctx.ResolveField(dn, dname, scope);
            }

            parsed.Add(new SequenceStep(stepName, [.. ev], where, count, distinct));
        }

        var lastScope = steps.Count > 0 ? steps[^1].Scope : empty;
        var events = parsed.SelectMany(p => p.Events).Distinct().ToList();
        return (window is null ? null : new SequenceSpec([.. parsed], window.Value, by), events, unionScope, lastScope);
    }

    private List<Escalation> ParseEscalations(YamlNode? node, FieldScope scope, string label)
    {
        var list = new List<Escalation>();
        if (node is null || YamlScalars.IsNull(node))
        {
            return list;
        }

        if (node is not YamlSequenceNode seq)
        {
            ctx.Error(node, $"{label}: escalate is a list of {{where: <condition>, severity: high}}.");
            return list;
        }

        foreach (var item in seq.Children)
        {
            if (item is not YamlMappingNode map)
            {
                ctx.Error(item, $"{label}: each escalation is {{where: <condition>, severity: high}}.");
                continue;
            }

            var e = new MappingReader(ctx, map, $"{label} escalate", ["where", "severity"]);
            var sev = e.RequiredText("severity", "low, medium, high or critical");
            var severity = sev is null ? null : SeverityOf(sev);
            if (sev is not null && severity is null)
            {
                ctx.Error(e.Get("severity"), $"{label} escalate: severity '{sev}' is not one of low, medium, high, critical.");
            }

            if (!e.Has("where"))
            {
                ctx.Error(map, $"{label} escalate: 'where' is required (the condition that raises the severity).");
            }

            var where = _conditions.Parse(e.Get("where"), scope);
            if (severity is { } s)
            {
                list.Add(new Escalation(where, s));
            }
        }

        return list;
    }

    // Whether the threshold or a sequence step names a 'distinct' field (resolved or not: no cascading error).
    private static bool DeclaresDistinct(MappingReader m)
    {
        var key = new YamlScalarNode("distinct");
        if (m.Get("threshold") is YamlMappingNode th && th.Children.ContainsKey(key))
        {
            return true;
        }

        return m.Get("sequence") is YamlMappingNode seq &&
            seq.Children.TryGetValue(new YamlScalarNode("steps"), out var steps) && steps is YamlSequenceNode list &&
            list.Children.OfType<YamlMappingNode>().Any(step => step.Children.ContainsKey(key));
    }

    private MessageTemplate? ParseMessage(MappingReader m, FieldScope scope, ThresholdSpec? th, SequenceSpec? seq, BaselineSpec? bl, NamespaceSpec? ns)
    {
        var text = m.RequiredText("message", "a sentence naming the device, client id and user, with {field} placeholders");
        if (text is null)
        {
            return null;
        }

        var node = m.Get("message")!;
        if (!MessageTemplate.TryParse(text, out var raw, out var error))
        {
            ctx.Error(node, $"{m.What}: message: {error}.");
            return null;
        }

        var parts = new List<MessageTemplate.Part>();
        foreach (var (literal, placeholder) in raw)
        {
            if (literal is not null)
            {
                parts.Add(new MessageTemplate.Part(literal, null, null));
                continue;
            }

            var name = placeholder!;
            if (MessageTemplate.Specials.Contains(name))
            {
                var ok = name switch
                {
                    "distinct" => DeclaresDistinct(m),
                    "window" => th is not null || seq is not null || m.Has("aggregate") || bl?.Kind == BaselineKind.Rate,
                    "value" => bl is not null,
                    "peers" => ns is not null,
                    _ => true,
                };
                if (!ok)
                {
                    ctx.Error(node, $"{m.What}: message placeholder {{{name}}} has no value for this kind of rule.");
                }

                parts.Add(new MessageTemplate.Part(null, name, null));
                continue;
            }

            if (ctx.ResolveField(node, name, scope) is { } f)
            {
                parts.Add(new MessageTemplate.Part(null, name, f));
            }
        }

        return MessageTemplate.Create(parts);
    }
}
