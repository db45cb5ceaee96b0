using System.Globalization;
using System.Net;
using System.Text.Json;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Testing;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace SecMon.Findings.Tests.Ecs;

/// <summary>A fact that needs the ECS definitions in ../shared/ecs; skipped with the reason when they are absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class SharedEcsFactAttribute : FactAttribute
{
    public SharedEcsFactAttribute()
    {
        if (EcsDefinitions.FlatPath is null)
        {
            Skip = "needs ../shared/ecs/generated/ecs/ecs_flat.yml beside the clone (the ECS 9.4.0 field definitions)";
        }
    }
}

/// <summary>ECS field definitions (ecs_flat.yml) and SecMon's custom field set, loaded once.</summary>
internal static class EcsDefinitions
{
    private static readonly Lazy<Dictionary<string, FieldDefinition>> LazyEcs = new(() =>
    {
        var deserializer = new DeserializerBuilder()
            .WithNamingConvention(UnderscoredNamingConvention.Instance)
            .IgnoreUnmatchedProperties()
            .Build();
        return deserializer.Deserialize<Dictionary<string, FieldDefinition>>(File.ReadAllText(FlatPath!));
    });

    private static readonly Lazy<List<FieldDefinition>> LazyCustom = new(() => ReadDefinition(CustomPath));

    private static readonly Lazy<List<FieldDefinition>> LazyWritten = new(() => ReadDefinition(EcsFieldsPath));

    private static List<FieldDefinition> ReadDefinition(string path)
    {
        var deserializer = new DeserializerBuilder()
            .WithNamingConvention(UnderscoredNamingConvention.Instance)
            .Build();
        return deserializer.Deserialize<List<FieldDefinition>>(File.ReadAllText(path));
    }

    public static string? FlatPath =>
        RepoPaths.Shared is { } shared && Path.Combine(shared, "ecs", "generated", "ecs", "ecs_flat.yml") is var p && File.Exists(p) ? p : null;

    public static string CustomPath => Path.Combine(RepoPaths.Root, "src", "SecMon.Findings", "Ecs", "custom-fields.yml");

    public static string EcsFieldsPath => Path.Combine(RepoPaths.Root, "src", "SecMon.Findings", "Ecs", "ecs-fields.yml");

    /// <summary>The ECS fields SecMon writes, as Ecs/ecs-fields.yml lists them.</summary>
    public static List<FieldDefinition> Written => LazyWritten.Value;

    public static Dictionary<string, FieldDefinition> Ecs => LazyEcs.Value;

    public static List<FieldDefinition> Custom => LazyCustom.Value;
}

internal sealed class FieldDefinition
{
    public string Name { get; set; } = "";
    public string Type { get; set; } = "";
    public List<string>? Normalize { get; set; }
    public string? Description { get; set; }
    public List<AllowedValue>? AllowedValues { get; set; }
    public string? Reserved { get; set; }

    public bool IsArray => Normalize?.Contains("array") == true;
}

internal sealed class AllowedValue
{
    public string Name { get; set; } = "";
    public List<string>? ExpectedEventTypes { get; set; }
}

public sealed class EcsConformanceTests
{
    private static readonly HashSet<string> StringTypes = ["keyword", "constant_keyword", "wildcard", "text", "match_only_text"];

