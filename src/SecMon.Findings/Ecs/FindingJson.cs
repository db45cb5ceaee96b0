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
/// Layout (ECS 9.4.0, <c>../shared/ecs/generated/ecs/ecs_flat.yml</c>): <c>@timestamp</c> (capture time),
/// <c>ecs.version</c>, <c>event.*</c> (kind <c>alert</c>, dataset <c>secmon.alert</c>, severity and risk score),
/// <c>rule.*</c>, <c>message</c> (rule name: subject), <c>source.*</c>/<c>client.*</c> (the client) and
/// <c>destination.*</c>/<c>server.*</c> (the server), <c>network.*</c>, <c>observer.*</c> and <c>agent.*</c> (the
/// sensor), <c>log.file.path</c> (the analysed capture), <c>device.id</c>, <c>host.*</c> (the device),
/// <c>user.name</c>, <c>threat.*</c> (arrays where ECS normalizes to arrays), <c>related.*</c>, the custom
/// <c>flow.id</c> and <c>secmon.event_count</c>, then the evidence merged into the tree by its dotted names. Every
/// field is defined in <see cref="FindingFields.All"/> (<c>Ecs/ecs-fields.yml</c> and <c>Ecs/custom-fields.yml</c>).
/// Evidence never overrides a typed field, and evidence whose last name part is <c>password</c> or <c>payload</c> is
/// dropped (defence in depth: findings never carry secrets or payload bytes). <c>event.ingested</c> is written only
/// when the caller passes the time (<see cref="Write(Finding, IBufferWriter{byte}, DateTimeOffset?)"/>): an output
/// adds it when it sends, and the stored document stays the same bytes on every run.
/// </remarks>
public static class FindingJson
{
    /// <summary>The ECS version the documents follow (<c>ecs.version</c>).</summary>
    public const string EcsVersion = "9.4.0";

    /// <summary>ECS <c>event.dataset</c> of SecMon alerts: the dataset part of the data stream they are written to
    /// (<c>logs-secmon.alert-default</c>).</summary>
    public const string Dataset = "secmon.alert";

    /// <summary>ECS <c>event.module</c> of SecMon alerts.</summary>
    public const string Module = "secmon";

    /// <summary>Returns the ECS document of <paramref name="finding"/> as one line of JSON.</summary>
    public static string Write(Finding finding) => Encoding.UTF8.GetString(Utf8(finding));

