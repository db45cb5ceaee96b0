using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SecMon.Core;
using SecMon.Core.Devices;
using SecMon.Findings;
using SecMon.Findings.Devices;
using SecMon.Findings.Store;
using SecMon.Hardening;
using SecMon.Hosting;

namespace SecMon.Api;

/// <summary>What the API reads and writes; made by <c>serve</c>, owned by the host.</summary>
internal sealed class ApiContext : IDisposable
{
    /// <summary>The data directory.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Where findings are searched: the local SQLite store, or Elasticsearch.</summary>
    public required IFindingReader Findings { get; init; }

    /// <summary>The local SQLite store: devices and the hardening plan (the same object as <see cref="Findings"/> unless
    /// findings are read from Elasticsearch).</summary>
    public required FindingStore Local { get; init; }

    /// <summary>Workflow state and the audit log.</summary>
    public required ApiStateStore State { get; init; }

    /// <summary>The rules.</summary>
    public required RuleControl Rules { get; init; }

    /// <summary>The keys.</summary>
    public required ApiKeyStore Keys { get; init; }

    /// <inheritdoc />
    public void Dispose()
    {
        State.Dispose();
        if (!ReferenceEquals(Findings, Local))
        {
            Findings.Dispose();
        }

        Local.Dispose();
    }
}

/// <summary>
/// The analysts' HTTPS API under <c>/api/v1</c> (minimal APIs, JSON, errors as RFC 9457 problem details), described
/// by the OpenAPI document at <c>/api/openapi.json</c>. Every route needs an API key (<see cref="ApiKeyAuthentication"/>):
/// read for searches, write for the workflow, admin for the rules.
/// </summary>
internal static class ApiEndpoints
{
    /// <summary>Every API path starts with this.</summary>
    public const string Prefix = "/api";

    /// <summary>The OpenAPI document's path.</summary>
    public const string OpenApiPath = "/api/openapi.json";

    private const int MaxTextLength = 1000;

    /// <summary>Devices per page of <c>GET /api/v1/devices</c> unless <c>limit</c> says otherwise (the CLI table's 200).</summary>
    public const int DefaultDevicesPage = 200;

    /// <summary>The most devices one page of <c>GET /api/v1/devices</c> holds.</summary>
    public const int MaxDevicesPage = 10_000;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly string[] FindingFilterNames = ["q", "since", "until", "severity", "rule", "device", "source_ip", "sensor"];

    /// <summary>Registers the API's services: authentication by key, the scope policies, the OpenAPI document.</summary>
    public static IServiceCollection AddSecMonApi(this IServiceCollection services, ApiContext context)
    {
        services.AddSingleton(context);
        services.AddSingleton(context.Keys);
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        InMemoryKeyRing.Use(services); // AddAuthentication's Data Protection: no key ring on disk (see there)
        services.AddAuthorization(o =>
        {
            foreach (var scope in Enum.GetValues<ApiScope>())
            {
                o.AddPolicy(PolicyName(scope), p => p.RequireAuthenticatedUser()
                    .RequireAssertion(c => ApiKeyAuthentication.ScopeOf(c.User) is { } s && s >= scope));
            }
        });
        services.AddOpenApi("v1", o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith("api/v1/", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((doc, _, _) =>
            {
                doc.Info.Title = "SecMon API";
                doc.Info.Description = "Findings, workflow, devices, the hardening plan and rules of a SecMon sensor. " +
                    "Authenticate with 'Authorization: Bearer KEY' (secmon apikey create). Errors are RFC 9457 problem details.";
                return Task.CompletedTask;
            });
        });
        return services;
    }

    private static string PolicyName(ApiScope scope) => "secmon-" + scope.ToString().ToLowerInvariant();

    internal static TBuilder Needs<TBuilder>(this TBuilder builder, ApiScope scope) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(PolicyName(scope)).WithMetadata(new ApiScopeRequirement(scope));

