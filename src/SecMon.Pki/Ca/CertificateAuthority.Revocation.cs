using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.X509;
using SecMon.Pki.Keys;
using SecMon.Pki.Revocation;
using SecMon.Pki.Store;

namespace SecMon.Pki.Ca;

/// <summary>A CRL the CA signed and stored.</summary>
/// <param name="Number">CRL number (RFC 5280 §5.2.3).</param>
/// <param name="ThisUpdate">thisUpdate.</param>
/// <param name="NextUpdate">nextUpdate.</param>
/// <param name="Der">The CRL, DER.</param>
/// <param name="SupersededRevoked">Superseded certificates whose grace period had passed, revoked (reason superseded) into this CRL.</param>
public sealed record CrlPublication(long Number, DateTimeOffset ThisUpdate, DateTimeOffset NextUpdate, byte[] Der, IReadOnlyList<IssuedCertificate> SupersededRevoked);

/// <summary>What a revocation did.</summary>
public sealed record RevocationResult
{
    /// <summary>The certificates this call revoked.</summary>
    public IReadOnlyList<IssuedCertificate> Revoked { get; init; } = [];

    /// <summary>The certificates that were revoked before (nothing to change in the store).</summary>
    public IReadOnlyList<IssuedCertificate> AlreadyRevoked { get; init; } = [];

    /// <summary>Of <see cref="AlreadyRevoked"/>, those the latest CRL did not list (a revocation left half done): the new CRL lists them.</summary>
    public IReadOnlyList<IssuedCertificate> Repaired { get; init; } = [];

    /// <summary>The CRL signed by this call, or null when the latest one already listed everything.</summary>
    public CrlPublication? Crl { get; init; }

    /// <summary>True when crl.der and crl.pem did not hold the latest stored CRL and were rewritten from it.</summary>
    public bool FilesRewritten { get; init; }

    /// <summary>True when the published CRL files changed (a new CRL, or a repair of the files): run the CRL hook.</summary>
    public bool CrlChanged => Crl is not null || FilesRewritten;
}

/// <summary>Revocation and CRLs: all or nothing, and a retry repairs what an earlier failure left half done.</summary>
public sealed partial class CertificateAuthority
{
    /// <summary>
    /// Revokes one certificate and publishes a CRL listing it; false when the serial is unknown or the certificate
    /// was already revoked (see <see cref="RevokeSerial"/> for the details and the repair of a half-done revocation).
    /// </summary>
    /// <exception cref="PkiException">The issuing key cannot be unlocked (nothing is changed).</exception>
    public bool Revoke(string serialHex, RevocationReason reason, string actor) =>
        RevokeSerial(serialHex, reason, actor) is { Revoked.Count: 1 };

    /// <summary>
    /// Revokes a certificate: the issuing key is unlocked first (a wrong passphrase changes nothing), then the
    /// store row, its audit row and the new CRL are written in one transaction, then crl.der and crl.pem are
    /// replaced atomically. An already revoked certificate is checked against the latest CRL: when that CRL does
    /// not list it (a revocation an older secmon left half done), a new CRL is signed; when the CRL files do not
    /// hold the latest CRL, they are rewritten. Null when the serial is unknown.
    /// </summary>
    /// <exception cref="PkiException">The issuing key cannot be unlocked (nothing is changed).</exception>
    public RevocationResult? RevokeSerial(string serialHex, RevocationReason reason, string actor)
    {
        ArgumentNullException.ThrowIfNull(serialHex);
        var key = IssuingKey;
        var cert = Store.GetCertificate(serialHex);
        if (cert is null)
        {
            Store.Audit(Time.GetUtcNow(), AuditActions.Revoke, actor, null, serialHex, "refused", "unknown serial");
            return null;
        }

        return RevokeAll(key, [cert], reason, actor);
    }

