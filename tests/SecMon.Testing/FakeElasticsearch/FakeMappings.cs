using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SecMon.Testing.FakeElasticsearch;

/// <summary>
/// The field types of one index as Elasticsearch keeps them: explicit mappings from the templates, plus fields added by
/// dynamic mapping as documents arrive (a string by the dynamic templates or as keyword, a whole number as long, a
/// boolean). A value that does not fit its field's type is refused as Elasticsearch does (400
/// <c>document_parsing_exception</c>).
/// </summary>
public sealed class FakeMappings
{
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);
    private readonly HashSet<string> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _copiedFrom = new(StringComparer.Ordinal);

    /// <summary>For a <c>copy_to</c> target: the fields copied into it.</summary>
    public IReadOnlyDictionary<string, List<string>> CopiedFrom => _copiedFrom;

    /// <summary>Leaf field → type (<c>keyword</c>, <c>long</c>, <c>ip</c>...).</summary>
    public IReadOnlyDictionary<string, string> Types => _types;

    /// <summary>Adds the <c>properties</c> of a <c>mappings</c> object (later ones win, as composition does).</summary>
    public void Add(JsonNode? mappings)
    {
        if (mappings?["properties"] is JsonObject properties)
        {
            AddProperties(properties, "");
        }
    }

    private void AddProperties(JsonObject properties, string prefix)
    {
        foreach (var (name, value) in properties)
        {
            var path = prefix + name;
            if (value?["properties"] is JsonObject inner)
            {
                _objects.Add(path);
                AddProperties(inner, path + ".");
            }
            else if (value?["type"]?.GetValue<string>() is { } type)
            {
                if (type == "object")
                {
                    _objects.Add(path);
                }
                else
                {
                    _types[path] = type;
                }

                foreach (var target in value?["copy_to"] switch { JsonArray a => a.Select(x => x!.GetValue<string>()), JsonValue v => [v.GetValue<string>()], _ => [] })
                {
                    var list = _copiedFrom.TryGetValue(target, out var l) ? l : _copiedFrom[target] = [];
                    if (!list.Contains(path))
                    {
                        list.Add(path);
                    }
                }
            }
        }
    }

    /// <summary>Checks (and maps dynamically) every field of <paramref name="doc"/>; the refusal's reason or null.</summary>
    public string? Accept(JsonElement doc, string id)
    {
        var added = new List<(string, string)>();
        var problem = Walk(doc, "", id, added);
        if (problem is null)
        {
            foreach (var (path, type) in added)
            {
                _types.TryAdd(path, type);
            }
        }

        return problem;
    }

    private string? Walk(JsonElement obj, string prefix, string id, List<(string, string)> added)
    {
        foreach (var p in obj.EnumerateObject())
        {
            var path = prefix + p.Name;
            if (p.Value.ValueKind == JsonValueKind.Object)
            {
                if (_types.TryGetValue(path, out var leafType))
                {
                    return $"failed to parse field [{path}] of type [{leafType}] in document with id '{id}'. Preview of field's value: '{Preview(p.Value)}'";
                }

                if (Walk(p.Value, path + ".", id, added) is { } problem)
                {
                    return problem;
                }

                continue;
            }

            if (_objects.Contains(path))
            {
                return $"object mapping for [{path}] tried to parse field [{p.Name}] as object, but found a concrete value";
            }

            if (p.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (var v in p.Value.EnumerateArray())
                {
                    if (Leaf(path, v, id, added) is { } problem)
                    {
                        return problem;
                    }
                }
            }
            else if (Leaf(path, p.Value, id, added) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    private string? Leaf(string path, JsonElement v, string id, List<(string, string)> added)
    {
        if (v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (!_types.TryGetValue(path, out var type))
        {
            type = DynamicType(v) ?? "keyword";
            if (added.Find(a => a.Item1 == path) is { Item2: { } earlier })
            {
                type = earlier;
            }
            else
            {
                added.Add((path, type));
            }
        }

        return Fits(type, v) ? null : $"failed to parse field [{path}] of type [{type}] in document with id '{id}'. Preview of field's value: '{Preview(v)}'";
    }

    private static string? DynamicType(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => "keyword", // the strings_as_keyword dynamic template (and ECS's habit)
        JsonValueKind.Number => v.TryGetInt64(out _) ? "long" : "float",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => null,
    };

    /// <summary>Whether <paramref name="v"/> can be stored in a field of <paramref name="type"/> (Elasticsearch's coercion
    /// included: a number in a keyword, a numeric string in a long).</summary>
    public static bool Fits(string type, JsonElement v) => type switch
    {
        "keyword" or "constant_keyword" or "wildcard" => v.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False,
        "text" or "match_only_text" => v.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False,
        "long" or "integer" or "short" or "byte" => v.ValueKind == JsonValueKind.Number
            ? v.TryGetDouble(out var d) && d >= long.MinValue && d <= long.MaxValue
            : v.ValueKind == JsonValueKind.String && long.TryParse(v.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
        "float" or "double" or "scaled_float" => v.ValueKind == JsonValueKind.Number
            || (v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out _)),
        "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False || (v.ValueKind == JsonValueKind.String && v.GetString() is "true" or "false" or ""),
        "ip" => v.ValueKind == JsonValueKind.String && IPAddress.TryParse(v.GetString(), out _) && v.GetString()!.Contains('.', StringComparison.Ordinal) | v.GetString()!.Contains(':', StringComparison.Ordinal),
        "date" or "date_nanos" => v.ValueKind == JsonValueKind.Number || (v.ValueKind == JsonValueKind.String && FakeQuery.TryParseDate(v.GetString()!, out _)),
        _ => true,
    };

    private static string Preview(JsonElement v)
    {
        var text = v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();
        return text.Length > 20 ? text[..20] + "..." : text;
    }
}
