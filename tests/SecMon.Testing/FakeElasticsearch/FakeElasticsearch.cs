using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecMon.Testing.FakeElasticsearch;

/// <summary>
/// An Elasticsearch stand-in on 127.0.0.1 (a free port) for tests and benchmarks: behaves as the REST API
/// specification documents for what SecMon uses, and checks every request against it
/// (<see cref="Violations"/>). It answers with the <c>X-Elastic-Product: Elasticsearch</c> header the official client
/// looks for; <c>GET /</c> says <see cref="Version"/> (a cluster older than 9 refuses the 9.x client's
/// <c>compatible-with=9</c> media types, as 8.x does); index and component templates, lifecycle policies; data streams
/// (a write to a name creates the data stream only when the highest-priority matching template has
/// <c>data_stream</c>; with <c>require_data_stream=true</c> anything else is refused); <c>_bulk</c> with per-item
/// results (201; 409 for an <c>_id</c> already in the data stream; 400 when a value does not fit the mapping; 429
/// or 503 on demand); and <c>_search</c> executed over the stored documents (<see cref="FakeQuery"/>).
/// </summary>
public sealed class FakeElasticsearch : IAsyncDisposable, IDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private int _conflicts;
    private readonly Dictionary<string, JsonObject> _indexTemplates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _componentTemplates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _policies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeIndex> _indices = new(StringComparer.Ordinal);
    private readonly List<RecordedRequest> _requests = [];
    private readonly Queue<(int Status, string? RetryAfter, string? Api)> _requestFailures = new();
    private int _itemRejections;
    private int _itemRejectionStatus = 429;
    private long _seqNo;

    private FakeElasticsearch(WebApplication app, RestApiSpec spec)
    {
        _app = app;
        Spec = spec;
        // The cluster's own data stream template for logs-*-* (priority 100), as every Elasticsearch 9 has.
        _componentTemplates["logs@mappings"] = JsonNode.Parse("""
            {"template":{"mappings":{"properties":{"@timestamp":{"type":"date"},"data_stream":{"properties":{"type":{"type":"constant_keyword"},"dataset":{"type":"constant_keyword"},"namespace":{"type":"constant_keyword"}}}}}}}
            """)!.AsObject();
        _componentTemplates["ecs@mappings"] = JsonNode.Parse("""{"template":{"mappings":{"dynamic_templates":[]}}}""")!.AsObject();
        _indexTemplates["logs"] = JsonNode.Parse("""
            {"index_patterns":["logs-*-*"],"data_stream":{"hidden":false,"allow_custom_routing":false},"priority":100,"composed_of":["logs@mappings","ecs@mappings"],"_meta":{"managed":true}}
            """)!.AsObject();
    }

    /// <summary>The base URL (<c>http://127.0.0.1:PORT</c>).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The specification requests are checked against.</summary>
    public RestApiSpec Spec { get; }

    /// <summary>The version <c>GET /</c> reports. Default 9.1.5.</summary>
    public string Version { get; set; } = "9.1.5";

    /// <summary>How long a <c>_bulk</c> answer waits after its items were stored (a slow cluster: a client killed
    /// meanwhile has written documents it never saw confirmed). Default none.</summary>
    public TimeSpan BulkDelay { get; set; }

    /// <summary>Bulk items answered 409 (the <c>_id</c> was already there): repeats the client sent.</summary>
    public int Conflicts => Volatile.Read(ref _conflicts);

    /// <summary>Whether documents are kept for <c>_search</c> (a benchmark turns it off: ids are still kept for 409s).</summary>
    public bool KeepDocuments { get; set; } = true;

    /// <summary>When set, requests without <c>Authorization: ApiKey VALUE</c> are refused with 401.</summary>
    public string? RequiredApiKey { get; set; }

    /// <summary>Every request received (method, path, query, the API it is, a contract violation).</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Requests that are not documented by the specification (should be none).</summary>
    public IReadOnlyList<string> Violations => [.. Requests.Where(r => r.Violation is not null).Select(r => r.Violation!)];

    /// <summary>Starts on 127.0.0.1 with a free port; null (with the reason in <paramref name="skipReason"/>) when the
    /// specification is not beside the repository.</summary>
    public static FakeElasticsearch? TryStart(out string? skipReason)
    {
        skipReason = null;
        if (RestApiSpec.Shipped is not { } spec)
        {
            skipReason = RestApiSpec.MissingReason;
            return null;
        }

        return Start(spec);
    }

    /// <summary>Starts on 127.0.0.1 with a free port; over https with <paramref name="certificate"/> (and its key) when
    /// given, as a cluster with security on serves.</summary>
    public static FakeElasticsearch Start(RestApiSpec spec, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
            k.Limits.MaxRequestBodySize = 256L << 20;
        });
        var app = builder.Build();
        var fake = new FakeElasticsearch(app, spec);
        app.Run(fake.HandleAsync);
        app.StartAsync().GetAwaiter().GetResult();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.Url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
        return fake;
    }

    /// <summary>The next <paramref name="count"/> requests (of <paramref name="api"/> only, when given) are answered
    /// with <paramref name="status"/> (429, 503, or 400 as a conflicting template gives) and an Elasticsearch error body,
    /// with <c>Retry-After</c> when given.</summary>
    public void FailNextRequests(int count, int status, string? retryAfter = null, string? api = null)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                _requestFailures.Enqueue((status, retryAfter, api));
            }
        }
    }

    /// <summary>The next <paramref name="count"/> bulk items are refused with <paramref name="status"/> (429:
    /// <c>es_rejected_execution_exception</c>; 400: a <c>document_parsing_exception</c>, as a mapping conflict gives;
    /// others: <c>unavailable_shards_exception</c>).</summary>
    public void RejectNextItems(int count, int status = 429)
    {
        lock (_gate)
        {
            _itemRejections = count;
            _itemRejectionStatus = status;
        }
    }

    /// <summary>The documents of a data stream or index (empty when it does not exist).</summary>
    public IReadOnlyList<FakeDocument> Documents(string name)
    {
        lock (_gate)
        {
            return _indices.TryGetValue(name, out var index) ? [.. index.Docs.Values] : [];
        }
    }

    /// <summary>How many documents a data stream or index holds.</summary>
    public int Count(string name)
    {
        lock (_gate)
        {
            return _indices.TryGetValue(name, out var index) ? index.Ids.Count : 0;
        }
    }

    /// <summary>Whether <paramref name="name"/> is a data stream.</summary>
    public bool IsDataStream(string name)
    {
        lock (_gate)
        {
            return _indices.TryGetValue(name, out var i) && i.IsDataStream;
        }
    }

    /// <summary>The field types of a data stream (explicit and dynamic).</summary>
    public IReadOnlyDictionary<string, string> FieldTypes(string name)
    {
        lock (_gate)
        {
            return _indices.TryGetValue(name, out var i) ? new Dictionary<string, string>(i.Mappings.Types) : new Dictionary<string, string>();
        }
    }

    /// <summary>A stored index template, component template or policy body (null when absent).</summary>
    public JsonObject? IndexTemplate(string name) => Get(_indexTemplates, name);

    /// <summary>A stored component template.</summary>
    public JsonObject? ComponentTemplate(string name) => Get(_componentTemplates, name);

    /// <summary>A stored lifecycle policy.</summary>
    public JsonObject? Policy(string name) => Get(_policies, name);

    private JsonObject? Get(Dictionary<string, JsonObject> from, string name)
    {
        lock (_gate)
        {
            return from.TryGetValue(name, out var v) ? v.DeepClone().AsObject() : null;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers["X-Elastic-Product"] = "Elasticsearch";
        using var buffer = new MemoryStream();
        if (string.Equals(request.Headers.ContentEncoding.ToString(), "gzip", StringComparison.OrdinalIgnoreCase))
        {
            // The client compresses request bodies (EnableHttpCompression); Elasticsearch accepts gzip.
            await using var gzip = new System.IO.Compression.GZipStream(request.Body, System.IO.Compression.CompressionMode.Decompress);
            await gzip.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        }

        var body = buffer.ToArray();
        var query = request.Query.SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string>(q.Key, v ?? ""))).ToList();
        var path = request.Path.Value ?? "/";
        var api = Spec.Check(request.Method, path, query, body.Length > 0, request.ContentType, out var violation);
        lock (_gate)
        {
            _requests.Add(new RecordedRequest(request.Method, path, query, api, violation, request.Headers.Accept.ToString(), request.ContentType));
        }

        var compatible = (request.Headers.Accept.ToString() + " " + request.ContentType).Contains("compatible-with=", StringComparison.Ordinal);
        var (status, json, retryAfter) = Handle(request.Method, path, query, body, api, violation, request, compatible);
        if (api == "bulk" && BulkDelay > TimeSpan.Zero)
        {
            await Task.Delay(BulkDelay, context.RequestAborted).ConfigureAwait(false);
        }

        response.StatusCode = status;
        if (retryAfter is not null)
        {
            response.Headers.RetryAfter = retryAfter;
        }

        if (request.Method == "HEAD")
        {
            return;
        }

        response.ContentType = compatible ? "application/vnd.elasticsearch+json;compatible-with=9" : "application/json";
        await response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }

    private (int Status, byte[] Body, string? RetryAfter) Handle(string method, string path, List<KeyValuePair<string, string>> query, byte[] body,
        string? api, string? violation, HttpRequest request, bool compatible)
    {
        if (violation is not null)
        {
            return Error(400, "illegal_argument_exception", "contract violation (fake Elasticsearch): " + violation);
        }

        if (compatible && int.TryParse(Version.Split('.')[0], out var major) && major < 9)
        {
            // What an 8.x node answers to the 9.x client's media types.
            return Error(400, "media_type_header_exception", "Invalid media-type value on headers [Accept, Content-Type]");
        }

        if (RequiredApiKey is not null && request.Headers.Authorization.ToString() != "ApiKey " + RequiredApiKey)
        {
            return Error(401, "security_exception", "missing authentication credentials for REST request [" + path + "]");
        }

        lock (_gate)
        {
            if (_requestFailures.TryPeek(out var failure) && (failure.Api is null || failure.Api == api))
            {
                _requestFailures.Dequeue();
                var (s, b, _) = failure.Status switch
                {
                    429 => Error(429, "es_rejected_execution_exception", "rejected execution of coordinating operation"),
                    400 => Error(400, "illegal_argument_exception", "index template has index patterns matching patterns from existing templates with the same priority"),
                    _ => Error(failure.Status, "unavailable_shards_exception", "primary shard is not active"),
                };
                return (s, b, failure.RetryAfter);
            }
        }

        var filterPath = query.Where(q => q.Key == "filter_path").Select(q => q.Value).FirstOrDefault();
        var result = Route(method, path, query, body, api);
        if (filterPath is not null && api != "bulk" && result.Status < 300 && JsonNode.Parse(result.Body) is JsonObject o)
        {
            result = (result.Status, Encoding.UTF8.GetBytes(FilterPath(o, filterPath).ToJsonString()), result.RetryAfter);
        }

        return result;
    }

    private (int Status, byte[] Body, string? RetryAfter) Route(string method, string path, List<KeyValuePair<string, string>> query, byte[] body, string? api)
    {
        var parts = path.Trim('/').Split('/');
        try
        {
            switch (api)
            {
                case "ping":
                    return (200, [], null);
                case "info":
                    return Ok(new JsonObject
                    {
                        ["name"] = "fake-node-1",
                        ["cluster_name"] = "fake",
                        ["cluster_uuid"] = "fAkEcLuStErUuId0000000",
                        ["version"] = new JsonObject
                        {
                            ["number"] = Version,
                            ["build_flavor"] = "default",
                            ["build_type"] = "docker",
                            ["lucene_version"] = "10.2.2",
                            ["minimum_wire_compatibility_version"] = "8.19.0",
                            ["minimum_index_compatibility_version"] = "8.0.0",
                        },
                        ["tagline"] = "You Know, for Search",
                    });
                case "ilm.put_lifecycle":
                    lock (_gate)
                    {
                        _policies[parts[2]] = ParseObject(body);
                    }

                    return Ok(new JsonObject { ["acknowledged"] = true });
                case "ilm.get_lifecycle":
                    lock (_gate)
                    {
                        return _policies.TryGetValue(parts[2], out var p)
                            ? Ok(new JsonObject { [parts[2]] = new JsonObject { ["version"] = 1, ["policy"] = p["policy"]!.DeepClone() } })
                            : Error(404, "resource_not_found_exception", $"Lifecycle policy not found: {parts[2]}");
                    }

                case "cluster.put_component_template":
                    lock (_gate)
                    {
                        _componentTemplates[parts[1]] = ParseObject(body);
                    }

                    return Ok(new JsonObject { ["acknowledged"] = true });
                case "indices.put_index_template":
                    return PutIndexTemplate(parts[1], ParseObject(body));
                case "indices.get_index_template":
                    lock (_gate)
                    {
                        return _indexTemplates.TryGetValue(parts[1], out var t)
                            ? Ok(new JsonObject { ["index_templates"] = new JsonArray(new JsonObject { ["name"] = parts[1], ["index_template"] = t.DeepClone() }) })
                            : Error(404, "resource_not_found_exception", $"index template matching [{parts[1]}] not found");
                    }

                case "indices.delete_index_template":
                    lock (_gate)
                    {
                        return _indexTemplates.Remove(parts[1])
                            ? Ok(new JsonObject { ["acknowledged"] = true })
                            : Error(404, "index_template_missing_exception", $"index_template [{parts[1]}] missing");
                    }

                case "indices.get_data_stream":
                    lock (_gate)
                    {
                        var streams = _indices.Values.Where(i => i.IsDataStream && (parts.Length < 2 || i.Name == parts[1]))
                            .Select(i => (JsonNode)new JsonObject { ["name"] = i.Name, ["template"] = i.Template, ["indices"] = new JsonArray(new JsonObject { ["index_name"] = i.BackingIndex }) }).ToArray();
                        return streams.Length == 0 && parts.Length > 1
                            ? Error(404, "index_not_found_exception", $"no such index [{parts[1]}]")
                            : Ok(new JsonObject { ["data_streams"] = new JsonArray(streams) });
                    }

                case "indices.delete_data_stream":
                    lock (_gate)
                    {
                        return _indices.Remove(parts[1])
                            ? Ok(new JsonObject { ["acknowledged"] = true })
                            : Error(404, "index_not_found_exception", $"no such index [{parts[1]}]");
                    }

                case "indices.refresh":
                    return Ok(new JsonObject { ["_shards"] = new JsonObject { ["total"] = 1, ["successful"] = 1, ["failed"] = 0 } });
                case "bulk":
                    return Bulk(parts.Length == 2 ? parts[0] : null, query, body);
                case "search":
                    return Search(parts.Length == 2 ? parts[0] : null, body);
                default:
                    return Error(400, "illegal_argument_exception", $"the fake Elasticsearch does not implement {api} ({method} {path})");
            }
        }
        catch (FakeQuery.QueryException ex)
        {
            return Error(400, ex.Type, ex.Message);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or KeyNotFoundException or NullReferenceException)
        {
            return Error(400, "parsing_exception", ex.Message);
        }
    }

    private (int, byte[], string?) PutIndexTemplate(string name, JsonObject template)
    {
        var patterns = template["index_patterns"] is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToList() : [template["index_patterns"]!.GetValue<string>()];
        var priority = template["priority"]?.GetValue<long>() ?? 0;
        lock (_gate)
        {
            var ignore = template["ignore_missing_component_templates"] is JsonArray ig ? ig.Select(x => x!.GetValue<string>()).ToHashSet() : [];
            var missing = (template["composed_of"] as JsonArray ?? []).Select(x => x!.GetValue<string>())
                .Where(c => !_componentTemplates.ContainsKey(c) && !ignore.Contains(c)).ToList();
            if (missing.Count > 0)
            {
                return Error(400, "invalid_index_template_exception", $"index_template [{name}] invalid, cause [index template [{name}] specifies component templates {Brackets(missing)} that do not exist]");
            }

            foreach (var (other, t) in _indexTemplates)
            {
                if (other == name || (t["priority"]?.GetValue<long>() ?? 0) != priority)
                {
                    continue;
                }

                var otherPatterns = (t["index_patterns"] as JsonArray)!.Select(x => x!.GetValue<string>()).ToList();
                if (patterns.Any(p => otherPatterns.Any(o => Overlap(p, o))))
                {
                    return Error(400, "illegal_argument_exception",
                        $"index template [{name}] has index patterns {Brackets(patterns)} matching patterns from existing templates [{other}] with patterns ({other} => {Brackets(otherPatterns)}) that have the same priority [{priority}], multiple index templates may not match during index creation, please use a different priority");
                }
            }

            _indexTemplates[name] = template;
        }

        return Ok(new JsonObject { ["acknowledged"] = true });
    }

    private static string Brackets(IEnumerable<string> items) => "[" + string.Join(", ", items) + "]";

    // Two wildcard patterns can match a common name (good enough: compare the literal parts before the first '*').
    private static bool Overlap(string a, string b)
    {
        var pa = a.Split('*')[0];
        var pb = b.Split('*')[0];
        return pa.StartsWith(pb, StringComparison.Ordinal) || pb.StartsWith(pa, StringComparison.Ordinal);
    }

    private static bool Glob(string pattern, string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$");

    // The index (or data stream) a write to `name` goes to, created as Elasticsearch would; null with the item error.
    private FakeIndex? Resolve(string name, bool requireDataStream, out ItemResult? error)
    {
        error = null;
        if (_indices.TryGetValue(name, out var existing))
        {
            if (requireDataStream && !existing.IsDataStream)
            {
                error = ItemError(404, "index_not_found_exception", $"no such index [{name}] and [require_data_stream] request flag is [true] and [{name}] is not a data stream");
                return null;
            }

            return existing;
        }

        var template = _indexTemplates.Where(t => (t.Value["index_patterns"] as JsonArray)!.Any(p => Glob(p!.GetValue<string>(), name)))
            .OrderByDescending(t => t.Value["priority"]?.GetValue<long>() ?? 0).Select(t => (KeyValuePair<string, JsonObject>?)t).FirstOrDefault();
        var dataStream = template?.Value["data_stream"] is not null;
        if (requireDataStream && !dataStream)
        {
            error = ItemError(404, "index_not_found_exception", $"no such index [{name}] and [require_data_stream] request flag is [true] and [{name}] is not a data stream");
            return null;
        }

        var mappings = new FakeMappings();
        if (template is { } t)
        {
            foreach (var component in (t.Value["composed_of"] as JsonArray ?? []).Select(c => c!.GetValue<string>()))
            {
                if (_componentTemplates.TryGetValue(component, out var c))
                {
                    mappings.Add(c["template"]?["mappings"]);
                }
            }

            mappings.Add(t.Value["template"]?["mappings"]);
        }

        var index = new FakeIndex(name, dataStream, template?.Key, dataStream ? $".ds-{name}-{DateTime.UtcNow:yyyy.MM.dd}-000001" : name, mappings);
        _indices[name] = index;
        return index;
    }

    private (int, byte[], string?) Bulk(string? defaultIndex, List<KeyValuePair<string, string>> query, byte[] body)
    {
        var requireDataStream = query.Any(q => q.Key == "require_data_stream" && q.Value is "true" or "");
        var span = body.AsMemory();
        var lineStart = 0;
        var lines = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < span.Length; i++)
        {
            if (body[i] == (byte)'\n')
            {
                if (i > lineStart)
                {
                    lines.Add(span[lineStart..i]);
                }

                lineStart = i + 1;
            }
        }

        if (lineStart < span.Length)
        {
            return Error(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]");
        }

        var results = new List<(string Op, ItemResult Item)>(lines.Count / 2);
        lock (_gate)
        {
            for (var l = 0; l < lines.Count; l++)
            {
                if (!TryReadAction(lines[l].Span, out var op, out var indexName, out var id))
                {
                    return Error(400, "illegal_argument_exception", $"Malformed action/metadata line [{l + 1}], expected one of [create, delete, index, update] but found [{op}]");
                }

                indexName ??= defaultIndex;
                ReadOnlyMemory<byte> source = default;
                if (op != "delete")
                {
                    if (++l >= lines.Count)
                    {
                        return Error(400, "illegal_argument_exception", "Validation Failed: 1: no requests added;");
                    }

                    source = lines[l];
                }

                ItemResult item;
                if (indexName is null)
                {
                    item = ItemError(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;");
                }
                else if (_itemRejections > 0)
                {
                    _itemRejections--;
                    item = _itemRejectionStatus switch
                    {
                        429 => ItemError(429, "es_rejected_execution_exception", "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=1, max_coordinating_and_primary_bytes=1]"),
                        400 => ItemError(400, "document_parsing_exception", "[1:1] failed to parse field [source.ip] of type [ip] in document with id '" + id + "'", indexName),
                        _ => ItemError(_itemRejectionStatus, "unavailable_shards_exception", "[" + indexName + "][0] primary shard is not active"),
                    };
                }
                else
                {
                    item = Write(op, indexName, id, source, requireDataStream);
                }

                results.Add((op, item with { Id = item.Id ?? id }));
            }
        }

        // Written straight (a _bulk answer has an item per document), with filter_path applied while writing.
        var filter = query.Where(q => q.Key == "filter_path").Select(q => q.Value).FirstOrDefault() is { } f
            ? f.Split(',').Select(p => p.Split('.')).ToList()
            : null;
        bool Keep(params string[] path) => filter is null || filter.Any(p => p.Length <= path.Length && p.Select((part, i) => part == "*" || part == path[i]).All(x => x));
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 + (results.Count * 64));
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (Keep("errors"))
            {
                w.WriteBoolean("errors", results.Exists(r => r.Item.Status >= 300));
            }

            if (Keep("took"))
            {
                w.WriteNumber("took", 1);
            }

            w.WriteStartArray("items");
            foreach (var (op, item) in results)
            {
                w.WriteStartObject();
                w.WriteStartObject(op);
                if (item.Index is not null && Keep("items", op, "_index"))
                {
                    w.WriteString("_index", item.Index);
                }

                if (item.Id is not null && Keep("items", op, "_id"))
                {
                    w.WriteString("_id", item.Id);
                }

                if (item.Status < 300)
                {
                    if (Keep("items", op, "_version"))
                    {
                        w.WriteNumber("_version", 1);
                    }

                    if (Keep("items", op, "result"))
                    {
                        w.WriteString("result", "created");
                    }

                    if (Keep("items", op, "_seq_no"))
                    {
                        w.WriteNumber("_seq_no", item.SeqNo);
                    }

                    if (Keep("items", op, "_primary_term"))
                    {
                        w.WriteNumber("_primary_term", 1);
                    }
                }

                if (Keep("items", op, "status"))
                {
                    w.WriteNumber("status", item.Status);
                }

                if (item.ErrorType is not null && (Keep("items", op, "error", "type") || Keep("items", op, "error", "reason")))
                {
                    w.WriteStartObject("error");
                    if (Keep("items", op, "error", "type"))
                    {
                        w.WriteString("type", item.ErrorType);
                    }

                    if (Keep("items", op, "error", "reason"))
                    {
                        w.WriteString("reason", item.ErrorReason);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return (200, buffer.WrittenSpan.ToArray(), null);
    }

    private static bool TryReadAction(ReadOnlySpan<byte> line, out string op, out string? index, out string? id)
    {
        op = "";
        index = null;
        id = null;
        var reader = new Utf8JsonReader(line);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !reader.Read() || reader.TokenType != JsonTokenType.PropertyName)
        {
            return false;
        }

        op = reader.GetString()!;
        if (op is not ("create" or "index" or "update" or "delete") || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            if (name == "_index" && reader.TokenType == JsonTokenType.String)
            {
                index = reader.GetString();
            }
            else if (name == "_id" && reader.TokenType == JsonTokenType.String)
            {
                id = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }

        return true;
    }

    private ItemResult Write(string op, string name, string? id, ReadOnlyMemory<byte> source, bool requireDataStream)
    {
        var index = Resolve(name, requireDataStream, out var error);
        if (index is null)
        {
            return error!.Value;
        }

        if (index.IsDataStream && op != "create")
        {
            return ItemError(400, "illegal_argument_exception", $"only write ops with an op_type of create are allowed in data streams");
        }

        id ??= Guid.NewGuid().ToString("N");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(source);
        }
        catch (JsonException ex)
        {
            return ItemError(400, "document_parsing_exception", "[1:1] failed to parse: " + ex.Message, index.BackingIndex);
        }

        if (index.IsDataStream && !(doc.RootElement.TryGetProperty("@timestamp", out var ts) && ts.ValueKind is JsonValueKind.String or JsonValueKind.Number))
        {
            doc.Dispose();
            return ItemError(400, "document_parsing_exception", "[1:1] failed to parse: data stream timestamp field [@timestamp] is missing", index.BackingIndex);
        }

        if (op == "create" && index.Ids.Contains(id))
        {
            Interlocked.Increment(ref _conflicts);
            doc.Dispose();
            return ItemError(409, "version_conflict_engine_exception", $"[{id}]: version conflict, document already exists (current version [1])", index.BackingIndex);
        }

        if (index.Mappings.Accept(doc.RootElement, id) is { } problem)
        {
            doc.Dispose();
            return ItemError(400, "document_parsing_exception", "[1:1] " + problem, index.BackingIndex);
        }

        index.Ids.Add(id);
        if (KeepDocuments)
        {
            index.Docs[id] = new FakeDocument(id, index.BackingIndex, doc);
        }
        else
        {
            doc.Dispose();
        }

        return new ItemResult(201, index.BackingIndex, id, null, null, _seqNo++);
    }

    private (int, byte[], string?) Search(string? target, byte[] body)
    {
        var request = body.Length == 0 ? new JsonObject() : ParseObject(body);
        List<FakeDocument> docs;
        FakeMappings mappings;
        lock (_gate)
        {
            var names = target is null ? [.. _indices.Keys] : target.Split(',').SelectMany(t => _indices.Keys.Where(k => Glob(t, k))).Distinct().ToList();
            if (target is not null && names.Count == 0 && !target.Contains('*', StringComparison.Ordinal))
            {
                return Error(404, "index_not_found_exception", $"no such index [{target}]");
            }

            docs = [.. names.SelectMany(n => _indices[n].Docs.Values)];
            mappings = names.Count == 1 ? _indices[names[0]].Mappings : new FakeMappings();
            if (names.Count != 1)
            {
                foreach (var n in names)
                {
                    mappings.Add(ToMappings(_indices[n].Mappings));
                }
            }
        }

        return Ok(FakeQuery.Search(request, docs, mappings));
    }

    private static JsonObject ToMappings(FakeMappings m)
    {
        var properties = new JsonObject();
        foreach (var (field, type) in m.Types)
        {
            properties[field] = new JsonObject { ["type"] = type };
        }

        return new JsonObject { ["properties"] = properties };
    }

    private static ItemResult ItemError(int status, string type, string reason, string? index = null) => new(status, index, null, type, reason, -1);

    private readonly record struct ItemResult(int Status, string? Index, string? Id, string? ErrorType, string? ErrorReason, long SeqNo);

    private static JsonObject ParseObject(byte[] body) =>
        JsonNode.Parse(body) as JsonObject ?? throw new JsonException("the body is not a JSON object");

    // Relaxed escaping: a stored source comes back as it was sent (Elasticsearch returns the source's own bytes).
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static (int, byte[], string?) Ok(JsonObject body) => (200, Encoding.UTF8.GetBytes(body.ToJsonString(Relaxed)), null);

    private static (int, byte[], string?) Error(int status, string type, string reason) =>
        (status, Encoding.UTF8.GetBytes(new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["root_cause"] = new JsonArray(new JsonObject { ["type"] = type, ["reason"] = reason }),
                ["type"] = type,
                ["reason"] = reason,
            },
            ["status"] = status,
        }.ToJsonString()), null);

    // filter_path: keep only the leaves whose dotted path matches one of the patterns ('*' is one name).
    private static JsonNode FilterPath(JsonObject root, string filterPath)
    {
        var patterns = filterPath.Split(',').Select(p => p.Split('.')).ToList();
        return Filter(root, patterns, 0)!;
    }

    private static JsonNode? Filter(JsonNode? node, List<string[]> patterns, int depth)
    {
        if (node is JsonArray array)
        {
            var kept = new JsonArray();
            foreach (var item in array)
            {
                if (Filter(item, patterns, depth) is { } f)
                {
                    kept.Add(f);
                }
            }

            return kept;
        }

        if (patterns.Any(p => p.Length == depth))
        {
            return node?.DeepClone();
        }

        if (node is not JsonObject obj)
        {
            return null;
        }

        var result = new JsonObject();
        foreach (var (key, value) in obj)
        {
            var matching = patterns.Where(p => p.Length > depth && (p[depth] == "*" || p[depth] == key)).ToList();
            if (matching.Count > 0 && Filter(value, matching, depth + 1) is { } f)
            {
                result[key] = f;
            }
        }

        return result.Count == 0 && depth > 0 ? null : result;
    }

    private sealed class FakeIndex(string name, bool isDataStream, string? template, string backingIndex, FakeMappings mappings)
    {
        public string Name { get; } = name;

        public bool IsDataStream { get; } = isDataStream;

        public string? Template { get; } = template;

        public string BackingIndex { get; } = backingIndex;

        public FakeMappings Mappings { get; } = mappings;

        public HashSet<string> Ids { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, FakeDocument> Docs { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>A request the fake received.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">Path without the query.</param>
/// <param name="Query">Query parameters.</param>
/// <param name="Api">The API of the specification it is (null when undocumented).</param>
/// <param name="Violation">What is not documented about it; null when it keeps the contract.</param>
/// <param name="Accept">The Accept header.</param>
/// <param name="ContentType">The Content-Type header.</param>
public sealed record RecordedRequest(string Method, string Path, IReadOnlyList<KeyValuePair<string, string>> Query, string? Api, string? Violation,
    string Accept, string? ContentType);