    /// <summary>Writes the ECS document of <paramref name="finding"/> as UTF-8 JSON to <paramref name="output"/>.</summary>
    public static void Write(Finding finding, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var bytes = Utf8(finding);
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    /// <summary>The ECS document of <paramref name="finding"/> as UTF-8 bytes (no newline), made once per finding:
    /// the store, the findings log, each output's spool and the alert outputs all take the same bytes, so a run with
    /// every output on encodes each finding once, not once per destination (bench/README.md, issue 13). A finding read
    /// back from a spool line keeps that line's bytes (<see cref="Remember"/>). Callers must not modify the array.</summary>
    public static byte[] Utf8(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        if (finding.Encoded is { } cached)
        {
            return cached;
        }

        var buffer = t_encodeBuffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        Write(finding, buffer, null);
        var bytes = buffer.WrittenSpan.ToArray();
        // Two threads may encode the same finding at once: both made the same bytes (the document is deterministic),
        // and the first one kept is the one every later caller gets.
        return finding.RememberEncoded(bytes);
    }

    /// <summary>Records that <paramref name="utf8"/> (one document, no newline) is <paramref name="finding"/>'s ECS
    /// document, as when it was just read from those bytes.</summary>
    internal static void Remember(Finding finding, byte[] utf8) => finding.RememberEncoded(utf8);

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_encodeBuffer;

    /// <summary>Writes the ECS document of <paramref name="finding"/>, with <c>event.ingested</c> =
    /// <paramref name="ingested"/> when given (an output sending the finding now; Kibana's External Alerts rule reads
    /// new alerts by <c>event.ingested</c>, and <c>@timestamp</c> is the capture time, which may be long past).</summary>
    public static void Write(Finding finding, IBufferWriter<byte> output, DateTimeOffset? ingested)
    {
        ArgumentNullException.ThrowIfNull(finding);
        ArgumentNullException.ThrowIfNull(output);
        (t_writer ??= new EcsDocumentWriter()).Write(finding, output, null, ingested);
    }

    /// <summary>Returns the ECS document of <paramref name="finding"/> with <c>event.ingested</c> = <paramref name="ingested"/>.</summary>
    public static string Write(Finding finding, DateTimeOffset ingested)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        Write(finding, buffer, ingested);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [ThreadStatic]
    private static EcsDocumentWriter? t_writer;

    /// <summary>Evidence keys that <see cref="Write(Finding)"/> leaves out (a secret or payload name, an invalid
    /// dotted name, or a name that collides with a typed field or another evidence key).</summary>
    public static IReadOnlyList<string> DroppedEvidence(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var dropped = new List<string>();
        (t_writer ??= new EcsDocumentWriter()).Write(finding, new ArrayBufferWriter<byte>(1024), dropped);
        dropped.Sort(StringComparer.Ordinal);
        return dropped;
    }

    /// <summary>The top-level <c>message</c> of a finding document, read without building the finding (a search listing
    /// shows only it: reading the whole document for it was most of the listing's cost).</summary>
    /// <exception cref="FormatException">The text is not a JSON object with a string <c>message</c>.</exception>
    public static string ReadMessage(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException("a finding document is a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isMessage = reader.ValueTextEquals("message"u8);
                reader.Read();
                if (isMessage && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString()!;
                }

                reader.Skip();
            }
        }
        catch (JsonException ex)
        {
            throw new FormatException("not a JSON document: " + ex.Message, ex);
        }

        throw new FormatException("the document has no message");
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

    /// <summary>Reads a document written by <see cref="Write(Finding)"/>, as UTF-8 bytes, back into a <see cref="Finding"/>.</summary>
    /// <exception cref="FormatException">The bytes are not a SecMon ECS finding document.</exception>
    public static Finding Read(ReadOnlyMemory<byte> utf8)
    {
        try
        {
            using var doc = JsonDocument.Parse(utf8);
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

        string? First(string name) => Strs(name) is { Count: > 0 } list ? list[0] : null;
        var subtechnique = First("threat.technique.subtechnique.id");
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
            RuleCategory = Str("rule.category"),
            RiskScore = fields.TryGetValue("event.risk_score", out var risk) && risk.ValueKind == JsonValueKind.Number ? risk.GetDouble() : null,
            Severity = (Severity)(int)Math.Clamp(severity, int.MinValue, int.MaxValue),
            Category = Strs("event.category"),
            EventType = Strs("event.type"),
            Message = Required("message"),
            SourceIp = Str("source.ip"),
            SourcePort = (int?)Num("source.port"),
            SourceMac = Str("source.mac"),
            DestinationIp = Str("destination.ip"),
            DestinationPort = (int?)Num("destination.port"),
            DestinationMac = Str("destination.mac"),
            Transport = Str("network.transport"),
            Protocol = Str("network.protocol"),
            CommunityId = Str("network.community_id"),
            FlowId = Str("flow.id"),
            DeviceId = Str("device.id"),
            DeviceIp = First("host.ip"),
            DeviceMac = First("host.mac"),
            UserName = Str("user.name"),
            ObserverName = Str("observer.name"),
            ObserverHostname = Str("observer.hostname"),
            ObserverId = Str("agent.id"),
            ObserverVersion = Str("observer.version"),
            ObserverIps = Strs("observer.ip"),
            SourceFile = Str("log.file.path"),
            CaptureInterface = Str("observer.ingress.interface.name"),
            ThreatFramework = Str("threat.framework"),
            ThreatTechniqueId = subtechnique ?? First("threat.technique.id"),
            ThreatTechniqueName = subtechnique is not null ? First("threat.technique.subtechnique.name") : First("threat.technique.name"),
            ThreatParentTechniqueName = subtechnique is not null ? First("threat.technique.name") : null,
            ThreatTacticId = First("threat.tactic.id"),
            ThreatTacticName = First("threat.tactic.name"),
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
        "event.kind", "event.category", "event.type", "event.severity", "event.risk_score", "event.id", "event.dataset",
        "event.module", "event.ingested",
        "rule.id", "rule.name", "rule.description", "rule.category", "rule.ruleset", "rule.version", "rule.reference",
        "source.ip", "source.port", "source.mac", "destination.ip", "destination.port", "destination.mac",
        "client.ip", "client.port", "client.mac", "server.ip", "server.port", "server.mac",
        "network.transport", "network.protocol", "network.community_id",
        "observer.name", "observer.hostname", "observer.ip", "observer.version", "observer.type", "observer.vendor",
        "observer.product", "observer.ingress.interface.name", "agent.id", "agent.name", "agent.type", "agent.version",
        "log.file.path", "device.id", "host.ip", "host.mac", "user.name",
        "threat.framework", "threat.technique.id", "threat.technique.name", "threat.technique.reference",
        "threat.technique.subtechnique.id", "threat.technique.subtechnique.name", "threat.technique.subtechnique.reference",
        "threat.tactic.id", "threat.tactic.name", "threat.tactic.reference",
        "related.ip", "related.user", "flow.id", "secmon.event_count",
    };

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
}
