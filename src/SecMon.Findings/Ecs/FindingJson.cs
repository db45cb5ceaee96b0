using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Findings;

namespace SecMon.Findings.Ecs;

/// <summary>
/// Writes a <see cref="Finding"/> as its ECS document (nested JSON objects, one line) and reads one back.
/// The document is deterministic: the same finding always gives the same bytes (evidence keys are sorted,
/// nothing depends on the time of writing), so a store or an Elasticsearch <c>_id = event.id</c> sees the
/// same document when a capture is analysed twice.
/// </summary>
/// <remarks>
/// Layout (ECS 9.4.0, <c>../shared/ecs/generated/ecs/ecs_flat.yml</c>): <c>@timestamp</c>, <c>ecs.version</c>,
/// <c>event.*</c> (kind <c>alert</c>, dataset <c>secmon.alerts</c>), <c>rule.*</c>, <c>message</c>,
/// <c>source.*</c>, <c>destination.*</c>, <c>network.*</c>, <c>observer.*</c>, <c>device.id</c>, <c>threat.*</c>
/// (arrays where ECS normalizes to arrays), <c>related.*</c>, the custom <c>flow.id</c> and
/// <c>secmon.event_count</c>, then the evidence merged into the tree by its dotted names. Custom fields are
/// documented in <c>Ecs/custom-fields.yml</c>. Evidence never overrides a typed field, and evidence whose
/// last name part is <c>password</c> or <c>payload</c> is dropped (defence in depth: findings never carry secrets
/// or payload bytes).
/// </remarks>
public static class FindingJson
{
    /// <summary>The ECS version the documents follow (<c>ecs.version</c>).</summary>
    public const string EcsVersion = "9.4.0";

    /// <summary>ECS <c>event.dataset</c> of SecMon alerts.</summary>
    public const string Dataset = "secmon.alerts";

    /// <summary>ECS <c>event.module</c> of SecMon alerts.</summary>
    public const string Module = "secmon";

    /// <summary>ECS <c>threat.framework</c> used when a finding names a technique.</summary>
    public const string ThreatFramework = "MITRE ATT&CK";

    // Relaxed escaping keeps non-ASCII text readable; quotes, backslashes and control characters are still
    // escaped (RFC 8259 §7), which is all JSON needs. The documents are never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    /// <summary>Returns the ECS document of <paramref name="finding"/> as one line of JSON.</summary>
    public static string Write(Finding finding)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        Write(finding, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes the ECS document of <paramref name="finding"/> as UTF-8 JSON to <paramref name="output"/>.</summary>
    public static void Write(Finding finding, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(finding);
        ArgumentNullException.ThrowIfNull(output);
        var root = BuildTree(finding);
        using var writer = new Utf8JsonWriter(output, WriterOptions);
        WriteNode(writer, root);
        writer.Flush();
    }

    /// <summary>Evidence keys that <see cref="Write(Finding)"/> leaves out (a secret or payload name, an invalid
    /// dotted name, or a name that collides with a typed field or another evidence key).</summary>
    public static IReadOnlyList<string> DroppedEvidence(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var dropped = new List<string>();
        BuildTree(finding, dropped);
        return dropped;
    }

    /// <summary>Reads a document written by <see cref="Write(Finding)"/> back into a <see cref="Finding"/>.
    /// Fields other than the typed ones come back as flat dotted evidence.</summary>
    /// <exception cref="FormatException">The text is not a SecMon ECS finding document.</exception>
    public static Finding Read(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            return Read(doc.RootElement);
        }
        catch (JsonException ex)
        {
            throw new FormatException("not a JSON document: " + ex.Message, ex);
        }
    }

