using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.X509;
using SecMon.Pki.Keys;
using SecMon.Pki.Profiles;
using SecMon.Pki.Store;

namespace SecMon.Pki.Ca;

/// <summary>How <c>ca init</c> sets the CA up.</summary>
public sealed record CaInitOptions
{
    /// <summary>The settings to write (key types, validities, URLs).</summary>
    public CaSettings Settings { get; init; } = new();

    /// <summary>True for an offline root: make the issuing key and a CSR for it, and stop (then <c>ca import</c>).</summary>
    public bool IssuingCsrOnly { get; init; }
}

/// <summary>Creates a CA home: root and issuing CA (or an issuing CSR for an offline root), OCSP responder, first CRL.</summary>
public static class CaInitializer
{
    /// <summary>
    /// Creates the CA. Refuses when the CA home already holds an issuing key. Keys are written encrypted
    /// (PKCS#8, PBES2) with mode 0600; certificates 0644; <c>chain.pem</c> holds issuing then root.
    /// </summary>
    /// <returns>The paths written.</returns>
    /// <exception cref="PkiException">Already initialised, no passphrase, bad settings.</exception>
    public static IReadOnlyList<string> Init(CaOptions options, CaInitOptions init, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(init);
        ArgumentNullException.ThrowIfNull(time);
        var paths = new CaPaths(options.CaHome);
        if (File.Exists(paths.IssuingKey) || File.Exists(paths.RootKey))
        {
            throw new PkiException($"{options.CaHome}: a CA already exists here (issuing-ca.key.pem); use another --ca-home, or remove it to start over.");
        }

        var passphrase = options.Passphrase
            ?? throw new PkiException($"the CA keys are encrypted with a passphrase: set {CaOptions.PassphraseVariable} or pass --passphrase-file FILE.");
        var settings = init.Settings with { OfflineRoot = init.IssuingCsrOnly };
        var rootAlg = ParseKey(settings.RootKey, "root");
        var issuingAlg = ParseKey(settings.IssuingKey, "issuing");
        Directory.CreateDirectory(options.CaHome);
        var written = new List<string>();
        var now = time.GetUtcNow();
        var issuingName = CertificateBuilder.Name(settings.Name + " Issuing CA", settings.Name);

        using var issuingKey = SigningKey.Generate(issuingAlg);
        if (init.IssuingCsrOnly)
        {
            var csr = new Pkcs10CertificationRequest(issuingKey.SignatureFactory, issuingName, issuingKey.PublicKeyInfo, new Org.BouncyCastle.Asn1.DerSet());
            SecureFiles.WritePrivate(paths.IssuingKey, issuingKey.ExportEncryptedPem(passphrase, settings.KdfIterations));
            SecureFiles.WritePublic(paths.IssuingCsr, PemEncoding.WriteString("CERTIFICATE REQUEST", csr.GetEncoded()) + "\n");
            settings.Save(paths.Settings);
            written.AddRange([paths.IssuingKey, paths.IssuingCsr, paths.Settings]);
            return written;
        }

        using var rootKey = SigningKey.Generate(rootAlg);
        var rootName = CertificateBuilder.Name(settings.Name + " Root CA", settings.Name);
        var root = CertificateBuilder.IssueCa(rootName, rootKey.PublicKeyInfo, null, rootKey, now, TimeSpan.FromDays(settings.RootValidityDays), null);
        var issuing = CertificateBuilder.IssueCa(issuingName, issuingKey.PublicKeyInfo, root, rootKey, now, TimeSpan.FromDays(settings.IssuingValidityDays), 0);
        SecureFiles.WritePrivate(paths.RootKey, rootKey.ExportEncryptedPem(passphrase, settings.KdfIterations));
        SecureFiles.WritePrivate(paths.IssuingKey, issuingKey.ExportEncryptedPem(passphrase, settings.KdfIterations));
        SecureFiles.WritePublic(paths.RootCertificate, CertificateAuthority.ToPem(root));
        settings.Save(paths.Settings);
        written.AddRange([paths.RootKey, paths.IssuingKey, paths.RootCertificate, paths.Settings]);
        written.AddRange(InstallIssuing(options, issuing, root, time));
        return written;
    }

