using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecMon.Est;
using SecMon.Ops;
using SecMon.Pki.Ca;

namespace SecMon.Api;

/// <summary>How the API listens and limits.</summary>
internal sealed record ApiHostOptions
{
    /// <summary>What the API reads and writes (owned by the host from start on: disposed with it).</summary>
    public required ApiContext Context { get; init; }

    /// <summary>The API's HTTPS listen address. Default 127.0.0.1:8444 (this host only).</summary>
    public IPEndPoint Endpoint { get; init; } = new(IPAddress.Loopback, 8444);

    /// <summary>Requests per second per API key (sustained). Default 20.</summary>
    public int KeyPerSecond { get; init; } = 20;

    /// <summary>Requests per API key in a burst. Default 100.</summary>
    public int KeyBurst { get; init; } = 100;

    /// <summary>Requests per second per client address, with a key or without (sustained). Default 50.</summary>
    public int AddressPerSecond { get; init; } = 50;

    /// <summary>Requests per client address in a burst. Default 200.</summary>
    public int AddressBurst { get; init; } = 200;
}

/// <summary>What <see cref="ServiceHost"/> runs.</summary>
internal sealed record ServiceHostOptions
{
    /// <summary>The PKI module (EST on HTTPS, CRL and OCSP on HTTP); null when the data directory has no CA.</summary>
    public PkiServerOptions? Pki { get; init; }

    /// <summary>The analysts' API; null for none (the PKI-only server of the tests).</summary>
    public ApiHostOptions? Api { get; init; }

    /// <summary>DNS names in the self-signed API certificate when there is no CA. Default localhost.</summary>
    public IReadOnlyList<string> ServerNames { get; init; } = ["localhost"];

    /// <summary>IP addresses in the self-signed API certificate when there is no CA. Default 127.0.0.1.</summary>
    public IReadOnlyList<IPAddress> ServerIps { get; init; } = [IPAddress.Loopback];

    /// <summary>The clock. Default the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Minimum log level for SecMon's own messages. Default Information.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>True to serve <c>/metrics</c> anonymously on the plain-HTTP listener (<see cref="OpsOptions.MetricsOnHttp"/>). Default false.</summary>
    public bool MetricsOnHttp { get; init; }

    /// <summary>The most connections each listener holds open from one client address (IPv6: its /64); the next are
    /// closed at once (<see cref="ConnectionGuard"/>). Default <see cref="ConnectionGuard.DefaultPerAddress"/>.</summary>
    public int ConnectionsPerAddress { get; init; } = ConnectionGuard.DefaultPerAddress;

    /// <summary>The most connections each listener holds open. Default <see cref="ConnectionGuard.DefaultTotal"/>.</summary>
    public int ConnectionsPerListener { get; init; } = ConnectionGuard.DefaultTotal;
}

