using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecMon.Pki.Ca;
using SecMon.Pki.Est;
using SecMon.Pki.Profiles;
using SecMon.Pki.Revocation;

namespace SecMon.Est;

/// <summary>
/// The PKI's HTTP endpoints as a module any ASP.NET Core host can mount:
/// <code>
/// builder.Services.AddSecMonPki(ca, new EstOptions());
/// app.MapSecMonPki();
/// </code>
/// EST (RFC 7030) under <c>/.well-known/est/[LABEL/]</c>, HTTPS only; the CRL at <c>/pki/crl</c> (DER) and
/// <c>/pki/crl.pem</c>; OCSP (RFC 6960) at <c>/pki/ocsp</c>, POST and GET. CRL and OCSP are served over
/// plain HTTP too (RFC 5280 §4.2.1.13 and RFC 6960 §A.1 are HTTP URLs, and relying parties do not trust a
/// TLS server whose own revocation they are checking).
/// </summary>
internal static class EstEndpoints
{
    /// <summary>Path prefix of EST (RFC 7030 §3.2.2).</summary>
    public const string EstPrefix = "/.well-known/est";

    /// <summary>The CRL path.</summary>
    public const string CrlPath = "/pki/crl";

    /// <summary>The OCSP path.</summary>
    public const string OcspPath = "/pki/ocsp";

    // Largest request body read: base64 of the largest CSR (4/3) plus line breaks, with room to spare.
    private const int MaxBodyBytes = 64 * 1024;

    private const string Pkcs7CertsOnly = "application/pkcs7-mime; smime-type=certs-only";

