using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using SecMon.Pki.Ca;
using SecMon.Pki.Keys;
using SecMon.Pki.Policy;
using SecMon.Pki.Profiles;
using SecMon.Pki.Revocation;
using SecMon.Pki.Store;

namespace SecMon.Pki.Est;

/// <summary>EST server behaviour that is not HTTP: approval mode, rate limits.</summary>
public sealed record EstOptions
{
    /// <summary>Hold every enrollment until <c>secmon ca approve</c> (RFC 7030 §4.2.3: 202 with Retry-After). Default false.</summary>
    public bool RequireApproval { get; init; }

    /// <summary>Retry-After sent with 202 and 429. Default 60 s.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Requests per second allowed per client address (0 = unlimited). Default 20.</summary>
    public double ClientPerSecond { get; init; } = 20;

    /// <summary>Burst per client address. Default 100.</summary>
    public double ClientBurst { get; init; } = 100;

    /// <summary>
    /// Token attempts per minute (0 = unlimited). Default 10. Two limits use it: per token id, counting only attempts
    /// whose secret verified; and per client address, counting token attempts that failed (see
    /// <see cref="EnrollmentService"/>).
    /// </summary>
    public double TokenPerMinute { get; init; } = 10;
}

/// <summary>How an EST request ended; the HTTP layer maps it to a status (RFC 7030 §4.2.3).</summary>
public enum EnrollmentOutcome
{
    /// <summary>200: a certificate.</summary>
    Issued,

    /// <summary>202 with Retry-After: held for manual approval.</summary>
    Pending,

    /// <summary>401 with WWW-Authenticate: no or bad credentials.</summary>
    Unauthorized,

    /// <summary>400: the CSR was refused (the reason says why).</summary>
    BadRequest,

    /// <summary>403: credentials valid but not for this (revoked/expired certificate, wrong label, rejected).</summary>
    Forbidden,

    /// <summary>404: unknown label.</summary>
    NotFound,

    /// <summary>413: body larger than the limit.</summary>
    PayloadTooLarge,

    /// <summary>429 with Retry-After: rate limited.</summary>
    TooManyRequests,
}

/// <summary>The result of an EST operation.</summary>
public sealed record EnrollmentResult
{
    /// <summary>How it ended.</summary>
    public required EnrollmentOutcome Outcome { get; init; }

    /// <summary>The issued certificate when <see cref="EnrollmentOutcome.Issued"/>.</summary>
    public X509Certificate? Certificate { get; init; }

    /// <summary>serverkeygen: the generated private key, PKCS#8 DER.</summary>
    public byte[]? PrivateKeyPkcs8 { get; init; }

    /// <summary>Why it was refused (safe to show the client: never a secret).</summary>
    public string? Reason { get; init; }

    /// <summary>Retry-After for 202 and 429.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

/// <summary>EST enrollment outcomes since the service was created, safe to read from any thread (the metrics endpoint
/// reads them when scraped). Counted where the outcome is decided: <see cref="EnrollmentService.Refuse"/> for refusals
/// the service makes, and the CA's answer for issuance and the CSR refusals of its policy.</summary>
public sealed class EstCounters
{
    private readonly long[] _byOutcome = new long[Enum.GetValues<EnrollmentOutcome>().Length];

    /// <summary>Certificates issued.</summary>
    public long Issued => Count(EnrollmentOutcome.Issued);

    /// <summary>Requests that ended with <paramref name="outcome"/>.</summary>
    public long Count(EnrollmentOutcome outcome) => Interlocked.Read(ref _byOutcome[(int)outcome]);

    internal void Add(EnrollmentOutcome outcome) => Interlocked.Increment(ref _byOutcome[(int)outcome]);
}

/// <summary>Who is asking.</summary>
public sealed record EstCredentials
{
    /// <summary>The bootstrap token (HTTP Basic password or Bearer), or null.</summary>
    public string? Token { get; init; }

    /// <summary>The TLS client certificate (DER), or null.</summary>
    public byte[]? ClientCertificate { get; init; }