    /// <summary>
    /// Revokes every certificate <paramref name="deviceId"/> holds that has not expired (superseded ones too), in
    /// one transaction with one new CRL; already revoked ones are checked and repaired as by <see cref="RevokeSerial"/>.
    /// An empty result (nothing revoked, nothing already revoked) means the device holds no unexpired certificate.
    /// </summary>
    /// <exception cref="PkiException">The issuing key cannot be unlocked (nothing is changed).</exception>
    public RevocationResult RevokeDevice(string deviceId, RevocationReason reason, string actor)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        var key = IssuingKey;
        var now = Time.GetUtcNow();
        var held = Store.ListCertificates(deviceId, limit: int.MaxValue).Where(c => c.NotAfter >= now).ToList();
        return RevokeAll(key, held, reason, actor);
    }

    private RevocationResult RevokeAll(SigningKey key, IReadOnlyList<IssuedCertificate> targets, RevocationReason reason, string actor)
    {
        var now = Time.GetUtcNow();
        var latest = Store.LatestCrl();
        // Parsed only when a target was already revoked (a retry): measured, parsing a CRL of 100,000 entries costs
        // about 2 s and 120 MB, which a first revocation need not pay.
        var listed = new Lazy<X509Crl?>(() => latest is { } l ? new X509Crl(l.Der) : null);
        var revoked = new List<IssuedCertificate>();
        var already = new List<IssuedCertificate>();
        var repaired = new List<IssuedCertificate>();
        var crl = Store.Write(tx =>
        {
            foreach (var c in targets)
            {
                if (PkiStore.RevokeCertificate(tx, c.Serial, now, reason))
                {
                    revoked.Add(c with { RevokedAt = now, RevocationReason = reason });
                    PkiStore.AppendAudit(tx, now, AuditActions.Revoke, actor, c.DeviceId, c.Serial, "ok", "reason=" + reason.Name());
                }
                else
                {
                    var stored = PkiStore.GetCertificate(tx, c.Serial) ?? c;
                    already.Add(stored);
                    var onCrl = listed.Value?.GetRevokedCertificate(new BigInteger(c.Serial, 16)) is not null;
                    if (!onCrl && stored.NotAfter >= now)
                    {
                        repaired.Add(stored);
                    }
                    else
                    {
                        PkiStore.AppendAudit(tx, now, AuditActions.Revoke, actor, c.DeviceId, c.Serial, "refused", "already revoked");
                    }
                }
            }

            if (revoked.Count == 0 && repaired.Count == 0)
            {
                return null;
            }

            var published = SignCrl(tx, key, now, actor);
            foreach (var c in repaired)
            {
                PkiStore.AppendAudit(tx, now, AuditActions.Crl, actor, c.DeviceId, c.Serial, "ok",
                    $"repair: revoked but missing from CRL {latest?.Number ?? 0}; CRL {published.Number} lists it");
            }

            return published;
        });
        var rewritten = false;
        if (crl is not null)
        {
            WriteCrlFiles(crl.Der);
        }
        else
        {
            rewritten = SyncCrlFiles();
        }

        return new RevocationResult { Revoked = revoked, AlreadyRevoked = already, Repaired = repaired, Crl = crl, FilesRewritten = rewritten };
    }

    /// <summary>
    /// Signs a new CRL (next CRL number) and writes crl.der and crl.pem in the CA home atomically. Superseded
    /// certificates whose grace period (<see cref="CaSettings.SupersedeGrace"/>) has passed are revoked (reason
    /// superseded) in the same transaction, so the CRL lists them.
    /// </summary>
    /// <exception cref="PkiException">The issuing key cannot be unlocked (nothing is changed).</exception>
    public CrlPublication GenerateCrl(string actor = CliActor)
    {
        var key = IssuingKey;
        var now = Time.GetUtcNow();
        var crl = Store.Write(tx => SignCrl(tx, key, now, actor));
        WriteCrlFiles(crl.Der);
        return crl;
    }

    /// <summary>
    /// Regenerates the CRL when there is none, half its validity has passed (RFC 5280 §5.1.2.5: a new CRL before
    /// nextUpdate), or a superseded certificate's grace period has passed. Returns true when it did.
    /// </summary>
    public bool RefreshCrlIfDue(string actor = CliActor)
    {
        var latest = Store.LatestCrlInfo();
        var now = Time.GetUtcNow();
        if (latest is { } l && now < l.ThisUpdate + ((l.NextUpdate - l.ThisUpdate) / 2) && !Store.AnySupersededDue(now, Settings.SupersedeGraceSpan))
        {
            return false;
        }

        GenerateCrl(actor);
        return true;
    }

    /// <summary>
    /// Makes crl.der and crl.pem hold the latest stored CRL (another process may have signed it, or a write
    /// may have failed after the store was committed). Returns true when it rewrote them.
    /// </summary>
    public bool SyncCrlFiles()
    {
        var latest = Store.LatestCrl();
        if (latest is not { } l || CrlFilesHold(l.Der))
        {
            return false;
        }

        WriteCrlFiles(l.Der);
        return true;
    }

    private CrlPublication SignCrl(SqliteTransaction tx, SigningKey key, DateTimeOffset now, string actor)
    {
        var superseded = PkiStore.ListSupersededDue(tx, now, Settings.SupersedeGraceSpan);
        foreach (var c in superseded)
        {
            PkiStore.RevokeCertificate(tx, c.Serial, now, RevocationReason.Superseded);
            PkiStore.AppendAudit(tx, now, AuditActions.Revoke, actor, c.DeviceId, c.Serial, "ok",
                $"reason=superseded (renewed by {c.SupersededBy} at {c.SupersededAt:yyyy-MM-ddTHH:mm:ssZ}, grace {Settings.SupersedeGrace})");
        }

        var number = PkiStore.NextCrlNumber(tx);
        var next = now.AddHours(Settings.CrlValidityHours);
        var revoked = PkiStore.ListRevoked(tx, now).Select(r => new RevokedEntry(r.Serial, r.RevokedAt, r.Reason)).ToList();
        var der = CrlBuilder.Build(IssuingCertificate, key, number, now, next, revoked);
        PkiStore.InsertCrl(tx, number, now, next, der);
        return new CrlPublication(number, now, next, der, superseded.Select(c => c with { RevokedAt = now, RevocationReason = RevocationReason.Superseded }).ToList());
    }

    // The PEM file is what brokers read (mosquitto's crlfile): each file is replaced by a rename, so a reader sees
    // the old CRL or the new one, never a torn one.
    private void WriteCrlFiles(byte[] der)
    {
        SecureFiles.WritePublic(Paths.CrlDer, der);
        SecureFiles.WritePublic(Paths.CrlPem, CrlPem(der));
    }

    private bool CrlFilesHold(byte[] der)
    {
        try
        {
            return File.Exists(Paths.CrlDer) && File.Exists(Paths.CrlPem)
                && File.ReadAllBytes(Paths.CrlDer).AsSpan().SequenceEqual(der)
                && string.Equals(File.ReadAllText(Paths.CrlPem), CrlPem(der), StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string CrlPem(byte[] der) => PemEncoding.WriteString("X509 CRL", der) + "\n";
}
