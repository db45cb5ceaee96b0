using System.Net;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Detection.Model;
using YamlDotNet.RepresentationModel;

namespace SecMon.Detection.Loading;

/// <summary>
/// Parses a rule's <c>examples</c>: <c>match</c> and <c>no_match</c> lists of cases. A case is one event
/// (<c>{type: mqtt.connack, mqtt.connack.accepted: true}</c>) or <c>{name, events: [...], expect: {...}}</c>.
/// Event fields are checked against the event type's schema like rule fields.
/// </summary>
internal sealed class ExampleParser(LoadContext ctx)
{
    private static readonly string[] MetaKeys = ["type", "at", "repeat", "every", "flow"];

    /// <summary>Most events one example may expand to (repeat included), to keep <c>rules test</c> fast.</summary>
    public const int MaxEventsPerCase = 100_000;

    public List<ExampleCase> Parse(YamlNode node, string label, IReadOnlyList<string> ruleEvents)
    {
        var cases = new List<ExampleCase>();
        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, $"{label}: examples is a mapping {{match: [...], no_match: [...]}}.");
            return cases;
        }

        var r = new MappingReader(ctx, map, $"{label} examples", ["match", "no_match"]);
        foreach (var (key, shouldMatch) in new[] { ("match", true), ("no_match", false) })
        {
            if (r.Get(key) is not { } listNode || YamlScalars.IsNull(listNode))
            {
                continue;
            }

            if (listNode is not YamlSequenceNode seq)
            {
                ctx.Error(listNode, $"{label} examples: '{key}' is a list of cases.");
                continue;
            }

            foreach (var item in seq.Children)
            {
                if (ParseCase(item, label, shouldMatch) is { } c)
                {
                    cases.Add(c);
                }
            }
        }

        return cases;
    }

    private ExampleCase? ParseCase(YamlNode node, string label, bool shouldMatch)
    {
        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, $"{label} examples: a case is an event {{type: ..., field: value}} or {{name, events: [...], expect}}.");
            return null;
        }

        var isEvent = map.Children.ContainsKey(new YamlScalarNode("type"));
        if (isEvent)
        {
            var e = ParseEvent(map, label);
            return e is null ? null : new ExampleCase(null, shouldMatch, [e], null, ctx.At(node));
        }

        var r = new MappingReader(ctx, map, $"{label} example", ["name", "events", "expect"]);
        var name = r.OptionalText("name");
        var events = new List<ExampleEvent>();
        if (r.Get("events") is YamlSequenceNode seq && seq.Children.Count > 0)
        {
            foreach (var item in seq.Children)
            {
                if (item is YamlMappingNode em && ParseEvent(em, label) is { } e)
                {
                    events.Add(e);
                }
                else if (item is not YamlMappingNode)
                {
                    ctx.Error(item, $"{label} example: events are mappings {{type: ..., field: value}}.");
                }
            }
        }
        else
        {
            ctx.Error(r.Get("events") ?? map, $"{label} example: 'events' is a non-empty list of events (or write the single event itself with its 'type').");
        }

        if (events.Sum(e => (long)e.Repeat) > MaxEventsPerCase)
        {
            ctx.Error(map, $"{label} example: at most {MaxEventsPerCase} events per case.");
        }

        ExampleExpectation? expect = null;
        if (r.Get("expect") is YamlMappingNode em2)
        {
            var x = new MappingReader(ctx, em2, $"{label} example expect", ["findings", "severity", "count"]);
            var findings = (int?)x.OptionalInteger("findings", 0, 1_000_000);
            var sevText = x.OptionalText("severity");
            var sev = sevText is null ? null : RuleParser.SeverityOf(sevText);
            if (sevText is not null && sev is null)
            {
                ctx.Error(x.Get("severity"), $"{label} example expect: severity must be low, medium, high or critical.");
            }

            var count = x.OptionalInteger("count", 0, long.MaxValue);
            if (!shouldMatch && (sev is not null || count is not null || findings > 0))
            {
                ctx.Error(em2, $"{label} example: a no_match case expects no finding; move it to match.");
            }

            expect = new ExampleExpectation(findings, sev, count);
        }
        else if (r.Get("expect") is { } bad && !YamlScalars.IsNull(bad))
        {
            ctx.Error(bad, $"{label} example: expect is a mapping {{findings: 1, severity: high, count: 5}}.");
        }

        return events.Count == 0 ? null : new ExampleCase(name, shouldMatch, events, expect, ctx.At(node));
    }

    private ExampleEvent? ParseEvent(YamlMappingNode map, string label)
    {
        var typeNode = map.Children[new YamlScalarNode("type")];
        if (!YamlScalars.TryText(typeNode, out var type))
        {
            ctx.Error(typeNode, $"{label} example: 'type' is the event type, such as mqtt.connect.");
            return null;
        }

        if (!ctx.Schemas.TryGetValue(type, out var schema))
        {
            if (ctx.ReportedUnknownTypes.Contains(type))
            {
                // Already reported where the rule names it.
                return null;
            }

            ctx.ReportedUnknownTypes.Add(type);
            ctx.Error(typeNode, $"{label} example: unknown event type '{type}'{Suggestions.DidYouMean(type, ctx.Schemas.Keys)}; {ctx.KnownTypes()}.");
            return null;
        }

        var ok = true;
        long? at = null;
        var repeat = 1;
        long every = 1_000_000;
        var flow = "1";
        var values = new List<KeyValuePair<string, FieldValue>>();
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode ks || !YamlScalars.TryText(ks, out var key))
            {
                ctx.Error(k, $"{label} example: keys are field names or {string.Join(", ", MetaKeys)}.");
                ok = false;
                continue;
            }

            switch (key)
            {
                case "type":
                    continue;
                case "at":
                    if (YamlScalars.TryText(v, out var atText) && atText.Trim() is "0" or "0s")
                    {
                        at = 0;
                    }
                    else if (YamlScalars.TryText(v, out atText) && Durations.TryParseMicros(atText, out var atMicros))
                    {
                        at = atMicros;
                    }
                    else
                    {
                        ctx.Error(v, $"{label} example: 'at' is the time since the case began (0s, 30s, 5m).");
                        ok = false;
                    }

                    continue;
                case "repeat":
                    if (!YamlScalars.TryInteger(v, out var rep) || rep < 1 || rep > MaxEventsPerCase)
                    {
                        ctx.Error(v, $"{label} example: 'repeat' is a whole number from 1 to {MaxEventsPerCase}.");
                        ok = false;
                    }
                    else
                    {
                        repeat = (int)rep;
                    }

                    continue;
                case "every":
                    if (!YamlScalars.TryText(v, out var everyText) || !Durations.TryParseMicros(everyText, out every) || every <= 0)
                    {
                        ctx.Error(v, $"{label} example: 'every' is the gap between repeated events (100ms, 1s).");
                        ok = false;
                    }

                    continue;
                case "flow":
                    if (!YamlScalars.TryText(v, out flow))
                    {
                        ctx.Error(v, $"{label} example: 'flow' names the connection the event belongs to (events with the same flow share flow.id and session fields).");
                        ok = false;
                    }

                    continue;
            }

            if (!key.Contains('.', StringComparison.Ordinal))
            {
                ctx.Error(k, $"{label} example: unknown key '{key}'{Suggestions.DidYouMean(key, MetaKeys)}; keys are dotted field names or {string.Join(", ", MetaKeys)}.");
                ok = false;
                continue;
            }

            if (key == "network.protocol")
            {
                ctx.Error(k, $"{label} example: network.protocol follows from the event type; leave it out.");
                ok = false;
                continue;
            }

            if (!schema.TryGetField(key, out var field))
            {
                ctx.Error(k, $"{label} example: {type} has no field '{key}'{Suggestions.DidYouMean(key, schema.Fields.Select(f => f.Name))}.");
                ok = false;
                continue;
            }

            if (ParseValue(field, v, label) is { } value)
            {
                values.Add(new(key, value));
            }
            else
            {
                ok = false;
            }
        }

        return ok ? new ExampleEvent(type, values, at, repeat, every, flow, ctx.At(map)) : null;
    }

    private FieldValue? ParseValue(EventField field, YamlNode v, string label)
    {
        if (YamlScalars.IsNull(v))
        {
            return FieldValue.Missing;
        }

        string Expect(string what) => $"{label} example: {field.Name} is {what}; {YamlScalars.Describe(v)} is not.";
        switch (field.Kind)
        {
            case FieldKind.Text:
                if (v is YamlScalarNode && YamlScalars.TryText(v, out var t))
                {
                    if (field.Name == "flow.direction" && t is not ("to_server" or "to_client"))
                    {
                        ctx.Error(v, $"{label} example: flow.direction is to_server or to_client.");
                        return null;
                    }

                    return FieldValue.Of(t);
                }

                ctx.Error(v, Expect("text"));
                return null;
            case FieldKind.Ip:
                if (YamlScalars.TryText(v, out var ipText) && IPAddress.TryParse(ipText, out var ip))
                {
                    return FieldValue.OfIp(ip.ToString());
                }

                ctx.Error(v, Expect("an IP address"));
                return null;
            case FieldKind.Number:
                if (YamlScalars.TryInteger(v, out var n))
                {
                    return FieldValue.Of(n);
                }

                ctx.Error(v, Expect("a whole number"));
                return null;
            case FieldKind.Boolean:
                if (YamlScalars.TryBoolean(v, out var b))
                {
                    return FieldValue.Of(b);
                }

                ctx.Error(v, Expect("true or false"));
                return null;
            case FieldKind.StringList:
                if (v is YamlSequenceNode ss)
                {
                    var list = new List<string>();
                    foreach (var item in ss.Children)
                    {
                        if (!YamlScalars.TryText(item, out var s))
                        {
                            ctx.Error(item, Expect("a list of text"));
                            return null;
                        }

                        list.Add(s);
                    }

                    return FieldValue.Of((IReadOnlyList<string>)list);
                }

                ctx.Error(v, Expect("a list of text ([a, b])"));
                return null;
            case FieldKind.NumberList:
                if (v is YamlSequenceNode ns)
                {
                    var list = new List<long>();
                    foreach (var item in ns.Children)
                    {
                        if (!YamlScalars.TryInteger(item, out var x))
                        {
                            ctx.Error(item, Expect("a list of whole numbers"));
                            return null;
                        }

                        list.Add(x);
                    }

                    return FieldValue.Of((IReadOnlyList<long>)list);
                }

                ctx.Error(v, Expect("a list of whole numbers ([0, 1])"));
                return null;
            default:
                return null;
        }
    }
}
