using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Http;

/// <summary>
/// Requests and their responses (Suricata's HTTP transactions): each request is emitted when its head is complete and
/// remembered; responses come back in request order on a connection (RFC 9112 §9.3.2, pipelining included), so each
/// final response is joined to the oldest request waiting, and an interim 1xx to that request without taking it. The
/// join also decides the response's framing: no body for HEAD, 204 and 304 (RFC 9112 §6.3 item 1), a tunnel after a
/// 2xx to CONNECT (item 2).
/// </summary>
/// <remarks>
/// After a gap, a malformed message or a mid-stream start the requests in flight are forgotten and responses are not
/// joined (<c>http.response.joined</c> false) until both sides are idle at a message boundary again; past
/// <see cref="HttpOptions.MaxPipelinedRequests"/> waiting requests the same happens, so the queue stays bounded.
/// </remarks>
internal sealed partial class HttpSession
{
    private Queue<Pending>? _pending;
    private bool _untracked;

    // The last text of each often repeated value on this flow: a keep-alive flow names the same host, user agent and
    // user on every request, so they are decoded once.
    private string? _lastHost;
    private string? _lastAgent;
    private string? _lastRequestType;
    private string? _lastResponseType;
    private string? _lastUpgrade;
    private string? _lastQuery;
    private string? _lastUser;

    // The paths this flow asked for lately (a device polls the same few resources on one connection), made once each.
    private string?[]? _paths;
    private int _nextPath;

    /// <summary>Paths remembered per flow (<see cref="HttpValues.Recent"/>).</summary>
    private const int RecentPaths = 8;

    /// <summary>Requests waiting for their responses.</summary>
    internal int PendingRequests => _pending?.Count ?? 0;

    private enum PendingKind : byte
    {
        Other,
        Head,
        Connect,
        WebSocket,
    }

    /// <summary>A request's head is complete: emit it, remember it, set up its body. <paramref name="rest"/> is what
    /// followed it in this segment, handed with it to the WebSocket session when the request asks for WebSocket.</summary>
    private ParseError OnRequest(ReadOnlySpan<byte> head, ReadOnlySpan<byte> rest, in PacketMeta meta, out bool handedOver)
    {
        handedOver = false;
        HttpParser.TryFirstLine(head, out var line, out var next);
        if (!HttpParser.TryReadRequestLine(line, out var methodBytes, out var target, out var http10, out var error))
        {
            return error;
        }

        var h = default(HttpHeaders);
        error = HttpParser.ReadHeaders(head[next..], _options.MaxHeaders, ref h);
        if (error.IsError)
        {
            return error;
        }

        if (h.HasTransferEncoding && !h.Chunked)
        {
            // RFC 9112 §6.3 item 4: the request's length cannot be determined; a server answers 400 and closes.
            return new ParseError(MalformedReason.BadValue, "Transfer-Encoding", "a request whose last transfer coding is not chunked");
        }

        var method = HttpValues.Method(methodBytes);
        var connect = ReferenceEquals(method, "CONNECT");
        HttpValues.SplitTarget(target, connect, out var path, out var query, out var authority);
        string? domain = null;
        int? port = null;
        if (HttpValues.SplitHost(authority.IsEmpty ? h.Host : authority, out var d, out port))
        {
            domain = HttpValues.LowerText(d, ref _lastHost);
        }

        var scheme = ReadCredential(h.Authorization, out var basic, out var digestUser);
        // A proxy's credential (RFC 9110 §11.7.2): sent to the proxy this connection goes to, in clear as the origin's.
        var proxyScheme = ReadCredential(h.ProxyAuthorization, out var proxyBasic, out var proxyDigestUser);

        var upgrade = h.Upgrade.IsEmpty ? null : HttpValues.LowerText(h.Upgrade, ref _lastUpgrade);
        var webSocket = !h.Upgrade.IsEmpty && HttpParser.ListHas(h.Upgrade, "websocket"u8);
        var pathText = HttpValues.Recent(path, _paths ??= new string?[RecentPaths], ref _nextPath);
        _services.Events.Emit(new HttpRequestEvent
        {
            Flow = _toServer,
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            Method = method,
            Path = pathText,
            Domain = domain,
            Username = basic?.Username ?? digestUser,
            AuthorizationScheme = scheme,
            Version = http10 ? "1.0" : "1.1",
            Query = HttpValues.Query(query, _options.Query, _protocol.SecretNames, ref _lastQuery),
            Port = port,
            UserAgent = h.UserAgent.IsEmpty ? null : HttpValues.Text(h.UserAgent, ref _lastAgent),
            ContentType = h.ContentType.IsEmpty ? null : HttpValues.LowerText(HttpValues.MediaType(h.ContentType), ref _lastRequestType),
            BodyBytes = h.Chunked ? null : h.ContentLength,
            Chunked = h.Chunked,
            Upgrade = upgrade,
            PasswordPresent = basic is null ? null : true,
            PasswordHash = basic?.PasswordHash,
            DefaultCredentials = basic?.IsDefault,
            ProxyAuthorizationScheme = proxyScheme,
            ProxyUsername = proxyBasic?.Username ?? proxyDigestUser,
            ProxyPasswordPresent = proxyBasic is null ? null : true,
            ProxyPasswordHash = proxyBasic?.PasswordHash,
        });

        var kind = ReferenceEquals(method, "HEAD") ? PendingKind.Head : connect ? PendingKind.Connect : webSocket ? PendingKind.WebSocket : PendingKind.Other;
        Remember(new Pending(method, pathText, domain, basic?.Username ?? digestUser, scheme, basic?.IsDefault, kind,
            connect && port is > 0 and <= ushort.MaxValue ? (ushort)port.Value : (ushort)0,
            proxyScheme is null ? null : new ProxyCredential(proxyScheme, proxyBasic?.Username ?? proxyDigestUser, proxyBasic?.PasswordHash)));

        // The body (RFC 9112 §6.3): chunked wins over Content-Length; a request with neither has none.
        if (h.Chunked)
        {
            _client.State = State.ChunkLine;
        }
        else if (h.ContentLength is > 0 and var length)
        {
            _client.State = State.Body;
            _client.Left = length;
        }
        else
        {
            _client.State = State.Head;
        }

        if (connect && !_untracked)
        {
            _client.State = State.AwaitingTunnel; // what the client sends next is the tunnel's if the proxy grants it
        }

        if (webSocket && _upgrade is null && _services.Catalogue.FindStream("websocket") is { } ws && ws is not HttpProtocol)
        {
            // The WebSocket session reads the upgrade itself (it needs the request's Sec-WebSocket-Protocol): it gets the
            // request and everything after it; HTTP waits for the server's answer before reading the client again.
            _upgrade = ws.CreateSession(_toServer, _services, midStream: false);
            _upgrade.OnData(FlowDirection.ToServer, head, meta);
            if (!rest.IsEmpty)
            {
                _upgrade.OnData(FlowDirection.ToServer, rest, meta);
            }

            _client.State = State.Ignored;
            handedOver = true;
        }

        return default;
    }

