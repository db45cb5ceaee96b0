using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SecMon.Testing.FakeElasticsearch;

/// <summary>A stored document: its id, backing index, source and its leaf values by dotted name.</summary>
public sealed class FakeDocument
{
    private Dictionary<string, List<JsonElement>>? _fields;

    /// <summary>Makes a document from its source (kept parsed).</summary>
    public FakeDocument(string id, string index, JsonDocument source)
    {
        Id = id;
        Index = index;
        Source = source;
    }

    /// <summary><c>_id</c>.</summary>
    public string Id { get; }

    /// <summary>The backing index.</summary>
    public string Index { get; }

    /// <summary>The source as sent.</summary>
    public JsonDocument Source { get; }

    /// <summary>The values of a dotted field (arrays expanded); empty when absent.</summary>
    public IReadOnlyList<JsonElement> Values(string field)
    {
        if (_fields is null)
        {
            _fields = new Dictionary<string, List<JsonElement>>(StringComparer.Ordinal);
            Flatten(Source.RootElement, "");
        }

        if (field == "_id")
        {
            return [JsonDocument.Parse(JsonSerializer.Serialize(Id)).RootElement];
        }

        return _fields.TryGetValue(field, out var v) ? v : [];
    }

    private void Flatten(JsonElement e, string prefix)
    {
        foreach (var p in e.EnumerateObject())
        {
            var name = prefix + p.Name;
            if (p.Value.ValueKind == JsonValueKind.Object)
            {
                Flatten(p.Value, name + ".");
                continue;
            }

            var list = _fields!.TryGetValue(name, out var l) ? l : _fields[name] = [];
            if (p.Value.ValueKind == JsonValueKind.Array)
            {
                list.AddRange(p.Value.EnumerateArray().Where(x => x.ValueKind != JsonValueKind.Null));
            }
            else if (p.Value.ValueKind != JsonValueKind.Null)
            {
                list.Add(p.Value);
            }
        }
    }
}

/// <summary>
/// Executes the query DSL shapes SecMon sends (and a few neighbours) over stored documents, with Elasticsearch's
/// semantics per field type: <c>bool</c> (filter, must, must_not, should), <c>term</c>, <c>terms</c>, <c>range</c>,
/// <c>prefix</c>, <c>ids</c>, <c>exists</c>, <c>match_all</c>, <c>simple_query_string</c>; <c>sort</c> with
/// <c>search_after</c>; aggregations <c>terms</c>, <c>max</c>, <c>min</c>, <c>cardinality</c>, <c>range</c>. A shape
/// it does not know is an error (400), never silently "match everything".
/// </summary>
public static class FakeQuery
{
    /// <summary>A query or aggregation the fake does not implement, or a malformed one (answered 400).</summary>
    public sealed class QueryException(string type, string reason) : Exception(reason)
    {
        /// <summary>Elasticsearch's error type.</summary>
        public string Type { get; } = type;
    }

