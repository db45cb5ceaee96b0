using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SecMon.Ops;

/// <summary>
/// The operator's endpoints as a module a host mounts:
/// <code>
/// builder.Services.AddSecMonOps();
/// app.MapSecMonOps();
/// </code>
/// <c>/metrics</c> (Prometheus text format), <c>/healthz</c> (200 while the process serves) and <c>/readyz</c> (200 when
/// ready, 503 with one line per reason otherwise: <see cref="Readiness"/>). Served on plain HTTP only, beside the CRL
/// and OCSP, for the monitoring on the operator's side; on the HTTPS listener (which devices reach for EST) they answer
/// 404. The host's sensor reports to the <see cref="SensorMonitor"/> registered here.
/// </summary>
internal static class OpsEndpoints
{
    /// <summary>The metrics path.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The liveness path.</summary>
    public const string HealthPath = "/healthz";

    /// <summary>The readiness path.</summary>
    public const string ReadyPath = "/readyz";

    /// <summary>Registers the sensor monitor and the metrics.</summary>
    public static IServiceCollection AddSecMonOps(this IServiceCollection services)
    {
        services.TryAddSingleton<SensorMonitor>();
        services.TryAddSingleton<SecMonMetrics>();
        return services;
    }

    /// <summary>Maps <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c>.</summary>
    public static IEndpointRouteBuilder MapSecMonOps(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet(MetricsPath, Metrics);
        app.MapGet(HealthPath, ctx => PlainHttp(ctx) ? Text(ctx, StatusCodes.Status200OK, "ok\n") : Task.CompletedTask);
        app.MapGet(ReadyPath, Ready);
        return app;
    }

    private static async Task Metrics(HttpContext ctx)
    {
        if (!PlainHttp(ctx))
        {
            return;
        }

        await WriteMetrics(ctx).ConfigureAwait(false);
    }

    /// <summary>The exposition, for <c>/metrics</c> on the HTTP listener and for <c>/api/metrics</c> on the API's (with a
    /// read key: a server without a CA has no HTTP listener, and the API's needs no anonymous access).</summary>
    internal static async Task WriteMetrics(HttpContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var metrics = ctx.RequestServices.GetRequiredService<SecMonMetrics>();
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-store";
        await metrics.Registry.CollectAndExportAsTextAsync(ctx.Response.Body, ctx.RequestAborted).ConfigureAwait(false);
    }

    private static Task Ready(HttpContext ctx)
    {
        if (!PlainHttp(ctx))
        {
            return Task.CompletedTask;
        }

        var problems = Readiness.Problems(ctx.RequestServices.GetRequiredService<SensorMonitor>(), ctx.RequestServices);
        return problems.Count == 0
            ? Text(ctx, StatusCodes.Status200OK, "ready\n")
            : Text(ctx, StatusCodes.Status503ServiceUnavailable, string.Concat(problems.Select(p => p + "\n")));
    }

    // Devices reach the HTTPS listener (EST); what the host says about itself is for the operator's side only.
    private static bool PlainHttp(HttpContext ctx)
    {
        if (!ctx.Request.IsHttps)
        {
            return true;
        }

        ctx.Response.StatusCode = StatusCodes.Status404NotFound;
        return false;
    }

    private static Task Text(HttpContext ctx, int status, string body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-store";
        return ctx.Response.WriteAsync(body, ctx.RequestAborted);
    }
}
