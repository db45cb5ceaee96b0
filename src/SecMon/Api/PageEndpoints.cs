using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SecMon.Api;

/// <summary>
/// The analysts' page (Api/Page/: one HTML file, one script, one style sheet, embedded in the executable): served at
/// <c>/</c> and <c>/page/*</c> with a strict Content-Security-Policy (only this origin's script and style, no inline
/// code, no framing), so that a finding's text from the network can never run in the analyst's browser even if it
/// reached the page as markup (the script puts every value in as text). The page itself carries no data: it reads
/// the API with the analyst's key.
/// </summary>
internal static class PageEndpoints
{
    private const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private static readonly (string Route, string Resource, string ContentType)[] Files =
    [
        ("/", "page/index.html", "text/html; charset=utf-8"),
        ("/page/app.js", "page/app.js", "text/javascript; charset=utf-8"),
        ("/page/app.css", "page/app.css", "text/css; charset=utf-8"),
    ];

    /// <summary>Maps the page's files; <paramref name="listenerPort"/>, when it gives a port, keeps them to that listener
    /// (the API's), 404 elsewhere.</summary>
    public static IEndpointRouteBuilder MapSecMonPage(this IEndpointRouteBuilder app, Func<int?> listenerPort)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(listenerPort);
        foreach (var (route, resource, contentType) in Files)
        {
            var bytes = Load(resource);
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"";
            app.MapGet(route, (HttpContext context) =>
            {
                if (listenerPort() is { } port && context.Connection.LocalPort != port)
                {
                    return Results.NotFound();
                }

                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = Policy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.CacheControl = "no-cache";
                headers.ETag = etag;
                return context.Request.Headers.IfNoneMatch == etag ? Results.StatusCode(StatusCodes.Status304NotModified) : Results.Bytes(bytes, contentType);
            }).ExcludeFromDescription();
        }

        return app;
    }

    private static byte[] Load(string resource)
    {
        using var stream = typeof(PageEndpoints).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the page's {resource} is not embedded in the executable (SecMon.csproj)");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
