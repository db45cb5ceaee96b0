using System.Net;
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using SecMon.Core.Devices;
using SecMon.Pki.Keys;
using SecMon.Pki.Policy;
using SecMon.Pki.Profiles;
using SecMon.Pki.Revocation;
using SecMon.Pki.Store;

namespace SecMon.Pki.Ca;

/// <summary>What to issue: a CSR, the profile, and what it must be bound to.</summary>
public sealed record IssueRequest
{
    /// <summary>The PKCS#10 CSR, DER.</summary>
    public required byte[] CsrDer { get; init; }

    /// <summary>The profile.</summary>
    public required CertificateProfile Profile { get; init; }

    /// <summary>Device profile: the device id the CSR must name (null = take it from the CSR's CN, CLI only).</summary>
    public string? DeviceId { get; init; }

    /// <summary>Server profile: dNSName SANs to put in the certificate (null = those in the CSR).</summary>
    public IReadOnlyList<string>? DnsNames { get; init; }

    /// <summary>Server profile: iPAddress SANs (null = those in the CSR).</summary>
    public IReadOnlyList<IPAddress>? IpAddresses { get; init; }

    /// <summary>Who asks (<c>cli</c>, <c>est:ADDRESS</c>), for the audit log.</summary>
    public required string Actor { get; init; }

    /// <summary>A token id consumed in the same transaction as the issuance (EST bootstrap).</summary>
    public string? ConsumeTokenId { get; init; }

    /// <summary>The serial of the certificate being renewed (EST simplereenroll).</summary>
    public string? RenewedFrom { get; init; }

    /// <summary>Prefix for the audit detail of a refusal (EST puts the HTTP status there: <c>"400 "</c>).</summary>
    public string RefusalPrefix { get; init; } = "";

    /// <summary>EST serverkeygen: the key to certify instead of the CSR's (the CSR signature is then not checked).</summary>
    public Org.BouncyCastle.Asn1.X509.SubjectPublicKeyInfo? ServerGeneratedKey { get; init; }
}

/// <summary>The outcome of <see cref="CertificateAuthority.Issue"/>.</summary>
/// <param name="Certificate">The issued certificate, or null when refused.</param>
/// <param name="Record">Its stored record, or null.</param>
/// <param name="Reason">Why it was refused, or null.</param>
public sealed record IssueResult(X509Certificate? Certificate, IssuedCertificate? Record, string? Reason)
{
    /// <summary>True when a certificate was issued.</summary>
    public bool Ok => Certificate is not null;
}

/// <summary>The result of checking an enrollment token.</summary>
/// <param name="Record">The token row when valid, else null.</param>
/// <param name="Reason">Why it is not valid, or null.</param>
public sealed record TokenCheck(EnrollmentTokenRecord? Record, string? Reason)
{
    /// <summary>True when the token may be used.</summary>
    public bool Ok => Record is not null;
}

/// <summary>
/// The certificate authority: the issuing CA's certificate and key (decrypted on first use), the profiles, the
/// CSR policy and the state store. Every issuance, renewal, revocation and token use is written to the audit
/// log in the same transaction as the change it records.
/// </summary>
public sealed partial class CertificateAuthority : IDisposable
{
    /// <summary>The actor name for commands run from the CLI.</summary>
    public const string CliActor = "cli";

    private readonly Lazy<SigningKey> _issuingKey;
    private readonly Lazy<SigningKey> _ocspKey;
    private readonly string? _passphrase;
    private readonly Dictionary<string, CertificateProfile> _profiles;

    private CertificateAuthority(CaOptions options, CaSettings settings, PkiStore store, TimeProvider time)
    {
        Options = options;
        Paths = new CaPaths(options.CaHome);
        Settings = settings;
        Store = store;
        Time = time;
        _passphrase = options.Passphrase;
        IssuingCertificate = ReadCertificate(Paths.IssuingCertificate, "run `secmon ca import` to install the issuing certificate signed by your offline root");
        Root = File.Exists(Paths.RootCertificate) ? ReadCertificate(Paths.RootCertificate, "") : null;
        OcspCertificate = File.Exists(Paths.OcspCertificate) ? ReadCertificate(Paths.OcspCertificate, "") : null;
        _issuingKey = new Lazy<SigningKey>(() => LoadKey(Paths.IssuingKey), LazyThreadSafetyMode.ExecutionAndPublication);
        _ocspKey = new Lazy<SigningKey>(() => LoadKey(Paths.OcspKey), LazyThreadSafetyMode.ExecutionAndPublication);
        var allowed = new List<KeyAlgorithm>();
        foreach (var name in settings.AllowedKeys)
        {
            if (!KeyAlgorithms.TryParse(name, out var a))
            {
                throw new PkiException($"{Paths.Settings}: unknown key type \"{name}\" in allowedKeys ({string.Join(", ", KeyAlgorithms.All.Select(k => k.Name))}).");
            }

            allowed.Add(a);
        }

        _ = settings.SupersedeGraceSpan; // a bad supersedeGrace in ca.json stops the CA at open, not at every CRL refresh
        Policy = new CsrPolicy(allowed);
        _profiles = new Dictionary<string, CertificateProfile>(StringComparer.Ordinal)
        {
            ["device"] = CertificateProfile.Device(settings.DeviceValidityDays),
            ["server"] = CertificateProfile.Server(settings.ServerValidityDays),
        };
    }