    /// <summary>Registers the CA, the EST service and the revocation publisher.</summary>
    public static IServiceCollection AddSecMonPki(this IServiceCollection services, CertificateAuthority ca, EstOptions options)
    {
        services.AddSingleton(ca);
        services.AddSingleton(new EnrollmentService(ca, options));
        services.AddSingleton<EnrollmentGate>();
        services.AddSingleton<RevocationPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<RevocationPublisher>());
        return services;
    }

    /// <summary>Maps the EST, CRL and OCSP endpoints.</summary>
    public static IEndpointRouteBuilder MapSecMonPki(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        foreach (var prefix in new[] { EstPrefix, EstPrefix + "/{label}" })
        {
            app.MapGet(prefix + "/cacerts", CaCerts);
            app.MapGet(prefix + "/csrattrs", CsrAttrs);
            app.MapPost(prefix + "/simpleenroll", ctx => Enroll(ctx, "simpleenroll"));
            app.MapPost(prefix + "/simplereenroll", ctx => Enroll(ctx, "simplereenroll"));
            app.MapPost(prefix + "/serverkeygen", ctx => Enroll(ctx, "serverkeygen"));
        }

        app.MapGet(CrlPath, ctx => Crl(ctx, pem: false));
        app.MapGet(CrlPath + ".pem", ctx => Crl(ctx, pem: true));
        app.MapPost(OcspPath, OcspPost);
        app.MapGet(OcspPath + "/{**request}", OcspGet);
        return app;
    }

    private static async Task CaCerts(HttpContext ctx)
    {
        var est = ctx.RequestServices.GetRequiredService<EnrollmentService>();
        if (!await RequireHttpsAndLabel(ctx, est).ConfigureAwait(false))
        {
            return;
        }

        // RFC 7030 §4.1.3: certs-only PKCS#7, base64 with Content-Transfer-Encoding (RFC 8951 §3).
        await WriteBase64(ctx, "application/pkcs7-mime", est.CaCerts).ConfigureAwait(false);
    }

    private static async Task CsrAttrs(HttpContext ctx)
    {
        var est = ctx.RequestServices.GetRequiredService<EnrollmentService>();
        if (!await RequireHttpsAndLabel(ctx, est).ConfigureAwait(false))
        {
            return;
        }

        // RFC 7030 §4.5.2.
        await WriteBase64(ctx, "application/csrattrs", EstEncoding.CsrAttributes()).ConfigureAwait(false);
    }

    private static async Task Enroll(HttpContext ctx, string operation)
    {
        var est = ctx.RequestServices.GetRequiredService<EnrollmentService>();
        var logger = ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("SecMon.Est");
        var credentials = new EstCredentials
        {
            ClientAddress = ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            Token = ReadToken(ctx.Request),
        };
        if (!ctx.Request.IsHttps)
        {
            await Finish(ctx, logger, operation, est.Refuse(EnrollmentOutcome.Forbidden, "EST requires HTTPS", credentials, null)).ConfigureAwait(false);
            return;
        }

        // Rate-limit before reading the body, so a flood costs the server as little as possible.
        if (est.CheckClientRate(credentials) is { } limited)
        {
            await Finish(ctx, logger, operation, limited).ConfigureAwait(false);
            return;
        }

        var contentType = ctx.Request.ContentType ?? "";
        if (!contentType.StartsWith("application/pkcs10", StringComparison.OrdinalIgnoreCase))
        {
            await Finish(ctx, logger, operation, est.Refuse(EnrollmentOutcome.BadRequest, $"Content-Type must be application/pkcs10 (RFC 7030 §4.2.1), not \"{Truncate(contentType)}\"", credentials, null))
                .ConfigureAwait(false);
            return;
        }

        var (body, tooLarge) = await ReadBody(ctx.Request, MaxBodyBytes, ctx.RequestAborted).ConfigureAwait(false);
        if (tooLarge)
        {
            await Finish(ctx, logger, operation, est.Refuse(EnrollmentOutcome.PayloadTooLarge, $"request body larger than {MaxBodyBytes} bytes", credentials, null)).ConfigureAwait(false);
            return;
        }

        if (!EstEncoding.TryDecodeBody(body, out var der))
        {
            await Finish(ctx, logger, operation, est.Refuse(EnrollmentOutcome.BadRequest, "body is not a base64 (RFC 8951) or DER PKCS#10 CSR", credentials, null)).ConfigureAwait(false);
            return;
        }

        var clientCert = await ctx.Connection.GetClientCertificateAsync(ctx.RequestAborted).ConfigureAwait(false);
        credentials = credentials with { ClientCertificate = clientCert?.RawData };
        var label = ctx.Request.RouteValues.TryGetValue("label", out var l) ? l as string : null;

        // Enrollment is CPU work plus one short SQLite transaction: run at most one per core and let the rest
        // wait asynchronously, instead of parking thread-pool threads on the store's lock (measured: spinning
        // and blocked threads cost more CPU than the enrollments on a 2-core machine).
        var gate = ctx.RequestServices.GetRequiredService<EnrollmentGate>();
        await gate.Semaphore.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
        EnrollmentResult result;
        try
        {
            result = operation switch
            {
                "simpleenroll" => est.SimpleEnroll(label, der, credentials),
                "simplereenroll" => est.SimpleReenroll(label, der, credentials),
                _ => est.ServerKeyGen(label, der, credentials),
            };
        }
        finally
        {
            gate.Semaphore.Release();
        }

        await Finish(ctx, logger, operation, result).ConfigureAwait(false);
    }

    private static async Task Finish(HttpContext ctx, ILogger logger, string operation, EnrollmentResult result)
    {
        var response = ctx.Response;
        var status = EnrollmentService.ToStatus(result.Outcome);
        var client = ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (result.Outcome == EnrollmentOutcome.Issued)
        {
            var cert = result.Certificate!;
            if (logger.IsEnabled(LogLevel.Information))
            {
                var serial = CertificateBuilder.SerialHex(cert.SerialNumber);
                var device = CertificateAuthority.CommonNameOf(cert.SubjectDN) ?? "?";
                PkiLog.Issued(logger, operation, serial, device, client);
            }

            var certsOnly = EstEncoding.CertsOnly([cert]);
            if (result.PrivateKeyPkcs8 is null)
            {
                // RFC 7030 §4.2.3: application/pkcs7-mime; smime-type=certs-only, base64.
                await WriteBase64(ctx, Pkcs7CertsOnly, certsOnly).ConfigureAwait(false);
                return;
            }

            // RFC 7030 §4.4.2: multipart/mixed, the private key (application/pkcs8) then the certificate.
            var boundary = "secmon-" + Guid.NewGuid().ToString("N");
            var sb = new StringBuilder();
            sb.Append("--").Append(boundary).Append("\r\nContent-Type: application/pkcs8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            sb.Append(Encoding.ASCII.GetString(EstEncoding.EncodeBody(result.PrivateKeyPkcs8)));
            sb.Append("--").Append(boundary).Append("\r\nContent-Type: ").Append(Pkcs7CertsOnly).Append("\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            sb.Append(Encoding.ASCII.GetString(EstEncoding.EncodeBody(certsOnly)));
            sb.Append("--").Append(boundary).Append("--\r\n");
            response.StatusCode = 200;
            response.ContentType = "multipart/mixed; boundary=" + boundary;
            response.Headers.CacheControl = "no-store";
            await response.WriteAsync(sb.ToString(), ctx.RequestAborted).ConfigureAwait(false);
            return;
        }

        PkiLog.Refused(logger, operation, status, client, result.Reason ?? "");
        response.StatusCode = status;
        if (result.Outcome == EnrollmentOutcome.Unauthorized)
        {
            // RFC 7030 §3.2.3 and RFC 7235 §4.1: say which schemes work.
            response.Headers.WWWAuthenticate = new Microsoft.Extensions.Primitives.StringValues(["Basic realm=\"SecMon EST\"", "Bearer realm=\"SecMon EST\""]);
        }

        if (result.RetryAfter is { } wait)
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        response.ContentType = "text/plain; charset=utf-8";
        await response.WriteAsync((result.Reason ?? "refused") + "\n", ctx.RequestAborted).ConfigureAwait(false);
    }

    private static async Task Crl(HttpContext ctx, bool pem)
    {
        var crl = ctx.RequestServices.GetRequiredService<RevocationPublisher>().Crl;
        ctx.Response.Headers.CacheControl = "max-age=60";
        if (pem)
        {
            ctx.Response.ContentType = "application/x-pem-file";
            await ctx.Response.WriteAsync(System.Security.Cryptography.PemEncoding.WriteString("X509 CRL", crl) + "\n", ctx.RequestAborted).ConfigureAwait(false);
            return;
        }

        // RFC 5280 §4.2.1.13 / RFC 2585 §4.2: DER, application/pkix-crl.
        ctx.Response.ContentType = "application/pkix-crl";
        await ctx.Response.Body.WriteAsync(crl, ctx.RequestAborted).ConfigureAwait(false);
    }

    private static async Task OcspPost(HttpContext ctx)
    {
        var responder = ctx.RequestServices.GetRequiredService<RevocationPublisher>().Responder;
        var (body, tooLarge) = await ReadBody(ctx.Request, OcspResponder.MaxRequestBytes, ctx.RequestAborted).ConfigureAwait(false);
        await WriteOcsp(ctx, tooLarge ? OcspResponder.Malformed : responder.Respond(body)).ConfigureAwait(false);
    }

    private static async Task OcspGet(HttpContext ctx)
    {
        // RFC 6960 §A.1: GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}. Take the raw
        // target: the base64 may contain '/' and '+', which path decoding would mangle.
        var responder = ctx.RequestServices.GetRequiredService<RevocationPublisher>().Responder;
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? ctx.Request.Path.Value ?? "";
        var at = raw.IndexOf(OcspPath + "/", StringComparison.Ordinal);
        var encoded = at < 0 ? "" : raw[(at + OcspPath.Length + 1)..];
        byte[] der;
        try
        {
            der = encoded.Length is 0 or > OcspResponder.MaxRequestBytes * 2 ? [] : Convert.FromBase64String(Uri.UnescapeDataString(encoded));
        }
        catch (FormatException)
        {
            der = [];
        }

        await WriteOcsp(ctx, responder.Respond(der)).ConfigureAwait(false);
    }

    private static async Task WriteOcsp(HttpContext ctx, byte[] response)
    {
        // RFC 6960 §A.2: application/ocsp-response.
        ctx.Response.ContentType = "application/ocsp-response";
        ctx.Response.ContentLength = response.Length;
        await ctx.Response.Body.WriteAsync(response, ctx.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<bool> RequireHttpsAndLabel(HttpContext ctx, EnrollmentService est)
    {
        var label = ctx.Request.RouteValues.TryGetValue("label", out var l) ? l as string : null;
        if (!ctx.Request.IsHttps)
        {
            ctx.Response.StatusCode = 403;
            await ctx.Response.WriteAsync("EST requires HTTPS\n", ctx.RequestAborted).ConfigureAwait(false);
            return false;
        }

        if (!est.IsKnownLabel(label))
        {
            ctx.Response.StatusCode = 404;
            await ctx.Response.WriteAsync($"unknown label \"{Truncate(label ?? "")}\"\n", ctx.RequestAborted).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    private static async Task WriteBase64(HttpContext ctx, string contentType, byte[] der)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = contentType;
        ctx.Response.Headers["Content-Transfer-Encoding"] = "base64";
        var body = EstEncoding.EncodeBody(der);
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The enrollment token from <c>Authorization: Basic</c> (the password; the user name is ignored) or <c>Bearer</c>.</summary>
    internal static string? ReadToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }

        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                return colon < 0 ? decoded : decoded[(colon + 1)..];
            }
            catch (FormatException)
            {
                return "";
            }
        }

        return null;
    }

    // A body over the limit is refused as a result, never an exception: a Content-Length above it is refused before
    // a byte is read (above Kestrel's MaxRequestBodySize the first read would throw BadHttpRequestException, which
    // the host logged as an unhandled error with a stack trace and no audit row); a chunked body is read until it
    // passes the limit. Kestrel's own limit stays as a backstop and is caught here too.
    private static async Task<(byte[] Body, bool TooLarge)> ReadBody(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return ([], true);
        }

        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = read.Buffer;
                if (buffer.Length > limit)
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    return ([], true);
                }

                if (read.IsCompleted)
                {
                    var body = buffer.ToArray();
                    reader.AdvanceTo(buffer.End);
                    return (body, false);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ([], true);
        }
    }

    private static string Truncate(string s) => s.Length > 60 ? s[..60] + "..." : s;
}

/// <summary>Limits concurrent enrollments to the number of cores (see <see cref="EstEndpoints"/>).</summary>
internal sealed class EnrollmentGate : IDisposable
{
    /// <summary>One permit per core.</summary>
    public SemaphoreSlim Semaphore { get; } = new(Environment.ProcessorCount, Environment.ProcessorCount);

    public void Dispose() => Semaphore.Dispose();
}