    /// <summary>A response's head is complete: join it to its request, emit it, set up its body.</summary>
    private ParseError OnResponse(ReadOnlySpan<byte> head, in PacketMeta meta)
    {
        HttpParser.TryFirstLine(head, out var line, out var next);
        if (!HttpParser.TryReadStatusLine(line, out var http10, out var status, out var error))
        {
            return error;
        }

        var h = default(HttpHeaders);
        error = HttpParser.ReadHeaders(head[next..], _options.MaxHeaders, ref h);
        if (error.IsError)
        {
            return error;
        }

        var interim = status is >= 100 and < 200 && status != 101;
        var joined = false;
        Pending request = default;
        if (!_untracked && _pending is { Count: > 0 })
        {
            request = interim ? _pending.Peek() : _pending.Dequeue();
            joined = true;
        }

        _services.Events.Emit(new HttpResponseEvent
        {
            Flow = FlowOf(FlowDirection.ToClient),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            Method = joined ? request.Method : null,
            Path = joined ? request.Path : null,
            Domain = request.Domain,
            Username = request.Username,
            AuthorizationScheme = request.Scheme,
            DefaultCredentials = request.DefaultCredentials,
            Version = http10 ? "1.0" : "1.1",
            StatusCode = status,
            ContentType = h.ContentType.IsEmpty ? null : HttpValues.LowerText(HttpValues.MediaType(h.ContentType), ref _lastResponseType),
            BodyBytes = h.Chunked ? null : h.ContentLength,
            Chunked = h.Chunked,
            ProxyAuthorizationScheme = request.Proxy?.Scheme,
            ProxyUsername = request.Proxy?.Username,
            ProxyPasswordPresent = request.Proxy?.PasswordHash is null ? null : true,
            ProxyPasswordHash = request.Proxy?.PasswordHash,
            AuthenticateScheme = h.WwwAuthenticate.IsEmpty ? null : HttpValues.Scheme(h.WwwAuthenticate),
            ProxyAuthenticateScheme = h.ProxyAuthenticate.IsEmpty ? null : HttpValues.Scheme(h.ProxyAuthenticate),
            Joined = joined,
        });

        var kind = joined ? request.Kind : PendingKind.Other;
        if (status == 101 || (kind == PendingKind.Connect && status is >= 200 and < 300))
        {
            // Switching protocols (RFC 9110 §15.2.2) or a tunnel (§9.3.6): the rest is not HTTP. What a tunnel carries
            // (TLS to the origin, MQTT, HTTP again) is the catalogue's to recognise, as on a connection of its own.
            _server.State = State.Ignored;
            _client.State = State.Ignored;
            _client.Buffer.Release();
            if (kind == PendingKind.Connect)
            {
                _tunnel = _services.Tunnel(_toServer, request.TunnelPort);
                if (_early is { Length: > 0 } early)
                {
                    _tunnel?.OnData(FlowDirection.ToServer, early.Span, meta); // sent before the grant: the tunnel's first bytes
                }

                _early = null;
            }

            return default;
        }

        if (kind == PendingKind.Connect && !interim && _client.State == State.AwaitingTunnel)
        {
            // Refused (407, 403...): the connection goes on as HTTP, and what the client sent meanwhile is HTTP again.
            _client.State = State.Head;
            var held = _early;
            _early = null;
            if (held is { Length: > 0 })
            {
                OnData(FlowDirection.ToServer, held.Span, meta);
            }
        }

        if (_upgrade is not null && !interim && kind == PendingKind.WebSocket)
        {
            // The upgrade was refused: the connection goes on as HTTP.
            _upgrade.OnClose(meta);
            _upgrade = null;
            if (_client.State == State.Ignored)
            {
                StartResync(_client, atLineStart: true);
            }
        }

        // The body (RFC 9112 §6.3).
        if (interim || kind == PendingKind.Head || status is 204 or 304)
        {
            _server.State = State.Head;
        }
        else if (h.HasTransferEncoding)
        {
            _server.State = h.Chunked ? State.ChunkLine : State.UntilClose;
        }
        else if (h.ContentLength is { } length)
        {
            _server.State = length > 0 ? State.Body : State.Head;
            _server.Left = length;
        }
        else
        {
            _server.State = State.UntilClose;
        }

        return default;
    }

