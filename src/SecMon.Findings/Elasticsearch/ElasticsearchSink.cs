using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Spool;
using HttpMethod = Elastic.Transport.HttpMethod;

namespace SecMon.Findings.Elasticsearch;

/// <summary>
/// Writes findings to an Elasticsearch data stream with <c>_bulk</c> <c>create</c> and <c>_id = event.id</c>, behind
/// the host's durable spool (<see cref="NeedsSpool"/>): a batch counts as delivered only once the bulk response said
/// so for each finding. Per item: 201 stored; 409 already stored (delivered, not counted as new: the same finding
/// written again after a restart); 429 and 5xx retried with backoff and jitter (a <c>Retry-After</c> wins), then the
/// batch goes back to the spool; any other refusal (a mapping error) is final: the finding goes to the spool's dead
/// letters with the cluster's reason. Before the first write it checks the cluster (a version the 9.x client can talk
/// to) and installs the lifecycle policy, the mappings and the index template (<see cref="IndexTemplate"/>).
/// </summary>
public sealed class ElasticsearchSink : IDocumentSink, IConnectingSink, IDisposable
{
    private static readonly byte[] CreatePrefix = "{\"create\":{\"_id\":"u8.ToArray();
    private static readonly byte[] CreateSuffix = "}}\n"u8.ToArray();

    private readonly ElasticsearchOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<IEnumerable<FindingField>> _fields;
    private readonly ArrayBufferWriter<byte> _body = new(1 << 20);
    private readonly string _bulkPath;
    private ElasticsearchConnection? _connection;
    private bool _ready;

    /// <summary>Makes the sink; nothing is sent before the first <see cref="Write"/>.</summary>
    public ElasticsearchSink(ElasticsearchOptions options, TimeProvider? time = null, Func<IEnumerable<FindingField>>? fields = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time ?? TimeProvider.System;
        _fields = fields ?? (() => IndexTemplate.Fields);
        // The response carries only what is read (filter_path); a refused document is not echoed back
        // (include_source_on_error=false: findings hold no secrets, but the cluster's logs and ours need not hold them twice).
        // require_data_stream: never a plain index by mistake (a template that went missing makes a 404, not an index
        // with guessed mappings).
        _bulkPath = $"/{options.DataStream}/_bulk?require_data_stream=true&include_source_on_error=false&filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason";
    }

    /// <inheritdoc />
    public string Name => "elasticsearch";

    /// <inheritdoc />
    public bool NeedsSpool => true;

    /// <summary>The cluster's version, once checked.</summary>
    public string? ClusterVersion { get; private set; }

    /// <inheritdoc />
    public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        if (findings.Count == 0)
        {
            return SinkResult.Ok(0);
        }

        _connection ??= new ElasticsearchConnection(_options);
        if (!_ready && Prepare(cancellationToken) is { } failed)
        {
            return failed;
        }

        var stored = 0;
        var rejected = new List<RejectedFinding>();
        for (var start = 0; start < findings.Count; start += _options.BatchSize)
        {
            var chunk = Slice(findings, start, Math.Min(_options.BatchSize, findings.Count - start));
            var result = Bulk(chunk, cancellationToken);
            if (!result.Succeeded)
            {
                return result;
            }

            stored += result.Stored;
            rejected.AddRange(result.Rejected);
        }

