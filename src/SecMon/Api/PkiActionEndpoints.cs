using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SecMon.Cli;
using SecMon.Core;
using SecMon.Pki;
using SecMon.Pki.Ca;
using SecMon.Pki.Store;

namespace SecMon.Api;

/// <summary>Where devices reach EST, for the enrolment command a new token comes with (set once the host listens).</summary>
internal sealed class EstAddress
{
    /// <summary>The EST base URL devices use (https://NAME:PORT), or null before the host listens or without a CA.</summary>
    public Uri? Url { get; set; }
}

/// <summary>
/// The hardening plan's two actions on the CA, for the page's buttons and for tooling (scope admin; audited in the API's
/// audit and in the CA's own): <c>POST /api/v1/enrollment-tokens</c> makes a one-time EST token for a certificate
/// identity (shown once, stored hashed, as <c>secmon ca token create</c>), and
/// <c>POST /api/v1/certificates/{identity}/revoke</c> revokes every unexpired certificate of that identity with one new
/// CRL (as <c>secmon ca revoke --device</c>; the running server publishes it within a second). Without a CA both answer
/// 409 saying how to make one.
/// </summary>
internal static class PkiActionEndpoints
{
    private const int MaxBody = 16 * 1024;

    /// <summary>Maps the two actions.</summary>
    public static IEndpointRouteBuilder MapSecMonPkiActions(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var v1 = app.MapGroup(ApiEndpoints.Prefix + "/v1");
        v1.MapPost("/enrollment-tokens", CreateToken).Needs(ApiScope.Admin)
            .WithSummary("A one-time EST enrolment token for a certificate identity (shown once; audited)")
            .WithDescription("Body: {\"identity\": NAME (the plan's identity: the certificate's CN and SAN), \"ttl\": \"24h\" (30m..365d), " +
                "\"profile\": \"device\"}. Answer: {token, token_id, identity, profile, expires, enroll_command}. Needs scope admin and a CA.");
        v1.MapPost("/certificates/{identity}/revoke", Revoke).Needs(ApiScope.Admin)
            .WithSummary("Revoke every unexpired certificate of an identity, with one new CRL (audited)")
            .WithDescription("Body (optional): {\"reason\": \"key_compromise\" | \"superseded\" | \"cessation_of_operation\" | \"unspecified\"}. " +
                "Answer: {identity, revoked: [serials], already_revoked, crl_number}. Needs scope admin and a CA.");
        return app;
    }

    private static IResult Problem(int status, string detail) => Results.Problem(detail: detail, statusCode: status);

    private static IResult NoCa() => Problem(StatusCodes.Status409Conflict,
        "this server has no CA: 'secmon ca init' makes one, then restart serve (EST, tokens and revocation need it)");