    /// <summary>Runs <c>_search</c> with <paramref name="body"/> over <paramref name="docs"/>; returns the response.</summary>
    public static JsonObject Search(JsonObject body, IReadOnlyList<FakeDocument> docs, FakeMappings mappings)
    {
        var size = body["size"]?.GetValue<int>() ?? 10;
        var from = body["from"]?.GetValue<int>() ?? 0;
        var query = body["query"];
        var matched = docs.Where(d => query is null || Matches(query, d, mappings)).ToList();

        var sort = ReadSort(body["sort"]);
        var keyed = matched.Select(d => (Doc: d, Key: sort.Select(s => SortValue(d, s, mappings)).ToArray())).ToList();
        keyed.Sort((a, b) => CompareKeys(a.Key, b.Key, sort));
        IEnumerable<(FakeDocument Doc, object?[] Key)> page = keyed;
        if (body["search_after"] is JsonArray after)
        {
            if (after.Count != sort.Count)
            {
                throw new QueryException("illegal_argument_exception", $"search_after has {after.Count} value(s) but sort has {sort.Count}");
            }

            var afterKey = sort.Select((s, i) => FromJson(after[i], s, mappings)).ToArray();
            page = page.Where(k => CompareKeys(k.Key, afterKey, sort) > 0);
        }

        var hits = new JsonArray();
        foreach (var (doc, key) in page.Skip(from).Take(size))
        {
            var hit = new JsonObject
            {
                ["_index"] = doc.Index,
                ["_id"] = doc.Id,
                ["_score"] = null,
                ["_source"] = JsonNode.Parse(doc.Source.RootElement.GetRawText()),
            };
            if (sort.Count > 0)
            {
                hit["sort"] = new JsonArray([.. key.Select(ToJson)]);
            }

            hits.Add(hit);
        }

        var response = new JsonObject
        {
            ["took"] = 1,
            ["timed_out"] = false,
            ["_shards"] = new JsonObject { ["total"] = 1, ["successful"] = 1, ["skipped"] = 0, ["failed"] = 0 },
            ["hits"] = new JsonObject
            {
                ["total"] = new JsonObject { ["value"] = matched.Count, ["relation"] = "eq" },
                ["max_score"] = null,
                ["hits"] = hits,
            },
        };
        if ((body["aggs"] ?? body["aggregations"]) is JsonObject aggs)
        {
            response["aggregations"] = Aggregate(aggs, matched, mappings);
        }

        return response;
    }