        return rejected.Count == 0 ? SinkResult.Ok(stored) : SinkResult.Partial(stored, rejected);
    }

    /// <inheritdoc />
    /// <remarks>Checks the cluster and installs the lifecycle policy, the mappings and the index template, as the first
    /// <see cref="Write"/> does; a failure leaves them to the first write.</remarks>
    public void Connect(CancellationToken cancellationToken)
    {
        _connection ??= new ElasticsearchConnection(_options);
        if (!_ready)
        {
            Prepare(cancellationToken);
        }
    }

    /// <inheritdoc />
    public void Complete(CancellationToken cancellationToken)
    {
        // Every batch was confirmed in Write: nothing is buffered here.
    }

    /// <inheritdoc />
    public void Dispose() => _connection?.Dispose();

    // One _bulk request for the chunk; items refused with 429/5xx are sent again (alone) after a backoff.
    private SinkResult Bulk(IReadOnlyList<Finding> chunk, CancellationToken ct)
    {
        var pending = chunk;
        var stored = 0;
        var rejected = new List<RejectedFinding>();
        for (var attempt = 0; ; attempt++)
        {
            var response = _connection!.Send(HttpMethod.POST, _bulkPath, BulkBody(pending), ct, contentType: "application/x-ndjson");
            string? retryWhy;
            if (response.Ok)
            {
                var retry = new List<Finding>();
                if (!ReadItems(response.Body, pending, ref stored, rejected, retry, out var problem, out var missing))
                {
                    return SinkResult.Failed($"Elasticsearch answered _bulk with a response SecMon cannot read ({problem}); the batch stays in the spool", transient: true);
                }

                if (missing)
                {
                    _ready = false;
                    return SinkResult.Failed($"Elasticsearch: the data stream {_options.DataStream} is missing and no template makes it ({FirstRetryReason(response.Body)}); " +
                        "the template is installed again on the next try", transient: true);
                }

                if (retry.Count == 0)
                {
                    return rejected.Count == 0 ? SinkResult.Ok(stored) : SinkResult.Partial(stored, rejected);
                }

                retryWhy = $"{retry.Count} of {pending.Count} findings refused for now ({FirstRetryReason(response.Body)})";
                pending = retry;
            }
            else if (response.Status is 0 or 429 or >= 500)
            {
                retryWhy = Unavailable(response);
            }
            else if (response.Status == 404)
            {
                _ready = false; // the data stream or its template went away: install again on the next try
                return SinkResult.Failed($"Elasticsearch: {response.Describe()} writing to {_options.DataStream}; the template is installed again on the next try", transient: true);
            }
            else if (response.Status is 401 or 403)
            {
                // The batch is good and the credentials are not: keep the findings in the spool until they are fixed.
                return SinkResult.Failed($"Elasticsearch refused the credentials ({response.Describe()}): check api_key or username/password and their privileges (create_doc, auto_configure on {_options.IndexPattern}); findings wait in the spool", transient: true);
            }
            else
            {
                return SinkResult.Failed($"Elasticsearch refused the _bulk request: {response.Describe()}", transient: false);
            }

            if (attempt >= _options.Retries)
            {
                return SinkResult.Failed($"Elasticsearch: {retryWhy}; {stored} stored, the batch stays in the spool and is sent again", transient: true);
            }

            Wait(Backoff(attempt, response.RetryAfter), ct);
        }
    }

    private string Unavailable(RawResponse response) => response.Status == 0
        ? $"cannot reach Elasticsearch ({string.Join(", ", _options.Nodes.Select(n => n.GetLeftPart(UriPartial.Authority)))}): {response.Failure}"
        : response.Describe();

    private ReadOnlyMemory<byte> BulkBody(IReadOnlyList<Finding> findings)
    {
        var body = _body;
        body.ResetWrittenCount();
        // event.ingested: Kibana's External Alerts rule looks back by it (a few minutes), so findings from an old
        // capture are raised when they arrive, not lost behind their capture-time @timestamp.
        // The document is the finding's stored bytes (a spool line) with the time put in, not a second encoding.
        var ingested = IngestedStamp.Format(_time.GetUtcNow());
        foreach (var f in findings)
        {
            body.Write(CreatePrefix);
            WriteJsonString(body, f.Id);
            body.Write(CreateSuffix);
            IngestedStamp.Write(body, FindingJson.Utf8(f), ingested);
            body.Write("\n"u8);
        }

        return body.WrittenMemory;
    }

    // event.id is hex; anything else is escaped as JSON needs.
    private static void WriteJsonString(ArrayBufferWriter<byte> body, string text)
    {
        var plain = true;
        foreach (var c in text)
        {
            if (c is < ' ' or '"' or '\\' or > '~')
            {
                plain = false;
                break;
            }
        }

        if (plain)
        {
            var span = body.GetSpan(text.Length + 2);
            span[0] = (byte)'"';
            var n = Encoding.ASCII.GetBytes(text, span[1..]);
            span[n + 1] = (byte)'"';
            body.Advance(n + 2);
            return;
        }

        using var w = new Utf8JsonWriter(body);
        w.WriteStringValue(text);
    }

    // Reads items[i].create.status (in request order, as _bulk answers) and sorts each finding into stored,
    // delivered, refused for good, or to be sent again.
    private static bool ReadItems(byte[] body, IReadOnlyList<Finding> sent, ref int stored, List<RejectedFinding> rejected,
        List<Finding> retry, out string? problem, out bool missing)
    {
        problem = null;
        missing = false;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.False
                && (!root.TryGetProperty("items", out var all) || all.GetArrayLength() == sent.Count))
            {
                stored += sent.Count; // no item failed: every one was created
                return true;
            }

            if (!root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array || items.GetArrayLength() != sent.Count)
            {
                problem = $"expected {sent.Count} items";
                return false;
            }

            var i = 0;
            foreach (var item in items.EnumerateArray())
            {
                var finding = sent[i++];
                if (!item.TryGetProperty("create", out var result) || !result.TryGetProperty("status", out var s) || !s.TryGetInt32(out var status))
                {
                    problem = "an item without create.status";
                    return false;
                }

                switch (status)
                {
                    case 200 or 201:
                        stored++;
                        break;
                    case 409:
                        break; // already stored under this _id (event.id): delivered
                    case 429 or >= 500:
                        retry.Add(finding);
                        break;
                    case 404:
                        missing = true; // no data stream and no template to make one: install it again, then resend
                        retry.Add(finding);
                        break;
                    default:
                        rejected.Add(new RejectedFinding(finding, ItemReason(status, result)));
                        break;
                }
            }

            return true;
        }
        catch (JsonException ex)
        {
            problem = ex.Message;
            return false;
        }
    }

    private static string ItemReason(int status, JsonElement result)
    {
        string? type = null;
        string? reason = null;
        if (result.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            type = error.TryGetProperty("type", out var t) ? t.GetString() : null;
            reason = error.TryGetProperty("reason", out var r) ? r.GetString() : null;
        }

        reason = reason is { Length: > 500 } ? reason[..500] + "..." : reason;
        return string.Create(CultureInfo.InvariantCulture, $"Elasticsearch refused the document: {status} {type ?? "error"}: {reason ?? "(no reason given)"}");
    }

    private static string FirstRetryReason(byte[] body)
    {
        using var doc = JsonDocument.Parse(body);
        foreach (var item in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            var r = item.GetProperty("create");
            if (r.GetProperty("status").GetInt32() is 404 or 429 or >= 500)
            {
                return ItemReason(r.GetProperty("status").GetInt32(), r)["Elasticsearch refused the document: ".Length..];
            }
        }

        return "429";
    }

    private TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        if (retryAfter is { } ra && ra > TimeSpan.Zero)
        {
            return ra; // the cluster said when: not sooner
        }

        var ticks = Math.Min(_options.MaxRetryDelay.Ticks, _options.RetryDelay.Ticks << Math.Min(attempt, 20));
        return TimeSpan.FromTicks((long)(ticks * (0.5 + Random.Shared.NextDouble()))); // jitter: 0.5x to 1.5x
    }

    private void Wait(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            Task.Delay(delay, _time, ct).Wait(ct);
        }
        catch (OperationCanceledException)
        {
            ct.ThrowIfCancellationRequested();
        }
    }

    // Checks the cluster, then installs the policy, the mappings and the template. Null when ready.
    private SinkResult? Prepare(CancellationToken ct)
    {
        var info = _connection!.Send(HttpMethod.GET, "/", null, ct, plainHeaders: true);
        if (!info.Ok)
        {
            return info.Status is 401 or 403
                ? SinkResult.Failed($"Elasticsearch refused the credentials ({info.Describe()}): check api_key or username/password", transient: true)
                : SinkResult.Failed($"Elasticsearch: {Unavailable(info)}", transient: true);
        }

        if (CheckCluster(info, _options) is { } refusal)
        {
            // Nothing is wrong with the findings: they wait in the spool until the nodes or the cluster are fixed (as
            // with refused credentials), instead of going to dead letters that only a hand edit would bring back.
            return SinkResult.Failed(refusal, transient: true);
        }

        ClusterVersion = ReadVersion(info.Body);
        if (_options.IlmPolicy is { } ilm)
        {
            var policy = _connection.Send(HttpMethod.PUT, "/_ilm/policy/" + ilm.Name, IndexTemplate.LifecyclePolicy(ilm), ct);
            if (!policy.Ok)
            {
                return SetupFailed("the lifecycle policy " + ilm.Name, policy);
            }
        }

        var component = _connection.Send(HttpMethod.PUT, "/_component_template/" + IndexTemplate.ComponentName(_options),
            IndexTemplate.ComponentTemplate(_fields()), ct);
        if (!component.Ok)
        {
            return SetupFailed("the component template " + IndexTemplate.ComponentName(_options), component);
        }

        var template = _connection.Send(HttpMethod.PUT, "/_index_template/" + _options.TemplateName, IndexTemplate.ComposableTemplate(_options), ct);
        if (!template.Ok)
        {
            return SetupFailed("the index template " + _options.TemplateName, template);
        }

        _ready = true;
        return null;
    }

    // Whatever the cluster answered, the findings are not the cause: they wait in the spool (tried again with backoff)
    // until the cluster, its other templates or the user's privileges are fixed.
    private static SinkResult SetupFailed(string what, RawResponse response) =>
        SinkResult.Failed($"Elasticsearch: cannot install {what}: {response.Describe()}" +
            (response.Status is 401 or 403 ? " (the user needs manage_index_templates and manage_ilm)" : ""),
            transient: true);

    /// <summary>Why SecMon cannot write to the cluster that answered <c>GET /</c> with <paramref name="info"/>; null when
    /// it can (Elasticsearch 9.0 or later: the 9.x client's REST compatibility headers need it).</summary>
    internal static string? CheckCluster(RawResponse info, ElasticsearchOptions options)
    {
        var where = info.Node ?? options.Nodes[0].GetLeftPart(UriPartial.Authority);
        if (!string.Equals(info.Product, "Elasticsearch", StringComparison.Ordinal))
        {
            return $"the server at {where} is not Elasticsearch (its answer to GET / has no 'X-Elastic-Product: Elasticsearch' header); " +
                   "check outputs.elasticsearch.nodes";
        }

        var version = ReadVersion(info.Body);
        if (version is null)
        {
            return $"the server at {where} did not say its version (GET / has no version.number); SecMon needs Elasticsearch 9.0 or later";
        }

        var dot = version.IndexOf('.', StringComparison.Ordinal);
        if (!int.TryParse(dot < 0 ? version : version[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var major) || major < 9)
        {
            return $"Elasticsearch {version} at {where} is too old for SecMon's client (Elastic.Clients.Elasticsearch 9.x talks to " +
                   "Elasticsearch 9.0 or later); upgrade the cluster to 9.x";
        }

        return null;
    }

    private static string? ReadVersion(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.Object
                && v.TryGetProperty("number", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IReadOnlyList<Finding> Slice(IReadOnlyList<Finding> findings, int start, int count)
    {
        if (start == 0 && count == findings.Count)
        {
            return findings;
        }

        var slice = new Finding[count];
        for (var i = 0; i < count; i++)
        {
            slice[i] = findings[start + i];
        }

        return slice;
    }
}
