using System.Net;
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.X509;
using SecMon.Core.Devices;
using SecMon.Pki.Keys;

namespace SecMon.Pki.Profiles;

/// <summary>The names a certificate is issued for.</summary>
/// <param name="CommonName">The subject CN (the device id, or the server's first name).</param>
/// <param name="DnsNames">dNSName SANs.</param>
/// <param name="IpAddresses">iPAddress SANs.</param>
/// <param name="Uris">uniformResourceIdentifier SANs.</param>
public sealed record CertificateNames(string CommonName, IReadOnlyList<string> DnsNames, IReadOnlyList<IPAddress> IpAddresses, IReadOnlyList<string> Uris)
{
    /// <summary>The names of a device certificate: CN=id, SAN URI urn:secmon:device:id and DNS id when it is a host name.</summary>
    public static CertificateNames ForDevice(string deviceId) => new(
        deviceId,
        DeviceId.IsHostName(deviceId) ? [deviceId] : [],
        [],
        [DeviceId.Urn(deviceId)]);

    /// <summary>The names of an analyst's certificate: CN=name, SAN URI urn:secmon:analyst:name.</summary>
    public static CertificateNames ForAnalyst(string name) => new(name, [], [], [AnalystProfile.UrnPrefix + name]);

    /// <summary>The names of a server certificate: CN = first DNS name (or first IP), SANs as given.</summary>
    public static CertificateNames ForServer(IReadOnlyList<string> dnsNames, IReadOnlyList<IPAddress> ips)
    {
        ArgumentNullException.ThrowIfNull(dnsNames);
        ArgumentNullException.ThrowIfNull(ips);
        var cn = dnsNames.Count > 0 ? dnsNames[0] : ips.Count > 0 ? ips[0].ToString() : throw new PkiException("a server certificate needs at least one --dns or --ip name.");
        return new(cn, dnsNames, ips, []);
    }

    /// <summary>Every SAN as <c>DNS:x</c>, <c>IP:x</c>, <c>URI:x</c>.</summary>
    public IEnumerable<string> Describe() =>
        DnsNames.Select(d => "DNS:" + d).Concat(IpAddresses.Select(i => "IP:" + i)).Concat(Uris.Select(u => "URI:" + u));
}

/// <summary>
/// Builds and signs X.509 v3 certificates (RFC 5280) with BouncyCastle's ASN.1 types and a
/// <see cref="SigningKey"/>. Serial numbers are 128 random bits (CA/B Forum BR §7.1 asks for at least 64).
/// </summary>
public static class CertificateBuilder
{
    /// <summary>A fresh positive 128-bit random serial number (16 random bytes, read unsigned: RFC 5280 §4.1.2.2 allows up to 20 octets).</summary>
    public static BigInteger NewSerial()
    {
        Span<byte> bytes = stackalloc byte[16];
        BigInteger serial;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            serial = new BigInteger(1, bytes);
        }
        while (serial.SignValue == 0);

