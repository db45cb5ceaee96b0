using System.Buffers;
using System.Text;
using System.Text.Json;
using SecMon.Findings.Ecs;

namespace SecMon.Findings.Elasticsearch;

/// <summary>
/// What SecMon installs in the cluster before writing: a component template with the mappings of every field a
/// finding carries (generated from <see cref="FindingFields"/>, the one definition), the composable index template
/// of the data stream, and the optional lifecycle policy. The bodies are deterministic (the same options give the
/// same bytes), so installing them again on every start is harmless.
/// </summary>
/// <remarks>
/// Kibana's Security app reads alerts from <c>logs-*</c> with its External Alerts rule (<c>event.kind: alert</c>), so
/// the data stream is named Elastic's way and the template is a data stream template (<c>data_stream: {}</c>) whose
/// priority (200) is above the built-in <c>logs</c> template (100, <c>logs-*-*</c>), which would otherwise apply. It
/// composes the cluster's <c>ecs@mappings</c> (dynamic templates typing any other ECS field the way ECS says) and a
/// <c>NAME@custom</c> component the operator may add, both ignored when missing.
/// </remarks>
public static class IndexTemplate
{
    /// <summary>Priority of the template: above the built-in <c>logs</c> template (100).</summary>
    public const int Priority = 200;

    /// <summary>The fields the mappings are generated from: every field a finding carries, ECS and custom, with its
    /// type (<see cref="FindingFields.All"/>, the one definition).</summary>
    public static IEnumerable<FindingField> Fields => FindingFields.All;

    /// <summary>The analysed field the searched fields are copied to (<c>copy_to</c>): findings search matches its words
    /// as the SQLite store's full-text index does. Indexed only, never in a document.</summary>
    public const string SearchTextField = "secmon.text";

    /// <summary>Whether the free text of a findings search looks in <paramref name="field"/>: the fields the SQLite
    /// store's full-text index holds (message, rule, client ids, user names, topics, device and addresses).</summary>
    public static bool IsSearched(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        var last = field[(field.LastIndexOf('.') + 1)..];
        return field is "message" or "rule.name" or "rule.id" or "user.name" or "related.user" or "device.id" or "source.ip" or "source.mac" or "destination.ip"
            || last is "client_id" or "client_ids" or "username" or "usernames"
            || last.StartsWith("topic", StringComparison.Ordinal) || last.EndsWith("_topic", StringComparison.Ordinal);
    }

    /// <summary>The component template holding SecMon's mappings (<c>NAME@secmon</c>).</summary>
    public static string ComponentName(ElasticsearchOptions options) => options.TemplateName + "@secmon";

    /// <summary>The body of <c>PUT _component_template/NAME@secmon</c>: the mappings of <paramref name="fields"/>.</summary>
    public static byte[] ComponentTemplate(IEnumerable<FindingField> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        return Json(w =>
        {
            w.WriteStartObject("template");
            w.WriteStartObject("mappings");
            WriteMappings(w, fields);
            w.WriteEndObject();
            w.WriteEndObject();
            Meta(w);
        });
    }

    /// <summary>The mappings of <paramref name="fields"/> as Elasticsearch <c>properties</c> (nested objects for
    /// dotted names), with <c>dynamic_templates</c> that map other strings as <c>keyword</c> (as ECS does).</summary>
    public static void WriteMappings(Utf8JsonWriter writer, IEnumerable<FindingField> fields)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(fields);
        var root = new Node();
        foreach (var f in fields.Append(new FindingField(SearchTextField, "text", false, "")))
        {
            var node = root;
            foreach (var part in f.Name.Split('.'))
            {
                node = node.Children.TryGetValue(part, out var child) ? child : node.Children[part] = new Node();
            }

            if (node.Type is not null && node.Type != f.Type)
            {
                throw new InvalidOperationException($"field {f.Name} is defined twice, as {node.Type} and {f.Type}");
            }

            node.Type = f.Type;
            node.CopyTo = f.Name != SearchTextField && IsSearched(f.Name) && f.Type is "keyword" or "match_only_text" or "text" or "ip";
        }

