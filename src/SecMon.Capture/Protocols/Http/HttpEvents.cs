using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Http;

// ECS names where ECS has them (http.request.method, http.response.status_code, http.version, url.*, user_agent.original,
// http.*.body.bytes); SecMon's custom http.* names otherwise. ECS's http.*.mime_type must come from the body's content,
// not from the Content-Type header (ecs_flat.yml), so the header's media type is http.*.content_type.

/// <summary>Fields of the request that both <c>http.request</c> and the <c>http.response</c> joined to it carry.</summary>
internal abstract record HttpEvent : ProtocolEvent
{
    /// <summary>Request method (<c>GET</c>), as sent.</summary>
    public string? Method { get; init; }

    /// <summary>Path of the request target, not percent-decoded (<c>/cgi-bin/luci</c>); <c>*</c> for OPTIONS *, the
    /// authority for CONNECT.</summary>
    public string? Path { get; init; }

    /// <summary>Host from the Host header (or the absolute request target), without its port; IPv6 in brackets.</summary>
    public string? Domain { get; init; }

    /// <summary>User name of a Basic credential.</summary>
    public string? Username { get; init; }

    /// <summary>Authorization scheme (<c>Basic</c>, <c>Bearer</c>, <c>Digest</c>).</summary>
    public string? AuthorizationScheme { get; init; }

    /// <summary>The Basic pair is a well-known default; null without a Basic credential.</summary>
    public bool? DefaultCredentials { get; init; }

    /// <summary>Proxy-Authorization scheme.</summary>
    public string? ProxyAuthorizationScheme { get; init; }

    /// <summary>User name of the proxy credential.</summary>
    public string? ProxyUsername { get; init; }

    /// <summary>A Basic proxy password was sent.</summary>
    public bool? ProxyPasswordPresent { get; init; }

    /// <summary>Keyed hash of the Basic proxy password.</summary>
    public string? ProxyPasswordHash { get; init; }

    /// <summary>The schema fields every HTTP event has, then the type's own.</summary>
    protected static EventField[] Common(params EventField[] own) =>
    [
        Text<HttpEvent>("http.request.method", e => e.Method, "Request method, as sent (GET, POST...)."),
        Text<HttpEvent>("url.path", e => e.Path, "Path of the request target, not percent-decoded (* for OPTIONS *, host:port for CONNECT)."),
        Text<HttpEvent>("url.domain", e => e.Domain, "Host of the request (Host header or absolute target), without the port; IPv6 in brackets."),
        Text<HttpEvent>("http.request.username", e => e.Username, "User name of a Basic (RFC 7617) or Digest (RFC 7616) credential; the password is never kept (Digest never sends it)."),
        Text<HttpEvent>("http.request.authorization_scheme", e => e.AuthorizationScheme, "Scheme of the Authorization header (Basic, Bearer, Digest...)."),
        Flag<HttpEvent>("http.request.default_credentials", e => e.DefaultCredentials, "The Basic user name and password are a well-known factory default (HttpOptions.DefaultCredentials, compared by keyed hash)."),
        Text<HttpEvent>("http.request.proxy.authorization_scheme", e => e.ProxyAuthorizationScheme, "Scheme of the Proxy-Authorization header (Basic, Digest, NTLM, Negotiate...): a credential for the proxy this connection goes to."),
        Text<HttpEvent>("http.request.proxy.username", e => e.ProxyUsername, "User name of a Basic or Digest Proxy-Authorization credential; the password is never kept."),
        Flag<HttpEvent>("http.request.proxy.password.present", e => e.ProxyPasswordPresent, "A Basic proxy credential with its password crossed the network (true only for Basic)."),
        Text<HttpEvent>("http.request.proxy.password.hash", e => e.ProxyPasswordHash, "Keyed hash of the Basic proxy password (tells passwords apart; not reversible)."),
        .. own,
    ];