    /// <summary>
    /// Installs an issuing CA certificate signed by an offline root: it must certify the issuing key made by
    /// <c>ca init --issuing-csr</c>, be a CA certificate, and verify under <paramref name="rootPath"/>.
    /// </summary>
    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> Import(CaOptions options, string certificatePath, string rootPath, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        var paths = new CaPaths(options.CaHome);
        var settings = CaSettings.Load(paths.Settings);
        if (File.Exists(paths.IssuingCertificate))
        {
            throw new PkiException($"{paths.IssuingCertificate}: an issuing certificate is already installed.");
        }

        var certs = CertificateAuthority.ParseCertificates(File.ReadAllBytes(certificatePath));
        if (certs.Count == 0)
        {
            throw new PkiException($"{certificatePath}: no certificate in the file.");
        }

        var issuing = certs[0];
        var root = CertificateAuthority.ReadCertificate(rootPath, "");
        using var key = SigningKey.FromPem(File.ReadAllText(paths.IssuingKey), options.Passphrase ?? "", paths.IssuingKey);
        if (!key.MatchesPublicKey(issuing.SubjectPublicKeyInfo.GetDerEncoded()))
        {
            throw new PkiException($"{certificatePath}: the certificate is not for this CA's issuing key (was it signed from {paths.IssuingCsr}?).");
        }

        if (issuing.GetBasicConstraints() < 0)
        {
            throw new PkiException($"{certificatePath}: not a CA certificate (basicConstraints CA:TRUE missing).");
        }

        if (!issuing.IssuerDN.Equivalent(root.SubjectDN) ||
            !PublicKeys.Verify(root.SubjectPublicKeyInfo.GetDerEncoded(), issuing.SignatureAlgorithm, issuing.GetTbsCertificate(), issuing.GetSignature()))
        {
            throw new PkiException($"{certificatePath}: not signed by the root in {rootPath}.");
        }

        SecureFiles.WritePublic(paths.RootCertificate, CertificateAuthority.ToPem(root));
        _ = settings;
        return [paths.RootCertificate, .. InstallIssuing(options, issuing, root, time)];
    }

    private static IEnumerable<string> InstallIssuing(CaOptions options, X509Certificate issuing, X509Certificate root, TimeProvider time)
    {
        var paths = new CaPaths(options.CaHome);
        SecureFiles.WritePublic(paths.IssuingCertificate, CertificateAuthority.ToPem(issuing));
        SecureFiles.WritePublic(paths.Chain, CertificateAuthority.ToPem(issuing) + CertificateAuthority.ToPem(root));
        using var ca = CertificateAuthority.Open(options, time);
        ca.Store.Audit(time.GetUtcNow(), AuditActions.CaInit, CertificateAuthority.CliActor, null, CertificateBuilder.SerialHex(issuing.SerialNumber), "ok",
            $"issuing CA {issuing.SubjectDN} installed (root {root.SubjectDN})");
        ca.IssueInternal(CertificateProfile.OcspResponder(), new CertificateNames(ca.Settings.Name + " OCSP Responder", [], [], []), paths.OcspCertificate, paths.OcspKey);
        ca.GenerateCrl();
        return [paths.IssuingCertificate, paths.Chain, paths.OcspCertificate, paths.OcspKey, paths.CrlDer, paths.CrlPem];
    }

    private static KeyAlgorithm ParseKey(string name, string which) =>
        KeyAlgorithms.TryParse(name, out var a)
            ? a
            : throw new PkiException($"unknown {which} key type \"{name}\" ({string.Join(", ", KeyAlgorithms.All.Select(k => k.Name))}).");
}