/// <summary>
/// The one web host of <c>secmon serve</c>: a single <see cref="WebApplication"/> that mounts the PKI module
/// (<see cref="EstEndpoints.AddSecMonPki"/>, <see cref="EstEndpoints.MapSecMonPki"/>) when there is a CA and the API
/// (<see cref="ApiEndpoints"/>) when asked. Listeners: EST on HTTPS and CRL/OCSP on HTTP (PKI), and the API on HTTPS of
/// its own, always HTTPS (SecMon's server certificate from the CA, else <see cref="ApiCertificate"/>). The API answers
/// on its own listener only, so an API key is never sent to the plain-HTTP CRL listener. Operational endpoints
/// (metrics, health) mount here beside the two modules.
/// </summary>
internal sealed class ServiceHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly X509Certificate2? _serverCertificate;
    private readonly X509Certificate2? _apiCertificate;
    private readonly ApiContext? _api;

    private ServiceHost(WebApplication app, CertificateAuthority? ca, X509Certificate2? serverCertificate, X509Certificate2? apiCertificate, ApiContext? api)
    {
        _app = app;
        Ca = ca;
        _serverCertificate = serverCertificate;
        _apiCertificate = apiCertificate;
        _api = api;
    }

    /// <summary>The CA being served, or null.</summary>
    public CertificateAuthority? Ca { get; }

    /// <summary>The bound EST base URL (port resolved when 0 was asked), or null without a CA.</summary>
    public Uri? HttpsUrl { get; private set; }

    /// <summary>The bound CRL/OCSP base URL, or null.</summary>
    public Uri? HttpUrl { get; private set; }

    /// <summary>The bound API base URL, or null.</summary>
    public Uri? ApiUrl { get; private set; }

    /// <summary>The SHA-256 fingerprint of the API's self-signed certificate (no CA), or null.</summary>
    public string? ApiSelfSignedFingerprint { get; private set; }

    /// <summary>The service provider.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Builds and starts the host.</summary>
    /// <exception cref="Pki.PkiException">The CA cannot be opened (wrong passphrase).</exception>
    /// <exception cref="IOException">A listener cannot bind.</exception>
    public static async Task<ServiceHost> StartAsync(ServiceHostOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        CertificateAuthority? ca = null;
        X509Certificate2? serverCert = null;
        X509Certificate2? apiCert = null;
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSecMonConsole(PkiServer.ConfigureConsole);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("SecMon", options.LogLevel);
            // Its one warning ("No XML encryptor configured ... may be persisted to storage in unencrypted form") is about a
            // key ring on disk; serve's is in memory (InMemoryKeyRing) and persisted nowhere.
            builder.Logging.AddFilter(InMemoryKeyRing.KeyManagerCategory, LogLevel.Error);
            builder.Services.AddSingleton(options.Time);
            // Signals are the process's (Program.cs: the first stops the command, which stops this host; a second ends the
            // process at once). The console lifetime would take SIGINT and SIGTERM too, and swallow the second.
            builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
            var ops = new OpsOptions { MetricsOnHttp = options.MetricsOnHttp };
            builder.Services.AddSecMonOps(ops);
            builder.Services.AddSingleton<EstAddress>();
            var guards = new ConnectionGuards(options.ConnectionsPerAddress, options.ConnectionsPerListener, options.Time);
            builder.Services.AddSingleton(guards);
            if (options.Pki is { } pki)
            {
                ca = CertificateAuthority.Open(pki.Ca, pki.Time);
                _ = ca.IssuingKey; // fail now, not at the first enrollment, when the passphrase is wrong
                ca.Store.PrepareAuditKey(); // likewise, and the key derivation is paid here rather than in a request
                if (pki.PublicUrl is { } url && url != "auto")
                {
                    PkiServer.SetPublicUrl(ca, url);
                }

                serverCert = PkiServer.LoadOrIssueServerCertificate(ca, pki.ServerNames, pki.ServerIps);
                builder.Services.AddSecMonPki(ca, pki.Est);
            }

            if (options.Api is { } api)
            {
                apiCert = serverCert ?? ApiCertificate.LoadOrCreate(api.Context.DataDirectory, options.ServerNames, options.ServerIps, options.Time.GetUtcNow());
                builder.Services.AddSecMonApi(api.Context);
                builder.Services.AddRateLimiter(o => ConfigureRateLimits(o, api));
            }

            builder.WebHost.ConfigureKestrel(k =>
            {
                k.AddServerHeader = false;
                k.Limits.MaxRequestBodySize = 1024 * 1024;
                if (options.Pki is { } p)
                {
                    k.Listen(p.Https, listen =>
                    {
                        listen.Use(guards.For("est").Wrap); // first: an over-limit connection is closed before its handshake
                        listen.UseSecMonPkiHttps(ca!, serverCert!);
                    });
                    if (p.Http is not null)
                    {
                        k.Listen(p.Http, listen =>
                        {
                            listen.Protocols = HttpProtocols.Http1;
                            listen.Use(guards.For("http").Wrap);
                        });
                    }
                }

                if (options.Api is { } a)
                {
                    k.Listen(a.Endpoint, listen =>
                    {
                        listen.Use(guards.For("api").Wrap);
                        listen.Protocols = HttpProtocols.Http1AndHttp2;
                        listen.UseHttps(new HttpsConnectionAdapterOptions
                        {
                            ServerCertificate = apiCert,
                            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                            ServerCertificateChain = ca is null ? null : [X509CertificateLoader.LoadCertificate(ca.IssuingCertificate.GetEncoded())],
                            // With a CA, analysts may log in with a client certificate it issued (the analyst profile). TLS
                            // takes any certificate (proof of possession is the handshake); the authentication handler
                            // decides per request with the CA's records (CertificateAuthority.CheckAnalyst), so a refusal is
                            // a 401 that says why (revoked, expired, another CA, a device's) rather than a failed handshake.
                            ClientCertificateMode = ca is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.AllowCertificate,
                            ClientCertificateValidation = ca is null ? null : (_, _, _) => true,
                            CheckCertificateRevocation = false,
                        });
                    });
                }
            });
            var app = builder.Build();
            guards.SetLogger(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SecMon.Connections"));
            var host = new ServiceHost(app, ca, serverCert, ReferenceEquals(apiCert, serverCert) ? null : apiCert, options.Api?.Context);
            if (options.Api is not null)
            {
                // The API on its own listener only (and nothing but the API's keys ever reach its handler elsewhere).
                app.Use((context, next) =>
                {
                    var isApi = context.Request.Path.StartsWithSegments(ApiEndpoints.Prefix, StringComparison.Ordinal);
                    if (isApi && context.Connection.LocalPort != host.ApiUrl?.Port)
                    {
                        context.Response.StatusCode = StatusCodes.Status404NotFound;
                        return Task.CompletedTask;
                    }

                    return next(context);
                });
                app.UseAuthentication();
                app.UseRateLimiter();
                app.UseAuthorization();
                app.MapSecMonApi();
                app.MapSecMonPkiActions();
                app.MapSecMonApiKeys();
                app.MapGet(ApiEndpoints.Prefix + "/metrics", OpsEndpoints.WriteMetrics).Needs(ApiScope.Read).ExcludeFromDescription();
                app.MapSecMonPage(() => host.ApiUrl?.Port);
            }

            if (options.Pki is not null)
            {
                app.MapSecMonPki();
            }

            app.MapSecMonOps();

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
            if (options.Pki is { } pk)
            {
                host.HttpsUrl = addresses.First(u => u.Scheme == "https"); // EST's listener was added first
                // Devices reach EST by the name in SecMon's server certificate when it listens on every address.
                var est = host.HttpsUrl;
                app.Services.GetRequiredService<EstAddress>().Url = est.Host is "0.0.0.0" or "[::]"
                    ? new UriBuilder(est) { Host = pk.ServerNames.Count > 0 ? pk.ServerNames[0] : "localhost" }.Uri
                    : est;

                host.HttpUrl = addresses.FirstOrDefault(u => u.Scheme == "http");
                if (pk.PublicUrl == "auto" && host.HttpUrl is not null)
                {
                    PkiServer.SetPublicUrl(ca!, host.HttpUrl.GetLeftPart(UriPartial.Authority));
                }

                var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SecMon.Est");
                var estBase = host.HttpsUrl.GetLeftPart(UriPartial.Authority);
                PkiLog.Listening(log, estBase, ca!.CrlUrl, ca.OcspUrl);
            }

            if (options.Api is not null)
            {
                // Kestrel binds (and reports) listeners in the order they were added: the API's is the last HTTPS one.
                host.ApiUrl = addresses.Last(u => u.Scheme == "https");
                ops.ApiPort = host.ApiUrl.Port;
                host.ApiSelfSignedFingerprint = ca is null ? ApiCertificate.Fingerprint(apiCert!) : null;
            }

            return host;
        }
        catch
        {
            ca?.Dispose();
            serverCert?.Dispose();
            if (!ReferenceEquals(apiCert, serverCert))
            {
                apiCert?.Dispose();
            }

            throw;
        }
    }

    // Per key and per client address (a token bucket each, chained: a request needs a token from both). A refusal is
    // 429 with Retry-After and a problem document. Paths outside the API are not limited here (EST has its own limits).
    private static void ConfigureRateLimits(RateLimiterOptions o, ApiHostOptions api)
    {
        static TokenBucketRateLimiterOptions Bucket(int perSecond, int burst) => new()
        {
            TokenLimit = Math.Max(1, burst),
            TokensPerPeriod = Math.Max(1, perSecond),
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        };

        var byKey = PartitionedRateLimiter.Create<HttpContext, string>(c =>
            c.Request.Path.StartsWithSegments(ApiEndpoints.Prefix, StringComparison.Ordinal) && c.User.Identity is { IsAuthenticated: true, Name: { } name }
                ? RateLimitPartition.GetTokenBucketLimiter("key:" + name, _ => Bucket(api.KeyPerSecond, api.KeyBurst))
                : RateLimitPartition.GetNoLimiter(""));
        var byAddress = PartitionedRateLimiter.Create<HttpContext, string>(c =>
            c.Request.Path.StartsWithSegments(ApiEndpoints.Prefix, StringComparison.Ordinal)
                ? RateLimitPartition.GetTokenBucketLimiter("ip:" + c.Connection.RemoteIpAddress, _ => Bucket(api.AddressPerSecond, api.AddressBurst))
                : RateLimitPartition.GetNoLimiter(""));
        o.GlobalLimiter = PartitionedRateLimiter.CreateChained(byKey, byAddress);
        o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        o.OnRejected = (context, _) =>
        {
            var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
            context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new ValueTask(ApiProblems.Write(context.HttpContext, StatusCodes.Status429TooManyRequests, "Too Many Requests",
                $"rate limit reached (per API key {api.KeyPerSecond}/s, burst {api.KeyBurst}; per address {api.AddressPerSecond}/s, burst {api.AddressBurst}); retry after {seconds} s"));
        };
    }

    /// <summary>Waits until the host stops (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => ((IHost)_app).WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _serverCertificate?.Dispose();
        _apiCertificate?.Dispose();
        _api?.Dispose();
        Ca?.Dispose();
    }
}

/// <summary>The host's lifetime under a command: starts at once, and stops when the command stops the host (its token,
/// cancelled by the process's signal handlers), never on a signal of its own.</summary>
internal sealed class CommandLifetime : IHostLifetime
{
    /// <inheritdoc />
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