    /// <summary>The scheme of an Authorization or Proxy-Authorization value (null when absent), with its Basic credential
    /// (the password only as a keyed hash) or its Digest user name.</summary>
    private string? ReadCredential(ReadOnlySpan<byte> value, out BasicCredential? basic, out string? digestUser)
    {
        basic = null;
        digestUser = null;
        if (value.IsEmpty)
        {
            return null;
        }

        var scheme = HttpValues.Scheme(value);
        if (ReferenceEquals(scheme, "Basic") &&
            HttpValues.TryReadBasic(value, _services.SecretHasher, _protocol.DefaultCredentials, ref _lastUser, out var credential))
        {
            basic = credential;
        }
        else if (ReferenceEquals(scheme, "Digest"))
        {
            digestUser = HttpValues.DigestUser(value, ref _lastUser);
        }

        return scheme;
    }

    private void Remember(Pending request)
    {
        if (_untracked)
        {
            // Joins resume once both sides are idle at a message boundary: nothing is in flight that we lost.
            if (_server.State == State.Head && !_server.Resyncing && _server.Buffer.Length == 0)
            {
                _untracked = false;
            }
            else
            {
                return;
            }
        }

        _pending ??= new Queue<Pending>();
        if (_pending.Count >= _options.MaxPipelinedRequests)
        {
            LoseTrack();
            return;
        }

        _pending.Enqueue(request);
    }

    /// <summary>Requests or responses were lost: forget the requests in flight and stop joining for now.</summary>
    private void LoseTrack()
    {
        _untracked = true;
        _pending?.Clear();
    }

    /// <summary>A request waiting for its response: what its response event repeats (a struct: the queue holds it
    /// without an object per request).</summary>
    // TunnelPort: the port a CONNECT asked for (0 for other requests), the tunnel's port hint. Proxy: the request's
    // credential for the proxy, when it had one (an object only then: most requests have none).
    private readonly record struct Pending(string Method, string Path, string? Domain, string? Username, string? Scheme, bool? DefaultCredentials, PendingKind Kind,
        ushort TunnelPort = 0, ProxyCredential? Proxy = null);

    /// <summary>A request's Proxy-Authorization, as its response repeats it: the scheme, the user, a Basic password's keyed hash.</summary>
    private sealed record ProxyCredential(string Scheme, string? Username, string? PasswordHash);
}