    /// <summary>A text field of <typeparamref name="T"/>.</summary>
    protected static EventField Text<T>(string name, Func<T, string?> get, string description) where T : HttpEvent =>
        new EventField<T>(name, FieldKind.Text, e => FieldValue.Of(get(e)), description);

    /// <summary>A number field of <typeparamref name="T"/>.</summary>
    protected static EventField Number<T>(string name, Func<T, long?> get, string description) where T : HttpEvent =>
        new EventField<T>(name, FieldKind.Number, e => FieldValue.Of(get(e)), description);

    /// <summary>A boolean field of <typeparamref name="T"/>.</summary>
    protected static EventField Flag<T>(string name, Func<T, bool?> get, string description) where T : HttpEvent =>
        new EventField<T>(name, FieldKind.Boolean, e => FieldValue.Of(get(e)), description);
}

/// <summary><c>http.request</c>: a request's start line and headers (RFC 9112 §3). Never carries a password: for a Basic
/// credential only the user name, that a password was sent, its keyed hash, and whether the pair is a well-known
/// default.</summary>
internal sealed record HttpRequestEvent : HttpEvent
{
    /// <summary>The schema of <c>http.request</c>.</summary>
    public static EventSchema SchemaInstance { get; } = new EventSchema("http.request", Common(
        Text<HttpRequestEvent>("http.version", e => e.Version, "HTTP version of the request line (1.0, 1.1)."),
        Text<HttpRequestEvent>("url.query", e => e.Query, "Query string without '?'; values of parameters named like secrets replaced by REDACTED (HttpOptions.Query)."),
        Number<HttpRequestEvent>("url.port", e => e.Port, "Port from the Host header (or the absolute request target), when given."),
        Text<HttpRequestEvent>("user_agent.original", e => e.UserAgent, "User-Agent header."),
        Text<HttpRequestEvent>("http.request.content_type", e => e.ContentType, "Media type of the Content-Type header, lower case, without parameters."),
        Number<HttpRequestEvent>("http.request.body.bytes", e => e.BodyBytes, "Body size from Content-Length (missing for chunked bodies)."),
        Flag<HttpRequestEvent>("http.request.chunked", e => e.Chunked, "The body is chunked (Transfer-Encoding: chunked)."),
        Text<HttpRequestEvent>("http.request.upgrade", e => e.Upgrade, "Upgrade header (websocket, h2c...), lower case."),
        Flag<HttpRequestEvent>("http.request.password.present", e => e.PasswordPresent, "A Basic credential with its password crossed the network (true only for Basic)."),
        Text<HttpRequestEvent>("http.request.password.hash", e => e.PasswordHash, "Keyed hash of the Basic password (tells passwords apart; not reversible).")))
        .WithFacts(
            DeviceFact.Identity("user_agent.original"),
            DeviceFact.Username("http.request.username"),
            DeviceFact.Username("http.request.proxy.username"),
            DeviceFact.Login("http.request.password.present", "http.request.proxy.password.present"),
            DeviceFact.Values("url.path", "http.path", pattern: true),
            DeviceFact.Values("url.domain", "http.host", pattern: true));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    // Nullable numbers kept as a plain value with an impossible one for "none" (a Content-Length is never negative, a
    // port never below 0): 8 bytes less per event than long? and int? (a flag padded to the value's size each).
    private readonly long _bodyBytes = long.MinValue;
    private readonly int _port = int.MinValue;

    /// <summary><c>1.0</c> or <c>1.1</c>.</summary>
    public required string Version { get; init; }
    /// <summary>Query (see <see cref="HttpOptions.Query"/>).</summary>
    public string? Query { get; init; }
    /// <summary>Port of the Host header.</summary>
    public int? Port { get => _port == int.MinValue ? null : _port; init => _port = value ?? int.MinValue; }
    /// <summary>User-Agent.</summary>
    public string? UserAgent { get; init; }
    /// <summary>Content-Type media type.</summary>
    public string? ContentType { get; init; }
    /// <summary>Content-Length.</summary>
    public long? BodyBytes { get => _bodyBytes == long.MinValue ? null : _bodyBytes; init => _bodyBytes = value ?? long.MinValue; }
    /// <summary>Chunked body.</summary>
    public bool Chunked { get; init; }
    /// <summary>Upgrade header.</summary>
    public string? Upgrade { get; init; }
    /// <summary>A Basic password was sent.</summary>
    public bool? PasswordPresent { get; init; }
    /// <summary>Keyed hash of the Basic password.</summary>
    public string? PasswordHash { get; init; }
}