    internal static async Task<(JsonDocument? Body, IResult? Refusal)> ReadBody(HttpContext http, params string[] allowed)
    {
        // Read whole and bounded (a body may come without a Content-Length); an empty body is {}.
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBody)
            {
                return (null, Problem(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {MaxBody / 1024} KiB"));
            }

            buffer.Write(chunk, 0, read);
        }

        JsonDocument body;
        try
        {
            body = JsonDocument.Parse(buffer.Length == 0 ? "{}"u8.ToArray() : buffer.ToArray());
        }
        catch (JsonException ex)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, $"the body is not JSON: {ex.Message}"));
        }

        if (body.RootElement.ValueKind != JsonValueKind.Object)
        {
            body.Dispose();
            return (null, Problem(StatusCodes.Status400BadRequest, "the body must be a JSON object"));
        }

        foreach (var p in body.RootElement.EnumerateObject())
        {
            if (!allowed.Contains(p.Name) || p.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                body.Dispose();
                return (null, Problem(StatusCodes.Status400BadRequest, allowed.Contains(p.Name)
                    ? $"{p.Name} must be a string"
                    : $"unknown field '{p.Name}'; the body takes {string.Join(", ", allowed)}"));
            }
        }

        return (body, null);
    }

    internal static string? Text(JsonDocument body, string name) =>
        body.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Trim() is { Length: > 0 } s ? s : null;

    private static async Task<IResult> CreateToken(HttpContext http, ApiContext api, TimeProvider time)
    {
        if (http.RequestServices.GetService<CertificateAuthority>() is not { } ca)
        {
            return NoCa();
        }

        var (body, refusal) = await ReadBody(http, "identity", "ttl", "profile").ConfigureAwait(false);
        if (body is null)
        {
            return refusal!;
        }

        using (body)
        {
            var identity = Text(body, "identity");
            if (identity is null)
            {
                return Problem(StatusCodes.Status400BadRequest, "identity is missing: the certificate name the device is to get (the plan's identity)");
            }

            var ttlText = Text(body, "ttl") ?? "24h";
            if (!CaDurations.TryParse(ttlText, out var ttl))
            {
                return Problem(StatusCodes.Status400BadRequest, $"ttl: '{ttlText}' is not a duration (e.g. 30m, 24h, 7d)");
            }

            var profile = Text(body, "profile") ?? "device";
            var by = http.User.Identity!.Name!;
            (string Token, EnrollmentTokenRecord Record) made;
            try
            {
                made = ca.CreateToken(identity, ttl, profile, "api:" + by);
            }
            catch (PkiException ex)
            {
                return Problem(StatusCodes.Status400BadRequest, ex.Message);
            }

            api.State.Audit(Time.ToUnixMicros(time.GetUtcNow()), by, "ca.token.create", identity, $"token {made.Record.Id}, {profile}, {ttlText}");
            var est = http.RequestServices.GetRequiredService<EstAddress>().Url;
            var fingerprint = ca.Root is { } root ? CaCliSupport.Fingerprint(root) : CaCliSupport.Fingerprint(ca.IssuingCertificate);
            var command = $"secmon enroll --server {est?.GetLeftPart(UriPartial.Authority) ?? "https://CA-HOST:8443"} --ca-fingerprint {fingerprint} " +
                $"--token {made.Token} --device-id {identity} --out /etc/secmon";
            return Results.Json(new Dictionary<string, object?>
            {
                ["token"] = made.Token,
                ["token_id"] = made.Record.Id,
                ["identity"] = made.Record.DeviceId,
                ["profile"] = made.Record.Profile,
                ["expires"] = made.Record.ExpiresAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                ["enroll_command"] = command,
            });
        }
    }

    private static async Task<IResult> Revoke(string identity, HttpContext http, ApiContext api, TimeProvider time)
    {
        if (http.RequestServices.GetService<CertificateAuthority>() is not { } ca)
        {
            return NoCa();
        }

        var (body, refusal) = await ReadBody(http, "reason").ConfigureAwait(false);
        if (body is null)
        {
            return refusal!;
        }

        using (body)
        {
            var reasonText = Text(body, "reason") ?? "cessation_of_operation";
            RevocationReason? reason = reasonText switch
            {
                "unspecified" => RevocationReason.Unspecified,
                "key_compromise" => RevocationReason.KeyCompromise,
                "superseded" => RevocationReason.Superseded,
                "cessation_of_operation" => RevocationReason.CessationOfOperation,
                _ => null,
            };
            if (reason is null)
            {
                return Problem(StatusCodes.Status400BadRequest, $"reason '{reasonText}' is not key_compromise, superseded, cessation_of_operation or unspecified");
            }

            var by = http.User.Identity!.Name!;
            RevocationResult result;
            try
            {
                result = ca.RevokeDevice(identity, reason.Value, "api:" + by);
            }
            catch (PkiException ex)
            {
                return Problem(StatusCodes.Status500InternalServerError, "nothing was revoked: " + ex.Message);
            }

            if (result.Revoked.Count == 0 && result.AlreadyRevoked.Count == 0)
            {
                return Problem(StatusCodes.Status404NotFound, $"'{identity}' holds no unexpired certificate of this CA ('secmon ca list' shows what was issued)");
            }

            api.State.Audit(Time.ToUnixMicros(time.GetUtcNow()), by, "ca.revoke", identity,
                $"{result.Revoked.Count} revoked ({reasonText}), {result.AlreadyRevoked.Count} already");
            return Results.Json(new Dictionary<string, object?>
            {
                ["identity"] = identity,
                ["revoked"] = result.Revoked.Select(c => c.Serial).ToArray(),
                ["already_revoked"] = result.AlreadyRevoked.Count,
                ["crl_number"] = result.Crl?.Number ?? ca.Store.LatestCrlNumber(),
            });
        }
    }
}
