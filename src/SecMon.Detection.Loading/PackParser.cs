using System.Net;
using SecMon.Core.Devices;
using SecMon.Detection.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SecMon.Detection.Loading;

/// <summary>Parses one pack file: header, rules and suppressions.</summary>
internal sealed class PackParser(LoadContext ctx)
{
    private static readonly string[] PackKeys = ["pack", "version", "description", "rules", "suppressions", "disable"];
    private static readonly string[] SuppressionKeys = ["name", "reason", "rules", "devices", "device", "where"];

    /// <summary>The rules, disabled rule ids and suppressions of one file.</summary>
    public sealed record Result(
        PackInfo Pack,
        List<RuleDefinition> Rules,
        List<(string Id, SourceLocation At)> AllIds,
        List<string> Disabled,
        List<(SuppressionDefinition Suppression, List<(string Id, YamlNode Node)> RuleIds)> Suppressions,
        List<(string Id, YamlNode Node)> DisableOthers);

    public Result? Parse(string file, string text)
    {
        ctx.File = file;
        ctx.ReportedUnknownTypes.Clear();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            var msg = StripMark(ex.InnerException?.Message ?? ex.Message);
            if (msg.StartsWith("Duplicate key", StringComparison.Ordinal))
            {
                msg = $"{msg}: a key appears twice in the same mapping; keep one (the YAML is read no further)";
            }

            ctx.Errors.Add(new RuleError(file, (int)ex.Start.Line, (int)ex.Start.Column, $"YAML syntax: {msg}"));
            return null;
        }

        if (stream.Documents.Count == 0 || YamlScalars.IsNull(stream.Documents[0].RootNode))
        {
            ctx.Error(null, "the pack is empty; a pack is a mapping with 'pack', 'rules' and optionally 'suppressions' (see rules/README.md).");
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            ctx.Error(stream.Documents[1].RootNode, "one YAML document per pack file; split the packs into separate files.");
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            ctx.Error(stream.Documents[0].RootNode, "a pack is a mapping with 'pack', 'rules' and optionally 'suppressions' (see rules/README.md).");
            return null;
        }

        var m = new MappingReader(ctx, root, "pack", PackKeys);
        var name = m.OptionalText("pack") ?? Path.GetFileNameWithoutExtension(file);
        var pack = new PackInfo(name, file, m.OptionalText("version"), m.OptionalText("description"));
        var result = new Result(pack, [], [], [], [], m.TextList("disable") ?? []);
        var rulesNode = m.Get("rules");
        if (rulesNode is YamlSequenceNode seq)
        {
            var parser = new RuleParser(ctx, pack);
            foreach (var item in seq.Children)
            {
                if (item is not YamlMappingNode ruleMap)
                {
                    ctx.Error(item, "each rule is a mapping with id, name, description, severity, events, message... (see rules/README.md).");
                    continue;
                }

                if (ruleMap.Children.TryGetValue(new YamlScalarNode("id"), out var idNode) && YamlScalars.TryText(idNode, out var id))
                {
                    result.AllIds.Add((id, ctx.At(idNode)));
                }

                var (rule, enabled) = parser.Parse(ruleMap);
                if (rule is not null)
                {
                    if (enabled)
                    {
                        result.Rules.Add(rule);
                    }
                    else
                    {
                        result.Disabled.Add(rule.Id);
                    }
                }
            }
        }
        else if (rulesNode is not null && !YamlScalars.IsNull(rulesNode))
        {
            ctx.Error(rulesNode, "'rules' is a list of rules.");
        }

        if (m.Get("suppressions") is { } supNode && !YamlScalars.IsNull(supNode))
        {
            if (supNode is YamlSequenceNode supSeq)
            {
                foreach (var item in supSeq.Children)
                {
                    if (ParseSuppression(item) is { } s)
                    {
                        result.Suppressions.Add(s);
                    }
                }
            }
            else
            {
                ctx.Error(supNode, "'suppressions' is a list of {name, reason, rules, devices, where}.");
            }
        }

        if (rulesNode is null && !m.Has("suppressions") && !m.Has("disable"))
        {
            ctx.Error(root, "the pack has none of 'rules', 'suppressions' and 'disable'.");
        }

        return result;
    }

    private (SuppressionDefinition, List<(string, YamlNode)>)? ParseSuppression(YamlNode node)
    {
        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, "a suppression is a mapping {name, reason, rules, devices, where}.");
            return null;
        }

        var label = map.Children.TryGetValue(new YamlScalarNode("name"), out var nn) && YamlScalars.TryText(nn, out var nt) ? $"suppression {nt}" : "suppression";
        var m = new MappingReader(ctx, map, label, SuppressionKeys);
        var errors = ctx.Errors.Count;
        var name = m.RequiredText("name", "a short name shown in statistics");
        var reason = m.OptionalText("reason");
        var ruleIds = m.TextList("rules");
        var side = new RuleParser(ctx, new PackInfo("", ctx.File, null, null)).ParseSide(m.Get("device"), label) ?? DeviceSide.Client;
        HashSet<string>? devices = null;
        if (m.TextList("devices") is { } devs)
        {
            devices = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (d, dn) in devs)
            {
                if (DeviceId.TryParseAddress(d, out var id))
                {
                    devices.Add(id.Value);
                }
                else
                {
                    ctx.Error(dn, $"{label}: '{d}' is neither a MAC address (00-1A-2B-3C-4D-5E) nor an IP address; for networks use where: {{source.ip: {{cidr: 10.0.0.0/8}}}}.");
                }
            }
        }

        Conditions.Cond? where = null;
        if (m.Has("where"))
        {
            where = new ConditionParser(ctx).Parse(m.Get("where"), new FieldScope([], Strict: false, Unchecked: false));
        }

        if (where is null && devices is null)
        {
            ctx.Error(map, $"{label}: give 'where' (a condition on event fields), 'devices' (MAC or IP addresses), or both; to switch a rule off set 'enabled: false' on it.");
        }

        if (ctx.Errors.Count > errors || name is null)
        {
            return null;
        }

        var ids = ruleIds?.Select(r => (r.Text, r.Node)).ToList() ?? [];
        var def = new SuppressionDefinition(name, reason, ruleIds is null ? null : new HashSet<string>(ruleIds.Select(r => r.Text), StringComparer.Ordinal), where, devices, side, ctx.At(map));
        return (def, ids);
    }

    private static string StripMark(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line...): "; the location is already in our prefix.
        var i = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && i > 0 ? message[(i + 3)..] : message;
    }
}
