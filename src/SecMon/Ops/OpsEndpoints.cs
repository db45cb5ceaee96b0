using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SecMon.Ops;

/// <summary>
/// The operator's endpoints as a module a host mounts:
/// <code>
/// builder.Services.AddSecMonOps(new OpsOptions { MetricsOnHttp = false });
/// app.MapSecMonOps();
/// </code>
/// <c>/healthz</c> (200 while the process serves) and <c>/readyz</c> (200 when ready, 503 with one line per reason
/// otherwise: <see cref="Readiness"/>) answer on the plain-HTTP listener (beside the CRL and OCSP) and on the API's HTTPS
/// listener, without authentication (a load balancer or an orchestrator probes them). On the API's listener, which may be
/// reached from other hosts, the reasons are brief (what is wrong, without paths or error texts); on the HTTP listener
/// they are whole. <c>/metrics</c> (Prometheus text format) answers anonymously on the HTTP listener only when
/// <see cref="OpsOptions.MetricsOnHttp"/> says so (off by default); the API's <c>/api/metrics</c> serves it with a read
/// key. On the EST listener (HTTPS, reached by devices) all three answer 404. The host's sensor reports to the
/// <see cref="SensorMonitor"/> registered here.
/// </summary>
internal static class OpsEndpoints
{
    /// <summary>The metrics path.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The liveness path.</summary>
    public const string HealthPath = "/healthz";

    /// <summary>The readiness path.</summary>
    public const string ReadyPath = "/readyz";

    /// <summary>Registers the sensor monitor, the metrics and where the endpoints answer (default: <see cref="OpsOptions"/>'s).</summary>
    public static IServiceCollection AddSecMonOps(this IServiceCollection services, OpsOptions? options = null)
    {
        services.TryAddSingleton(options ?? new OpsOptions());
        services.TryAddSingleton<SensorMonitor>();
        services.TryAddSingleton<SecMonMetrics>();
        return services;
    }

    /// <summary>Maps <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c>.</summary>
    public static IEndpointRouteBuilder MapSecMonOps(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet(MetricsPath, Metrics);
        app.MapGet(HealthPath, ctx => Where(ctx) != Listener.Est ? Text(ctx, StatusCodes.Status200OK, "ok\n") : NotFound(ctx));
        app.MapGet(ReadyPath, Ready);
        return app;
    }

    private static Task Metrics(HttpContext ctx) =>
        Where(ctx) == Listener.Http && ctx.RequestServices.GetRequiredService<OpsOptions>().MetricsOnHttp ? WriteMetrics(ctx) : NotFound(ctx);

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
        var where = Where(ctx);
        if (where == Listener.Est)
        {
            return NotFound(ctx);
        }

        var problems = Readiness.Check(ctx.RequestServices.GetRequiredService<SensorMonitor>(), ctx.RequestServices);
        return problems.Count == 0
            ? Text(ctx, StatusCodes.Status200OK, "ready\n")
            : Text(ctx, StatusCodes.Status503ServiceUnavailable, string.Concat(problems.Select(p => (where == Listener.Api ? p.Brief : p.Detail) + "\n")));
    }

    private enum Listener
    {
        Http,
        Api,
        Est,
    }

    // Devices reach the EST listener (HTTPS): what the host says about itself is for the operator's side only. The API's
    // listener is HTTPS too; its port tells it apart.
    private static Listener Where(HttpContext ctx) =>
        !ctx.Request.IsHttps ? Listener.Http
        : ctx.RequestServices.GetRequiredService<OpsOptions>().ApiPort == ctx.Connection.LocalPort ? Listener.Api
        : Listener.Est;

    private static Task NotFound(HttpContext ctx)
    {
        ctx.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static Task Text(HttpContext ctx, int status, string body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-store";
        return ctx.Response.WriteAsync(body, ctx.RequestAborted);
    }
}