    /// <summary>Options it was opened with.</summary>
    public CaOptions Options { get; }

    /// <summary>The CA home's files.</summary>
    public CaPaths Paths { get; }

    /// <summary>Settings from ca.json.</summary>
    public CaSettings Settings { get; }

    /// <summary>The state store.</summary>
    public PkiStore Store { get; }

    /// <summary>The clock (validity, token expiry, CRL and OCSP times).</summary>
    public TimeProvider Time { get; }

    /// <summary>The issuing CA certificate.</summary>
    public X509Certificate IssuingCertificate { get; }

    /// <summary>The root CA certificate (null only if it was not installed with an imported issuing certificate).</summary>
    public X509Certificate? Root { get; }

    /// <summary>The delegated OCSP responder certificate, or null before one was issued.</summary>
    public X509Certificate? OcspCertificate { get; private set; }

    /// <summary>The CSR policy.</summary>
    public CsrPolicy Policy { get; }

    /// <summary>CRL URL put in new certificates (ca.json, or overridden by the server that serves it).</summary>
    public string CrlUrl { get; set; } = "";

    /// <summary>OCSP URL put in new certificates.</summary>
    public string OcspUrl { get; set; } = "";

    /// <summary>The chain relying parties need: issuing CA, then root.</summary>
    public IReadOnlyList<X509Certificate> Chain => Root is null ? [IssuingCertificate] : [IssuingCertificate, Root];

    /// <summary>The issuing key (decrypted on first use).</summary>
    /// <exception cref="PkiException">No passphrase, or the wrong one.</exception>
    public SigningKey IssuingKey => _issuingKey.Value;