    /// <summary>The client's address (rate limiting, audit).</summary>
    public required string ClientAddress { get; init; }
}

/// <summary>
/// EST (RFC 7030) enrollment logic, independent of HTTP: authenticates (one-time token for simpleenroll,
/// the current certificate for simplereenroll), applies rate limits and the CSR policy, issues through the
/// <see cref="CertificateAuthority"/>, and audits every refusal.
/// </summary>
public sealed class EnrollmentService
{
    private readonly CertificateAuthority _ca;
    private readonly EstOptions _options;
    private readonly KeyedRateLimiter _byClient;
    private readonly KeyedRateLimiter _byToken;
    private readonly KeyedRateLimiter _failuresByClient;
    private readonly byte[] _caCerts;
    private readonly byte[] _issuingSpki;

    /// <summary>Creates the service.</summary>
    public EnrollmentService(CertificateAuthority ca, EstOptions options)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(options);
        _ca = ca;
        _options = options;
        _byClient = new KeyedRateLimiter(ca.Time, options.ClientPerSecond, options.ClientBurst);
        _byToken = new KeyedRateLimiter(ca.Time, options.TokenPerMinute / 60.0, Math.Max(1, options.TokenPerMinute));
        _failuresByClient = new KeyedRateLimiter(ca.Time, options.TokenPerMinute / 60.0, Math.Max(1, options.TokenPerMinute));
        _caCerts = EstEncoding.CertsOnly(ca.Chain);
        _issuingSpki = ca.IssuingCertificate.SubjectPublicKeyInfo.GetDerEncoded();
    }

    /// <summary>Outcomes counted since the service was created (issued, refused by outcome).</summary>
    public EstCounters Counters { get; } = new();

    /// <summary>The CA this service enrolls into.</summary>
    public CertificateAuthority Authority => _ca;

    /// <summary>/cacerts: the certs-only PKCS#7 of the issuing CA and root (RFC 7030 §4.1.3), DER.</summary>
    public byte[] CaCerts => _caCerts;

    /// <summary>True when <paramref name="label"/> is null or names a profile (RFC 7030 §3.2.2 optional label).</summary>
    public bool IsKnownLabel(string? label) => label is null || _ca.FindProfile(label) is not null;

    /// <summary>/simpleenroll with a bootstrap token (RFC 7030 §4.2.1).</summary>
    public EnrollmentResult SimpleEnroll(string? label, byte[] csrDer, EstCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(csrDer);
        ArgumentNullException.ThrowIfNull(credentials);
        if (Precheck(label, csrDer, credentials, "simpleenroll") is { } refused)
        {
            return refused;
        }

        if (credentials.Token is null)
        {
            return Refuse(EnrollmentOutcome.Unauthorized, "an enrollment token is required (HTTP Basic password or Bearer)", credentials, null);
        }

        var token = AuthenticateToken(credentials, out var tokenRefusal);
        if (token is null)
        {
            return tokenRefusal!;
        }

        var profile = _ca.FindProfile(token.Profile)!;
        if (label is not null && label != profile.Name)
        {
            return Refuse(EnrollmentOutcome.Forbidden, $"the token is for profile \"{profile.Name}\", not \"{label}\"", credentials, token.DeviceId);
        }

        if (_options.RequireApproval && Hold(token.DeviceId, profile.Name, csrDer, credentials) is { } held)
        {
            return held;
        }

        var result = _ca.Issue(new IssueRequest
        {
            CsrDer = csrDer,
            Profile = profile,
            DeviceId = profile.Kind == ProfileKind.Device ? token.DeviceId : null,
            DnsNames = profile.Kind == ProfileKind.Server ? [token.DeviceId] : null,
            IpAddresses = profile.Kind == ProfileKind.Server ? [] : null,
            Actor = Actor(credentials),
            RefusalPrefix = "400 ",
            ConsumeTokenId = token.Id,
        });
        return ToResult(result);
    }

