using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SecMon.Core;
using SecMon.Findings.Store;
using HttpMethod = Elastic.Transport.HttpMethod;

namespace SecMon.Findings.Elasticsearch;

/// <summary>
/// Reads findings from the Elasticsearch data stream (when the configuration says <c>store: elasticsearch</c>) with
/// the same <see cref="FindingQuery"/> as the SQLite store: a <c>bool</c> filter of term and range conditions, the
/// free text as <c>simple_query_string</c> (words all of which must occur, <c>"phrases"</c>, <c>prefix*</c>,
/// <c>-exclusions</c>) over the same fields, newest first by <c>@timestamp</c> then <c>event.id</c>, paged by
/// <c>search_after</c> (the cursor holds the last hit's sort values, so findings indexed while paging never shift a
/// page). Statistics are aggregations grouped by rule, severity and device, folded as the SQLite store folds them.
/// </summary>
/// <remarks>Elasticsearch's <c>date</c> type keeps milliseconds: findings within one millisecond are ordered by
/// <c>event.id</c> (the SQLite store orders them by a hash of it), and time bounds act at millisecond precision.</remarks>
public sealed class ElasticsearchFindingReader : IFindingReader
{
    /// <summary>Most buckets asked for at each level of the statistics' grouping.</summary>
    public const int MaxStatsBuckets = 10_000;

    private readonly ElasticsearchConnection _connection;
    private readonly string _searchPath;

    /// <summary>Makes the reader (no request is sent yet).</summary>
    public ElasticsearchFindingReader(ElasticsearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _connection = new ElasticsearchConnection(options);
        _searchPath = $"/{options.DataStream}/_search";
        Location = $"data stream {options.DataStream} on {string.Join(", ", options.Nodes.Select(n => n.GetLeftPart(UriPartial.Authority)))}";
    }

    /// <inheritdoc />
    public string Location { get; }

    /// <inheritdoc />
    public FindingPage Search(FindingQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > FindingQuery.MaxLimit)
        {
            throw BadQuery($"the page size must be between 1 and {FindingQuery.MaxLimit} (got {query.Limit})");
        }

        (long Millis, string Id)? after = null;
        if (query.After is { } cursor)
        {
            after = TryParseCursor(cursor, out var a) ? a : throw BadQuery($"'{cursor}' is not a cursor from a previous page (use the value printed after 'next page:')");
        }

        var body = Json(w =>
        {
            w.WriteNumber("size", query.Limit + 1);
            w.WriteBoolean("track_total_hits", false);
            WriteSort(w, ("@timestamp", true), ("event.id", true));
            if (after is { } s)
            {
                w.WriteStartArray("search_after");
                w.WriteNumberValue(s.Millis);
                w.WriteStringValue(s.Id);
                w.WriteEndArray();
            }

            WriteQuery(w, query);
        });
        using var doc = Post(body);
        var items = new List<StoredFinding>();
        (long, string)? lastKey = null;
        foreach (var hit in doc.RootElement.GetProperty("hits").GetProperty("hits").EnumerateArray())
        {
            if (items.Count == query.Limit)
            {
                return new FindingPage(items, ToCursor(lastKey!.Value));
            }

            items.Add(ToStored(hit));
            var sort = hit.GetProperty("sort");
            lastKey = (sort[0].GetInt64(), sort[1].GetString()!);
        }