    [SharedEcsFact]
    public void EcsFields_EachIsAnEcsFieldWithItsEcsTypeAndArrayness()
    {
        var problems = new List<string>();
        foreach (var f in EcsDefinitions.Written)
        {
            if (!EcsDefinitions.Ecs.TryGetValue(f.Name, out var ecs))
            {
                problems.Add($"'{f.Name}' is in ecs-fields.yml but not an ECS field: move it to custom-fields.yml");
                continue;
            }

            if (ecs.Type != f.Type)
            {
                problems.Add($"'{f.Name}' has type '{f.Type}' in ecs-fields.yml, ECS says '{ecs.Type}'");
            }

            if (ecs.IsArray != f.IsArray)
            {
                problems.Add($"'{f.Name}' normalize [array] is {f.IsArray} in ecs-fields.yml, {ecs.IsArray} in ECS");
            }

            if (string.IsNullOrWhiteSpace(f.Description))
            {
                problems.Add($"'{f.Name}' has no description");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Equal(EcsDefinitions.Written.Count, EcsDefinitions.Written.Select(f => f.Name).Distinct(StringComparer.Ordinal).Count());
    }
    private static readonly HashSet<string> IntegerTypes = ["long", "integer", "short", "byte", "unsigned_long"];
    private static readonly HashSet<string> FloatTypes = ["float", "double", "half_float", "scaled_float"];

    [SharedEcsFact]
    public void Samples_EveryLeafField_IsEcsOrDocumentedCustomWithTheRightType()
    {
        // Every leaf must be in the one definition (FindingFields.All: ecs-fields.yml + custom-fields.yml), and an ECS
        // one must also be an ECS field (EcsFields_EachIsAnEcsField... checks the types agree).
        var all = FindingFields.All.ToDictionary(f => f.Name, f => new FieldDefinition { Name = f.Name, Type = f.Type, Normalize = f.IsArray ? ["array"] : null }, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (name, finding) in Samples())
        {
            using var doc = JsonDocument.Parse(FindingJson.Write(finding, DateTimeOffset.UnixEpoch));
            foreach (var (field, value) in Leaves(doc.RootElement, ""))
            {
                var definition = all.GetValueOrDefault(field);
                if (definition is null)
                {
                    problems.Add($"{name}: '{field}' is in neither ecs-fields.yml nor custom-fields.yml");
                    continue;
                }

                if (value.ValueKind == JsonValueKind.Array)
                {
                    if (!definition.IsArray)
                    {
                        problems.Add($"{name}: '{field}' is an array but its definition does not normalize to array");
                    }

                    foreach (var item in value.EnumerateArray())
                    {
                        CheckType(name, field, definition.Type, item, problems);
                    }
                }
                else
                {
                    if (definition.IsArray)
                    {
                        problems.Add($"{name}: '{field}' normalizes to an array but is written as a single value");
                    }

                    CheckType(name, field, definition.Type, value, problems);
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [SharedEcsFact]
    public void Samples_EventKindCategoryAndType_AreAllowedValues()
    {
        var kinds = EcsDefinitions.Ecs["event.kind"].AllowedValues!.Select(v => v.Name).ToHashSet();
        var categories = EcsDefinitions.Ecs["event.category"].AllowedValues!.ToDictionary(v => v.Name);
        var types = EcsDefinitions.Ecs["event.type"].AllowedValues!.Select(v => v.Name).ToHashSet();
        foreach (var (name, finding) in Samples())
        {
            using var doc = JsonDocument.Parse(FindingJson.Write(finding));
            var ev = doc.RootElement.GetProperty("event");
            Assert.Contains(ev.GetProperty("kind").GetString()!, kinds);
            var cats = ev.GetProperty("category").EnumerateArray().Select(e => e.GetString()!).ToList();
            var typs = ev.GetProperty("type").EnumerateArray().Select(e => e.GetString()!).ToList();
            Assert.All(cats, c => Assert.True(categories.ContainsKey(c), $"{name}: event.category '{c}' is not an ECS allowed value"));
            Assert.All(typs, t => Assert.True(types.Contains(t), $"{name}: event.type '{t}' is not an ECS allowed value"));

            // ECS lists the event types expected with each category; every type must be expected by every one of them
            // (authentication expects start, end and info: 'allowed' fits network but not authentication).
            foreach (var c in cats)
            {
                var expected = categories[c].ExpectedEventTypes ?? [];
                Assert.All(typs, t => Assert.True(expected.Contains(t), $"{name}: event.type '{t}' is not expected with category {c}"));
            }
        }
    }

    [SharedEcsFact]
    public void CustomFields_AreWellFormedAndDoNotRedefineEcs()
    {
        var known = StringTypes.Concat(IntegerTypes).Concat(FloatTypes).Concat(["ip", "date", "boolean"]).ToHashSet();
        Assert.Empty(EcsDefinitions.Custom.Select(f => f.Name).Intersect(EcsDefinitions.Written.Select(f => f.Name)));
        var custom = EcsDefinitions.Custom;

        Assert.NotEmpty(custom);
        Assert.Equal(custom.Count, custom.Select(f => f.Name).Distinct(StringComparer.Ordinal).Count());
        Assert.All(custom, f =>
        {
            Assert.False(string.IsNullOrWhiteSpace(f.Description), $"{f.Name} has no description");
            Assert.True(known.Contains(f.Type), $"{f.Name} has an unknown type '{f.Type}'");
            Assert.False(EcsDefinitions.Ecs.ContainsKey(f.Name), $"{f.Name} is an ECS field: do not redefine it");
            // A custom field must not sit under an ECS leaf (ECS 'event.id' cannot also be an object).
            Assert.False(EcsDefinitions.Ecs.Keys.Any(k => f.Name.StartsWith(k + ".", StringComparison.Ordinal)), $"{f.Name} sits under an ECS leaf field");
            Assert.DoesNotContain(f.Name.Split('.')[^1], new[] { "password", "payload" });
        });
    }

    private static void CheckType(string sample, string field, string type, JsonElement value, List<string> problems)
    {
        var ok = type switch
        {
            _ when StringTypes.Contains(type) => value.ValueKind == JsonValueKind.String,
            _ when IntegerTypes.Contains(type) => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
            _ when FloatTypes.Contains(type) => value.ValueKind == JsonValueKind.Number,
            "ip" => value.ValueKind == JsonValueKind.String && IPAddress.TryParse(value.GetString(), out _),
            "date" => value.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParseExact(value.GetString(), "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _),
            "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
            _ => false,
        };
        if (!ok)
        {
            problems.Add($"{sample}: '{field}' = {value.GetRawText()} does not fit type '{type}'");
        }
    }

    private static IEnumerable<(string Field, JsonElement Value)> Leaves(JsonElement element, string prefix)
    {
        foreach (var p in element.EnumerateObject())
        {
            var name = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
            if (p.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var leaf in Leaves(p.Value, name))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return (name, p.Value);
            }
        }
    }

    private static IEnumerable<(string Name, Finding Finding)> Samples()
    {
        yield return ("full", TestFindings.Full());
        yield return ("minimal", TestFindings.Minimal());
        var many = TestFindings.Many(4);
        for (var i = 0; i < many.Count; i++)
        {
            yield return ($"many-{i}", many[i]);
        }

        // One finding carrying every documented custom field, with a value of its documented type.
        var evidence = new Dictionary<string, object>();
        foreach (var f in EcsDefinitions.Custom.Where(f => f.Name is not ("flow.id" or "secmon.event_count")).Concat(EcsDefinitions.Written.Where(f => f.Name.StartsWith("tls.", StringComparison.Ordinal))))
        {
            object one = f.Type switch
            {
                "long" => 3L,
                "boolean" => true,
                "date" => "2026-01-01T00:00:00Z",
                "ip" => "192.0.2.7",
                _ => "value-of-" + f.Name,
            };
            evidence[f.Name] = f.IsArray
                ? one switch { long l => new[] { l, l + 1 }, bool b => new[] { b }, _ => new[] { (string)one, f.Type == "ip" ? "192.0.2.8" : "second" } }
                : one;
        }

        yield return ("every-custom-field", TestFindings.Full() with { Evidence = evidence });
    }
}

public sealed class FindingFieldsTests
{
    [Fact]
    public void Custom_IsTheEmbeddedDefinition_SameNamesTypesAndArraysAsTheFile()
    {
        var file = EcsDefinitions.Custom.Select(f => (f.Name, f.Type, f.IsArray)).ToList();
        var embedded = FindingFields.Custom.Select(f => (f.Name, f.Type, f.IsArray)).ToList();
        Assert.NotEmpty(embedded);
        Assert.Equal(file, embedded);
        Assert.All(FindingFields.Custom, f => Assert.False(string.IsNullOrWhiteSpace(f.Description), f.Name));
    }

    [Fact]
    public void All_IsEcsThenCustom_EachNameOnceAndReservedFromBothFiles()
    {
        var ecsFile = EcsDefinitions.Written.Select(f => (f.Name, f.Type, f.IsArray)).ToList();
        Assert.Equal(ecsFile, FindingFields.Ecs.Select(f => (f.Name, f.Type, f.IsArray)));
        Assert.Equal(FindingFields.Ecs.Concat(FindingFields.Custom), FindingFields.All);
        Assert.Equal(FindingFields.All.Count, FindingFields.All.Select(f => f.Name).Distinct(StringComparer.Ordinal).Count());
        var reserved = EcsDefinitions.Written.Concat(EcsDefinitions.Custom).Where(f => f.Reserved is not null).ToDictionary(f => f.Name, f => f.Reserved!);
        Assert.Equal(reserved.OrderBy(p => p.Key), FindingFields.Reserved.OrderBy(p => p.Key));
        Assert.Contains("event.ingested", FindingFields.Reserved.Keys);
        // Mappings are generated from it: a leaf cannot also be an object (mqtt.will and mqtt.will.topic).
        var names = FindingFields.All.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(names, n => names.Any(m => m.StartsWith(n + ".", StringComparison.Ordinal)));
        // The fields the Elasticsearch output and Kibana rely on are defined with their ECS types.
        var byName = FindingFields.All.ToDictionary(f => f.Name);
        Assert.Equal(("date", false), (byName["@timestamp"].Type, byName["@timestamp"].IsArray));
        Assert.Equal(("float", false), (byName["event.risk_score"].Type, byName["event.risk_score"].IsArray));
        Assert.Equal(("ip", true), (byName["related.ip"].Type, byName["related.ip"].IsArray));
        Assert.Equal(("keyword", false), (byName["mqtt.client_id"].Type, byName["mqtt.client_id"].IsArray));
        Assert.Equal(("keyword", true), (byName["mqtt.client_ids"].Type, byName["mqtt.client_ids"].IsArray));
    }

    [Fact]
    public void All_ReadWithoutYamlDotNet_EqualsYamlDotNetsReadingOfBothFilesDescriptionsIncluded()
    {
        // FindingFields reads the definition with a reader of its YAML subset; YamlDotNet's reading of the same files
        // (EcsDefinitions) is the independent check, every property compared.
        var file = EcsDefinitions.Written.Concat(EcsDefinitions.Custom)
            .Select(f => new FindingField(f.Name, f.Type, f.IsArray, f.Description ?? "")).ToList();
        Assert.Equal(395, file.Count);
        Assert.Equal(file, FindingFields.All);
    }

    [Theory]
    [InlineData("- name: a.b\n  type: keyword\n  normalize: [array]\n  description: \"say \\\"hi\\\" \\\\ there\"\n  reserved: \"why\"\n", "a.b", "keyword", true, "say \"hi\" \\ there")]
    [InlineData("# comment\n\n- name: \"@timestamp\"\n  type: date\n", "@timestamp", "date", false, "")]
    [InlineData("- name: x\n  type: long\n  normalize: []\n  description: plain words\n", "x", "long", false, "plain words")]
    public void Parse_TheSubset_ReadsEachEntry(string yaml, string name, string type, bool isArray, string description)
    {
        var (fields, _) = FindingFields.Parse(new StringReader(yaml), "t.yml");
        Assert.Equal([new FindingField(name, type, isArray, description)], fields);
    }

    [Theory]
    [InlineData("name: a\n", 1, "expected '- name")]
    [InlineData("- type: keyword\n", 1, "starts with its name")]
    [InlineData("- name: a\n  type: keyword\n  colour: red\n", 3, "unknown key 'colour'")]
    [InlineData("- name: a\n  type: keyword\n  description: \"open\n", 3, "without its closing quote")]
    [InlineData("- name: a\n  type: keyword\n  description: \"a\" b\n", 3, "after the closing quote")]
    [InlineData("- name: a\n  type: keyword\n  description: \"\\n\"\n", 3, "escapes")]
    [InlineData("- name: a\n  type: keyword\n  description: x # y\n", 3, "quote it")]
    [InlineData("- name: a\n  type: keyword\n  normalize: array\n", 3, "flow list")]
    [InlineData("- name: a\n  description: \"no type\"\n", 1, "a name and a type")]
    [InlineData("- name: a\n  type: keyword\n    nested: x\n", 3, "expected 'key: value'")]
    public void Parse_OutsideTheSubset_RefusedWithTheLine(string yaml, int line, string reason)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => FindingFields.Parse(new StringReader(yaml), "t.yml"));
        Assert.Contains($"t.yml, line {line}:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }
}
