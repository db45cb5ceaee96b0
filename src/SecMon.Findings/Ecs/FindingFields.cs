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
/// <remarks>The definition stays in its documented YAML files (a second copy in C# would drift from them); this project
/// reads them with a reader of the small subset they are written in (<see cref="Parse"/>), not with a YAML library
/// (STYLE.md gives the YAML parser to Detection, for rules).</remarks>
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
        return Parse(reader, name);
    }

    /// <summary>Reads a field definition: a YAML list of flat mappings, one key per line, in the subset the two files
    /// are written in (<c>- name: VALUE</c> opens an entry, <c>  KEY: VALUE</c> continues it; a value is plain, double-quoted
    /// with <c>\"</c> and <c>\\</c> escapes, or the flow list <c>[array]</c>; whole-line comments and blank lines).</summary>
    /// <remarks>Not YamlDotNet's deserializer: its reflection (type inspectors, object factories and the generic code they
    /// compile) cost about 0.1 s of CPU each time the Elasticsearch output started (bench/README.md, issue 13, session
    /// 13). Anything outside the subset is refused with its line, so the files cannot drift into YAML this reader would
    /// misread; the tests read both files with YamlDotNet as well and compare.</remarks>
    /// <exception cref="InvalidOperationException">A line outside the subset, an unknown key, an entry without a name or type.</exception>
    internal static (FindingField[] Fields, Dictionary<string, string> Reserved) Parse(TextReader reader, string name)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var fields = new List<FindingField>();
        var reserved = new Dictionary<string, string>(StringComparer.Ordinal);
        string? field = null, type = null, description = null, why = null;
        var isArray = false;
        var entryLine = 0;
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (line.Length == 0 || line[0] == '#' || string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var opens = line.StartsWith("- ", StringComparison.Ordinal);
            if (!opens && !line.StartsWith("  ", StringComparison.Ordinal))
            {
                throw Bad(name, number, "expected '- name: ...' or an indented key of the entry");
            }

            var colon = line.IndexOf(": ", 2, StringComparison.Ordinal);
            var key = colon < 0 ? "" : line[2..colon];
            if (key.Length == 0 || !key.All(c => char.IsAsciiLetterLower(c) || c == '_'))
            {
                throw Bad(name, number, "expected 'key: value'");
            }

            if (opens)
            {
                if (key != "name")
                {
                    throw Bad(name, number, "an entry starts with its name");
                }

                Flush();
                entryLine = number;
            }
            else if (entryLine == 0)
            {
                throw Bad(name, number, "a key before the first entry");
            }

            var raw = line[(colon + 2)..];
            switch (key)
            {
                case "name":
                    field = Scalar(raw, name, number);
                    break;
                case "type":
                    type = Scalar(raw, name, number);
                    break;
                case "description":
                    description = Scalar(raw, name, number);
                    break;
                case "reserved":
                    why = Scalar(raw, name, number);
                    break;
                case "normalize":
                    var trimmed = raw.TrimEnd();
                    if (trimmed.Length < 2 || trimmed[0] != '[' || trimmed[^1] != ']')
                    {
                        throw Bad(name, number, "normalize is a flow list such as [array]");
                    }

                    isArray = trimmed[1..^1].Split(',', StringSplitOptions.TrimEntries).Contains("array");
                    break;
                default:
                    throw Bad(name, number, $"unknown key '{key}'");
            }
        }

        Flush();
        return ([.. fields], reserved);

        void Flush()
        {
            if (entryLine == 0)
            {
                return;
            }

            if (string.IsNullOrEmpty(field) || string.IsNullOrEmpty(type))
            {
                throw Bad(name, entryLine, "an entry needs a name and a type");
            }

            fields.Add(new FindingField(field, type, isArray, description ?? ""));
            if (!string.IsNullOrEmpty(why))
            {
                reserved[field] = why;
            }

            field = type = description = why = null;
            isArray = false;
        }
    }

    private static string Scalar(string raw, string file, int line)
    {
        var value = raw.TrimEnd();
        if (value.Length == 0 || value[0] != '"')
        {
            // A plain scalar: what the files use for names and types. Characters YAML would read otherwise are refused.
            if (value.Length == 0 || value.IndexOfAny(['#', '\'', '"', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', '%', '@', '`']) >= 0
                || value.Contains(": ", StringComparison.Ordinal))
            {
                throw Bad(file, line, "a plain value with characters YAML reads otherwise: quote it");
            }

            return value;
        }

        var text = new System.Text.StringBuilder(value.Length);
        for (var i = 1; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '"')
            {
                if (i != value.Length - 1)
                {
                    throw Bad(file, line, "text after the closing quote");
                }

                return text.ToString();
            }

            if (c == '\\')
            {
                if (i + 1 >= value.Length || value[i + 1] is not ('"' or '\\'))
                {
                    throw Bad(file, line, "only the escapes \\\" and \\\\ are read");
                }

                c = value[++i];
            }

            text.Append(c);
        }

        throw Bad(file, line, "a quoted value without its closing quote");
    }

    private static InvalidOperationException Bad(string file, int line, string what) =>
        new($"the field definition {file}, line {line}: {what}");
}
