using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SecMon.Core;

namespace SecMon.Api;

/// <summary>
/// API keys managed through the API (scope admin; every change audited), as <c>secmon apikey create|list|revoke</c> does
/// on the server: <c>POST /api/v1/keys</c> makes a key and answers it once (only its hash is kept), <c>GET /api/v1/keys</c>
/// lists the keys without secrets or hashes, <c>POST /api/v1/keys/{name}/revoke</c> revokes one (refused from its next
/// request on; the record stays, for the audit log).
/// </summary>
internal static class ApiKeyEndpoints
{
    /// <summary>Maps the three routes.</summary>
    public static IEndpointRouteBuilder MapSecMonApiKeys(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var v1 = app.MapGroup(ApiEndpoints.Prefix + "/v1");
        v1.MapPost("/keys", Create).Needs(ApiScope.Admin)
            .WithSummary("Make an API key (answered once, never again; audited)")
            .WithDescription("Body: {\"name\": NAME (1-64 of letters, digits, '.', '_', '-', '@'; unique), \"scope\": \"read\" | \"write\" | \"admin\", " +
                "\"expires\": \"90d\" (optional; default never)}. Answer 201: {key, name, id, scope, created, expires}. Needs scope admin.");
        v1.MapGet("/keys", List).Needs(ApiScope.Admin)
            .WithSummary("The API keys: name, id, scope, state, when made, expires, revoked (never a secret)");
        v1.MapPost("/keys/{name}/revoke", Revoke).Needs(ApiScope.Admin)
            .WithSummary("Revoke an API key by name (refused from its next request on; audited)");
        return app;
    }

    private static IResult Problem(int status, string detail) => Results.Problem(detail: detail, statusCode: status);

    private static string T(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    private static Dictionary<string, object?> Describe(ApiKeyRecord k, DateTimeOffset now) => new()
    {
        ["name"] = k.Name,
        ["id"] = k.Id,
        ["scope"] = k.Scope.ToString().ToLowerInvariant(),
        ["state"] = k.Revoked is not null ? "revoked" : k.Expires <= now ? "expired" : "active",
        ["created"] = T(k.Created),
        ["expires"] = k.Expires is { } e ? T(e) : null,
        ["revoked"] = k.Revoked is { } r ? T(r) : null,
    };

    private static async Task<IResult> Create(HttpContext http, ApiContext api, TimeProvider time)
    {
        var (body, refusal) = await PkiActionEndpoints.ReadBody(http, "name", "scope", "expires").ConfigureAwait(false);
        if (body is null)
        {
            return refusal!;
        }

        using (body)
        {
            var name = PkiActionEndpoints.Text(body, "name");
            if (name is null || !ApiKeyStore.IsValidName(name))
            {
                return Problem(StatusCodes.Status400BadRequest, "name: 1-64 of letters, digits, '.', '_', '-' or '@' (who holds the key; unique)");
            }

            var scopeText = PkiActionEndpoints.Text(body, "scope");
            if (scopeText is not ("read" or "write" or "admin"))
            {
                return Problem(StatusCodes.Status400BadRequest, "scope: read, write or admin");
            }

            TimeSpan? expiresIn = null;
            if (PkiActionEndpoints.Text(body, "expires") is { } expiresText)
            {
                if (!Durations.TryParse(expiresText, out var e) || e <= TimeSpan.Zero || e > TimeSpan.FromDays(3660))
                {
                    return Problem(StatusCodes.Status400BadRequest, $"expires: '{expiresText}' is not a duration up to 3660d ({Durations.Forms})");
                }

                expiresIn = e;
            }

            var scope = Enum.Parse<ApiScope>(scopeText, ignoreCase: true);
            var now = time.GetUtcNow();
            ApiKeyRecord record;
            string key;
            try
            {
                (record, key) = api.Keys.Create(name, scope, now, expiresIn);
            }
            catch (ArgumentException ex)
            {
                return Problem(StatusCodes.Status409Conflict, ex.Message.Split(" (Parameter")[0]);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return Problem(StatusCodes.Status503ServiceUnavailable, "the keys file cannot be written now: " + ex.Message);
            }

            var by = http.User.Identity!.Name!;
            api.State.Audit(Time.ToUnixMicros(now), by, "apikey.create", record.Name,
                $"id {record.Id}, scope {scopeText}" + (record.Expires is { } x ? $", expires {T(x)}" : ""));
            var answer = Describe(record, now);
            answer["key"] = key;
            return Results.Json(answer, statusCode: StatusCodes.Status201Created);
        }
    }

    private static IResult List(ApiContext api, TimeProvider time)
    {
        IReadOnlyList<ApiKeyRecord> keys;
        try
        {
            keys = api.Keys.List();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Problem(StatusCodes.Status503ServiceUnavailable, "the keys file cannot be read now: " + ex.Message);
        }

        var now = time.GetUtcNow();
        return Results.Json(new Dictionary<string, object?> { ["items"] = keys.Select(k => Describe(k, now)).ToArray() });
    }

    private static IResult Revoke(string name, HttpContext http, ApiContext api, TimeProvider time)
    {
        if (!ApiKeyStore.IsValidName(name))
        {
            return Problem(StatusCodes.Status400BadRequest, "give a key's name (see GET /api/v1/keys)");
        }

        var now = time.GetUtcNow();
        bool revoked;
        try
        {
            revoked = api.Keys.Revoke(name, now);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Problem(StatusCodes.Status503ServiceUnavailable, "the keys file cannot be written now: " + ex.Message);
        }

        if (!revoked)
        {
            return Problem(StatusCodes.Status404NotFound, $"no active API key named '{name}' (GET /api/v1/keys lists them)");
        }

        api.State.Audit(Time.ToUnixMicros(now), http.User.Identity!.Name!, "apikey.revoke", name, null);
        return Results.Json(new Dictionary<string, object?> { ["name"] = name, ["revoked"] = T(now) });
    }
}
