using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecMon.Ops;
using SecMon.Pki;
using SecMon.Pki.Ca;
using SecMon.Pki.Est;
using SecMon.Pki.Keys;
using SecMon.Pki.Profiles;

namespace SecMon.Est;

/// <summary>How <see cref="PkiServer"/> listens.</summary>
internal sealed record PkiServerOptions
{
    /// <summary>The CA to serve.</summary>
    public required CaOptions Ca { get; init; }

    /// <summary>EST behaviour (approval, rate limits).</summary>
    public EstOptions Est { get; init; } = new();

    /// <summary>HTTPS (EST) listen address. Default 0.0.0.0:8443.</summary>
    public IPEndPoint Https { get; init; } = new(IPAddress.Any, 8443);

    /// <summary>HTTP (CRL, OCSP) listen address, or null for none. Default 0.0.0.0:8080.</summary>
    public IPEndPoint? Http { get; init; } = new(IPAddress.Any, 8080);

    /// <summary>DNS names in SecMon's own server certificate. Default localhost and this host's name.</summary>
    public IReadOnlyList<string> ServerNames { get; init; } = ["localhost"];

    /// <summary>IP addresses in SecMon's own server certificate. Default 127.0.0.1.</summary>
    public IReadOnlyList<IPAddress> ServerIps { get; init; } = [IPAddress.Loopback];

    /// <summary>
    /// Base URL (<c>http://host:port</c>) relying parties use for the CRL and OCSP, written into new
    /// certificates; <c>auto</c> = the HTTP address actually bound; null = ca.json's URLs.
    /// </summary>
    public string? PublicUrl { get; init; }

    /// <summary>The clock. Default the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Minimum log level for SecMon's own messages. Default Information.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;
}

