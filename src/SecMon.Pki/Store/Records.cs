namespace SecMon.Pki.Store;

/// <summary>RFC 5280 §5.3.1 CRLReason values (the numbers are the wire values; 7 is unused).</summary>
public enum RevocationReason
{
    /// <summary>unspecified (0).</summary>
    Unspecified = 0,

    /// <summary>keyCompromise (1): the device key leaked.</summary>
    KeyCompromise = 1,

    /// <summary>cACompromise (2).</summary>
    CACompromise = 2,

    /// <summary>affiliationChanged (3).</summary>
    AffiliationChanged = 3,

    /// <summary>superseded (4): replaced by a newer certificate.</summary>
    Superseded = 4,

    /// <summary>cessationOfOperation (5): the device was decommissioned.</summary>
    CessationOfOperation = 5,

    /// <summary>certificateHold (6).</summary>
    CertificateHold = 6,

    /// <summary>privilegeWithdrawn (9).</summary>
    PrivilegeWithdrawn = 9,
}

/// <summary>Names of <see cref="RevocationReason"/> as RFC 5280 and <c>openssl ca -crl_reason</c> spell them.</summary>
public static class RevocationReasons
{
    private static readonly (RevocationReason Reason, string Name)[] Names =
    [
        (RevocationReason.Unspecified, "unspecified"),
        (RevocationReason.KeyCompromise, "keyCompromise"),
        (RevocationReason.CACompromise, "CACompromise"),
        (RevocationReason.AffiliationChanged, "affiliationChanged"),
        (RevocationReason.Superseded, "superseded"),
        (RevocationReason.CessationOfOperation, "cessationOfOperation"),
        (RevocationReason.CertificateHold, "certificateHold"),
        (RevocationReason.PrivilegeWithdrawn, "privilegeWithdrawn"),
    ];

    /// <summary>Every accepted name, for help text.</summary>
    public static IEnumerable<string> AllNames => Names.Select(n => n.Name);

    /// <summary>The RFC 5280 name.</summary>
    public static string Name(this RevocationReason reason) => Names.FirstOrDefault(n => n.Reason == reason).Name ?? reason.ToString();

    /// <summary>Parses a name, case-insensitive, with or without dashes (<c>key-compromise</c>).</summary>
    public static bool TryParse(string? text, out RevocationReason reason)
    {
        var t = (text ?? "").Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        foreach (var (r, name) in Names)
        {
            if (string.Equals(name, t, StringComparison.OrdinalIgnoreCase))
            {
                reason = r;
                return true;
            }
        }

        reason = default;
        return false;
    }
}

/// <summary>One certificate the CA issued, as stored.</summary>
public sealed record IssuedCertificate
{
    /// <summary>Serial number: uppercase hex of the unsigned value, even length (as <c>openssl x509 -serial</c> prints it).</summary>
    public required string Serial { get; init; }

    /// <summary>The device id (or server name) the certificate was issued to.</summary>
    public required string DeviceId { get; init; }

    /// <summary>Profile name (<c>device</c>, <c>server</c>, <c>ocsp</c>).</summary>
    public required string Profile { get; init; }

    /// <summary>Subject DN as text.</summary>
    public required string Subject { get; init; }

    /// <summary>Start of validity.</summary>
    public required DateTimeOffset NotBefore { get; init; }

    /// <summary>End of validity.</summary>
    public required DateTimeOffset NotAfter { get; init; }

    /// <summary>When the CA issued it.</summary>
    public required DateTimeOffset IssuedAt { get; init; }

    /// <summary>The certificate, DER.</summary>
    public required byte[] Der { get; init; }

    /// <summary>The serial of the certificate this one renewed (EST simplereenroll), or null.</summary>
    public string? RenewedFrom { get; init; }

    /// <summary>When it was revoked, or null.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Why it was revoked (meaningful when <see cref="RevokedAt"/> is set).</summary>
    public RevocationReason RevocationReason { get; init; }

    /// <summary>True when revoked.</summary>
    public bool IsRevoked => RevokedAt is not null;

    /// <summary>The serial of the certificate that renewed this one (EST simplereenroll), or null: a renewed
    /// certificate is superseded, and revoked (reason superseded) once the CA's grace period has passed.</summary>
    public string? SupersededBy { get; init; }

    /// <summary>When the renewal that superseded it was issued, or null.</summary>
    public DateTimeOffset? SupersededAt { get; init; }

    /// <summary>The state at <paramref name="now"/>: revoked, expired, superseded (renewed, not yet revoked) or valid.</summary>
    public CertificateLifecycle StateAt(DateTimeOffset now) =>
        IsRevoked ? CertificateLifecycle.Revoked
        : NotAfter < now ? CertificateLifecycle.Expired
        : SupersededBy is not null ? CertificateLifecycle.Superseded
        : CertificateLifecycle.Valid;
}

/// <summary>Where an issued certificate stands (<c>ca list</c>'s STATE column).</summary>
public enum CertificateLifecycle
{
    /// <summary>In force.</summary>
    Valid,

    /// <summary>Renewed; still in force until the grace period ends, then revoked with reason superseded.</summary>
    Superseded,

    /// <summary>Past its notAfter.</summary>
    Expired,

    /// <summary>Revoked (on the CRL, OCSP says revoked).</summary>
    Revoked,
}

