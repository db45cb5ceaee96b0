using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecMon.Pki.Ca;

namespace SecMon.Api;

/// <summary>
/// Authenticates API requests (<c>/api/...</c> only: EST, CRL and OCSP keep their own rules) by the key in
/// <c>Authorization: Bearer KEY</c> or <c>X-API-Key: KEY</c> (<see cref="ApiKeyStore"/>), or, without a key, by the TLS
/// client certificate when the server has a CA: an analyst's certificate from that CA
/// (<see cref="CertificateAuthority.CheckAnalyst"/>: issued by it, valid now, the analyst profile, not revoked in its
/// store). The principal's name is the key's name, or the certificate's subject (<c>CN=alice</c>: what the audit log
/// records), and its <see cref="ScopeClaim"/> the key's or the certificate's scope. The key is never logged. Refusals are
/// answered with problem details (RFC 9457): 401 with <c>WWW-Authenticate: Bearer</c> saying why, 403 when the scope is
/// too small.
/// </summary>
internal sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiKeyStore keys, TimeProvider time) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "SecMonApiKey";

    /// <summary>The claim holding the scope (read, write or admin).</summary>
    public const string ScopeClaim = "secmon_scope";

    /// <summary>The claim holding the serial of the client certificate that authenticated the request, if one did.</summary>
    public const string CertificateSerialClaim = "secmon_certificate_serial";

    private const string FailureItem = "secmon.auth.failure";

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Path.StartsWithSegments(ApiEndpoints.Prefix, StringComparison.Ordinal))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        string? presented = null;
        var authorization = Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = authorization["Bearer ".Length..].Trim();
        }
        else if (Request.Headers.TryGetValue("X-API-Key", out var header))
        {
            presented = header.ToString().Trim();
        }

        if (string.IsNullOrEmpty(presented))
        {
            if (Context.Connection.ClientCertificate is { } certificate && Context.RequestServices.GetService(typeof(CertificateAuthority)) is CertificateAuthority ca)
            {
                return Task.FromResult(ByCertificate(certificate, ca));
            }

            Context.Items[FailureItem] = "no API key: send 'Authorization: Bearer KEY' (make one with 'secmon apikey create'), " +
                "or connect with an analyst's client certificate from this server's CA";
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var check = keys.Check(presented, time.GetUtcNow(), out var record);
        if (check != ApiKeyCheck.Ok)
        {
            var why = check switch
            {
                ApiKeyCheck.Revoked => "the API key was revoked",
                ApiKeyCheck.Expired => $"the API key expired at {record!.Expires:yyyy-MM-ddTHH:mm:ssZ}",
                _ => "the API key is not valid",
            };
            Context.Items[FailureItem] = why;
            return Task.FromResult(AuthenticateResult.Fail(why));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, record!.Name), new Claim(ScopeClaim, record.Scope.ToString().ToLowerInvariant())], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    private AuthenticateResult ByCertificate(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, CertificateAuthority ca)
    {
        var check = ca.CheckAnalyst(certificate.RawData);
        if (!check.Ok)
        {
            var why = check.Reason ?? "the client certificate grants no scope";
            Context.Items[FailureItem] = why;
            return AuthenticateResult.Fail(why);
        }

        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, check.Subject!),
            new Claim(ScopeClaim, check.Scope!.Value.ToString().ToLowerInvariant()),
            new Claim(CertificateSerialClaim, check.Serial!),
        ], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    /// <inheritdoc />
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer realm=\"secmon\"";
        var why = Context.Items[FailureItem] as string ?? "an API key is needed";
        return ApiProblems.Write(Context, StatusCodes.Status401Unauthorized, "Unauthorized", why);
    }

    /// <inheritdoc />
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var scope = Context.User.FindFirst(ScopeClaim)?.Value ?? "?";
        var needed = Context.GetEndpoint()?.Metadata.GetMetadata<ApiScopeRequirement>()?.Scope.ToString().ToLowerInvariant() ?? "more";
        return ApiProblems.Write(Context, StatusCodes.Status403Forbidden, "Forbidden",
            $"this needs scope {needed} (an API key or an analyst's certificate); '{Context.User.Identity?.Name}' has scope {scope}");
    }

    /// <summary>The scope of an authenticated principal, or null.</summary>
    public static ApiScope? ScopeOf(ClaimsPrincipal user) =>
        Enum.TryParse<ApiScope>(user?.FindFirst(ScopeClaim)?.Value, ignoreCase: true, out var s) ? s : null;
}

/// <summary>Endpoint metadata: the least scope the endpoint needs (for the 403 message).</summary>
/// <param name="Scope">The scope.</param>
internal sealed record ApiScopeRequirement(ApiScope Scope);

/// <summary>Problem details (RFC 9457) for the API's errors.</summary>
internal static class ApiProblems
{
    /// <summary>Writes <c>application/problem+json</c> with <paramref name="status"/>, a title and what is wrong.</summary>
    public static Task Write(HttpContext context, int status, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        return Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions).ExecuteAsync(context);
    }
}
