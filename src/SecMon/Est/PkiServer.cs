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
using SecMon.Api;
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
/// The PKI module alone on a <see cref="ServiceHost"/> (no API): what the integration tests start in-process.
/// <c>secmon serve</c> runs the same host with the API beside it; both mount the module with
/// <see cref="EstEndpoints.AddSecMonPki"/>, <see cref="EstEndpoints.MapSecMonPki"/> and
/// <see cref="PkiKestrel.UseSecMonPkiHttps"/>.
/// </summary>
internal sealed class PkiServer : IAsyncDisposable
{
    private readonly ServiceHost _host;

    private PkiServer(ServiceHost host)
    {
        _host = host;
    }

    /// <summary>The CA being served.</summary>
    public CertificateAuthority Ca => _host.Ca!;

    /// <summary>The bound HTTPS base URL (port resolved when 0 was asked).</summary>
    public Uri HttpsUrl => _host.HttpsUrl!;

    /// <summary>The bound HTTP base URL, or null.</summary>
    public Uri? HttpUrl => _host.HttpUrl;

    /// <summary>The service provider (tests reach the revocation publisher through it).</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>Opens the CA, makes sure SecMon has a server certificate, and starts listening.</summary>
    /// <exception cref="PkiException">No CA, wrong passphrase.</exception>
    public static async Task<PkiServer> StartAsync(PkiServerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var host = await ServiceHost.StartAsync(new ServiceHostOptions { Pki = options, Time = options.Time, LogLevel = options.LogLevel }, cancellationToken)
            .ConfigureAwait(false);
        return new PkiServer(host);
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

    internal static void SetPublicUrl(CertificateAuthority ca, string baseUrl)
    {
        var b = baseUrl.TrimEnd('/');
        ca.CrlUrl = b + EstEndpoints.CrlPath;
        ca.OcspUrl = b + EstEndpoints.OcspPath;
    }

    /// <summary>Waits until the host stops (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _host.WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _host.DisposeAsync();
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