/// <summary>Where an enrollment token stands (<c>ca token list</c>).</summary>
public enum TokenState
{
    /// <summary>Can still enroll.</summary>
    Unused,

    /// <summary>Consumed by an enrollment.</summary>
    Used,

    /// <summary>Past its expiry, never used.</summary>
    Expired,

    /// <summary>Revoked by <c>ca token revoke</c> before use.</summary>
    Revoked,
}

/// <summary>A stored one-time enrollment token (the secret itself is never stored: only its SHA-256).</summary>
public sealed record EnrollmentTokenRecord
{
    /// <summary>Public token id (the part before the dot), the lookup key.</summary>
    public required string Id { get; init; }

    /// <summary>SHA-256 of the secret part.</summary>
    public required byte[] SecretHash { get; init; }

    /// <summary>The device id the token is bound to.</summary>
    public required string DeviceId { get; init; }

    /// <summary>The profile it enrolls into.</summary>
    public required string Profile { get; init; }

    /// <summary>Creation time.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Expiry time.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>When it was used, or null while unused.</summary>
    public DateTimeOffset? UsedAt { get; init; }

    /// <summary>The serial of the certificate it enrolled, or null.</summary>
    public string? UsedSerial { get; init; }

    /// <summary>When it was revoked (<c>ca token revoke</c>), or null.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>The state at <paramref name="now"/>: used and revoked first (they are final), then expired, else unused.</summary>
    public TokenState StateAt(DateTimeOffset now) =>
        UsedAt is not null ? TokenState.Used
        : RevokedAt is not null ? TokenState.Revoked
        : now >= ExpiresAt ? TokenState.Expired
        : TokenState.Unused;
}

/// <summary>One audit-log row: the hash chain links each row to the one before it.</summary>
public sealed record AuditEntry
{
    /// <summary>Sequence number, 1-based, contiguous.</summary>
    public required long Seq { get; init; }

    /// <summary>When it happened (UTC microseconds since the epoch).</summary>
    public required long TimeMicros { get; init; }

    /// <summary>What happened (<see cref="AuditActions"/>).</summary>
    public required string Action { get; init; }

    /// <summary>Who did it: <c>cli</c>, <c>est:ADDRESS</c>.</summary>
    public required string Actor { get; init; }

    /// <summary>The device concerned, if any.</summary>
    public string? DeviceId { get; init; }

    /// <summary>The certificate serial concerned, if any.</summary>
    public string? Serial { get; init; }

    /// <summary><c>ok</c> or <c>refused</c>.</summary>
    public required string Outcome { get; init; }

    /// <summary>Detail: the refusal reason, the revocation reason, the token id. Never a secret.</summary>
    public string? Detail { get; init; }

    /// <summary>Hex SHA-256 of the previous row (64 zeros for the first).</summary>
    public required string PrevHash { get; init; }

    /// <summary>Hex SHA-256 over <see cref="PrevHash"/> and this row's fields.</summary>
    public required string Hash { get; init; }

    /// <summary>Hex HMAC-SHA256 of <see cref="Hash"/> with the audit key (<see cref="AuditKey"/>); null on rows from before the key.</summary>
    public string? Mac { get; init; }
}

/// <summary>Audit action names.</summary>
public static class AuditActions
{
    /// <summary>A certificate issued from a CSR (CLI or EST simpleenroll).</summary>
    public const string Issue = "issue";

    /// <summary>A certificate renewed (EST simplereenroll).</summary>
    public const string Renew = "renew";

    /// <summary>A certificate revoked.</summary>
    public const string Revoke = "revoke";

    /// <summary>An enrollment token created.</summary>
    public const string TokenCreate = "token.create";

    /// <summary>An enrollment token revoked before use.</summary>
    public const string TokenRevoke = "token.revoke";

    /// <summary>A CRL signed and published (by a revocation, a regeneration or a repair).</summary>
    public const string Crl = "crl";

    /// <summary>An enrollment token used (consumed by an issuance).</summary>
    public const string TokenUse = "token.use";

    /// <summary>An EST request refused (bad CSR, bad credentials, rate limit...).</summary>
    public const string Refuse = "refuse";

    /// <summary>An enrollment held for manual approval.</summary>
    public const string Pending = "pending";

    /// <summary>A pending enrollment approved.</summary>
    public const string Approve = "approve";

    /// <summary>A key generated by the server (EST serverkeygen).</summary>
    public const string ServerKeyGen = "serverkeygen";

    /// <summary>The CA initialised or its issuing certificate imported.</summary>
    public const string CaInit = "ca.init";
}

/// <summary>An enrollment waiting for manual approval (RFC 7030 §4.2.3: 202 with Retry-After).</summary>
public sealed record PendingEnrollment
{
    /// <summary>Row id.</summary>
    public required long Id { get; init; }

    /// <summary>The device id.</summary>
    public required string DeviceId { get; init; }

    /// <summary>The profile.</summary>
    public required string Profile { get; init; }

    /// <summary>Hex SHA-256 of the CSR DER: a retry with the same CSR finds its request.</summary>
    public required string CsrHash { get; init; }

    /// <summary>The client address that asked.</summary>
    public required string Client { get; init; }

    /// <summary>When it was asked.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary><c>pending</c>, <c>approved</c>, <c>rejected</c> or <c>issued</c>.</summary>
    public required string Status { get; init; }
}