        return new FindingPage(items, null);
    }

    /// <inheritdoc />
    public StoredFinding? Get(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var body = Json(w =>
        {
            w.WriteNumber("size", 1);
            w.WriteStartObject("query");
            w.WriteStartObject("term");
            w.WriteString("event.id", id);
            w.WriteEndObject();
            w.WriteEndObject();
        });
        using var doc = Post(body);
        var hits = doc.RootElement.GetProperty("hits").GetProperty("hits");
        return hits.GetArrayLength() == 0 ? null : ToStored(hits[0]);
    }

    /// <inheritdoc />
    public IReadOnlyList<StoredFinding> FindByIdPrefix(string prefix, int max = 2)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        var body = Json(w =>
        {
            w.WriteNumber("size", Math.Max(1, max));
            WriteSort(w, ("event.id", false));
            w.WriteStartObject("query");
            w.WriteStartObject("prefix");
            w.WriteString("event.id", prefix);
            w.WriteEndObject();
            w.WriteEndObject();
        });
        using var doc = Post(body);
        return [.. doc.RootElement.GetProperty("hits").GetProperty("hits").EnumerateArray().Select(ToStored)];
    }

    /// <inheritdoc />
    public FindingStats Stats(FindingQuery? filter = null, int maxDevices = 100)
    {
        filter ??= new FindingQuery();
        // Grouped by (rule, severity, device) as the SQLite store groups, then folded the same way.
        var body = Json(w =>
        {
            w.WriteNumber("size", 0);
            w.WriteBoolean("track_total_hits", true);
            WriteQuery(w, filter);
            w.WriteStartObject("aggs");
            w.WriteStartObject("rules");
            Terms(w, "rule.id", null);
            w.WriteStartObject("aggs");
            // The rule's name of its newest finding (a renamed rule shows its new name; on equal times the greater
            // name), as the SQLite store shows it.
            w.WriteStartObject("name");
            w.WriteStartObject("terms");
            w.WriteString("field", "rule.name");
            w.WriteNumber("size", 1);
            w.WriteStartArray("order");
            w.WriteStartObject();
            w.WriteString("latest", "desc");
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("_key", "desc");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("aggs");
            w.WriteStartObject("latest");
            w.WriteStartObject("max");
            w.WriteString("field", "@timestamp");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("severities");
            Terms(w, "event.severity", null);
            w.WriteStartObject("aggs");
            w.WriteStartObject("devices");
            Terms(w, "device.id", "");
            w.WriteStartObject("aggs");
            w.WriteStartObject("last");
            w.WriteStartObject("max");
            w.WriteString("field", "@timestamp");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });
        using var doc = Post(body);

        var fold = new FindingStatsFold();
        foreach (var rule in Buckets(doc.RootElement.GetProperty("aggregations"), "rules"))
        {
            var ruleId = KeyText(rule);
            var ruleName = Buckets(rule, "name").Select(KeyText).FirstOrDefault() ?? ruleId;
            foreach (var sev in Buckets(rule, "severities"))
            {
                var severity = (int)sev.GetProperty("key").GetDouble();
                foreach (var dev in Buckets(sev, "devices"))
                {
                    var device = KeyText(dev);
                    var count = dev.GetProperty("doc_count").GetInt64();
                    var last = dev.GetProperty("last").GetProperty("value") is { ValueKind: JsonValueKind.Number } v ? (long)v.GetDouble() * 1000 : 0;
                    fold.Add(ruleId, ruleName, severity, device, count, last);
                }
            }
        }

        return fold.Build(maxDevices);
    }

    /// <inheritdoc />
    public void Dispose() => _connection.Dispose();

    private static List<JsonElement> Buckets(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var agg) && agg.TryGetProperty("buckets", out var b) ? [.. b.EnumerateArray()] : [];

    private static string KeyText(JsonElement bucket) =>
        bucket.GetProperty("key") is { ValueKind: JsonValueKind.String } s ? s.GetString()! : bucket.GetProperty("key").GetRawText();

    private static void Terms(Utf8JsonWriter w, string field, string? missing)
    {
        w.WriteStartObject("terms");
        w.WriteString("field", field);
        w.WriteNumber("size", MaxStatsBuckets);
        if (missing is not null)
        {
            w.WriteString("missing", missing);
        }

        w.WriteEndObject();
    }

    private static void WriteSort(Utf8JsonWriter w, params (string Field, bool Descending)[] keys)
    {
        w.WriteStartArray("sort");
        foreach (var (field, descending) in keys)
        {
            w.WriteStartObject();
            w.WriteStartObject(field);
            w.WriteString("order", descending ? "desc" : "asc");
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    // The filters of a query, as the SQLite store applies them (validated the same way, with the same messages).
    private void WriteQuery(Utf8JsonWriter w, FindingQuery q)
    {
        w.WriteStartObject("query");
        w.WriteStartObject("bool");
        w.WriteStartArray("filter");
        if (!string.IsNullOrWhiteSpace(q.Text))
        {
            if (!FullTextQuery.TryTranslate(q.Text, out _, out var error))
            {
                throw BadQuery(error);
            }

            w.WriteStartObject();
            w.WriteStartObject("simple_query_string");
            w.WriteString("query", q.Text);
            // One analysed field the searched fields are copied to (IndexTemplate.IsSearched): words as the SQLite
            // store's full-text index has them.
            w.WriteStartArray("fields");
            w.WriteStringValue(IndexTemplate.SearchTextField);
            w.WriteEndArray();
            w.WriteString("default_operator", "and");
            w.WriteBoolean("lenient", true);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        if (!string.IsNullOrEmpty(q.RuleId))
        {
            Term(w, "rule.id", q.RuleId);
        }

        if (!string.IsNullOrEmpty(q.DeviceId))
        {
            Term(w, "device.id", FindingStore.NormalizeDeviceId(q.DeviceId));
        }

        if (!string.IsNullOrEmpty(q.SourceIp))
        {
            if (!FindingStore.TryParseIp(q.SourceIp, out var ip))
            {
                throw BadQuery($"'{q.SourceIp}' is not an IP address");
            }

            Term(w, "source.ip", ip.ToString());
        }

        if (!string.IsNullOrEmpty(q.Sensor))
        {
            Term(w, "observer.name", q.Sensor);
        }

        if (q.MinSeverity is { } severity)
        {
            Range(w, "event.severity", w2 => w2.WriteNumber("gte", severity));
        }

        if (q.SinceMicros is not null || q.UntilMicros is not null)
        {
            Range(w, "@timestamp", w2 =>
            {
                if (q.SinceMicros is { } since)
                {
                    w2.WriteString("gte", Time.FormatMicros(since));
                }

                if (q.UntilMicros is { } until)
                {
                    w2.WriteString("lte", Time.FormatMicros(until));
                }

                w2.WriteString("format", "strict_date_optional_time");
            });
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Term(Utf8JsonWriter w, string field, string value)
    {
        w.WriteStartObject();
        w.WriteStartObject("term");
        w.WriteString(field, value);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Range(Utf8JsonWriter w, string field, Action<Utf8JsonWriter> bounds)
    {
        w.WriteStartObject();
        w.WriteStartObject("range");
        w.WriteStartObject(field);
        bounds(w);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private JsonDocument Post(byte[] body)
    {
        var response = _connection.Send(HttpMethod.POST, _searchPath, body, CancellationToken.None);
        if (response.Status == 400)
        {
            throw BadQuery("Elasticsearch refused the search: " + response.Describe());
        }

        if (!response.Ok)
        {
            var kind = response.Status == 404 ? StoreErrorKind.Missing : StoreErrorKind.Io;
            var hint = response.Status switch
            {
                0 => "; check outputs.elasticsearch.nodes and that the cluster is up",
                401 or 403 => "; check the credentials (the user needs read on the data stream)",
                404 => "; no sensor has written findings there yet",
                _ => "",
            };
            throw new FindingStoreException(new StoreError(kind, Location, $"cannot search {Location}: {response.Describe()}{hint}"));
        }

        try
        {
            return JsonDocument.Parse(response.Body);
        }
        catch (JsonException ex)
        {
            throw new FindingStoreException(new StoreError(StoreErrorKind.Io, Location, $"cannot read the answer of {Location}: {ex.Message}"), ex);
        }
    }

    private static StoredFinding ToStored(JsonElement hit)
    {
        var source = hit.GetProperty("_source");
        string? Str(params string[] path)
        {
            var e = source;
            foreach (var p in path)
            {
                if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(p, out e))
                {
                    return null;
                }
            }

            return e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        }

        var timestamp = Str("@timestamp");
        var micros = timestamp is not null && DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts)
            ? Time.ToUnixMicros(ts) : 0;
        var severity = source.TryGetProperty("event", out var ev) && ev.TryGetProperty("severity", out var s) && s.TryGetInt32(out var sv) ? sv : 0;
        return new StoredFinding
        {
            Id = Str("event", "id") ?? hit.GetProperty("_id").GetString()!,
            TimestampMicros = micros,
            Severity = severity,
            RuleId = Str("rule", "id") ?? "",
            RuleName = Str("rule", "name") ?? "",
            DeviceId = Str("device", "id"),
            SourceIp = Str("source", "ip"),
            Json = source.GetRawText(),
        };
    }

    private static string ToCursor((long Millis, string Id) key) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{key.Millis}:{key.Id}")))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryParseCursor(string cursor, out (long Millis, string Id) key)
    {
        key = default;
        var b64 = cursor.Replace('-', '+').Replace('_', '/');
        b64 += new string('=', (4 - (b64.Length % 4)) % 4);
        var bytes = new byte[b64.Length];
        if (!Convert.TryFromBase64String(b64, bytes, out var n))
        {
            return false;
        }

        var text = Encoding.UTF8.GetString(bytes, 0, n);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !long.TryParse(text.AsSpan(0, colon), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var millis) || colon == text.Length - 1)
        {
            return false;
        }

        key = (millis, text[(colon + 1)..]);
        return true;
    }

    private FindingStoreException BadQuery(string message) => new(new StoreError(StoreErrorKind.BadQuery, Location, message));

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
}