    /// <summary>Whether <paramref name="doc"/> matches <paramref name="query"/>.</summary>
    public static bool Matches(JsonNode query, FakeDocument doc, FakeMappings mappings)
    {
        if (query is not JsonObject { Count: 1 } q)
        {
            throw new QueryException("parsing_exception", "a query is an object with one key");
        }

        var (kind, arg) = q.First();
        switch (kind)
        {
            case "match_all":
                return true;
            case "bool":
                var b = arg!.AsObject();
                foreach (var key in b.Select(p => p.Key))
                {
                    if (key is not ("filter" or "must" or "must_not" or "should" or "minimum_should_match"))
                    {
                        throw new QueryException("parsing_exception", $"[bool] query does not support [{key}]");
                    }
                }

                var should = Clauses(b["should"]);
                var mustCount = Clauses(b["must"]).Count + Clauses(b["filter"]).Count;
                var minShould = b["minimum_should_match"]?.GetValue<int>() ?? (should.Count > 0 && mustCount == 0 ? 1 : 0);
                return Clauses(b["filter"]).All(c => Matches(c, doc, mappings))
                    && Clauses(b["must"]).All(c => Matches(c, doc, mappings))
                    && !Clauses(b["must_not"]).Any(c => Matches(c, doc, mappings))
                    && should.Count(c => Matches(c, doc, mappings)) >= minShould;
            case "term":
            {
                var (field, value) = FieldArg(arg!, "value");
                return doc.Values(field).Any(v => Equal(TypeOf(mappings, field), v, value));
            }

            case "terms":
            {
                var (field, values) = arg!.AsObject().First();
                var list = values!.AsArray();
                return doc.Values(field).Any(v => list.Any(x => Equal(TypeOf(mappings, field), v, x!)));
            }

            case "prefix":
            {
                var (field, value) = FieldArg(arg!, "value");
                var p = value.GetValue<string>();
                return doc.Values(field).Any(v => v.ValueKind == JsonValueKind.String && v.GetString()!.StartsWith(p, StringComparison.Ordinal));
            }

            case "ids":
                var ids = arg!["values"]!.AsArray().Select(x => x!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
                return ids.Contains(doc.Id);
            case "exists":
                return doc.Values(arg!["field"]!.GetValue<string>()).Count > 0;
            case "range":
            {
                var (field, bounds) = arg!.AsObject().First();
                var type = TypeOf(mappings, field);
                return doc.Values(field).Any(v => InRange(type, v, bounds!.AsObject()));
            }

            case "simple_query_string":
                return SimpleQueryString(arg!.AsObject(), doc, mappings);
            default:
                throw new QueryException("parsing_exception", $"unknown query [{kind}] (the fake Elasticsearch does not implement it)");
        }
    }

    private static List<JsonNode> Clauses(JsonNode? node) => node switch
    {
        null => [],
        JsonArray a => [.. a.Select(x => x!)],
        _ => [node],
    };

    private static (string Field, JsonNode Value) FieldArg(JsonNode arg, string valueKey)
    {
        var (field, v) = arg.AsObject().First();
        return (field, v is JsonObject o && o[valueKey] is { } inner ? inner : v!);
    }

    private static string TypeOf(FakeMappings mappings, string field) =>
        field == "_id" ? "keyword" : mappings.Types.TryGetValue(field, out var t) ? t : "keyword";

    private static bool Equal(string type, JsonElement stored, JsonNode wanted)
    {
        switch (type)
        {
            case "long" or "integer" or "short" or "byte" or "float" or "double":
                return Number(stored) is { } a && Number(wanted) is { } b && a == b;
            case "ip":
                return IPAddress.TryParse(Text(stored), out var x) && IPAddress.TryParse(Text(wanted), out var y) && x.Equals(y);
            case "boolean":
                return string.Equals(Text(stored), Text(wanted), StringComparison.Ordinal);
            case "date" or "date_nanos":
                return DateMillis(stored) is { } d1 && DateMillis(wanted) is { } d2 && d1 == d2;
            case "text" or "match_only_text":
                var token = Text(wanted).ToLowerInvariant();
                return Tokens(Text(stored)).Contains(token);
            default:
                return string.Equals(Text(stored), Text(wanted), StringComparison.Ordinal);
        }
    }

    private static bool InRange(string type, JsonElement v, JsonObject bounds)
    {
        double? value = type is "date" or "date_nanos" ? DateMillis(v) : Number(v);
        if (value is null)
        {
            return false;
        }

        foreach (var (op, b) in bounds)
        {
            if (op is "format" or "time_zone" or "boost")
            {
                continue;
            }

            double? bound = type is "date" or "date_nanos" ? DateMillis(b!) : Number(b!);
            if (bound is null)
            {
                throw new QueryException("parse_exception", $"failed to parse range bound [{b}]");
            }

            var ok = op switch
            {
                "gte" => value >= bound,
                "gt" => value > bound,
                "lte" => value <= bound,
                "lt" => value < bound,
                _ => throw new QueryException("parsing_exception", $"[range] query does not support [{op}]"),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    // simple_query_string: terms (AND with default_operator and), "phrases", prefix*, -exclusions, over the listed fields.
    private static bool SimpleQueryString(JsonObject arg, FakeDocument doc, FakeMappings mappings)
    {
        var text = arg["query"]!.GetValue<string>();
        var fields = arg["fields"] is JsonArray fa ? fa.Select(f => f!.GetValue<string>().Split('^')[0]).ToArray() : ["*"];
        var and = string.Equals(arg["default_operator"]?.GetValue<string>(), "and", StringComparison.OrdinalIgnoreCase);
        var lenient = arg["lenient"]?.GetValue<bool>() ?? false;
        var results = new List<(bool Negated, bool Match)>();
        foreach (var (term, phrase, prefix, negated) in ParseSimple(text))
        {
            var match = fields.Any(f => FieldMatches(f, term, phrase, prefix, doc, mappings, lenient));
            results.Add((negated, match));
        }

        var positive = results.Where(r => !r.Negated).ToList();
        if (results.Any(r => r.Negated && r.Match))
        {
            return false;
        }

        return positive.Count == 0 ? results.Count > 0 : and ? positive.All(r => r.Match) : positive.Any(r => r.Match);
    }

    private static bool FieldMatches(string field, string term, bool phrase, bool prefix, FakeDocument doc, FakeMappings mappings, bool lenient)
    {
        var type = TypeOf(mappings, field);
        // A copy_to target holds the values of the fields copied into it (each analysed by the target's type).
        var values = mappings.CopiedFrom.TryGetValue(field, out var sources)
            ? [.. doc.Values(field), .. sources.SelectMany(doc.Values)]
            : doc.Values(field);
        foreach (var v in values)
        {
            switch (type)
            {
                case "text" or "match_only_text":
                    var have = Tokens(Text(v));
                    var want = Tokens(term);
                    if (want.Count == 0)
                    {
                        continue;
                    }

                    if (prefix)
                    {
                        var head = want[..^1];
                        if (ContainsSequence(have, head, want[^1], prefixLast: true))
                        {
                            return true;
                        }
                    }
                    else if (phrase ? ContainsSequence(have, want[..^1], want[^1], prefixLast: false) : want.All(have.Contains))
                    {
                        return true;
                    }

                    break;
                case "ip":
                    if (IPAddress.TryParse(term, out var ip) && IPAddress.TryParse(Text(v), out var stored) && ip.Equals(stored))
                    {
                        return true;
                    }

                    if (!lenient && !IPAddress.TryParse(term, out _))
                    {
                        throw new QueryException("query_shard_exception", $"failed to create query: '{term}' is not an IP string literal.");
                    }

                    break;
                case "long" or "integer" or "float" or "double":
                    if (double.TryParse(term, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && Number(v) == n)
                    {
                        return true;
                    }

                    break;
                default:
                    if (prefix ? Text(v).StartsWith(term, StringComparison.Ordinal) : string.Equals(Text(v), term, StringComparison.Ordinal))
                    {
                        return true;
                    }

                    break;
            }
        }

        return false;
    }

    private static bool ContainsSequence(List<string> have, List<string> head, string last, bool prefixLast)
    {
        for (var i = 0; i + head.Count < have.Count; i++)
        {
            var ok = true;
            for (var j = 0; j < head.Count && ok; j++)
            {
                ok = have[i + j] == head[j];
            }

            var l = have[i + head.Count];
            if (ok && (prefixLast ? l.StartsWith(last, StringComparison.Ordinal) : l == last))
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<(string Term, bool Phrase, bool Prefix, bool Negated)> ParseSimple(string text)
    {
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (char.IsWhiteSpace(text[i]) || text[i] == '+'))
            {
                i++;
            }

            if (i >= text.Length)
            {
                yield break;
            }

            var negated = false;
            if (text[i] == '-')
            {
                negated = true;
                i++;
            }

            if (i < text.Length && text[i] == '"')
            {
                var end = text.IndexOf('"', i + 1);
                end = end < 0 ? text.Length : end;
                yield return (text[(i + 1)..end], true, false, negated);
                i = end + 1;
                continue;
            }

            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var word = text[start..i];
            var prefix = word.EndsWith('*');
            yield return (prefix ? word[..^1] : word, false, prefix, negated);
        }
    }

    /// <summary>The standard analyzer, near enough: lowercase, words of letters and digits ('.' and '_' inside a word
    /// keep it whole, as UAX #29 keeps <c>10.0.0.17</c>).</summary>
    public static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        var sb = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var inner = (c is '.' or '_' or '\'') && sb.Length > 0 && i + 1 < text.Length && char.IsLetterOrDigit(text[i + 1]);
            if (char.IsLetterOrDigit(c) || inner)
            {
                sb.Append(char.ToLowerInvariant(c));
            }
            else if (sb.Length > 0)
            {
                tokens.Add(sb.ToString());
                sb.Clear();
            }
        }

        if (sb.Length > 0)
        {
            tokens.Add(sb.ToString());
        }

        return tokens;
    }

    private sealed record SortSpec(string Field, bool Descending);

    private static List<SortSpec> ReadSort(JsonNode? sort)
    {
        var list = new List<SortSpec>();
        foreach (var s in Clauses(sort))
        {
            switch (s)
            {
                case JsonValue v:
                    list.Add(new SortSpec(v.GetValue<string>(), false));
                    break;
                case JsonObject o:
                    var (field, spec) = o.First();
                    var order = spec is JsonValue sv ? sv.GetValue<string>() : spec?["order"]?.GetValue<string>() ?? "asc";
                    list.Add(new SortSpec(field, order == "desc"));
                    break;
                default:
                    throw new QueryException("parsing_exception", "malformed sort");
            }
        }

        return list;
    }

    // A sort key: number (long/date millis/double) or string; multi-valued fields sort by min (asc) or max (desc).
    private static object? SortValue(FakeDocument doc, SortSpec s, FakeMappings mappings)
    {
        var type = TypeOf(mappings, s.Field);
        var values = doc.Values(s.Field);
        if (values.Count == 0)
        {
            return null;
        }

        IEnumerable<object> keys = type switch
        {
            "date" or "date_nanos" => values.Select(v => (object)(long)(DateMillis(v) ?? 0)),
            "long" or "integer" or "short" or "byte" => values.Select(v => (object)(long)(Number(v) ?? 0)),
            "float" or "double" => values.Select(v => (object)(Number(v) ?? 0)),
            "text" or "match_only_text" => throw new QueryException("illegal_argument_exception", $"Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. [{s.Field}]"),
            _ => values.Select(v => (object)Text(v)),
        };
        var ordered = keys.Order(Comparer<object>.Create(CompareValue)).ToList();
        return s.Descending ? ordered[^1] : ordered[0];
    }

    private static object? FromJson(JsonNode? node, SortSpec s, FakeMappings mappings)
    {
        if (node is null)
        {
            return null;
        }

        var type = TypeOf(mappings, s.Field);
        return type switch
        {
            "date" or "date_nanos" or "long" or "integer" or "short" or "byte" => (object)(long)(Number(node) ?? throw new QueryException("illegal_argument_exception", $"search_after value [{node}] is not a number")),
            "float" or "double" => Number(node) ?? 0,
            _ => Text(node),
        };
    }

    private static JsonNode? ToJson(object? key) => key switch
    {
        null => null,
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        string s => JsonValue.Create(s),
        _ => JsonValue.Create(key.ToString()),
    };

    private static int CompareKeys(object?[] a, object?[] b, List<SortSpec> sort)
    {
        for (var i = 0; i < sort.Count; i++)
        {
            // Missing values sort last in either order (Elasticsearch's default "missing": "_last").
            int c;
            if (a[i] is null || b[i] is null)
            {
                c = a[i] is null ? (b[i] is null ? 0 : 1) : -1;
            }
            else
            {
                c = CompareValue(a[i]!, b[i]!);
                c = sort[i].Descending ? -c : c;
            }

            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }

    private static int CompareValue(object a, object b) => (a, b) switch
    {
        (long x, long y) => x.CompareTo(y),
        (double x, double y) => x.CompareTo(y),
        (long x, double y) => ((double)x).CompareTo(y),
        (double x, long y) => x.CompareTo(y),
        (string x, string y) => string.CompareOrdinal(x, y),
        _ => string.CompareOrdinal(a.ToString(), b.ToString()),
    };

    private static double? MetricValue(JsonObject subResults, string name) =>
        subResults[name]?["value"] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    private static JsonObject Aggregate(JsonObject aggs, List<FakeDocument> docs, FakeMappings mappings)
    {
        var result = new JsonObject();
        foreach (var (name, spec) in aggs)
        {
            var o = spec!.AsObject();
            var sub = (o["aggs"] ?? o["aggregations"]) as JsonObject;
            var kind = o.Select(p => p.Key).First(k => k is not ("aggs" or "aggregations" or "meta"));
            var arg = o[kind]!.AsObject();
            var field = arg["field"]?.GetValue<string>() ?? throw new QueryException("illegal_argument_exception", $"aggregation [{name}] needs a field");
            var type = TypeOf(mappings, field);
            if (type is "text" or "match_only_text")
            {
                throw new QueryException("illegal_argument_exception", $"Text fields are not optimised for operations that require per-document field data like aggregations and sorting [{field}]");
            }

            switch (kind)
            {
                case "terms":
                {
                    var size = arg["size"]?.GetValue<int>() ?? 10;
                    var missing = arg["missing"];
                    var groups = new Dictionary<string, (JsonNode Key, List<FakeDocument> Docs)>(StringComparer.Ordinal);
                    foreach (var d in docs)
                    {
                        var values = d.Values(field);
                        var keys = values.Count > 0 ? values.Select(v => KeyOf(type, v)).Distinct(JsonNodeComparer.Instance).ToList()
                            : missing is not null ? [missing.DeepClone()] : [];
                        foreach (var k in keys)
                        {
                            var text = k!.ToJsonString();
                            if (!groups.TryGetValue(text, out var g))
                            {
                                groups[text] = g = (k, []);
                            }

                            g.Docs.Add(d);
                        }
                    }

                    var byKey = Comparer<JsonNode>.Create((a, b) => a is JsonValue va && vb(b) is { } bv && va.TryGetValue<long>(out var la) && bv.TryGetValue<long>(out var lb)
                        ? la.CompareTo(lb) : string.CompareOrdinal(a.ToJsonString(), b.ToJsonString()));
                    static JsonValue? vb(JsonNode n) => n as JsonValue;
                    // "order": one criterion or an array of them, each _key, _count or the name of a single-value metric
                    // sub-aggregation (its value); ties end on the key ascending. Default: _count desc.
                    var criteria = arg["order"] switch
                    {
                        JsonObject one => [one],
                        JsonArray many => [.. many.Select(n => n!.AsObject())],
                        _ => new List<JsonObject> { new() { ["_count"] = "desc" } },
                    };
                    var subResults = groups.Values.ToDictionary(g => g.Key.ToJsonString(), g => sub is null ? new JsonObject() : Aggregate(sub, g.Docs, mappings), StringComparer.Ordinal);
                    foreach (var c in criteria)
                    {
                        var path = c.Single().Key;
                        if (path is not ("_key" or "_count") && sub?[path] is null)
                        {
                            throw new QueryException("aggregation_execution_exception", $"Invalid aggregator order path [{path}]. The provided aggregation [{path}] either does not exist, or is a pipeline aggregation and cannot be used to sort the buckets.");
                        }
                    }

                    int Compare((JsonNode Key, List<FakeDocument> Docs) a, (JsonNode Key, List<FakeDocument> Docs) b)
                    {
                        foreach (var c in criteria)
                        {
                            var (path, direction) = c.Single();
                            var r = path switch
                            {
                                "_key" => byKey.Compare(a.Key, b.Key),
                                "_count" => a.Docs.Count.CompareTo(b.Docs.Count),
                                _ => Nullable.Compare(MetricValue(subResults[a.Key.ToJsonString()], path), MetricValue(subResults[b.Key.ToJsonString()], path)),
                            };
                            r = direction!.GetValue<string>() == "desc" ? -r : r;
                            if (r != 0)
                            {
                                return r;
                            }
                        }

                        return byKey.Compare(a.Key, b.Key);
                    }

                    var ordered = groups.Values.ToList();
                    ordered.Sort(Compare);
                    var buckets = new JsonArray();
                    foreach (var g in ordered.Take(size))
                    {
                        var bucket = new JsonObject { ["key"] = g.Key.DeepClone(), ["doc_count"] = g.Docs.Count };
                        foreach (var (k, v) in subResults[g.Key.ToJsonString()])
                        {
                            bucket[k] = v!.DeepClone();
                        }

                        buckets.Add(bucket);
                    }

                    result[name] = new JsonObject
                    {
                        ["doc_count_error_upper_bound"] = 0,
                        ["sum_other_doc_count"] = ordered.Skip(size).Sum(g => g.Docs.Count),
                        ["buckets"] = buckets,
                    };
                    break;
                }

                case "max" or "min":
                {
                    var numbers = docs.SelectMany(d => d.Values(field)).Select(v => type is "date" or "date_nanos" ? DateMillis(v) : Number(v)).Where(x => x is not null).Select(x => x!.Value).ToList();
                    var r = new JsonObject { ["value"] = numbers.Count == 0 ? null : kind == "max" ? numbers.Max() : numbers.Min() };
                    if (numbers.Count > 0 && type is "date" or "date_nanos")
                    {
                        r["value_as_string"] = DateTimeOffset.FromUnixTimeMilliseconds((long)r["value"]!.GetValue<double>()).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
                    }

                    result[name] = r;
                    break;
                }

                case "cardinality":
                    result[name] = new JsonObject
                    {
                        ["value"] = docs.SelectMany(d => d.Values(field)).Select(v => KeyOf(type, v)!.ToJsonString()).Distinct(StringComparer.Ordinal).Count(),
                    };
                    break;
                case "range":
                {
                    var buckets = new JsonArray();
                    foreach (var r in arg["ranges"]!.AsArray())
                    {
                        var lo = r!["from"] is { } f ? Number(f) : null;
                        var hi = r["to"] is { } t ? Number(t) : null;
                        var inRange = docs.Where(d => d.Values(field).Any(v => Number(v) is { } x && (lo is null || x >= lo) && (hi is null || x < hi))).ToList();
                        var key = r["key"]?.GetValue<string>() ?? $"{(lo is null ? "*" : lo.Value.ToString("0.0", CultureInfo.InvariantCulture))}-{(hi is null ? "*" : hi.Value.ToString("0.0", CultureInfo.InvariantCulture))}";
                        var bucket = new JsonObject { ["key"] = key, ["doc_count"] = inRange.Count };
                        if (lo is not null)
                        {
                            bucket["from"] = lo;
                        }

                        if (hi is not null)
                        {
                            bucket["to"] = hi;
                        }

                        buckets.Add(bucket);
                    }

                    result[name] = new JsonObject { ["buckets"] = buckets };
                    break;
                }

                default:
                    throw new QueryException("parsing_exception", $"unknown aggregation type [{kind}] (the fake Elasticsearch does not implement it)");
            }
        }

        return result;
    }

    private static JsonValue KeyOf(string type, JsonElement v) => type switch
    {
        "long" or "integer" or "short" or "byte" => JsonValue.Create((long)(Number(v) ?? 0)),
        "float" or "double" => JsonValue.Create(Number(v) ?? 0),
        "date" or "date_nanos" => JsonValue.Create((long)(DateMillis(v) ?? 0)),
        "boolean" => JsonValue.Create(Text(v) == "true" ? 1 : 0),
        _ => JsonValue.Create(Text(v)),
    };

    private sealed class JsonNodeComparer : IEqualityComparer<JsonNode?>
    {
        public static readonly JsonNodeComparer Instance = new();

        public bool Equals(JsonNode? x, JsonNode? y) => x?.ToJsonString() == y?.ToJsonString();

        public int GetHashCode(JsonNode? obj) => obj?.ToJsonString().GetHashCode(StringComparison.Ordinal) ?? 0;
    }

    private static string Text(JsonElement e) => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText();

    private static string Text(JsonNode n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n.ToJsonString();

    private static double? Number(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    private static double? Number(JsonNode n) => n is JsonValue v
        ? v.TryGetValue<double>(out var d) ? d
        : v.TryGetValue<long>(out var l) ? l
        : v.TryGetValue<int>(out var i) ? i
        : v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) ? p : null
        : null;

    // A date field keeps milliseconds (type date): finer digits are cut, as Elasticsearch does.
    private static double? DateMillis(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => Math.Floor(e.GetDouble()),
        JsonValueKind.String when TryParseDate(e.GetString()!, out var ms) => ms,
        _ => null,
    };

    private static double? DateMillis(JsonNode n) =>
        n is JsonValue v && v.TryGetValue<string>(out var s) ? (TryParseDate(s, out var ms) ? ms : null) : Number(n) is { } d ? Math.Floor(d) : null;

    /// <summary>Parses an ISO-8601 date (<c>strict_date_optional_time</c>) or epoch milliseconds to milliseconds.</summary>
    public static bool TryParseDate(string text, out long millis)
    {
        millis = 0;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var epoch))
        {
            millis = epoch;
            return true;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var dto))
        {
            return false;
        }

        millis = dto.ToUnixTimeMilliseconds();
        return true;
    }
}
