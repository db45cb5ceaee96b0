namespace SecMon.Capture.Protocols.Http;

/// <summary>What <c>url.query</c> carries (the query string may hold secrets: IoT web interfaces often log in with
/// <c>GET /login.cgi?user=admin&amp;pwd=admin</c>, and API keys travel as <c>?token=...</c>).</summary>
internal enum HttpQueryMode
{
    /// <summary>The query with the value of every parameter whose name looks secret (<see
    /// cref="HttpOptions.SecretQueryParameters"/>) replaced by <c>REDACTED</c>. Name-based, so best effort: a secret
    /// under an innocent name is kept. The default.</summary>
    RedactSecrets,

    /// <summary>The parameter names only, every value replaced by <c>REDACTED</c>.</summary>
    NamesOnly,

    /// <summary>No <c>url.query</c> at all.</summary>
    Omit,

    /// <summary>The query as sent (only where the captures and findings are as protected as the secrets in them).</summary>
    Full,
}

/// <summary>
/// HTTP/1.x's own limits and choices, per flow. Every bound is what a hostile peer could otherwise grow; bodies are
/// skipped by their framing (Content-Length, chunked, until close) and never buffered, so they have no limit.
/// </summary>
internal sealed record HttpOptions
{
    /// <summary>Largest header block (start line, header fields and the empty line, RFC 9112 §2.1) buffered, and
    /// largest chunked trailer section. A longer one is malformed (<see cref="MalformedReason.TooLarge"/>) and the
    /// direction resynchronises at the next message it can find. Values below 256 are taken as 256. Default 16 KiB
    /// (nginx and Apache answer 400/431 between 8 and 16 KiB).</summary>
    public int MaxHeaderBytes { get; init; } = 16 * 1024;

    /// <summary>Most header fields in one block; more is malformed (<see cref="MalformedReason.TooLarge"/>). Default 100
    /// (Apache's LimitRequestFields).</summary>
    public int MaxHeaders { get; init; } = 100;

    /// <summary>Requests remembered while they wait for their responses (pipelining, RFC 9112 §9.3.2); past it the
    /// flow stops joining responses to requests until both sides are idle again. Default 32.</summary>
    public int MaxPipelinedRequests { get; init; } = 32;

    /// <summary>What <c>url.query</c> carries. Default <see cref="HttpQueryMode.RedactSecrets"/>.</summary>
    public HttpQueryMode Query { get; init; } = HttpQueryMode.RedactSecrets;

    /// <summary>Query parameter names whose values <see cref="HttpQueryMode.RedactSecrets"/> hides: a name (case
    /// ignored) equal to one of these or containing one of the longer ones (<c>pass</c>, <c>pwd</c>, <c>token</c>,
    /// <c>secret</c>, <c>key</c>, <c>auth</c>, <c>sess</c>, <c>cred</c>: <c>new_password</c>, <c>apiKey</c>,
    /// <c>X-Auth-Token</c>) is secret. The short ones (<c>pw</c>, <c>pin</c>, <c>sid</c>, <c>sig</c>, <c>otp</c>,
    /// <c>code</c>) only match whole names.</summary>
    public IReadOnlyList<string> SecretQueryParameters { get; init; } =
        ["pass", "pwd", "token", "secret", "key", "auth", "sess", "cred", "pw", "pin", "sid", "sig", "otp", "code"];

    /// <summary>Well-known factory default credentials of IoT devices (<c>user:password</c>). A Basic credential equal
    /// to one of them sets <c>http.request.default_credentials</c>. Compared by keyed hash: the list's hashes are made
    /// once per run with the run's <see cref="Core.SecretHasher"/>, and the credential on the wire is only ever hashed,
    /// never kept or written. Default: admin/admin, admin/password, root/root, admin/1234, admin/12345, user/user,
    /// root/12345, support/support, ubnt/ubnt, pi/raspberry, admin/(empty), root/(empty) (Mirai's and vendors' lists).</summary>
    public IReadOnlyList<string> DefaultCredentials { get; init; } =
    [
        "admin:admin", "admin:password", "root:root", "admin:1234", "admin:12345", "user:user", "root:12345",
        "support:support", "ubnt:ubnt", "pi:raspberry", "admin:", "root:",
    ];
}
