using System.Reflection;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace SecMon.Findings.Ecs;

/// <summary>One field a finding document may carry: its dotted name, its Elasticsearch type and whether its value
/// is a list (ECS <c>normalize: [array]</c>).</summary>
public sealed record FindingField(string Name, string Type, bool IsArray, string Description);

/// <summary>
/// The one definition of the custom fields a finding may carry (<c>Ecs/custom-fields.yml</c>, embedded in this
/// assembly): it documents them, the ECS conformance tests check findings against it, and the Elasticsearch index
/// template's mappings are generated from it.
/// </summary>
/// <remarks>This project reads YAML only for this embedded definition (STYLE.md gives the YAML parser to Detection
/// for rules; a second copy of the definition in C# would drift from the documented one).</remarks>
public static class FindingFields
{
    private static readonly Lazy<IReadOnlyList<FindingField>> LazyCustom = new(() => Load("custom-fields.yml"));

    /// <summary>SecMon's custom fields (those ECS does not define), in the order the definition lists them.</summary>
    public static IReadOnlyList<FindingField> Custom => LazyCustom.Value;

    private static FindingField[] Load(string name)
    {
        var assembly = typeof(FindingFields).Assembly;
        using var stream = assembly.GetManifestResourceStream($"SecMon.Findings.Ecs.{name}")
            ?? throw new InvalidOperationException($"the field definition {name} is not embedded in {assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        var entries = deserializer.Deserialize<List<Entry>>(reader) ?? [];
        return entries.Select(e => new FindingField(e.Name, e.Type, e.Normalize?.Contains("array") == true, e.Description ?? ""))
            .ToArray();
    }

    private sealed class Entry
    {
        public string Name { get; set; } = "";
        public string Type { get; set; } = "";
        public List<string>? Normalize { get; set; }
        public string? Description { get; set; }
    }
}
