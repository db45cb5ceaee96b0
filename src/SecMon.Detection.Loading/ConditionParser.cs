using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using SecMon.Core.Events;
using SecMon.Detection.Conditions;
using SecMon.Detection.Model;
using YamlDotNet.RepresentationModel;

namespace SecMon.Detection.Loading;

/// <summary>
/// Parses conditions (<c>where:</c>): a mapping of dotted field names to values or operator mappings, combined
/// with <c>all</c>, <c>any</c> and <c>not</c>. Checks every field against the scope's event types and every
/// operand against the field's type; prepares regexes, globs, CIDRs and sets once.
/// </summary>
internal sealed class ConditionParser(LoadContext ctx)
{
    private static readonly string[] Operators =
        ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "prefix", "suffix", "contains", "glob", "regex", "cidr", "exists", "ignore_case"];

    private static readonly string[] TextOperators = ["prefix", "suffix", "contains", "glob", "regex"];

    /// <summary>Parses a condition; a null or empty node is the always-true condition.</summary>
    public Cond Parse(YamlNode? node, FieldScope scope)
    {
        _scope = scope;
        if (node is null || YamlScalars.IsNull(node))
        {
            return TrueCond.Instance;
        }

        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, $"a condition is a mapping of field names to values (mqtt.username: alice), or all/any/not; found {YamlScalars.Describe(node)}. For several alternatives write 'any: [ {{...}}, {{...}} ]'.");
            return TrueCond.Instance;
        }

        var parts = new List<Cond>();
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode ks || !YamlScalars.TryText(ks, out var key))
            {
                ctx.Error(k, "condition keys are field names (mqtt.username) or all, any, not.");
                continue;
            }

            switch (key)
            {
                case "all":
                case "any":
                    var list = ParseList(v, key, scope);
                    parts.Add(key == "all" ? new AllCond(list) : new AnyCond(list));
                    break;
                case "not":
                    parts.Add(new NotCond(Parse(v, scope)));
                    break;
                default:
                    if (!key.Contains('.', StringComparison.Ordinal))
                    {
                        ctx.Error(k, $"'{key}' is neither a field name (fields are dotted: mqtt.username) nor all/any/not{Suggestions.DidYouMean(key, ["all", "any", "not"])}.");
                        continue;
                    }

                    if (ParseField(k, key, v, scope) is { } c)
                    {
                        parts.Add(c);
                    }

                    break;
            }
        }

        return parts.Count == 1 ? parts[0] : new AllCond(parts);
    }

    private List<Cond> ParseList(YamlNode v, string key, FieldScope scope)
    {
        var list = new List<Cond>();
        if (v is not YamlSequenceNode seq || seq.Children.Count == 0)
        {
            ctx.Error(v, $"'{key}' takes a non-empty list of conditions: {key}: [ {{mqtt.username: null}}, {{mqtt.username: \"\"}} ].");
            return list;
        }

        foreach (var item in seq.Children)
        {
            list.Add(Parse(item, scope));
        }

        return list;
    }

    private Cond? ParseField(YamlNode keyNode, string name, YamlNode v, FieldScope scope)
    {
        var field = ctx.ResolveField(keyNode, name, scope);
        if (field is null)
        {
            return null;
        }

        switch (v)
        {
            case YamlScalarNode s when YamlScalars.IsNull(s):
                return new FieldCond(field, new ExistsTest(false));
            case YamlScalarNode:
                return Eq(field, v, ignoreCase: false) is { } eq ? new FieldCond(field, eq) : null;
            case YamlSequenceNode seq:
                return In(field, seq, ignoreCase: false) is { } inTest ? new FieldCond(field, inTest) : null;
            case YamlMappingNode map:
                return ParseOperators(field, map);
            default:
                return null;
        }
    }

    private Cond? ParseOperators(FieldRef field, YamlMappingNode map)
    {
        var ignoreCase = false;
        var ops = new List<(string Op, YamlNode Key, YamlNode Value)>();
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode ks || !YamlScalars.TryText(ks, out var op))
            {
                ctx.Error(k, "operator names are plain words (eq, in, gt, prefix, regex, cidr, exists...).");
                continue;
            }

            if (!Operators.Contains(op))
            {
                ctx.Error(k, $"unknown operator '{op}'{Suggestions.DidYouMean(op, Operators)}; operators: {string.Join(", ", Operators)}.");
                continue;
            }

            if (op == "ignore_case")
            {
                if (!YamlScalars.TryBoolean(v, out ignoreCase))
                {
                    ctx.Error(v, "ignore_case must be true or false.");
                }

                continue;
            }

            ops.Add((op, k, v));
        }

        if (ops.Count == 0)
        {
            ctx.Error(map, $"no operator for '{field.Name}'; write for example {{prefix: \"plant/\"}} or {{exists: true}}.");
            return null;
        }

        if (ignoreCase && !ops.Any(o => o.Op is "eq" or "ne" or "in" or "not_in" || TextOperators.Contains(o.Op)))
        {
            ctx.Error(map, "ignore_case applies to eq, ne, in, not_in, prefix, suffix, contains, glob and regex only.");
        }

        var tests = new List<ValueTest>();
        var conds = new List<Cond>();
        foreach (var (op, keyNode, v) in ops)
        {
            if (v is YamlMappingNode refMap && TryFieldOperand(refMap, out var refNode, out var refName))
            {
                if (ParseFieldCompare(field, op, keyNode, refNode, refName, ignoreCase) is { } fc)
                {
                    conds.Add(fc);
                }

                continue;
            }

            var test = op switch
            {
                "eq" => Eq(field, v, ignoreCase),
                "ne" => Eq(field, v, ignoreCase) is { } t ? new PresentAndNotTest(t) : null,
                "in" => In(field, v, ignoreCase),
                "not_in" => In(field, v, ignoreCase) is { } t2 ? new PresentAndNotTest(t2) : null,
                "lt" => Compare(field, v, CompareOp.Lt, op),
                "lte" => Compare(field, v, CompareOp.Lte, op),
                "gt" => Compare(field, v, CompareOp.Gt, op),
                "gte" => Compare(field, v, CompareOp.Gte, op),
                "prefix" => Affix(field, v, AffixMode.Prefix, op, ignoreCase),
                "suffix" => Affix(field, v, AffixMode.Suffix, op, ignoreCase),
                "contains" => Affix(field, v, AffixMode.Contains, op, ignoreCase),
                "glob" => Glob(field, v, ignoreCase),
                "regex" => RegexOp(field, v, ignoreCase),
                "cidr" => Cidr(field, v),
                "exists" => Exists(v),
                _ => null,
            };
            if (test is not null)
            {
                tests.Add(test);
            }
        }

        if (tests.Count > 0)
        {
            conds.Insert(0, new FieldCond(field, tests.Count == 1 ? tests[0] : new AllTests([.. tests])));
        }

        return conds.Count switch
        {
            0 => null,
            1 => conds[0],
            _ => new AllCond(conds),
        };
    }

    private static bool TryFieldOperand(YamlMappingNode map, out YamlNode node, out string name)
    {
        node = map;
        name = "";
        if (map.Children.Count != 1)
        {
            return false;
        }

        var (k, v) = map.Children.First();
        if (k is YamlScalarNode { Value: "field" } && YamlScalars.TryText(v, out name))
        {
            node = v;
            return true;
        }

        return false;
    }

    private FieldCompareCond? ParseFieldCompare(FieldRef field, string op, YamlNode keyNode, YamlNode refNode, string refName, bool ignoreCase)
    {
        FieldCompareOp? cmp = op switch
        {
            "eq" => FieldCompareOp.Eq,
            "ne" => FieldCompareOp.Ne,
            "prefix" => FieldCompareOp.Prefix,
            "suffix" => FieldCompareOp.Suffix,
            "contains" => FieldCompareOp.Contains,
            "lt" => FieldCompareOp.Lt,
            "lte" => FieldCompareOp.Lte,
            "gt" => FieldCompareOp.Gt,
            "gte" => FieldCompareOp.Gte,
            _ => null,
        };
        if (cmp is null)
        {
            ctx.Error(keyNode, $"'{op}' cannot compare with another field; field operands work with eq, ne, prefix, suffix, contains, lt, lte, gt, gte.");
            return null;
        }

        // The right-hand field must be valid where the left one is; resolve it leniently for session fields.
        var right = ctx.ResolveField(refNode, refName, _scope);
        if (right is null)
        {
            return null;
        }

        var numeric = cmp is FieldCompareOp.Lt or FieldCompareOp.Lte or FieldCompareOp.Gt or FieldCompareOp.Gte;
        var textual = cmp is FieldCompareOp.Prefix or FieldCompareOp.Suffix or FieldCompareOp.Contains;
        if (numeric && (field.Kind != FieldKind.Number || right.Kind != FieldKind.Number))
        {
            ctx.Error(keyNode, $"'{op}' compares numbers; {field.Name} is {KindName(field.Kind)} and {right.Name} is {KindName(right.Kind)}.");
            return null;
        }

        if (textual && (!IsTextual(field.Kind) || !IsTextual(right.Kind) || right.Kind == FieldKind.StringList))
        {
            ctx.Error(keyNode, $"'{op}' compares text; {field.Name} is {KindName(field.Kind)} and {right.Name} is {KindName(right.Kind)}.");
            return null;
        }

        if (!numeric && !textual && Scalar(field.Kind) != Scalar(right.Kind))
        {
            ctx.Error(keyNode, $"cannot compare {field.Name} ({KindName(field.Kind)}) with {right.Name} ({KindName(right.Kind)}).");
            return null;
        }

        return new FieldCompareCond(field, cmp.Value, right, ignoreCase);
    }

    // The scope of the condition being parsed, for field operands.
    private FieldScope _scope = new([], Strict: false, Unchecked: false);

    private static bool IsTextual(FieldKind k) => k is FieldKind.Text or FieldKind.Ip or FieldKind.StringList;

    private static FieldKind Scalar(FieldKind k) => k switch
    {
        FieldKind.StringList => FieldKind.Text,
        FieldKind.Ip => FieldKind.Text,
        FieldKind.NumberList => FieldKind.Number,
        _ => k,
    };

    /// <summary>The kind as users read it.</summary>
    public static string KindName(FieldKind k) => k switch
    {
        FieldKind.Text => "text",
        FieldKind.Number => "a number",
        FieldKind.Boolean => "a boolean",
        FieldKind.Ip => "an IP address",
        FieldKind.StringList => "a list of text",
        FieldKind.NumberList => "a list of numbers",
        _ => k.ToString(),
    };

    private ValueTest? Eq(FieldRef field, YamlNode v, bool ignoreCase)
    {
        if (v is not YamlScalarNode || YamlScalars.IsNull(v))
        {
            ctx.Error(v, $"eq takes one value for {field.Name} ({KindName(field.Kind)}); for 'missing' write {field.Name}: null or {{exists: false}}.");
            return null;
        }

        switch (field.Kind)
        {
            case FieldKind.Text:
            case FieldKind.StringList:
                YamlScalars.TryText(v, out var text);
                return new TextSetTest([text], ignoreCase);
            case FieldKind.Ip:
                return IpText(field, v) is { } ip ? new TextSetTest([ip], ignoreCase: false) : null;
            case FieldKind.Number:
            case FieldKind.NumberList:
                if (YamlScalars.TryInteger(v, out var n))
                {
                    return new NumberSetTest([n]);
                }

                ctx.Error(v, $"{field.Name} is {KindName(field.Kind)}; {YamlScalars.Describe(v)} is not a whole number.");
                return null;
            case FieldKind.Boolean:
                if (YamlScalars.TryBoolean(v, out var b))
                {
                    return new BooleanTest(b);
                }

                ctx.Error(v, $"{field.Name} is a boolean; {YamlScalars.Describe(v)} is not true or false (write true or false without quotes).");
                return null;
            default:
                return null;
        }
    }

    private ValueTest? In(FieldRef field, YamlNode v, bool ignoreCase)
    {
        if (v is not YamlSequenceNode seq || seq.Children.Count == 0)
        {
            ctx.Error(v, $"in takes a non-empty list of values for {field.Name}: {{in: [a, b]}} or {field.Name}: [a, b].");
            return null;
        }

        if (field.Kind == FieldKind.Boolean)
        {
            ctx.Error(v, $"{field.Name} is a boolean; compare it with true or false, not a list.");
            return null;
        }

        var texts = new List<string>();
        var numbers = new List<long>();
        var ok = true;
        foreach (var item in seq.Children)
        {
            if (item is not YamlScalarNode || YamlScalars.IsNull(item))
            {
                ctx.Error(item, $"list items for {field.Name} must be single values, not {YamlScalars.Describe(item)}.");
                ok = false;
                continue;
            }

            switch (field.Kind)
            {
                case FieldKind.Number or FieldKind.NumberList:
                    if (YamlScalars.TryInteger(item, out var n))
                    {
                        numbers.Add(n);
                    }
                    else
                    {
                        ctx.Error(item, $"{field.Name} is {KindName(field.Kind)}; {YamlScalars.Describe(item)} is not a whole number.");
                        ok = false;
                    }

                    break;
                case FieldKind.Ip:
                    if (IpText(field, item) is { } ip)
                    {
                        texts.Add(ip);
                    }
                    else
                    {
                        ok = false;
                    }

                    break;
                default:
                    YamlScalars.TryText(item, out var t);
                    texts.Add(t);
                    break;
            }
        }

        if (!ok)
        {
            return null;
        }

        return field.Kind is FieldKind.Number or FieldKind.NumberList
            ? new NumberSetTest(numbers)
            : new TextSetTest(texts, ignoreCase && field.Kind != FieldKind.Ip);
    }

    private string? IpText(FieldRef field, YamlNode v)
    {
        if (YamlScalars.TryText(v, out var s) && IPAddress.TryParse(s, out var address) && !s.Contains('/', StringComparison.Ordinal))
        {
            return address.ToString();
        }

        ctx.Error(v, $"{field.Name} is an IP address; {YamlScalars.Describe(v)} is not one. For networks write {{cidr: 10.0.0.0/8}}.");
        return null;
    }

    private NumberCompareTest? Compare(FieldRef field, YamlNode v, CompareOp op, string name)
    {
        if (field.Kind is not (FieldKind.Number or FieldKind.NumberList))
        {
            ctx.Error(v, $"'{name}' compares numbers, but {field.Name} is {KindName(field.Kind)}." +
                (IsTextual(field.Kind) ? " For text use eq, in, prefix, suffix, contains, glob or regex." : ""));
            return null;
        }

        if (!YamlScalars.TryInteger(v, out var n))
        {
            ctx.Error(v, $"'{name}' takes a whole number, not {YamlScalars.Describe(v)}.");
            return null;
        }

        return new NumberCompareTest(op, n);
    }

    private bool RequireText(FieldRef field, YamlNode v, string op)
    {
        if (IsTextual(field.Kind))
        {
            return true;
        }

        ctx.Error(v, $"'{op}' works on text, but {field.Name} is {KindName(field.Kind)}." +
            (field.Kind is FieldKind.Number or FieldKind.NumberList ? " For numbers use eq, in, lt, lte, gt, gte." : ""));
        return false;
    }

    private List<string>? Texts(YamlNode v, string op)
    {
        var items = MappingReader.ReadTextList(ctx, v, $"'{op}'");
        if (items.Count == 0)
        {
            ctx.Error(v, $"'{op}' needs a value or a list of values.");
            return null;
        }

        return [.. items.Select(i => i.Text)];
    }

    private AffixTest? Affix(FieldRef field, YamlNode v, AffixMode mode, string op, bool ignoreCase)
    {
        if (!RequireText(field, v, op) || Texts(v, op) is not { } needles)
        {
            return null;
        }

        return new AffixTest(mode, [.. needles], ignoreCase);
    }

    private RegexTest? Glob(FieldRef field, YamlNode v, bool ignoreCase)
    {
        if (!RequireText(field, v, "glob") || Texts(v, "glob") is not { } globs)
        {
            return null;
        }

        var pattern = string.Join("|", globs.Select(g => "(?:" + GlobToRegex(g) + ")"));
        // Globs translate to regular expressions without backreferences: the non-backtracking engine runs them in linear time.
        var options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : 0);
        return new RegexTest(new Regex("^(?:" + pattern + ")$", options), ctx.Guard);
    }

    /// <summary>
    /// Translates a glob: <c>*</c> any run of characters except <c>/</c>, <c>**</c> any run including <c>/</c>,
    /// <c>?</c> one character except <c>/</c>; everything else is literal.
    /// </summary>
    public static string GlobToRegex(string glob)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                sb.Append(".*");
                i++;
            }
            else if (c == '*')
            {
                sb.Append("[^/]*");
            }
            else if (c == '?')
            {
                sb.Append("[^/]");
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }

        return sb.ToString();
    }

    private RegexTest? RegexOp(FieldRef field, YamlNode v, bool ignoreCase)
    {
        if (!RequireText(field, v, "regex"))
        {
            return null;
        }

        if (!YamlScalars.TryText(v, out var pattern) || v is not YamlScalarNode)
        {
            ctx.Error(v, "'regex' takes one pattern (combine alternatives with |).");
            return null;
        }

        var extra = RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : 0);
        try
        {
            // Linear-time engine where the pattern allows it; backtracking (with the match timeout) only for
            // constructs it does not support (backreferences, lookarounds, atomic groups).
            return new RegexTest(new Regex(pattern, RegexOptions.NonBacktracking | extra, ctx.RegexTimeout), ctx.Guard);
        }
        catch (NotSupportedException)
        {
            try
            {
                return new RegexTest(new Regex(pattern, extra, ctx.RegexTimeout), ctx.Guard);
            }
            catch (ArgumentException ex)
            {
                ctx.Error(v, $"bad regular expression: {ex.Message}");
                return null;
            }
        }
        catch (ArgumentException ex)
        {
            ctx.Error(v, $"bad regular expression: {ex.Message}");
            return null;
        }
    }

    private CidrTest? Cidr(FieldRef field, YamlNode v)
    {
        if (field.Kind != FieldKind.Ip)
        {
            ctx.Error(v, $"'cidr' works on IP address fields (source.ip, destination.ip), but {field.Name} is {KindName(field.Kind)}.");
            return null;
        }

        var items = MappingReader.ReadTextList(ctx, v, "'cidr'");
        var networks = new List<IPNetwork>();
        foreach (var (text, node) in items)
        {
            var candidate = text.Contains('/', StringComparison.Ordinal) ? text : text + (text.Contains(':', StringComparison.Ordinal) ? "/128" : "/32");
            if (IPNetwork.TryParse(candidate, out var n))
            {
                networks.Add(n);
            }
            else
            {
                ctx.Error(node, $"bad CIDR '{text}': write an address and prefix length with the host bits zero, such as 10.0.0.0/8 or fd00::/8.");
            }
        }

        return networks.Count == items.Count && networks.Count > 0 ? new CidrTest([.. networks]) : null;
    }

    private ExistsTest? Exists(YamlNode v)
    {
        if (YamlScalars.TryBoolean(v, out var b))
        {
            return new ExistsTest(b);
        }

        ctx.Error(v, $"'exists' takes true or false, not {YamlScalars.Describe(v)}.");
        return null;
    }
}