        writer.WriteStartArray("dynamic_templates");
        writer.WriteStartObject();
        writer.WriteStartObject("strings_as_keyword");
        writer.WriteString("match_mapping_type", "string");
        writer.WriteStartObject("mapping");
        writer.WriteString("type", "keyword");
        writer.WriteNumber("ignore_above", 1024);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteStartObject("properties");
        WriteProperties(writer, root);
        writer.WriteEndObject();
    }

    /// <summary>The body of <c>PUT _index_template/NAME</c>.</summary>
    public static byte[] ComposableTemplate(ElasticsearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var custom = options.TemplateName + "@custom";
        return Json(w =>
        {
            w.WriteStartArray("index_patterns");
            w.WriteStringValue(options.IndexPattern);
            w.WriteEndArray();
            w.WriteStartObject("data_stream");
            w.WriteEndObject();
            w.WriteNumber("priority", Priority);
            w.WriteStartArray("composed_of");
            w.WriteStringValue("ecs@mappings");
            w.WriteStringValue(ComponentName(options));
            w.WriteStringValue(custom);
            w.WriteEndArray();
            w.WriteStartArray("ignore_missing_component_templates");
            w.WriteStringValue("ecs@mappings");
            w.WriteStringValue(custom);
            w.WriteEndArray();
            if (options.IlmPolicy is { } ilm)
            {
                w.WriteStartObject("template");
                w.WriteStartObject("settings");
                w.WriteString("index.lifecycle.name", ilm.Name);
                w.WriteEndObject();
                w.WriteEndObject();
            }

            Meta(w);
        });
    }

    /// <summary>The body of <c>PUT _ilm/policy/NAME</c>: hot with rollover by size and age, then delete (when set).</summary>
    public static byte[] LifecyclePolicy(IlmPolicyOptions ilm)
    {
        ArgumentNullException.ThrowIfNull(ilm);
        return Json(w =>
        {
            w.WriteStartObject("policy");
            w.WriteStartObject("phases");
            w.WriteStartObject("hot");
            w.WriteStartObject("actions");
            w.WriteStartObject("rollover");
            w.WriteString("max_primary_shard_size", ilm.RolloverSize.ToString(System.Globalization.CultureInfo.InvariantCulture) + "b");
            w.WriteString("max_age", ElasticsearchOptions.TimeValue(ilm.RolloverAge));
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            if (ilm.DeleteAfter is { } after)
            {
                w.WriteStartObject("delete");
                w.WriteString("min_age", ElasticsearchOptions.TimeValue(after));
                w.WriteStartObject("actions");
                w.WriteStartObject("delete");
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndObject();
            Meta(w);
            w.WriteEndObject();
        });
    }

    private static void Meta(Utf8JsonWriter w)
    {
        w.WriteStartObject("_meta");
        w.WriteString("managed_by", "secmon");
        w.WriteString("description", "SecMon findings (ECS alerts); installed by secmon on start");
        w.WriteEndObject();
    }

    private static void WriteProperties(Utf8JsonWriter w, Node node)
    {
        foreach (var (name, child) in node.Children.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject(name);
            if (child.Children.Count > 0)
            {
                if (child.Type is not null)
                {
                    throw new InvalidOperationException($"field {name} is both a {child.Type} and an object");
                }

                w.WriteStartObject("properties");
                WriteProperties(w, child);
                w.WriteEndObject();
            }
            else
            {
                w.WriteString("type", child.Type);
                if (child.Type == "keyword")
                {
                    w.WriteNumber("ignore_above", 1024);
                }

                if (child.CopyTo)
                {
                    w.WriteString("copy_to", SearchTextField);
                }
            }

            w.WriteEndObject();
        }
    }

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private sealed class Node
    {
        public Dictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);

        public string? Type { get; set; }

        public bool CopyTo { get; set; }
    }

    /// <summary>UTF-8 text of a body (for errors and tests).</summary>
    internal static string Text(byte[] body) => Encoding.UTF8.GetString(body);
}
