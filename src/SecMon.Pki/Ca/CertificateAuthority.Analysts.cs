using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using SecMon.Pki.Profiles;

namespace SecMon.Pki.Ca;

/// <summary>The outcome of <see cref="CertificateAuthority.CheckAnalyst"/>.</summary>
/// <param name="Subject">The certificate's subject (<c>CN=alice</c>) when it was readable, else null.</param>
/// <param name="Serial">Its serial (SecMon's hex) when readable, else null.</param>
/// <param name="Scope">The scope it grants when accepted, else null.</param>
/// <param name="Reason">Why it was refused, or null when accepted.</param>
public sealed record AnalystCheck(string? Subject, string? Serial, AnalystScope? Scope, string? Reason)
{
    /// <summary>True when the certificate may be used.</summary>
    public bool Ok => Reason is null && Scope is not null;
}

public sealed partial class CertificateAuthority
{
    /// <summary>
    /// Checks a TLS client certificate presented to SecMon's API (its proof of possession was the TLS handshake): issued
    /// by this CA's issuing key (signature and issuer name), valid now, with the analyst EKU and one scope policy
    /// (<see cref="AnalystProfile"/>), and in this CA's records, unrevoked and byte for byte the certificate issued (the
    /// status the CRL and OCSP publish, read from the same store). A device's or a server's certificate is refused.
    /// </summary>
    public AnalystCheck CheckAnalyst(byte[] der)
    {
        ArgumentNullException.ThrowIfNull(der);
        Org.BouncyCastle.X509.X509Certificate cert;
        try
        {
            cert = new Org.BouncyCastle.X509.X509Certificate(der);
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or InvalidCastException or FormatException
            or Org.BouncyCastle.Security.Certificates.CertificateException or InvalidOperationException)
        {
            return new AnalystCheck(null, null, null, "the client certificate cannot be read");
        }

        var subject = cert.SubjectDN.ToString();
        var serial = CertificateBuilder.SerialHex(cert.SerialNumber);
        AnalystCheck Refuse(string why) => new(subject, serial, null, why);

        bool signed;
        try
        {
            signed = cert.IssuerDN.Equivalent(IssuingCertificate.SubjectDN) && cert.IsSignatureValid(IssuingCertificate.GetPublicKey());
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or Org.BouncyCastle.Security.InvalidKeyException
            or Org.BouncyCastle.Security.SignatureException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            signed = false;
        }

        if (!signed)
        {
            return Refuse("the client certificate was not issued by this SecMon CA");
        }

        var now = Time.GetUtcNow().UtcDateTime;
        if (now < cert.NotBefore.ToUniversalTime())
        {
            return Refuse($"the client certificate is not valid before {cert.NotBefore.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}");
        }

        if (now > cert.NotAfter.ToUniversalTime())
        {
            return Refuse($"the client certificate expired at {cert.NotAfter.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}");
        }

        var usages = cert.GetExtendedKeyUsage();
        if (usages is null || !usages.Any(u => u.Equals(AnalystProfile.Eku)))
        {
            return Refuse("the client certificate is not an analyst's (a device's or a server's certificate does not open the API; " +
                "'secmon ca issue --profile analyst --scope read|write|admin' makes one)");
        }

        AnalystScope? scope = null;
        var policies = cert.GetExtensionValue(X509Extensions.CertificatePolicies);
        if (policies is not null)
        {
            try
            {
                var found = CertificatePolicies.GetInstance(Asn1Object.FromByteArray(policies.GetOctets())).GetPolicyInformation()
                    .Select(p => AnalystProfile.ScopeOf(p.PolicyIdentifier)).Where(s => s is not null).Distinct().ToList();
                scope = found.Count == 1 ? found[0] : null;
            }
            catch (Exception ex) when (ex is ArgumentException or IOException or InvalidCastException or FormatException)
            {
                scope = null;
            }
        }

        if (scope is null)
        {
            return Refuse("the client certificate carries no single analyst scope");
        }

        var record = Store.GetCertificate(serial);
        if (record is null || !record.Profile.StartsWith(AnalystProfile.NamePrefix, StringComparison.Ordinal) || !record.Der.AsSpan().SequenceEqual(der))
        {
            return Refuse("the client certificate is not in this CA's records of analysts' certificates");
        }

        if (record.RevokedAt is { } revoked)
        {
            return Refuse($"the client certificate was revoked at {revoked.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");
        }

        return new AnalystCheck(subject, serial, scope, null);
    }
}