    /// <summary>/simplereenroll: the client authenticates with its current certificate over TLS (RFC 7030 §4.2.2).</summary>
    public EnrollmentResult SimpleReenroll(string? label, byte[] csrDer, EstCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(csrDer);
        ArgumentNullException.ThrowIfNull(credentials);
        if (Precheck(label, csrDer, credentials, "simplereenroll") is { } refused)
        {
            return refused;
        }

        if (credentials.ClientCertificate is null)
        {
            return Refuse(EnrollmentOutcome.Unauthorized, "re-enrollment needs the current certificate as the TLS client certificate", credentials, null);
        }

        var (current, problem) = ValidateClientCertificate(credentials.ClientCertificate);
        if (current is null)
        {
            return Refuse(EnrollmentOutcome.Forbidden, problem!, credentials, null);
        }

        if (current.Profile != "device" || (label is not null && label != current.Profile))
        {
            return Refuse(EnrollmentOutcome.Forbidden, $"re-enrollment is for device certificates (this one is \"{current.Profile}\")", credentials, current.DeviceId);
        }

        // RFC 7030 §4.2.2: the subject and SAN must be those of the current certificate: the CSR is checked
        // against the device id the current certificate was issued to.
        var result = _ca.Issue(new IssueRequest
        {
            CsrDer = csrDer,
            Profile = _ca.FindProfile(current.Profile)!,
            DeviceId = current.DeviceId,
            Actor = Actor(credentials),
            RefusalPrefix = "400 ",
            RenewedFrom = current.Serial,
        });
        return ToResult(result);
    }

    /// <summary>
    /// /serverkeygen (RFC 7030 §4.4): the server makes the key pair (P-256) and returns it with the certificate.
    /// Authenticated like simpleenroll (token) or simplereenroll (current certificate).
    /// </summary>
    public EnrollmentResult ServerKeyGen(string? label, byte[] csrDer, EstCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(csrDer);
        ArgumentNullException.ThrowIfNull(credentials);
        if (Precheck(label, csrDer, credentials, "serverkeygen") is { } refused)
        {
            return refused;
        }

        string deviceId;
        string? tokenId = null;
        if (credentials.Token is not null)
        {
            var token = AuthenticateToken(credentials, out var tokenRefusal);
            if (token is null)
            {
                return tokenRefusal!;
            }

            if (token.Profile != "device")
            {
                return Refuse(EnrollmentOutcome.Forbidden, "serverkeygen issues device certificates only", credentials, token.DeviceId);
            }

            deviceId = token.DeviceId;
            tokenId = token.Id;
        }
        else if (credentials.ClientCertificate is not null)
        {
            var (current, problem) = ValidateClientCertificate(credentials.ClientCertificate);
            if (current is null)
            {
                return Refuse(EnrollmentOutcome.Forbidden, problem!, credentials, null);
            }

            deviceId = current.DeviceId;
        }
        else
        {
            return Refuse(EnrollmentOutcome.Unauthorized, "an enrollment token or a client certificate is required", credentials, null);
        }

        if (label is not null && label != "device")
        {
            return Refuse(EnrollmentOutcome.Forbidden, "serverkeygen issues device certificates only", credentials, deviceId);
        }

        using var key = SigningKey.Generate(KeyAlgorithm.EcdsaP256);
        var result = _ca.Issue(new IssueRequest
        {
            CsrDer = csrDer,
            Profile = _ca.FindProfile("device")!,
            DeviceId = deviceId,
            Actor = Actor(credentials),
            RefusalPrefix = "400 ",
            ConsumeTokenId = tokenId,
            ServerGeneratedKey = key.PublicKeyInfo,
        });
        var r = ToResult(result);
        return r.Outcome == EnrollmentOutcome.Issued ? r with { PrivateKeyPkcs8 = key.ExportPkcs8() } : r;
    }