        return serial;
    }

    /// <summary>The serial as SecMon stores and prints it: uppercase hex of the unsigned value, even length.</summary>
    public static string SerialHex(BigInteger serial)
    {
        ArgumentNullException.ThrowIfNull(serial);
        return Convert.ToHexString(serial.ToByteArrayUnsigned());
    }

    /// <summary>Parses a serial printed by SecMon or OpenSSL (hex, optional <c>0x</c> and colons).</summary>
    public static bool TryParseSerial(string? text, out string serialHex)
    {
        serialHex = "";
        var t = (text ?? "").Trim().Replace(":", "", StringComparison.Ordinal);
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            t = t[2..];
        }

        if (t.Length is 0 or > 40 || !t.All(Uri.IsHexDigit))
        {
            return false;
        }

        serialHex = SerialHex(new BigInteger(t, 16));
        return true;
    }

    /// <summary>SubjectKeyIdentifier per RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.</summary>
    public static byte[] KeyIdentifier(SubjectPublicKeyInfo spki)
    {
        ArgumentNullException.ThrowIfNull(spki);
#pragma warning disable CA5350 // RFC 5280 §4.2.1.2 defines the key identifier as SHA-1; it is an identifier, not a signature.
        return SHA1.HashData(spki.PublicKey.GetBytes());
#pragma warning restore CA5350
    }

    /// <summary>Subject DN <c>CN=name[, O=org]</c>, built from attributes (never parsed from a string).</summary>
    public static X509Name Name(string commonName, string? organization = null)
    {
        var oids = new List<DerObjectIdentifier>();
        var values = new List<string>();
        if (organization is not null)
        {
            oids.Add(X509Name.O);
            values.Add(organization);
        }

        oids.Add(X509Name.CN);
        values.Add(commonName);
        return new X509Name(oids, values);
    }

    /// <summary>Issues an end-entity certificate with <paramref name="profile"/>.</summary>
    public static X509Certificate IssueEndEntity(
        CertificateProfile profile,
        CertificateNames names,
        SubjectPublicKeyInfo subjectKey,
        X509Certificate issuer,
        SigningKey issuerKey,
        DateTimeOffset now,
        string? crlUrl,
        string? ocspUrl,
        BigInteger? serial = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(subjectKey);
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(issuerKey);

        var ext = new X509ExtensionsGenerator();
        ext.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
        var keyUsage = profile.KeyUsage;
        if (profile.Kind == ProfileKind.Server && subjectKey.Algorithm.Algorithm.Equals(Org.BouncyCastle.Asn1.Pkcs.PkcsObjectIdentifiers.RsaEncryption))
        {
            keyUsage |= KeyUsage.KeyEncipherment;
        }

        ext.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(keyUsage));
        ext.AddExtension(X509Extensions.ExtendedKeyUsage, false, profile.OwnExtendedKeyUsages.Count == 0
            ? new ExtendedKeyUsage(profile.ExtendedKeyUsages.ToArray())
            : new DerSequence(profile.ExtendedKeyUsages.Cast<Asn1Encodable>().Concat(profile.OwnExtendedKeyUsages).ToArray())); // ExtKeyUsageSyntax, RFC 5280 §4.2.1.12
        var sans = new List<GeneralName>();
        sans.AddRange(names.DnsNames.Select(d => new GeneralName(GeneralName.DnsName, d)));
        sans.AddRange(names.IpAddresses.Select(ip => new GeneralName(GeneralName.IPAddress, new DerOctetString(ip.GetAddressBytes()))));
        sans.AddRange(names.Uris.Select(u => new GeneralName(GeneralName.UniformResourceIdentifier, u)));
        if (sans.Count > 0)
        {
            ext.AddExtension(X509Extensions.SubjectAlternativeName, false, new GeneralNames(sans.ToArray()));
        }

        ext.AddExtension(X509Extensions.SubjectKeyIdentifier, false, new SubjectKeyIdentifier(KeyIdentifier(subjectKey)));
        ext.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(KeyIdentifier(issuer.SubjectPublicKeyInfo)));
        if (profile.RevocationPointers && !string.IsNullOrEmpty(crlUrl))
        {
            var dp = new DistributionPoint(
                new DistributionPointName(new GeneralNames(new GeneralName(GeneralName.UniformResourceIdentifier, crlUrl))), null, null);
            ext.AddExtension(X509Extensions.CrlDistributionPoints, false, new CrlDistPoint([dp]));
        }

        if (profile.RevocationPointers && !string.IsNullOrEmpty(ocspUrl))
        {
            ext.AddExtension(X509Extensions.AuthorityInfoAccess, false, new AuthorityInformationAccess(
                new AccessDescription(AccessDescription.IdADOcsp, new GeneralName(GeneralName.UniformResourceIdentifier, ocspUrl))));
        }

        if (profile.Policies.Count > 0)
        {
            ext.AddExtension(X509Extensions.CertificatePolicies, false,
                new CertificatePolicies(profile.Policies.Select(p => new PolicyInformation(p)).ToArray()));
        }

        if (profile.OcspNoCheck)
        {
            ext.AddExtension(CertificateProfile.OcspNoCheckOid, false, DerNull.Instance);
        }

        // Backdate by five minutes for devices whose clocks run a little behind; never past the issuer's own validity.
        var notBefore = now.AddMinutes(-5);
        var notAfter = now + profile.Validity;
        var issuerEnd = new DateTimeOffset(DateTime.SpecifyKind(issuer.NotAfter, DateTimeKind.Utc));
        if (notAfter > issuerEnd)
        {
            notAfter = issuerEnd;
        }

        return Sign(serial ?? NewSerial(), issuer.SubjectDN, Name(names.CommonName), notBefore, notAfter, subjectKey, ext.Generate(), issuerKey);
    }

    /// <summary>Issues a CA certificate (self-signed root when <paramref name="issuer"/> is null).</summary>
    public static X509Certificate IssueCa(
        X509Name subject, SubjectPublicKeyInfo subjectKey, X509Certificate? issuer, SigningKey issuerKey, DateTimeOffset now, TimeSpan validity, int? pathLength)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(subjectKey);
        ArgumentNullException.ThrowIfNull(issuerKey);
        var ext = new X509ExtensionsGenerator();
        ext.AddExtension(X509Extensions.BasicConstraints, true, pathLength is null ? new BasicConstraints(true) : new BasicConstraints(pathLength.Value));
        ext.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.KeyCertSign | KeyUsage.CrlSign | KeyUsage.DigitalSignature));
        ext.AddExtension(X509Extensions.SubjectKeyIdentifier, false, new SubjectKeyIdentifier(KeyIdentifier(subjectKey)));
        ext.AddExtension(X509Extensions.AuthorityKeyIdentifier, false,
            new AuthorityKeyIdentifier(KeyIdentifier(issuer?.SubjectPublicKeyInfo ?? subjectKey)));
        var notAfter = now + validity;
        if (issuer is not null)
        {
            var issuerEnd = new DateTimeOffset(DateTime.SpecifyKind(issuer.NotAfter, DateTimeKind.Utc));
            if (notAfter > issuerEnd)
            {
                notAfter = issuerEnd;
            }
        }

        return Sign(NewSerial(), issuer?.SubjectDN ?? subject, subject, now.AddMinutes(-5), notAfter, subjectKey, ext.Generate(), issuerKey);
    }

    private static X509Certificate Sign(
        BigInteger serial, X509Name issuer, X509Name subject, DateTimeOffset notBefore, DateTimeOffset notAfter,
        SubjectPublicKeyInfo subjectKey, X509Extensions extensions, SigningKey issuerKey)
    {
        var tbs = new V3TbsCertificateGenerator();
        tbs.SetSerialNumber(new DerInteger(serial));
        tbs.SetSignature(issuerKey.SignatureAlgorithm);
        tbs.SetIssuer(issuer);
        // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 (BouncyCastle's Time picks).
        tbs.SetStartDate(new Time(TruncateToSeconds(notBefore)));
        tbs.SetEndDate(new Time(TruncateToSeconds(notAfter)));
        tbs.SetSubject(subject);
        tbs.SetSubjectPublicKeyInfo(subjectKey);
        tbs.SetExtensions(extensions);
        var tbsCert = tbs.GenerateTbsCertificate();
        var signature = issuerKey.Sign(tbsCert.GetDerEncoded());
        var structure = new X509CertificateStructure(tbsCert, issuerKey.SignatureAlgorithm, new DerBitString(signature));
        return new X509Certificate(structure);
    }

    /// <summary>A UTC <see cref="DateTime"/> without sub-second digits (DER times carry whole seconds here).</summary>
    public static DateTime TruncateToSeconds(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
}
