using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;

namespace SecMon.Pki.Profiles;

/// <summary>What a certificate is for; decides its extensions and how its names are checked.</summary>
public enum ProfileKind
{
    /// <summary>A device's TLS client certificate (clientAuth), named by its device id.</summary>
    Device,

    /// <summary>A TLS server certificate (serverAuth): SecMon's own HTTPS endpoint, brokers.</summary>
    Server,

    /// <summary>The delegated OCSP responder (RFC 6960 §4.2.2.2: id-kp-OCSPSigning, id-pkix-ocsp-nocheck).</summary>
    OcspResponder,

    /// <summary>An analyst's TLS client certificate for SecMon's API (<see cref="AnalystProfile"/>), named like a device.</summary>
    Analyst,
}

/// <summary>A certificate profile: validity, key usage, extended key usage, and whether revocation pointers are added.</summary>
public sealed record CertificateProfile
{
    /// <summary>The profile name (<c>device</c>, <c>server</c>, <c>ocsp</c>); also the EST label that selects it.</summary>
    public required string Name { get; init; }

    /// <summary>What it is for.</summary>
    public required ProfileKind Kind { get; init; }

    /// <summary>Validity of issued certificates (clipped to the issuing CA's own end of validity).</summary>
    public required TimeSpan Validity { get; init; }

    /// <summary>KeyUsage bits (RFC 5280 §4.2.1.3), e.g. <see cref="KeyUsage.DigitalSignature"/>.</summary>
    public required int KeyUsage { get; init; }

    /// <summary>ExtendedKeyUsage purposes (RFC 5280 §4.2.1.12).</summary>
    public required IReadOnlyList<KeyPurposeID> ExtendedKeyUsages { get; init; }

    /// <summary>True to add the CRL distribution point and the OCSP AIA (RFC 5280 §4.2.1.13, §4.2.2.1).</summary>
    public bool RevocationPointers { get; init; } = true;

    /// <summary>Adds id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): only for the responder itself.</summary>
    public bool OcspNoCheck { get; init; }

    /// <summary>Extended key usages of SecMon's own, after <see cref="ExtendedKeyUsages"/>: none by default.</summary>
    public IReadOnlyList<DerObjectIdentifier> OwnExtendedKeyUsages { get; init; } = [];

    /// <summary>Certificate policies to write (RFC 5280 §4.2.1.4), none by default; the analyst's scope is one.</summary>
    public IReadOnlyList<DerObjectIdentifier> Policies { get; init; } = [];

    /// <summary>The device profile: clientAuth, digitalSignature, device id in CN and SAN, 30 days by default.</summary>
    public static CertificateProfile Device(double validityDays) => new()
    {
        Name = "device",
        Kind = ProfileKind.Device,
        Validity = TimeSpan.FromDays(validityDays),
        KeyUsage = Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature,
        ExtendedKeyUsages = [KeyPurposeID.id_kp_clientAuth],
    };

    /// <summary>The server profile: serverAuth, digitalSignature (+ keyEncipherment for RSA keys, RFC 5246 §7.4.2).</summary>
    public static CertificateProfile Server(int validityDays) => new()
    {
        Name = "server",
        Kind = ProfileKind.Server,
        Validity = TimeSpan.FromDays(validityDays),
        KeyUsage = Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature,
        ExtendedKeyUsages = [KeyPurposeID.id_kp_serverAuth],
    };

    /// <summary>The analyst profile: clientAuth and SecMon's analyst EKU, the scope as a policy, the analyst's name in CN and
    /// SAN (<c>urn:secmon:analyst:NAME</c>); not an EST label (analysts' certificates are issued with <c>secmon ca issue</c>).</summary>
    public static CertificateProfile Analyst(AnalystScope scope, double validityDays) => new()
    {
        Name = AnalystProfile.NamePrefix + AnalystProfile.Name(scope),
        Kind = ProfileKind.Analyst,
        Validity = TimeSpan.FromDays(validityDays),
        KeyUsage = Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature,
        ExtendedKeyUsages = [KeyPurposeID.id_kp_clientAuth],
        OwnExtendedKeyUsages = [AnalystProfile.Eku],
        Policies = [AnalystProfile.ScopePolicy(scope)],
    };

    /// <summary>The delegated OCSP responder profile (one year).</summary>
    public static CertificateProfile OcspResponder() => new()
    {
        Name = "ocsp",
        Kind = ProfileKind.OcspResponder,
        Validity = TimeSpan.FromDays(365),
        KeyUsage = Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature,
        ExtendedKeyUsages = [KeyPurposeID.id_kp_OCSPSigning],
        RevocationPointers = false,
        OcspNoCheck = true,
    };

    /// <summary>id-pkix-ocsp-nocheck, RFC 6960 §4.2.2.2.1.</summary>
    public static readonly DerObjectIdentifier OcspNoCheckOid = new("1.3.6.1.5.5.7.48.1.5");
}