/// <summary><c>http.response</c>: a response's status line and headers, joined to its request (method, path, host, user,
/// scheme, default credentials) in order (RFC 9112 §9.3.2: responses come in the order of the requests). Interim 1xx responses are events of
/// their own, joined to the request they precede.</summary>
internal sealed record HttpResponseEvent : HttpEvent
{
    /// <summary>The schema of <c>http.response</c>.</summary>
    public static EventSchema SchemaInstance { get; } = new EventSchema("http.response", Common(
        Text<HttpResponseEvent>("http.version", e => e.Version, "HTTP version of the status line (1.0, 1.1)."),
        Number<HttpResponseEvent>("http.response.status_code", e => e.StatusCode, "Status code."),
        Text<HttpResponseEvent>("http.response.content_type", e => e.ContentType, "Media type of the Content-Type header, lower case, without parameters."),
        Number<HttpResponseEvent>("http.response.body.bytes", e => e.BodyBytes, "Body size from Content-Length (missing for chunked or close-delimited bodies)."),
        Flag<HttpResponseEvent>("http.response.chunked", e => e.Chunked, "The body is chunked (Transfer-Encoding: chunked)."),
        Text<HttpResponseEvent>("http.response.authenticate_scheme", e => e.AuthenticateScheme, "Scheme of the first WWW-Authenticate challenge (Basic, Digest...)."),
        Text<HttpResponseEvent>("http.response.proxy_authenticate_scheme", e => e.ProxyAuthenticateScheme, "Scheme of the first Proxy-Authenticate challenge (a proxy asking for its credential, 407)."),
        Flag<HttpResponseEvent>("http.response.joined", e => e.Joined, "The response was joined to its request (false after a gap or a malformed request).")));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    // As the request's: no Content-Length is long.MinValue (never a length).
    private readonly long _bodyBytes = long.MinValue;

    /// <summary><c>1.0</c> or <c>1.1</c>.</summary>
    public required string Version { get; init; }
    /// <summary>Status code.</summary>
    public int StatusCode { get; init; }
    /// <summary>Content-Type media type.</summary>
    public string? ContentType { get; init; }
    /// <summary>Content-Length.</summary>
    public long? BodyBytes { get => _bodyBytes == long.MinValue ? null : _bodyBytes; init => _bodyBytes = value ?? long.MinValue; }
    /// <summary>Chunked body.</summary>
    public bool Chunked { get; init; }
    /// <summary>WWW-Authenticate scheme.</summary>
    public string? AuthenticateScheme { get; init; }
    /// <summary>Proxy-Authenticate scheme.</summary>
    public string? ProxyAuthenticateScheme { get; init; }
    /// <summary>Joined to its request.</summary>
    public bool Joined { get; init; }
}

/// <summary><c>http.malformed</c>: a message that violates RFC 9112 or exceeds a limit (also reported as a diagnostic).</summary>
internal sealed record HttpMalformedEvent : HttpEvent
{
    /// <summary>The schema of <c>http.malformed</c>.</summary>
    public static EventSchema SchemaInstance { get; } = new EventSchema("http.malformed", Common(
        new EventField<HttpMalformedEvent>("error.message", FieldKind.Text, e => FieldValue.Of(e.ErrorMessage), "What was wrong and where.")));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>What was wrong and where.</summary>
    public required string ErrorMessage { get; init; }
}