    /// <summary>Opens the CA in <see cref="CaOptions.CaHome"/> with its store in <see cref="CaOptions.DataDirectory"/>.</summary>
    /// <exception cref="PkiException">No CA there, or its files are damaged.</exception>
    public static CertificateAuthority Open(CaOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        var settings = CaSettings.Load(new CaPaths(options.CaHome).Settings);
        var store = PkiStore.Open(options.DataDirectory);
        try
        {
            store.UseAuditKey(new AuditKeySource(new CaPaths(options.CaHome).AuditKey, options.Passphrase, settings.KdfIterations));
            return new CertificateAuthority(options, settings, store, time)
            {
                CrlUrl = settings.CrlUrl,
                OcspUrl = settings.OcspUrl,
            };
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>A profile by name (<c>device</c>, <c>server</c>), or null.</summary>
    public CertificateProfile? FindProfile(string name) => _profiles.GetValueOrDefault(name);

    /// <summary>The profiles that can be enrolled into (EST labels).</summary>
    public IEnumerable<CertificateProfile> Profiles => _profiles.Values;

    /// <summary>
    /// Checks the CSR against the policy and issues. On refusal nothing is stored except an audit row.
    /// When <see cref="IssueRequest.ConsumeTokenId"/> is set, the token is marked used in the same transaction;
    /// if it was used meanwhile, the certificate is discarded and the request refused.
    /// </summary>
    public IssueResult Issue(IssueRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var profile = request.Profile;
        var expect = new CsrExpectation(
            profile,
            profile.Kind is ProfileKind.Device or ProfileKind.Analyst ? request.DeviceId : null,
            profile.Kind == ProfileKind.Server ? request.DnsNames : null,
            VerifySignature: request.ServerGeneratedKey is null);
        var check = Policy.Check(request.CsrDer, expect);
        if (!check.Ok)
        {
            Store.Audit(Time.GetUtcNow(), AuditActions.Refuse, request.Actor, request.DeviceId, null, "refused", request.RefusalPrefix + check.Reason);
            return new IssueResult(null, null, check.Reason);
        }

        var csr = check.Accepted!;
        var names = profile.Kind == ProfileKind.Server
            ? CertificateNames.ForServer(request.DnsNames ?? csr.DnsNames.Append(csr.CommonName).Where(n => !IPAddress.TryParse(n, out _)).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
                request.IpAddresses ?? csr.IpAddresses)
            : profile.Kind == ProfileKind.Analyst ? CertificateNames.ForAnalyst(request.DeviceId ?? csr.CommonName)
            : CertificateNames.ForDevice(request.DeviceId ?? csr.CommonName);
        var now = Time.GetUtcNow();
        var cert = CertificateBuilder.IssueEndEntity(profile, names, request.ServerGeneratedKey ?? csr.PublicKey, IssuingCertificate, IssuingKey, now, CrlUrl, OcspUrl);
        var record = ToRecord(cert, names.CommonName, profile.Name, now, request.RenewedFrom);
        var stored = Store.Write(tx =>
        {
            if (request.ConsumeTokenId is not null && !PkiStore.ConsumeToken(tx, request.ConsumeTokenId, now, record.Serial))
            {
                return false;
            }

            PkiStore.InsertCertificate(tx, record);
            if (request.ConsumeTokenId is not null)
            {
                PkiStore.AppendAudit(tx, now, AuditActions.TokenUse, request.Actor, record.DeviceId, record.Serial, "ok", "token " + request.ConsumeTokenId);
            }

            var action = request.RenewedFrom is not null ? AuditActions.Renew : request.ServerGeneratedKey is not null ? AuditActions.ServerKeyGen : AuditActions.Issue;
            var detail = $"profile={profile.Name} key={csr.KeyAlgorithm.Name()} notAfter={record.NotAfter:yyyy-MM-ddTHH:mm:ssZ}"
                + (request.RenewedFrom is not null ? " renews=" + request.RenewedFrom : "");
            PkiStore.AppendAudit(tx, now, action, request.Actor, record.DeviceId, record.Serial, "ok", detail);
            return true;
        });
        if (!stored)
        {
            const string reason = "enrollment token already used";
            Store.Audit(now, AuditActions.Refuse, request.Actor, request.DeviceId, null, "refused", (request.RefusalPrefix.Length > 0 ? "401 " : "") + reason);
            return new IssueResult(null, null, reason);
        }

        return new IssueResult(cert, record, null);
    }

    /// <summary>Approves (or rejects) an enrollment held for manual approval; false when no such pending request.</summary>
    public bool DecidePending(long id, bool approve, string actor)
    {
        var pending = Store.GetPending(id);
        var now = Time.GetUtcNow();
        return Store.Write(tx =>
        {
            if (!PkiStore.SetPendingStatus(tx, id, "pending", approve ? "approved" : "rejected"))
            {
                return false;
            }

            PkiStore.AppendAudit(tx, now, AuditActions.Approve, actor, pending?.DeviceId, null, "ok", $"request {id} {(approve ? "approved" : "rejected")}");
            return true;
        });
    }

    /// <summary>Checks a presented token: known id, secret equal in constant time, unused, unexpired.</summary>
    public TokenCheck CheckToken(string? token)
    {
        if (!EnrollmentTokens.TryParse(token, out var id, out var secret))
        {
            return new TokenCheck(null, "malformed token");
        }

        var record = Store.GetToken(id);
        // Compare even for an unknown id, so that timing does not tell known ids apart.
        var matches = EnrollmentTokens.Matches(secret, record?.SecretHash ?? UnknownTokenHash);
        if (record is null || !matches)
        {
            return new TokenCheck(null, "unknown token");
        }

        if (record.UsedAt is not null)
        {
            return new TokenCheck(null, $"token {id} already used");
        }

        if (record.RevokedAt is not null)
        {
            return new TokenCheck(null, $"token {id} revoked");
        }

        if (Time.GetUtcNow() >= record.ExpiresAt)
        {
            return new TokenCheck(null, $"token {id} expired");
        }

        return new TokenCheck(record, null);
    }

    private static readonly byte[] UnknownTokenHash = SHA256.HashData("unknown"u8);

    /// <summary>The status of a serial for OCSP and client-certificate checks.</summary>
    public StatusLookup LookupStatus(string serialHex)
    {
        var c = Store.GetCertificate(serialHex);
        return c is null ? new StatusLookup(CertificateState.Unknown)
            : c.IsRevoked ? new StatusLookup(CertificateState.Revoked, c.RevokedAt!.Value, c.RevocationReason)
            : new StatusLookup(CertificateState.Good);
    }

    /// <summary>Creates an OCSP responder with the delegated responder certificate.</summary>
    /// <exception cref="PkiException">There is no responder certificate (run <c>secmon ca init</c> or <c>ca import</c>).</exception>
    public OcspResponder CreateOcspResponder() => new(
        IssuingCertificate,
        OcspCertificate ?? throw new PkiException($"{Paths.OcspCertificate}: no OCSP responder certificate; run `secmon ca init` (or `ca import`)."),
        _ocspKey.Value,
        LookupStatus,
        Time,
        TimeSpan.FromMinutes(Settings.OcspValidityMinutes));

    /// <summary>
    /// Issues a key and certificate for the CA's own use (OCSP responder, SecMon's HTTPS server) and records it.
    /// The key is written encrypted to <paramref name="keyPath"/> and the certificate to <paramref name="certPath"/>.
    /// </summary>
    public (X509Certificate Certificate, SigningKey Key) IssueInternal(CertificateProfile profile, CertificateNames names, string certPath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(names);
        var key = SigningKey.Generate(KeyAlgorithm.EcdsaP256);
        var now = Time.GetUtcNow();
        var cert = CertificateBuilder.IssueEndEntity(profile, names, key.PublicKeyInfo, IssuingCertificate, IssuingKey, now, CrlUrl, OcspUrl);
        var record = ToRecord(cert, names.CommonName, profile.Name, now, null);
        Store.Write(tx =>
        {
            PkiStore.InsertCertificate(tx, record);
            PkiStore.AppendAudit(tx, now, AuditActions.Issue, CliActor, record.DeviceId, record.Serial, "ok", $"profile={profile.Name} (CA's own key)");
            return true;
        });
        SecureFiles.WritePrivate(keyPath, key.ExportEncryptedPem(RequirePassphrase(), Settings.KdfIterations));
        SecureFiles.WritePublic(certPath, ToPem(cert));
        if (profile.Kind == ProfileKind.OcspResponder)
        {
            OcspCertificate = cert;
        }

        return (cert, key);
    }

    /// <summary>Loads an encrypted key from the CA home with the passphrase.</summary>
    public SigningKey LoadKey(string path)
    {
        if (!File.Exists(path))
        {
            throw new PkiException($"{path}: key file missing.");
        }

        return SigningKey.FromPem(File.ReadAllText(path), RequirePassphrase(), path);
    }

    /// <summary>The passphrase, or an error saying how to give it.</summary>
    public string RequirePassphrase() => _passphrase
        ?? throw new PkiException($"this needs the CA passphrase: set {CaOptions.PassphraseVariable} or pass --passphrase-file FILE.");

    /// <summary>PEM of a certificate.</summary>
    public static string ToPem(X509Certificate cert)
    {
        ArgumentNullException.ThrowIfNull(cert);
        return PemEncoding.WriteString("CERTIFICATE", cert.GetEncoded()) + "\n";
    }

    /// <summary>Reads one PEM (or DER) certificate file.</summary>
    public static X509Certificate ReadCertificate(string path, string hint)
    {
        if (!File.Exists(path))
        {
            throw new PkiException($"{path}: certificate missing" + (hint.Length > 0 ? "; " + hint : "") + ".");
        }

        try
        {
            var certs = ParseCertificates(File.ReadAllBytes(path));
            return certs.Count > 0 ? certs[0] : throw new PkiException($"{path}: no certificate in the file.");
        }
        catch (Exception e) when (e is not PkiException and (IOException or ArgumentException or FormatException or InvalidCastException or Org.BouncyCastle.Security.Certificates.CertificateException))
        {
            throw new PkiException($"{path}: not a readable certificate ({e.Message}).", e);
        }
    }

    /// <summary>Parses every certificate in PEM text or one DER certificate.</summary>
    public static IReadOnlyList<X509Certificate> ParseCertificates(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        if (!text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            return [new X509Certificate(bytes)];
        }

        var list = new List<X509Certificate>();
        var span = text.AsSpan();
        while (PemEncoding.TryFind(span, out var fields))
        {
            if (span[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                list.Add(new X509Certificate(Convert.FromBase64String(span[fields.Base64Data].ToString())));
            }

            span = span[fields.Location.End..];
        }

        return list;
    }

    /// <summary>The stored record of a freshly issued certificate.</summary>
    public static IssuedCertificate ToRecord(X509Certificate cert, string deviceId, string profile, DateTimeOffset issuedAt, string? renewedFrom)
    {
        ArgumentNullException.ThrowIfNull(cert);
        return new IssuedCertificate
        {
            Serial = CertificateBuilder.SerialHex(cert.SerialNumber),
            DeviceId = deviceId,
            Profile = profile,
            Subject = cert.SubjectDN.ToString(),
            NotBefore = new DateTimeOffset(DateTime.SpecifyKind(cert.NotBefore, DateTimeKind.Utc)),
            NotAfter = new DateTimeOffset(DateTime.SpecifyKind(cert.NotAfter, DateTimeKind.Utc)),
            IssuedAt = issuedAt,
            Der = cert.GetEncoded(),
            RenewedFrom = renewedFrom,
        };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_issuingKey.IsValueCreated)
        {
            _issuingKey.Value.Dispose();
        }

        if (_ocspKey.IsValueCreated)
        {
            _ocspKey.Value.Dispose();
        }

        Store.Dispose();
    }

    /// <summary>The first CN of a name, or null.</summary>
    public static string? CommonNameOf(X509Name name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var values = name.GetValueList(X509Name.CN);
        return values.Count > 0 ? values[0] : null;
    }
}