    /// <summary>
    /// Checks a TLS client certificate for re-enrollment: signed by the issuing CA, within its validity now,
    /// issued by this CA (in the store) and not revoked, with clientAuth. Returns the stored record or why not.
    /// </summary>
    public (IssuedCertificate? Record, string? Problem) ValidateClientCertificate(byte[] der)
    {
        ArgumentNullException.ThrowIfNull(der);
        X509Certificate cert;
        try
        {
            cert = new X509Certificate(der);
            _ = cert.SubjectDN;
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidCastException or InvalidOperationException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            return (null, "the client certificate is malformed");
        }

        if (!cert.IssuerDN.Equivalent(_ca.IssuingCertificate.SubjectDN, true)
            || !PublicKeys.Verify(_issuingSpki, cert.SignatureAlgorithm, cert.GetTbsCertificate(), cert.GetSignature()))
        {
            return (null, "the client certificate was not issued by this CA");
        }

        var now = _ca.Time.GetUtcNow().UtcDateTime;
        if (now < cert.NotBefore || now > cert.NotAfter)
        {
            return (null, $"the client certificate expired or is not yet valid (valid {cert.NotBefore:yyyy-MM-ddTHH:mm:ssZ} to {cert.NotAfter:yyyy-MM-ddTHH:mm:ssZ})");
        }

        var serial = CertificateBuilder.SerialHex(cert.SerialNumber);
        var record = _ca.Store.GetCertificate(serial);
        if (record is null)
        {
            return (null, $"the client certificate {serial} is not known to this CA");
        }

        if (record.IsRevoked)
        {
            return (null, $"the client certificate {serial} is revoked");
        }

        var eku = cert.GetExtendedKeyUsage();
        if (eku is null || !eku.Any(o => o.Equals(KeyPurposeID.id_kp_clientAuth)))
        {
            return (null, "the client certificate is not for client authentication");
        }

        return (record, null);
    }

