using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Elastic.Clients.Elasticsearch;
using Elastic.Transport;
using SecMon.Core;
using HttpMethod = Elastic.Transport.HttpMethod;

namespace SecMon.Findings.Elasticsearch;

/// <summary>
/// The official client (<c>Elastic.Clients.Elasticsearch</c>) set up from <see cref="ElasticsearchOptions"/>: a static
/// node pool (nodes tried in the order given, a failed node skipped until it answers a ping again), API key or basic
/// authentication, trust in a CA file or a pinned CA fingerprint. Requests go through the client's transport with
/// bodies SecMon writes itself (the finding documents are already JSON: serializing them again through the client's
/// serializer would double the cost per finding).
/// </summary>
public sealed class ElasticsearchConnection : IDisposable
{
    private readonly ElasticsearchClientSettings _settings;
    private readonly X509Certificate2Collection? _ca;

    /// <summary>Makes the client (no request is sent yet).</summary>
    public ElasticsearchConnection(ElasticsearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Nodes.Count == 0)
        {
            throw new ArgumentException("no Elasticsearch node given", nameof(options));
        }

        Options = options;
        var pool = new StaticNodePool(options.Nodes, randomize: false);
        var settings = new ElasticsearchClientSettings(pool)
            .RequestTimeout(options.RequestTimeout)
            .EnableHttpCompression(options.Compression)
            .TransferEncodingChunked(true) // without it the transport copies each body to learn its length: 1.3 KB and half the CPU per finding
            .MaximumRetries(Math.Max(0, options.Nodes.Count - 1))
            .ThrowExceptions(false)
            .ResponseHeadersToParse(new HeadersList(["Retry-After", "X-Elastic-Product"]))
            .PingTimeout(TimeSpan.FromSeconds(Math.Min(5, options.RequestTimeout.TotalSeconds)))
            .DisablePing() // a failed node is tried again after its dead time; a ping would hide a 401 as "unreachable"
            .DeadTimeout(TimeSpan.FromSeconds(10))
            .MaxDeadTimeout(TimeSpan.FromMinutes(2));
        if (options.ApiKey is { } key)
        {
            settings = settings.Authentication(new ApiKey(key));
        }
        else if (options.Username is { } user && options.Password is { } password)
        {
            settings = settings.Authentication(new BasicAuthentication(user, password));
        }

        if (options.Fingerprint is { } fingerprint)
        {
            settings = settings.CertificateFingerprint(fingerprint);
        }
        else if (options.CaCertificate is { } caPath)
        {
            _ca = TlsTrust.Load(caPath);
            var ca = _ca;
            settings = settings.ServerCertificateValidationCallback((_, certificate, _, errors) => TlsTrust.ChainsTo(ca, certificate, errors));
        }

        _settings = settings;
        Client = new ElasticsearchClient(settings);
    }

    /// <summary>The options the connection was made from.</summary>
    public ElasticsearchOptions Options { get; }

    /// <summary>The client.</summary>
    public ElasticsearchClient Client { get; }

    /// <summary>Sends one request with a body SecMon wrote (or none) and returns the response's status, body and
    /// <c>Retry-After</c>. Never throws for an HTTP error or an unreachable cluster: status 0 with the reason then.</summary>
    public RawResponse Send(HttpMethod method, string path, ReadOnlyMemory<byte>? body, CancellationToken cancellationToken,
        string? contentType = null, bool plainHeaders = false)
    {
        var configuration = contentType is null && !plainHeaders ? null : new RequestConfiguration
        {
            ContentType = contentType ?? (plainHeaders ? "application/json" : null),
            Accept = plainHeaders ? "application/json" : null,
        };
        BytesResponse response;
        try
        {
            var endpoint = new EndpointPath(method, path);
            response = Client.Transport.Request<BytesResponse>(in endpoint, body is { } b ? PostData.ReadOnlyMemory(b) : null, null, configuration);
        }
        catch (TransportException ex)
        {
            return new RawResponse(0, [], null, Describe(ex));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var details = response.ApiCallDetails;
        TimeSpan? retryAfter = null;
        if (details.TryGetHeader("Retry-After", out var values) && values.FirstOrDefault() is { } ra)
        {
            if (int.TryParse(ra, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                retryAfter = TimeSpan.FromSeconds(seconds);
            }
            else if (DateTimeOffset.TryParse(ra, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                retryAfter = at - DateTimeOffset.UtcNow;
            }
        }

        var status = details.HttpStatusCode ?? 0;
        var bytes = response.Body ?? [];
        var failure = status == 0 ? Describe(details.OriginalException) : null;
        var product = details.TryGetHeader("X-Elastic-Product", out var p) ? p.FirstOrDefault() : null;
        return new RawResponse(status, bytes, retryAfter, failure) { Product = product, Node = details.Uri?.GetLeftPart(UriPartial.Authority) };
    }

    /// <summary>One line for a failed request (no credentials: the transport's own messages name nodes only).</summary>
    private static string Describe(Exception? ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Http.HttpRequestException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException
                or TimeoutException or TaskCanceledException)
            {
                return e.Message;
            }
        }

        return ex?.Message ?? "no response";
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ((IDisposable)_settings).Dispose();
        foreach (var certificate in _ca ?? [])
        {
            certificate.Dispose();
        }
    }
}

/// <summary>A response as SecMon reads it.</summary>
/// <param name="Status">HTTP status; 0 when no response came (the cluster unreachable, a timeout, TLS refused).</param>
/// <param name="Body">The body (empty when none).</param>
/// <param name="RetryAfter">The <c>Retry-After</c> header, when sent.</param>
/// <param name="Failure">Why no response came (status 0).</param>
public readonly record struct RawResponse(int Status, byte[] Body, TimeSpan? RetryAfter, string? Failure)
{
    /// <summary>The <c>X-Elastic-Product</c> header (<c>Elasticsearch</c> from a real cluster).</summary>
    public string? Product { get; init; }

    /// <summary>The node that answered (scheme, host and port only).</summary>
    public string? Node { get; init; }

    /// <summary>2xx.</summary>
    public bool Ok => Status is >= 200 and < 300;

    /// <summary>One line: the status and Elasticsearch's error type and reason (never the request).</summary>
    public string Describe()
    {
        if (Status == 0)
        {
            return "no response: " + Failure;
        }

        var (type, reason) = ErrorOf(Body);
        return type is null
            ? string.Create(CultureInfo.InvariantCulture, $"HTTP {Status}")
            : string.Create(CultureInfo.InvariantCulture, $"HTTP {Status} {type}: {reason}");
    }

    /// <summary>The <c>error.type</c> and <c>error.reason</c> of an Elasticsearch error body.</summary>
    public static (string? Type, string? Reason) ErrorOf(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.String)
                {
                    return ("error", Clip(error.GetString()));
                }

                if (error.ValueKind == JsonValueKind.Object)
                {
                    return (error.TryGetProperty("type", out var t) ? t.GetString() : null, Clip(error.TryGetProperty("reason", out var r) ? r.GetString() : null));
                }
            }
        }
        catch (JsonException)
        {
        }

        return (null, body.Length == 0 ? null : Clip(Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 200))));
    }

    private static string? Clip(string? s) => s is null ? null : s.Length <= 300 ? s : s[..300] + "...";
}