/// <summary>
/// A Kestrel host with only the PKI endpoints: what <c>secmon serve</c> runs until the full service host
/// exists, and what the integration tests start in-process. The full host mounts the same module with
/// <see cref="EstEndpoints.AddSecMonPki"/>, <see cref="EstEndpoints.MapSecMonPki"/> and
/// <see cref="PkiKestrel.UseSecMonPkiHttps"/>.
/// </summary>
internal sealed class PkiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly X509Certificate2 _serverCertificate;

    private PkiServer(WebApplication app, CertificateAuthority ca, X509Certificate2 serverCertificate, Uri httpsUrl, Uri? httpUrl)
    {
        _app = app;
        Ca = ca;
        _serverCertificate = serverCertificate;
        HttpsUrl = httpsUrl;
        HttpUrl = httpUrl;
    }

    /// <summary>The CA being served.</summary>
    public CertificateAuthority Ca { get; }

    /// <summary>The bound HTTPS base URL (port resolved when 0 was asked).</summary>
    public Uri HttpsUrl { get; }

    /// <summary>The bound HTTP base URL, or null.</summary>
    public Uri? HttpUrl { get; }

    /// <summary>The service provider (tests reach the revocation publisher through it).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Opens the CA, makes sure SecMon has a server certificate, and starts listening.</summary>
    /// <exception cref="PkiException">No CA, wrong passphrase.</exception>
    public static async Task<PkiServer> StartAsync(PkiServerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var ca = CertificateAuthority.Open(options.Ca, options.Time);
        try
        {
            _ = ca.IssuingKey; // fail now, not at the first enrollment, when the passphrase is wrong
            ca.Store.PrepareAuditKey(); // likewise, and the key derivation is paid here rather than in a request
            if (options.PublicUrl is { } url && url != "auto")
            {
                SetPublicUrl(ca, url);
            }

            var serverCert = LoadOrIssueServerCertificate(ca, options.ServerNames, options.ServerIps);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSecMonConsole(ConfigureConsole);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("SecMon", options.LogLevel);
            builder.Services.AddSingleton(options.Time);
            builder.Services.AddSecMonPki(ca, options.Est);
            builder.Services.AddSecMonOps();
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.AddServerHeader = false;
                k.Limits.MaxRequestBodySize = 1024 * 1024;
                k.Listen(options.Https, listen => listen.UseSecMonPkiHttps(ca, serverCert));
                if (options.Http is not null)
                {
                    k.Listen(options.Http, listen => listen.Protocols = HttpProtocols.Http1);
                }
            });
            var app = builder.Build();
            app.MapSecMonPki();
            app.MapSecMonOps();
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            var https = new Uri(addresses.First(a => a.StartsWith("https://", StringComparison.Ordinal)));
            var httpAddress = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal));
            var http = httpAddress is null ? null : new Uri(httpAddress);
            if (options.PublicUrl == "auto" && http is not null)
            {
                SetPublicUrl(ca, http.GetLeftPart(UriPartial.Authority));
            }

            var server = new PkiServer(app, ca, serverCert, https, http);
            var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SecMon.Est");
            var httpsBase = https.GetLeftPart(UriPartial.Authority);
            PkiLog.Listening(log, httpsBase, ca.CrlUrl, ca.OcspUrl);
            return server;
        }
        catch
        {
            ca.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The console log format of the server: one line per message, starting with an ISO-8601 UTC timestamp
    /// (<c>2026-12-05T11:30:00.123Z info: SecMon.Est[3001] ...</c>), no colours (the lines go to journals and files).
    /// </summary>
    internal static void ConfigureConsole(Microsoft.Extensions.Logging.Console.SimpleConsoleFormatterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.SingleLine = true;
        options.UseUtcTimestamp = true;
        options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        options.ColorBehavior = Microsoft.Extensions.Logging.Console.LoggerColorBehavior.Disabled;
        options.IncludeScopes = false;
    }

    /// <summary>
    /// What <c>secmon serve</c> says at start about where it listens: the bound addresses and ports, and when one is
    /// a wildcard (0.0.0.0, [::]), that every address of the host accepts connections and how to restrict that.
    /// </summary>
    internal static IReadOnlyList<string> DescribeListeners(Uri https, Uri? http)
    {
        ArgumentNullException.ThrowIfNull(https);
        var lines = new List<string>
        {
            $"listening on {https.Authority} (HTTPS: EST)" + (http is null ? "; no HTTP listener (CRL, OCSP)" : $" and {http.Authority} (HTTP: CRL, OCSP)"),
        };
        var wildcard = new[] { https, http }.Where(u => u is not null && IsWildcard(u.Host)).Select(u => u!.Authority).ToList();
        if (wildcard.Count > 0)
        {
            lines.Add($"{string.Join(" and ", wildcard)}: every address of this host accepts connections (devices on the network must reach EST); " +
                $"to restrict, give one address: --https 127.0.0.1:{https.Port}" + (http is null ? "" : $" --http 127.0.0.1:{http.Port}") +
                " (this host only) or this host's address on the device network");
        }

        return lines;
    }

    private static bool IsWildcard(string host) =>
        IPAddress.TryParse(host.Trim('[', ']'), out var a) && (a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any));

    /// <summary>
    /// SecMon's own HTTPS certificate (server profile): reused from the CA home while it is valid for more than
    /// a third of its lifetime and names every requested name, else issued anew (key encrypted at rest).
    /// </summary>
    public static X509Certificate2 LoadOrIssueServerCertificate(CertificateAuthority ca, IReadOnlyList<string> names, IReadOnlyList<IPAddress> ips)
    {
        ArgumentNullException.ThrowIfNull(ca);
        var paths = ca.Paths;
        if (File.Exists(paths.ServerCertificate) && File.Exists(paths.ServerKey))
        {
            var existing = X509CertificateLoader.LoadCertificateFromFile(paths.ServerCertificate);
            var now = ca.Time.GetUtcNow();
            var lifetime = existing.NotAfter - existing.NotBefore;
            var fresh = existing.NotAfter.ToUniversalTime() - now.UtcDateTime > lifetime / 3 && existing.NotBefore.ToUniversalTime() <= now.UtcDateTime;
            var covers = names.All(n => existing.MatchesHostname(n)) && ips.All(ip => existing.MatchesHostname(ip.ToString()));
            var sameIssuer = existing.Issuer == X509CertificateLoader.LoadCertificate(ca.IssuingCertificate.GetEncoded()).Subject;
            if (fresh && covers && sameIssuer)
            {
                using var key = ca.LoadKey(paths.ServerKey);
                using (existing)
                {
                    return WithKey(existing, key);
                }
            }

            existing.Dispose();
        }

        var (cert, newKey) = ca.IssueInternal(CertificateProfile.Server(ca.Settings.ServerValidityDays), CertificateNames.ForServer(names, ips), paths.ServerCertificate, paths.ServerKey);
        using (newKey)
        {
            using var plain = X509CertificateLoader.LoadCertificate(cert.GetEncoded());
            return WithKey(plain, newKey);
        }
    }

    private static X509Certificate2 WithKey(X509Certificate2 cert, SigningKey key) => key.Key switch
    {
        System.Security.Cryptography.ECDsa ec => cert.CopyWithPrivateKey(ec),
        System.Security.Cryptography.RSA rsa => cert.CopyWithPrivateKey(rsa),
        _ => throw new PkiException("unsupported server key"),
    };

    private static void SetPublicUrl(CertificateAuthority ca, string baseUrl)
    {
        var b = baseUrl.TrimEnd('/');
        ca.CrlUrl = b + EstEndpoints.CrlPath;
        ca.OcspUrl = b + EstEndpoints.OcspPath;
    }

    /// <summary>Waits until the host stops (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => ((IHost)_app).WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _serverCertificate.Dispose();
        Ca.Dispose();
    }
}

/// <summary>Kestrel configuration for the EST listener.</summary>
internal static class PkiKestrel
{
    /// <summary>Configures a Kestrel listener for EST: TLS 1.2/1.3 with SecMon's server certificate and its chain,
    /// client certificates requested but optional (RFC 7030 §3.3.2: the EST service validates them itself).</summary>
    public static ListenOptions UseSecMonPkiHttps(this ListenOptions listen, CertificateAuthority ca, X509Certificate2 serverCertificate)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(ca);
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = serverCertificate,
            ServerCertificateChain = [X509CertificateLoader.LoadCertificate(ca.IssuingCertificate.GetEncoded())],
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateMode = ClientCertificateMode.AllowCertificate,
            // Accept any certificate at the TLS layer: EnrollmentService.ValidateClientCertificate checks the
            // chain to the issuing CA, validity at the CA's clock, revocation and clientAuth, and audits refusals.
            ClientCertificateValidation = (_, _, _) => true,
            CheckCertificateRevocation = false,
        });
        return listen;
    }

}