    /// <summary>Maps the API's routes.</summary>
    public static IEndpointRouteBuilder MapSecMonApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapOpenApi(OpenApiPath).Needs(ApiScope.Read);
        var v1 = app.MapGroup("/api/v1");
        v1.MapGet("/findings", SearchFindings).Needs(ApiScope.Read)
            .WithSummary("Search findings, newest first, one page at a time")
            .WithDescription("Query: q (free text: words, \"a phrase\", prefix*, -exclude), rule, severity (low|medium|high|critical|0-100, at least), " +
                "device, source_ip, sensor, since and until (ISO-8601 or back from now: 30m, 24h, 7d), limit (1-10000, default 50), cursor (the previous page's next). " +
                "Answer: {items: [{id, finding (ECS document), workflow}], next}.");
        v1.MapGet("/findings/{id}", GetFinding).Needs(ApiScope.Read)
            .WithSummary("One finding (its event.id, or at least 6 first characters of it when unique) with its workflow state");
        v1.MapPost("/findings/{id}/workflow", PostWorkflow).Needs(ApiScope.Write).Accepts<WorkflowRequest>("application/json")
            .WithSummary("Acknowledge, assign or close a finding (audited)")
            .WithDescription("Body: {\"action\": \"acknowledge\"} | {\"action\": \"assign\", \"assignee\": NAME} | {\"action\": \"close\", \"reason\": TEXT}. Needs scope write.");
        v1.MapGet("/stats", Stats).Needs(ApiScope.Read)
            .WithSummary("Counts of findings by rule, severity and device (the search filters apply; top: devices listed, default 20)");
        v1.MapGet("/devices", Devices).Needs(ApiScope.Read)
            .WithSummary("The device inventory with posture (anonymous, password_cleartext, tls, mutual_tls), identities and certificates, weakest first")
            .WithDescription($"Query: posture, since, vendor, limit (1-{MaxDevicesPage}, default {DefaultDevicesPage}), cursor (the previous page's next). " +
                "Answer: {items: [device], total (devices matching the filters), next}.");
        v1.MapGet("/devices/{id}", Device).Needs(ApiScope.Read).WithSummary("One device (a MAC in any notation, or an IP)");
        v1.MapGet("/hardening/plan", HardeningPlan).Needs(ApiScope.Read)
            .WithSummary("The hardening plan: brokers and, for each device not on mutual TLS, what it needs and the steps");
        v1.MapGet("/rules", Rules).Needs(ApiScope.Read).WithSummary("Every rule of the packs and whether it runs");
        v1.MapPost("/rules/{id}/disable", (string id, HttpContext http, ApiContext api, TimeProvider time) => SetRule(id, false, http, api, time))
            .Needs(ApiScope.Admin).WithSummary("Switch a rule off (the running sensor stops it at its next event; kept across restarts; audited)");
        v1.MapPost("/rules/{id}/enable", (string id, HttpContext http, ApiContext api, TimeProvider time) => SetRule(id, true, http, api, time))
            .Needs(ApiScope.Admin).WithSummary("Switch a rule switched off with the API on again (audited)");
        v1.MapPost("/rules/reload", Reload).Needs(ApiScope.Admin)
            .WithSummary("Load the rule packs from disk again; invalid packs are refused (422, every error listed) and the rules in force keep running (audited)");
        return app;
    }

    /// <summary>The workflow request body.</summary>
    /// <param name="Action">acknowledge, assign or close.</param>
    /// <param name="Assignee">With assign: to whom.</param>
    /// <param name="Reason">With close: why.</param>
    internal sealed record WorkflowRequest(string Action, string? Assignee, string? Reason);

    private static IResult Problem(int status, string detail, IDictionary<string, object?>? extensions = null) =>
        Results.Problem(detail: detail, statusCode: status, extensions: extensions);

    private static IResult BadRequest(string detail) => Problem(StatusCodes.Status400BadRequest, detail);

    // Unknown query parameters are refused: a misspelt filter must not silently widen a search.
    private static string? UnknownParameter(HttpRequest request, IEnumerable<string> known)
    {
        var set = known.ToHashSet(StringComparer.Ordinal);
        return request.Query.Keys.FirstOrDefault(k => !set.Contains(k)) is { } bad
            ? $"unknown query parameter '{bad}'; this endpoint takes {string.Join(", ", set.Order(StringComparer.Ordinal))}"
            : null;
    }

    private static string? Single(HttpRequest request, string name, out string? error)
    {
        error = null;
        var values = request.Query[name];
        if (values.Count > 1)
        {
            error = $"{name} is given {values.Count} times; give it once";
            return null;
        }

        var value = values.Count == 0 ? null : values[0];
        if (value is { Length: > MaxTextLength })
        {
            error = $"{name} is longer than {MaxTextLength} characters";
            return null;
        }

        return string.IsNullOrEmpty(value) ? null : value;
    }

    private static FindingQuery? ReadFilter(HttpRequest request, DateTimeOffset now, out string error)
    {
        var filter = new FindingFilter();
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in FindingFilterNames)
        {
            values[name] = Single(request, name, out var e);
            if (e is not null)
            {
                error = e;
                return null;
            }
        }

        filter = filter with
        {
            Text = values["q"],
            Since = values["since"],
            Until = values["until"],
            Severity = values["severity"],
            Rule = values["rule"],
            Device = values["device"],
            SourceIp = values["source_ip"],
            Sensor = values["sensor"],
        };
        return filter.TryBuild(now, n => n, out error);
    }

    private static bool TryInt(HttpRequest request, string name, int min, int max, int fallback, out int value, out string? error)
    {
        value = fallback;
        var text = Single(request, name, out error);
        if (error is not null)
        {
            return false;
        }

        if (text is null)
        {
            return true;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value) || value < min || value > max)
        {
            error = $"{name}: '{text}' is not a whole number from {min} to {max}";
            return false;
        }

        return true;
    }

    private static IResult Json(Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(w);
        }

        var bytes = buffer.WrittenMemory.ToArray();
        return status == StatusCodes.Status200OK ? Results.Bytes(bytes, "application/json")
            : Results.Text(System.Text.Encoding.UTF8.GetString(bytes), "application/json", statusCode: status);
    }

    private static IResult Store(FindingStoreException ex) => ex.Error.Kind == StoreErrorKind.BadQuery
        ? BadRequest(ex.Message)
        : Problem(StatusCodes.Status503ServiceUnavailable, "the findings store cannot answer now: " + ex.Message);

    private static void WriteFinding(Utf8JsonWriter w, StoredFinding f, WorkflowState? state)
    {
        w.WriteStartObject();
        w.WriteString("id", f.Id);
        w.WritePropertyName("finding");
        w.WriteRawValue(f.Json, skipInputValidation: false);
        w.WritePropertyName("workflow");
        WriteWorkflow(w, state);
        w.WriteEndObject();
    }

    private static void WriteWorkflow(Utf8JsonWriter w, WorkflowState? state)
    {
        if (state is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteString("state", state.State);
        w.WriteString("assignee", state.Assignee);
        w.WriteString("reason", state.Reason);
        w.WriteString("by", state.By);
        w.WriteString("at", Time.FormatMicros(state.AtMicros));
        w.WriteEndObject();
    }

    private static IResult SearchFindings(HttpRequest request, ApiContext api, TimeProvider time)
    {
        if (UnknownParameter(request, [.. FindingFilterNames, "limit", "cursor"]) is { } unknown)
        {
            return BadRequest(unknown);
        }

        var query = ReadFilter(request, time.GetUtcNow(), out var problem);
        if (query is null)
        {
            return BadRequest(problem);
        }

        if (!TryInt(request, "limit", 1, FindingQuery.MaxLimit, 50, out var limit, out var limitError))
        {
            return BadRequest(limitError!);
        }

        var cursor = Single(request, "cursor", out var cursorError);
        if (cursorError is not null)
        {
            return BadRequest(cursorError);
        }

        FindingPage page;
        try
        {
            page = api.Findings.Search(query with { Limit = limit, After = cursor });
        }
        catch (FindingStoreException ex)
        {
            return Store(ex);
        }

        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("items");
            foreach (var f in page.Items)
            {
                WriteFinding(w, f, api.State.GetWorkflow(f.Id));
            }

            w.WriteEndArray();
            w.WriteString("next", page.NextCursor);
            w.WriteEndObject();
        });
    }

    private static StoredFinding? Find(ApiContext api, string id, out IResult? refusal)
    {
        refusal = null;
        if (id.Length is 0 or > 200)
        {
            refusal = BadRequest("give a finding's event.id (or its first 6 characters or more)");
            return null;
        }

        var found = api.Findings.Get(id);
        if (found is null && id.Length >= 6)
        {
            var matches = api.Findings.FindByIdPrefix(id, max: 5);
            if (matches.Count > 1)
            {
                refusal = BadRequest($"'{id}' is the start of several finding ids ({string.Join(", ", matches.Select(m => m.Id))}): give more characters");
                return null;
            }

            found = matches.Count == 1 ? matches[0] : null;
        }

        if (found is null)
        {
            refusal = Problem(StatusCodes.Status404NotFound, $"no finding with id '{id}'");
        }

        return found;
    }

    private static IResult GetFinding(string id, ApiContext api)
    {
        try
        {
            var found = Find(api, id, out var refusal);
            return found is null ? refusal! : Json(w => WriteFinding(w, found, api.State.GetWorkflow(found.Id)));
        }
        catch (FindingStoreException ex)
        {
            return Store(ex);
        }
    }

    private static async Task<IResult> PostWorkflow(string id, HttpContext http, ApiContext api, TimeProvider time)
    {
        if (http.Request.ContentLength > 64 * 1024)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "the body is larger than 64 KiB");
        }

        JsonDocument body;
        try
        {
            body = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return BadRequest($"the body is not JSON: {ex.Message}");
        }

        using (body)
        {
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                return BadRequest("the body must be a JSON object: {\"action\": \"acknowledge\" | \"assign\" | \"close\", ...}");
            }

            string? Text(string name, out string? error)
            {
                error = null;
                if (!body.RootElement.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
                {
                    return null;
                }

                if (v.ValueKind != JsonValueKind.String)
                {
                    error = $"{name} must be a string";
                    return null;
                }

                var s = v.GetString()!.Trim();
                if (s.Length > MaxTextLength || s.Any(char.IsControl))
                {
                    error = $"{name} must be at most {MaxTextLength} characters with no control characters";
                    return null;
                }

                return s.Length == 0 ? null : s;
            }

            var unknown = body.RootElement.EnumerateObject().Select(p => p.Name).FirstOrDefault(n => n is not ("action" or "assignee" or "reason"));
            if (unknown is not null)
            {
                return BadRequest($"unknown field '{unknown}'; the body takes action, assignee (with assign) and reason (with close)");
            }

            var action = Text("action", out var e1);
            var assignee = Text("assignee", out var e2);
            var reason = Text("reason", out var e3);
            if ((e1 ?? e2 ?? e3) is { } typeError)
            {
                return BadRequest(typeError);
            }

            switch (action)
            {
                case null:
                    return BadRequest("action is missing: acknowledge, assign (with assignee) or close (with reason)");
                case "acknowledge" when assignee is null && reason is null:
                    break;
                case "acknowledge":
                    return BadRequest("acknowledge takes no assignee or reason");
                case "assign" when assignee is null:
                    return BadRequest("assign needs assignee: who is to look at the finding");
                case "assign" when reason is not null:
                    return BadRequest("assign takes an assignee, not a reason");
                case "assign":
                    break;
                case "close" when reason is null:
                    return BadRequest("close needs reason: why the finding is closed");
                case "close" when assignee is not null:
                    return BadRequest("close takes a reason, not an assignee");
                case "close":
                    break;
                default:
                    return BadRequest($"action '{action}' is not acknowledge, assign or close");
            }

            StoredFinding? found;
            try
            {
                found = Find(api, id, out var refusal);
                if (found is null)
                {
                    return refusal!;
                }
            }
            catch (FindingStoreException ex)
            {
                return Store(ex);
            }

            var state = api.State.SetWorkflow(found.Id, action, assignee, reason, http.User.Identity!.Name!, Time.ToUnixMicros(time.GetUtcNow()));
            return Json(w => WriteFinding(w, found, state));
        }
    }

    private static IResult Stats(HttpRequest request, ApiContext api, TimeProvider time)
    {
        if (UnknownParameter(request, [.. FindingFilterNames, "top"]) is { } unknown)
        {
            return BadRequest(unknown);
        }

        var query = ReadFilter(request, time.GetUtcNow(), out var problem);
        if (query is null)
        {
            return BadRequest(problem);
        }

        if (!TryInt(request, "top", 0, 10_000, 20, out var top, out var topError))
        {
            return BadRequest(topError!);
        }

        FindingStats stats;
        try
        {
            stats = api.Findings.Stats(query, top);
        }
        catch (FindingStoreException ex)
        {
            return Store(ex);
        }

        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("total", stats.Total);
            w.WriteStartArray("by_rule");
            foreach (var r in stats.ByRule)
            {
                w.WriteStartObject();
                w.WriteString("rule_id", r.RuleId);
                w.WriteString("rule_name", r.RuleName);
                w.WriteNumber("severity", r.Severity);
                w.WriteNumber("count", r.Count);
                w.WriteNumber("devices", r.Devices);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("by_severity");
            foreach (var s in stats.BySeverity)
            {
                w.WriteStartObject();
                w.WriteString("severity", s.Severity);
                w.WriteNumber("count", s.Count);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("by_device");
            foreach (var d in stats.ByDevice)
            {
                w.WriteStartObject();
                w.WriteString("device_id", d.DeviceId);
                w.WriteNumber("count", d.Count);
                w.WriteNumber("rules", d.Rules);
                w.WriteNumber("max_severity", d.MaxSeverity);
                w.WriteString("last_seen", Time.FormatMicros(d.LastSeenMicros));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static IResult Devices(HttpRequest request, ApiContext api, TimeProvider time)
    {
        if (UnknownParameter(request, ["posture", "since", "vendor", "limit", "cursor"]) is { } unknown)
        {
            return BadRequest(unknown);
        }

        if (!TryInt(request, "limit", 1, MaxDevicesPage, DefaultDevicesPage, out var limit, out var limitError))
        {
            return BadRequest(limitError!);
        }

        var cursor = Single(request, "cursor", out var cursorError);
        if (cursorError is not null)
        {
            return BadRequest(cursorError);
        }

        var now = time.GetUtcNow();
        AuthPosture? posture = null;
        if (Single(request, "posture", out var e1) is { } p && (posture = DeviceViews.ParsePosture(p)) is null)
        {
            return BadRequest($"posture: '{p}' is not one of {string.Join(", ", DeviceViews.PostureNames)}");
        }

        long? since = null;
        if (Single(request, "since", out var e2) is { } s)
        {
            if (!TimeBound.TryParse(s, now, out var v, out var e))
            {
                return BadRequest("since: " + e);
            }

            since = v;
        }

        var vendor = Single(request, "vendor", out var e3);
        if ((e1 ?? e2 ?? e3) is { } error)
        {
            return BadRequest(error);
        }

        try
        {
            if (!DeviceViews.TryReadPage(api.Local, api.DataDirectory, now, posture, since, vendor, cursor, limit, out var page, out var pageError))
            {
                return BadRequest(pageError!);
            }

            return Json(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("items");
                foreach (var d in page.Items)
                {
                    w.WriteRawValue(DeviceJson.Write(d, page.Context(d)));
                }

                w.WriteEndArray();
                w.WriteNumber("total", page.Total);
                w.WriteString("next", page.Next);
                w.WriteEndObject();
            });
        }
        catch (FindingStoreException ex)
        {
            return Store(ex);
        }
    }

    private static IResult Device(string id, ApiContext api, TimeProvider time)
    {
        try
        {
            return DeviceViews.ReadOne(api.Local, api.DataDirectory, time.GetUtcNow(), id) is not { } found
                ? Problem(StatusCodes.Status404NotFound, $"no device '{id}' in the inventory (GET /api/v1/devices lists them)")
                : Results.Text(DeviceJson.Write(found.Device, found.Context), "application/json");
        }
        catch (FindingStoreException ex)
        {
            return Store(ex);
        }
    }

    private static IResult HardeningPlan(ApiContext api)
    {
        try
        {
            var plan = PlanBuilder.Build(HardeningInputs.FromStore(api.Local));
            return Json(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("items");
                foreach (var line in PlanWriter.JsonLines(plan))
                {
                    w.WriteRawValue(line);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            });
        }
        catch (FindingStoreException ex)
        {
            return Store(ex);
        }
    }

    private static void WriteRule(Utf8JsonWriter w, RuleState r)
    {
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        w.WriteBoolean("enabled", r.Enabled);
        w.WriteString("disabled_by", r.DisabledBy);
        if (r.Info is { } i)
        {
            w.WriteString("name", i.Name);
            w.WriteString("severity", SeverityNames.Name(i.Severity));
            w.WriteString("kind", i.Kind);
            w.WriteStartArray("events");
            foreach (var e in i.Events)
            {
                w.WriteStringValue(e);
            }

            w.WriteEndArray();
            w.WriteString("ruleset", i.Ruleset);
            w.WriteString("file", Path.GetFileName(i.File));
            w.WriteNumber("line", i.Line);
        }

        w.WriteEndObject();
    }

    private static IResult Rules(HttpRequest request, ApiContext api)
    {
        if (UnknownParameter(request, []) is { } unknown)
        {
            return BadRequest(unknown);
        }

        var rules = api.Rules.List();
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("running", api.Rules.Running);
            w.WriteStartArray("items");
            foreach (var r in rules)
            {
                WriteRule(w, r);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static IResult SetRule(string id, bool enabled, HttpContext http, ApiContext api, TimeProvider time)
    {
        RuleState? state;
        try
        {
            state = api.Rules.SetEnabled(id, enabled);
        }
        catch (IOException ex)
        {
            return Problem(StatusCodes.Status500InternalServerError, "the rule's state could not be saved: " + ex.Message);
        }

        if (state is null)
        {
            return Problem(StatusCodes.Status404NotFound, $"no rule '{id}' in the packs (GET /api/v1/rules lists them)");
        }

        if (state.DisabledBy == "pack" && enabled)
        {
            return Problem(StatusCodes.Status409Conflict, $"{id} is switched off in its pack (enabled: false); edit the pack, then POST /api/v1/rules/reload");
        }

        api.State.Audit(Time.ToUnixMicros(time.GetUtcNow()), http.User.Identity!.Name!, enabled ? "rule.enable" : "rule.disable", state.Id, null);
        return Json(w => WriteRule(w, state));
    }

    private static IResult Reload(HttpContext http, ApiContext api, TimeProvider time)
    {
        var errors = api.Rules.Reload();
        var at = Time.ToUnixMicros(time.GetUtcNow());
        if (errors.Count > 0)
        {
            api.State.Audit(at, http.User.Identity!.Name!, "rules.reload", "", $"refused: {errors.Count} error(s)");
            return Problem(StatusCodes.Status422UnprocessableEntity,
                $"{errors.Count} error(s) in the rule packs; nothing changed, the rules in force keep running",
                new Dictionary<string, object?> { ["errors"] = errors.Select(e => e.ToString()).ToArray() });
        }

        api.State.Audit(at, http.User.Identity!.Name!, "rules.reload", "", $"{api.Rules.Running} rules running");
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("running", api.Rules.Running);
            w.WriteEndObject();
        });
    }
}
