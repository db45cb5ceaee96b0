using System.Reflection;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace SecMon.Findings.Ecs;

/// <summary>One field a finding document may carry: its dotted name, its Elasticsearch type and whether its value
/// is a list (ECS <c>normalize: [array]</c>).</summary>
public sealed record FindingField(string Name, string Type, bool IsArray, string Description);

/// <summary>
/// The one definition of every field a finding document carries: the ECS fields SecMon writes
/// (<c>Ecs/ecs-fields.yml</c>) and SecMon's custom field sets (<c>Ecs/custom-fields.yml</c>), both embedded in this
/// assembly. It documents them, the tests check it against ECS and against what the shipped rules emit on the sample
/// captures, and the Elasticsearch index template's mappings are generated from <see cref="All"/>.
/// </summary>
/// <remarks>This project reads YAML only for this embedded definition (STYLE.md gives the YAML parser to Detection
/// for rules; a second copy of the definition in C# would drift from the documented one).</remarks>
public static class FindingFields
{
    private static readonly Lazy<(FindingField[] Fields, Dictionary<string, string> Reserved)> LazyCustom = new(() => Load("custom-fields.yml"));
    private static readonly Lazy<(FindingField[] Fields, Dictionary<string, string> Reserved)> LazyEcs = new(() => Load("ecs-fields.yml"));
    private static readonly Lazy<IReadOnlyList<FindingField>> LazyAll = new(() => [.. LazyEcs.Value.Fields, .. LazyCustom.Value.Fields]);
    private static readonly Lazy<IReadOnlyDictionary<string, string>> LazyReserved = new(() =>
        LazyEcs.Value.Reserved.Concat(LazyCustom.Value.Reserved).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));

    /// <summary>SecMon's custom fields (those ECS does not define), in the order the definition lists them.</summary>
    public static IReadOnlyList<FindingField> Custom => LazyCustom.Value.Fields;

    /// <summary>The ECS fields SecMon writes, with their ECS types, in the order the definition lists them.</summary>
    public static IReadOnlyList<FindingField> Ecs => LazyEcs.Value.Fields;

    /// <summary>Every field a finding document may carry: <see cref="Ecs"/> then <see cref="Custom"/>. A field not in
    /// it is never written by the shipped rules (a rule pack of one's own may add evidence fields; define them in
    /// custom-fields.yml).</summary>
    public static IReadOnlyList<FindingField> All => LazyAll.Value;

    /// <summary>Fields of the definition no sample finding carries, with the reason (written only by an output, only in
    /// live capture, only by a rule the samples do not trip).</summary>
    public static IReadOnlyDictionary<string, string> Reserved => LazyReserved.Value;

    private static (FindingField[] Fields, Dictionary<string, string> Reserved) Load(string name)
    {
        var assembly = typeof(FindingFields).Assembly;
        using var stream = assembly.GetManifestResourceStream($"SecMon.Findings.Ecs.{name}")
            ?? throw new InvalidOperationException($"the field definition {name} is not embedded in {assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        var entries = deserializer.Deserialize<List<Entry>>(reader) ?? [];
        var fields = entries.Select(e => new FindingField(e.Name, e.Type, e.Normalize?.Contains("array") == true, e.Description ?? "")).ToArray();
        var reserved = entries.Where(e => !string.IsNullOrEmpty(e.Reserved)).ToDictionary(e => e.Name, e => e.Reserved!, StringComparer.Ordinal);
        return (fields, reserved);
    }

    private sealed class Entry
    {
        public string Name { get; set; } = "";
        public string Type { get; set; } = "";
        public List<string>? Normalize { get; set; }
        public string? Description { get; set; }

        public string? Reserved { get; set; }
    }
}