    /// <summary>Audits and returns a refusal.</summary>
    public EnrollmentResult Refuse(EnrollmentOutcome outcome, string reason, EstCredentials credentials, string? deviceId, TimeSpan? retryAfter = null)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        _ca.Store.Audit(_ca.Time.GetUtcNow(), AuditActions.Refuse, Actor(credentials), deviceId, null, "refused", $"{(int)ToStatus(outcome)} {reason}");
        Counters.Add(outcome);
        return new EnrollmentResult { Outcome = outcome, Reason = reason, RetryAfter = retryAfter };
    }

    /// <summary>The HTTP status of an outcome.</summary>
    public static int ToStatus(EnrollmentOutcome outcome) => outcome switch
    {
        EnrollmentOutcome.Issued => 200,
        EnrollmentOutcome.Pending => 202,
        EnrollmentOutcome.BadRequest => 400,
        EnrollmentOutcome.Unauthorized => 401,
        EnrollmentOutcome.Forbidden => 403,
        EnrollmentOutcome.NotFound => 404,
        EnrollmentOutcome.PayloadTooLarge => 413,
        EnrollmentOutcome.TooManyRequests => 429,
        _ => 500,
    };

    /// <summary>Rate-limits by client address (called by the HTTP layer before reading a body, too).</summary>
    public EnrollmentResult? CheckClientRate(EstCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        return _byClient.TryAcquire(credentials.ClientAddress, out var wait)
            ? null
            : Refuse(EnrollmentOutcome.TooManyRequests, "too many requests from this address", credentials, null, wait);
    }

    private EnrollmentResult? Precheck(string? label, byte[] csrDer, EstCredentials credentials, string operation)
    {
        if (CheckClientRate(credentials) is { } limited)
        {
            return limited;
        }

        if (!IsKnownLabel(label))
        {
            return Refuse(EnrollmentOutcome.NotFound, $"unknown label \"{label}\" for {operation}", credentials, null);
        }

        if (csrDer.Length > CsrPolicy.MaxCsrBytes)
        {
            return Refuse(EnrollmentOutcome.PayloadTooLarge, $"CSR too large ({csrDer.Length} bytes, limit {CsrPolicy.MaxCsrBytes})", credentials, null);
        }

        return null;
    }

    // Token rate limits. The token id is not secret (it is in every audit row and log line), so a limit keyed by the
    // id alone, counting every attempt, let a stranger lock a device out: ten wrong secrets for its id and the real
    // token got 429. Instead:
    //  - failed attempts (malformed, unknown id, wrong secret, used, expired) count against the client address, and
    //    an address out of failures is refused before its token is even looked at: guessing stays limited to
    //    TokenPerMinute per address (on top of the per-address request limit), and a stranger only limits itself;
    //  - the per-token limit counts only attempts whose secret verified, so only the token's holder can spend it (a
    //    device retrying a refused CSR in a loop).
    // An attacker with many addresses gets TokenPerMinute guesses per address and minute against a 256-bit secret
    // (EnrollmentTokens): no useful number. Devices behind the same NAT as a guesser share its failure budget;
    // the device's own successful attempt does not spend it.
    private EnrollmentTokenRecord? AuthenticateToken(EstCredentials credentials, out EnrollmentResult? refusal)
    {
        refusal = null;
        if (!_failuresByClient.HasPermit(credentials.ClientAddress, out var wait))
        {
            refusal = Refuse(EnrollmentOutcome.TooManyRequests, "too many failed token attempts from this address", credentials, null, wait);
            return null;
        }

        if (!EnrollmentTokens.TryParse(credentials.Token, out var id, out _))
        {
            _failuresByClient.TryAcquire(credentials.ClientAddress, out _);
            refusal = Refuse(EnrollmentOutcome.Unauthorized, "malformed enrollment token", credentials, null);
            return null;
        }

        var check = _ca.CheckToken(credentials.Token);
        if (!check.Ok)
        {
            _failuresByClient.TryAcquire(credentials.ClientAddress, out _);
            refusal = Refuse(EnrollmentOutcome.Unauthorized, check.Reason!, credentials, null);
            return null;
        }

        if (!_byToken.TryAcquire(id, out wait))
        {
            refusal = Refuse(EnrollmentOutcome.TooManyRequests, $"too many attempts with token {id}", credentials, check.Record!.DeviceId, wait);
            return null;
        }

        return check.Record;
    }

    private EnrollmentResult? Hold(string deviceId, string profile, byte[] csrDer, EstCredentials credentials)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(csrDer));
        var pending = _ca.Store.FindPending(deviceId, hash);
        var now = _ca.Time.GetUtcNow();
        switch (pending?.Status)
        {
            case null:
                var id = _ca.Store.Write(tx =>
                {
                    var newId = PkiStore.InsertPending(tx, deviceId, profile, hash, credentials.ClientAddress, now);
                    PkiStore.AppendAudit(tx, now, AuditActions.Pending, Actor(credentials), deviceId, null, "ok", $"request {newId} awaits `secmon ca approve {newId}`");
                    return newId;
                });
                return new EnrollmentResult { Outcome = EnrollmentOutcome.Pending, Reason = $"request {id} awaits approval", RetryAfter = _options.RetryAfter };
            case "pending":
                return new EnrollmentResult { Outcome = EnrollmentOutcome.Pending, Reason = $"request {pending.Id} awaits approval", RetryAfter = _options.RetryAfter };
            case "approved":
                _ca.Store.Write(tx => PkiStore.SetPendingStatus(tx, pending.Id, "approved", "issued"));
                return null;
            default:
                return Refuse(EnrollmentOutcome.Forbidden, $"request {pending.Id} was {pending.Status}", credentials, deviceId);
        }
    }

    private EnrollmentResult ToResult(IssueResult result)
    {
        var r = result.Ok
            ? new EnrollmentResult { Outcome = EnrollmentOutcome.Issued, Certificate = result.Certificate }
            : new EnrollmentResult
            {
                Outcome = result.Reason == "enrollment token already used" ? EnrollmentOutcome.Unauthorized : EnrollmentOutcome.BadRequest,
                Reason = result.Reason,
            };
        Counters.Add(r.Outcome);
        return r;
    }

    private static string Actor(EstCredentials c) => "est:" + c.ClientAddress;
}