    /// <summary>Reads a parsed ECS finding document.</summary>
    /// <exception cref="FormatException">Required fields (<c>@timestamp</c>, <c>event.id</c>, <c>rule.id</c>,
    /// <c>rule.name</c>, <c>event.severity</c>, <c>message</c>) are missing or of the wrong type.</exception>
    public static Finding Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("a finding document is a JSON object");
        }

        var flat = new List<KeyValuePair<string, JsonElement>>();
        Flatten(root, "", flat);
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (key, value) in flat)
        {
            fields[key] = value;
        }

        string? Str(string name) => fields.TryGetValue(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        long? Num(string name) => fields.TryGetValue(name, out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) ? v : null;
        IReadOnlyList<string> Strs(string name) => fields.TryGetValue(name, out var e) ? StringList(e) : [];
        string Required(string name) => Str(name) ?? throw new FormatException($"the document has no string '{name}'");

        var timestamp = Required("@timestamp");
        if (!DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts))
        {
            throw new FormatException($"'@timestamp' is not a date: {timestamp}");
        }

        var severity = Num("event.severity") ?? throw new FormatException("the document has no number 'event.severity'");
        var evidence = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, value) in flat)
        {
            if (!TypedFields.Contains(key) && ToEvidenceValue(value) is { } v)
            {
                evidence[key] = v;
            }
        }

        var techniqueIds = Strs("threat.technique.id");
        var techniqueNames = Strs("threat.technique.name");
        var tacticNames = Strs("threat.tactic.name");
        return new Finding
        {
            Id = Required("event.id"),
            TimestampMicros = Time.ToUnixMicros(ts),
            RuleId = Required("rule.id"),
            RuleName = Required("rule.name"),
            RuleDescription = Str("rule.description"),
            Ruleset = Str("rule.ruleset"),
            RuleVersion = Str("rule.version"),
            RuleReference = Str("rule.reference"),
            Severity = (Severity)(int)Math.Clamp(severity, int.MinValue, int.MaxValue),
            Category = Strs("event.category"),
            EventType = Strs("event.type"),
            Message = Required("message"),
            SourceIp = Str("source.ip"),
            SourcePort = (int?)Num("source.port"),
            SourceMac = Str("source.mac"),
            DestinationIp = Str("destination.ip"),
            DestinationPort = (int?)Num("destination.port"),
            Transport = Str("network.transport"),
            Protocol = Str("network.protocol"),
            CommunityId = Str("network.community_id"),
            FlowId = Str("flow.id"),
            DeviceId = Str("device.id"),
            ObserverName = Str("observer.name"),
            ThreatTechniqueId = techniqueIds.Count > 0 ? techniqueIds[0] : null,
            ThreatTechniqueName = techniqueNames.Count > 0 ? techniqueNames[0] : null,
            ThreatTacticName = tacticNames.Count > 0 ? tacticNames[0] : null,
            RelatedIp = Strs("related.ip"),
            RelatedUser = Strs("related.user"),
            EventCount = Num("secmon.event_count") ?? 1,
            Evidence = evidence,
        };
    }

    // The leaves the typed properties (and the constants written beside them) own; everything else is evidence.
    private static readonly HashSet<string> TypedFields = new(StringComparer.Ordinal)
    {
        "@timestamp", "ecs.version", "message",
        "event.kind", "event.category", "event.type", "event.severity", "event.id", "event.dataset", "event.module",
        "rule.id", "rule.name", "rule.description", "rule.ruleset", "rule.version", "rule.reference",
        "source.ip", "source.port", "source.mac", "destination.ip", "destination.port",
        "network.transport", "network.protocol", "network.community_id",
        "observer.name", "observer.type", "observer.vendor", "observer.product",
        "device.id", "threat.framework", "threat.technique.id", "threat.technique.name", "threat.tactic.name",
        "related.ip", "related.user", "flow.id", "secmon.event_count",
    };

    private static Node BuildTree(Finding f, List<string>? dropped = null)
    {
        var root = new Node();
        root.Set("@timestamp", Time.FormatMicros(f.TimestampMicros));
        root.Child("ecs").Set("version", EcsVersion);

        var ev = root.Child("event");
        ev.Set("kind", "alert");
        ev.SetList("category", f.Category);
        ev.SetList("type", f.EventType);
        ev.Set("severity", (long)(int)f.Severity);
        ev.Set("id", f.Id);
        ev.Set("dataset", Dataset);
        ev.Set("module", Module);

        var rule = root.Child("rule");
        rule.Set("id", f.RuleId);
        rule.Set("name", f.RuleName);
        rule.Set("description", f.RuleDescription);
        rule.Set("ruleset", f.Ruleset);
        rule.Set("version", f.RuleVersion);
        rule.Set("reference", f.RuleReference);

        root.Set("message", f.Message);

        var source = root.Child("source");
        source.Set("ip", f.SourceIp);
        source.Set("port", f.SourcePort);
        source.Set("mac", f.SourceMac);

        var destination = root.Child("destination");
        destination.Set("ip", f.DestinationIp);
        destination.Set("port", f.DestinationPort);

        var network = root.Child("network");
        network.Set("transport", f.Transport);
        network.Set("protocol", f.Protocol);
        network.Set("community_id", f.CommunityId);

        var observer = root.Child("observer");
        observer.Set("name", f.ObserverName);
        observer.Set("type", "ids");
        observer.Set("vendor", "SecMon");
        observer.Set("product", "SecMon");

        root.Child("device").Set("id", f.DeviceId);

        if (f.ThreatTechniqueId is not null || f.ThreatTechniqueName is not null || f.ThreatTacticName is not null)
        {
            // ECS normalizes threat.technique.* and threat.tactic.* to arrays.
            var threat = root.Child("threat");
            threat.Set("framework", ThreatFramework);
            var technique = threat.Child("technique");
            technique.SetList("id", f.ThreatTechniqueId is null ? [] : [f.ThreatTechniqueId]);
            technique.SetList("name", f.ThreatTechniqueName is null ? [] : [f.ThreatTechniqueName]);
            threat.Child("tactic").SetList("name", f.ThreatTacticName is null ? [] : [f.ThreatTacticName]);
        }

        var related = root.Child("related");
        related.SetList("ip", f.RelatedIp);
        related.SetList("user", f.RelatedUser);

        root.Child("flow").Set("id", f.FlowId);
        root.Child("secmon").Set("event_count", f.EventCount);

        var keys = f.Evidence.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (!IsAllowedEvidenceKey(key) || !TryEvidenceLeaf(f.Evidence[key], out var leaf) || !root.TrySetPath(key, leaf))
            {
                dropped?.Add(key);
            }
        }

        return root;
    }

    private static bool IsAllowedEvidenceKey(string key)
    {
        if (key.Length == 0 || key[0] == '@' || key.StartsWith('.') || key.EndsWith('.') || key.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        var last = key[(key.LastIndexOf('.') + 1)..];
        return !last.Equals("password", StringComparison.OrdinalIgnoreCase)
            && !last.Equals("payload", StringComparison.OrdinalIgnoreCase);
    }

    // Evidence values: string, integral numbers, bool, double, or lists of those (Finding.Evidence contract).
    private static bool TryEvidenceLeaf(object? value, out object leaf)
    {
        switch (value)
        {
            case string s:
                leaf = s;
                return true;
            case long or int or short or byte or uint or ushort or sbyte:
                leaf = Convert.ToInt64(value, CultureInfo.InvariantCulture);
                return true;
            case bool b:
                leaf = b;
                return true;
            case double d when double.IsFinite(d):
                leaf = d;
                return true;
            case float fl when float.IsFinite(fl):
                leaf = (double)fl;
                return true;
            case System.Collections.IEnumerable list:
                var items = new List<object>();
                foreach (var item in list)
                {
                    if (item is System.Collections.IEnumerable and not string || !TryEvidenceLeaf(item, out var element))
                    {
                        leaf = null!;
                        return false;
                    }

                    items.Add(element);
                }

                leaf = items;
                return true;
            default:
                leaf = null!;
                return false;
        }
    }

    private static void WriteNode(Utf8JsonWriter writer, Node node)
    {
        writer.WriteStartObject();
        foreach (var (name, value) in node.Entries)
        {
            if (value is Node child)
            {
                if (child.HasLeaves)
                {
                    writer.WritePropertyName(JsonStrings.Clean(name));
                    WriteNode(writer, child);
                }

                continue;
            }

            writer.WritePropertyName(JsonStrings.Clean(name));
            WriteLeaf(writer, value);
        }

        writer.WriteEndObject();
    }

    private static void WriteLeaf(Utf8JsonWriter writer, object value)
    {
        switch (value)
        {
            case string s:
                writer.WriteStringValue(JsonStrings.Clean(s));
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case double d:
                writer.WriteNumberValue(d);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case List<object> list:
                writer.WriteStartArray();
                foreach (var item in list)
                {
                    WriteLeaf(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                throw new InvalidOperationException("unexpected leaf type " + value.GetType());
        }
    }

    private static void Flatten(JsonElement element, string prefix, List<KeyValuePair<string, JsonElement>> into)
    {
        foreach (var property in element.EnumerateObject())
        {
            var name = prefix.Length == 0 ? property.Name : prefix + "." + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                Flatten(property.Value, name, into);
            }
            else
            {
                into.Add(new(name, property.Value));
            }
        }
    }

    private static IReadOnlyList<string> StringList(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => [e.GetString()!],
        JsonValueKind.Array => [.. e.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!)],
        _ => [],
    };

    private static object? ToEvidenceValue(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                return e.GetString();
            case JsonValueKind.Number:
                // Not a conditional expression: long and double would unify to double.
                if (e.TryGetInt64(out var l))
                {
                    return l;
                }

                return e.GetDouble();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.Array:
                var items = e.EnumerateArray().ToList();
                if (items.All(x => x.ValueKind == JsonValueKind.String))
                {
                    return items.Select(x => x.GetString()!).ToArray();
                }

                if (items.All(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out _)))
                {
                    return items.Select(x => x.GetInt64()).ToArray();
                }

                if (items.All(x => x.ValueKind is JsonValueKind.True or JsonValueKind.False))
                {
                    return items.Select(x => x.GetBoolean()).ToArray();
                }

                if (items.All(x => x.ValueKind == JsonValueKind.Number))
                {
                    return items.Select(x => x.GetDouble()).ToArray();
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>An ordered JSON object under construction: leaves are string, long, double, bool or a list of those.</summary>
    private sealed class Node
    {
        private readonly List<KeyValuePair<string, object>> _entries = [];

        public List<KeyValuePair<string, object>> Entries => _entries;

        public bool HasLeaves => _entries.Exists(e => e.Value is not Node n || n.HasLeaves);

        public Node Child(string name)
        {
            foreach (var (key, value) in _entries)
            {
                if (key == name && value is Node existing)
                {
                    return existing;
                }
            }

            var node = new Node();
            _entries.Add(new(name, node));
            return node;
        }

        public void Set(string name, string? value)
        {
            if (value is not null)
            {
                _entries.Add(new(name, value));
            }
        }

        public void Set(string name, long? value)
        {
            if (value is { } v)
            {
                _entries.Add(new(name, v));
            }
        }

        public void SetList(string name, IReadOnlyList<string> values)
        {
            if (values.Count > 0)
            {
                _entries.Add(new(name, values.Cast<object>().ToList()));
            }
        }

        // Places an evidence leaf at a dotted path; false when the path collides with an existing leaf
        // (typed fields win) or an existing object.
        public bool TrySetPath(string path, object leaf)
        {
            var node = this;
            var start = 0;
            while (true)
            {
                var dot = path.IndexOf('.', start);
                var part = dot < 0 ? path[start..] : path[start..dot];
                var index = node._entries.FindIndex(e => e.Key == part);
                if (dot < 0)
                {
                    if (index >= 0)
                    {
                        return false;
                    }

                    node._entries.Add(new(part, leaf));
                    return true;
                }

                if (index >= 0)
                {
                    if (node._entries[index].Value is not Node next)
                    {
                        return false;
                    }

                    node = next;
                }
                else
                {
                    var next = new Node();
                    node._entries.Add(new(part, next));
                    node = next;
                }

                start = dot + 1;
            }
        }
    }
}
