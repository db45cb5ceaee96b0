using System.Net;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using SecMon.Core.Devices;
using SecMon.Pki.Keys;
using SecMon.Pki.Profiles;

namespace SecMon.Pki.Policy;

/// <summary>A CSR that passed <see cref="CsrPolicy"/>: its public key and the names it asked for.</summary>
/// <param name="PublicKey">The subject public key.</param>
/// <param name="KeyAlgorithm">Its type.</param>
/// <param name="CommonName">The subject CN.</param>
/// <param name="DnsNames">dNSName SANs it asked for.</param>
/// <param name="IpAddresses">iPAddress SANs it asked for.</param>
/// <param name="Uris">URI SANs it asked for.</param>
public sealed record AcceptedCsr(
    SubjectPublicKeyInfo PublicKey, KeyAlgorithm KeyAlgorithm, string CommonName,
    IReadOnlyList<string> DnsNames, IReadOnlyList<IPAddress> IpAddresses, IReadOnlyList<string> Uris);

/// <summary>The outcome of checking a CSR: accepted, or refused with a reason a device operator can act on.</summary>
public sealed record CsrCheck
{
    /// <summary>The accepted CSR, or null when refused.</summary>
    public AcceptedCsr? Accepted { get; init; }

    /// <summary>Why it was refused, or null when accepted.</summary>
    public string? Reason { get; init; }

    /// <summary>True when accepted.</summary>
    public bool Ok => Accepted is not null;

    internal static CsrCheck Refuse(string reason) => new() { Reason = reason };
}

/// <summary>What the CSR must match.</summary>
/// <param name="Profile">The profile the certificate is for.</param>
/// <param name="BoundName">The device id bound to the enrollment (token or current certificate); for the server
/// profile, the CN the CSR must carry, or null to accept any CN that is also among <paramref name="AllowedDnsNames"/>.</param>
/// <param name="AllowedDnsNames">Server profile: dNSName SANs the CSR may ask for (null = any valid host name).</param>
/// <param name="VerifySignature">False only for EST serverkeygen, whose CSR key is discarded (RFC 7030 §4.4.1).</param>
public sealed record CsrExpectation(CertificateProfile Profile, string? BoundName, IReadOnlyList<string>? AllowedDnsNames = null, bool VerifySignature = true);

/// <summary>
/// The CSR policy: a PKCS#10 request (RFC 2986) is accepted only when it parses completely, its key type and
/// size are allowed, its signature verifies with its own key (proof of possession, RFC 2986 §3 and RFC 7030
/// §3.4), its subject CN and SANs name exactly the device bound to the enrollment, it does not ask for a CA
/// certificate, and it requests no critical extension the CA does not understand. Extensions the CSR asks for
/// are never copied: the profile decides the certificate's extensions; only the names are checked.
/// </summary>
public sealed class CsrPolicy
{
    /// <summary>The largest CSR accepted (bytes of DER). A P-256 CSR is ~250 bytes, RSA 4096 with SANs ~1.8 KiB.</summary>
    public const int MaxCsrBytes = 16 * 1024;

    // RFC 2985 §5.4.2 extensionRequest.
    private static readonly DerObjectIdentifier ExtensionRequest = PkcsObjectIdentifiers.Pkcs9AtExtensionRequest;

    // Extensions a CSR may ask for (ignored or checked); any other critical one is refused.
    private static readonly DerObjectIdentifier[] Understood =
    [
        X509Extensions.SubjectAlternativeName,
        X509Extensions.BasicConstraints,
        X509Extensions.KeyUsage,
        X509Extensions.ExtendedKeyUsage,
        X509Extensions.SubjectKeyIdentifier,
    ];

    private readonly HashSet<KeyAlgorithm> _allowedKeys;

    /// <summary>Creates the policy with the key types it accepts.</summary>
    public CsrPolicy(IEnumerable<KeyAlgorithm> allowedKeys)
    {
        _allowedKeys = [.. allowedKeys];
    }

    /// <summary>The key types accepted.</summary>
    public IReadOnlyCollection<KeyAlgorithm> AllowedKeys => _allowedKeys;

    /// <summary>Checks a DER CSR against <paramref name="expect"/>. Never throws for malformed input.</summary>
    public CsrCheck Check(ReadOnlySpan<byte> der, CsrExpectation expect)
    {
        ArgumentNullException.ThrowIfNull(expect);
        if (der.IsEmpty)
        {
            return CsrCheck.Refuse("empty CSR");
        }

        if (der.Length > MaxCsrBytes)
        {
            return CsrCheck.Refuse($"CSR too large ({der.Length} bytes, limit {MaxCsrBytes})");
        }

        if (!TryParse(der, out var request, out var info, out var parseError))
        {
            return CsrCheck.Refuse(parseError);
        }

        try
        {
            return CheckParsed(request, info, expect);
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidCastException or InvalidOperationException or FormatException)
        {
            // A structure that parsed but cannot be read the way a field needs (hostile input): refused, never a 500.
            return CsrCheck.Refuse("malformed CSR: " + e.Message);
        }
    }

    private CsrCheck CheckParsed(CertificationRequest request, CertificationRequestInfo info, CsrExpectation expect)
    {
        if (!info.Version.HasValue(0))
        {
            return CsrCheck.Refuse("CSR version must be 0 (PKCS#10 v1)");
        }

        var key = PublicKeys.Describe(info.SubjectPublicKeyInfo);
        if (key.Algorithm is null || !_allowedKeys.Contains(key.Algorithm.Value))
        {
            return CsrCheck.Refuse($"key type not allowed: {key.Description} (allowed: {string.Join(", ", _allowedKeys.Select(k => k.Name()))})");
        }

        var sigOid = request.SignatureAlgorithm.Algorithm;
        if (expect.VerifySignature)
        {
            if (!PublicKeys.IsAcceptedSignatureAlgorithm(sigOid) || !PublicKeys.SignatureFitsKey(sigOid, key.Algorithm.Value))
            {
                return CsrCheck.Refuse($"signature algorithm {sigOid.Id} not accepted for {key.Description} (use ECDSA or RSA PKCS#1 v1.5 with SHA-256/384/512)");
            }

            if (!PublicKeys.Verify(info.SubjectPublicKeyInfo, request.SignatureAlgorithm, info.GetDerEncoded(), request.GetSignatureOctets()))
            {
                return CsrCheck.Refuse("CSR signature does not verify with its public key (no proof of possession)");
            }
        }

        var cns = info.Subject.GetValueList(X509Name.CN);
        if (cns.Count != 1)
        {
            return CsrCheck.Refuse(cns.Count == 0 ? "CSR subject has no CN" : "CSR subject has more than one CN");
        }

        var cn = cns[0];
        var dns = new List<string>();
        var ips = new List<IPAddress>();
        var uris = new List<string>();
        var extensionProblem = CheckExtensions(info.Attributes, dns, ips, uris);
        if (extensionProblem is not null)
        {
            return CsrCheck.Refuse(extensionProblem);
        }

        var nameProblem = expect.Profile.Kind == ProfileKind.Server
            ? CheckServerNames(cn, dns, ips, uris, expect)
            : CheckDeviceNames(cn, dns, ips, uris, expect.BoundName);
        if (nameProblem is not null)
        {
            return CsrCheck.Refuse(nameProblem);
        }

        return new CsrCheck { Accepted = new AcceptedCsr(info.SubjectPublicKeyInfo, key.Algorithm.Value, cn, dns, ips, uris) };
    }

    /// <summary>Parses a CSR completely (trailing bytes refused). Returns false with a reason for anything malformed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> der, out CertificationRequest request, out CertificationRequestInfo info, out string error)
    {
        request = null!;
        info = null!;
        try
        {
            // BouncyCastle's decoder throws on malformed DER; this is the one place it is caught, and the
            // size was bounded before. Re-encoding must give the same bytes: DER, nothing trailing.
            if (!TryReadTlvLength(der, out var tlvLength))
            {
                error = "malformed CSR (not a DER SEQUENCE)";
                return false;
            }

            if (tlvLength != der.Length)
            {
                error = tlvLength < der.Length ? "malformed CSR (trailing bytes after the DER SEQUENCE)" : "malformed CSR (truncated)";
                return false;
            }

            // The outer length was checked above (nothing trailing, nothing missing). BouncyCastle also accepts
            // BER inside; the signature is verified over the DER re-encoding of CertificationRequestInfo, so a
            // non-DER request fails proof of possession rather than slipping through.
            var obj = Asn1Object.FromByteArray(der.ToArray());
            if (obj is not Asn1Sequence seq || seq.Count != 3)
            {
                error = "not a PKCS#10 CertificationRequest (expected a SEQUENCE of 3)";
                return false;
            }

            request = CertificationRequest.GetInstance(seq);
            info = request.GetCertificationRequestInfo();
            _ = info.Subject.GetOidList();
            _ = info.SubjectPublicKeyInfo.Algorithm.Algorithm;
            error = "";
            return true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidCastException or InvalidOperationException or FormatException or IndexOutOfRangeException or NullReferenceException)
        {
            error = "malformed CSR (not valid DER PKCS#10)";
            return false;
        }
    }

    // The length of the outer DER TLV (X.690 §8.1.3): tag 0x30, then a short or long definite length.
    private static bool TryReadTlvLength(ReadOnlySpan<byte> der, out long total)
    {
        total = 0;
        if (der.Length < 2 || der[0] != 0x30)
        {
            return false;
        }

        int first = der[1];
        if (first < 0x80)
        {
            total = 2 + first;
            return true;
        }

        var count = first & 0x7F;
        if (count is 0 or > 4 || der.Length < 2 + count)
        {
            return false;
        }

        long length = 0;
        for (var i = 0; i < count; i++)
        {
            length = (length << 8) | der[2 + i];
        }

        total = 2 + count + length;
        return true;
    }

    private static string? CheckExtensions(Asn1Set? attributes, List<string> dns, List<IPAddress> ips, List<string> uris)
    {
        if (attributes is null)
        {
            return null;
        }

        foreach (var a in attributes)
        {
            var attr = AttributePkcs.GetInstance(a);
            if (!attr.AttrType.Equals(ExtensionRequest))
            {
                // challengePassword and other attributes carry nothing the CA uses.
                continue;
            }

            foreach (var v in attr.AttrValues)
            {
                var exts = X509Extensions.GetInstance(v);
                foreach (var oid in exts.GetExtensionOids())
                {
                    var ext = exts.GetExtension(oid);
                    if (oid.Equals(X509Extensions.BasicConstraints))
                    {
                        if (BasicConstraints.GetInstance(ext.GetParsedValue()).IsCA())
                        {
                            return "CSR asks for a CA certificate (basicConstraints CA:TRUE)";
                        }
                    }
                    else if (oid.Equals(X509Extensions.SubjectAlternativeName))
                    {
                        foreach (var name in GeneralNames.GetInstance(ext.GetParsedValue()).GetNames())
                        {
                            switch (name.TagNo)
                            {
                                case GeneralName.DnsName:
                                    dns.Add(((IAsn1String)name.Name).GetString());
                                    break;
                                case GeneralName.UniformResourceIdentifier:
                                    uris.Add(((IAsn1String)name.Name).GetString());
                                    break;
                                case GeneralName.IPAddress:
                                    var octets = Asn1OctetString.GetInstance(name.Name).GetOctets();
                                    if (octets.Length is not (4 or 16))
                                    {
                                        return "CSR has a malformed IP address SAN";
                                    }

                                    ips.Add(new IPAddress(octets));
                                    break;
                                default:
                                    return $"CSR asks for a SAN of a type the CA does not issue (GeneralName tag {name.TagNo})";
                            }
                        }
                    }
                    else if (ext.IsCritical && !Understood.Any(u => u.Equals(oid)))
                    {
                        return $"CSR asks for an unknown critical extension {oid.Id}";
                    }
                }
            }
        }

        return null;
    }

    private static string? CheckDeviceNames(string cn, List<string> dns, List<IPAddress> ips, List<string> uris, string? deviceId)
    {
        if (deviceId is null)
        {
            if (!DeviceId.IsValidName(cn))
            {
                return $"CSR CN \"{Printable(cn)}\" is not a valid device id";
            }

            deviceId = cn;
        }

        if (!string.Equals(cn, deviceId, StringComparison.Ordinal))
        {
            return $"CSR CN \"{Printable(cn)}\" does not match the enrolled device id \"{deviceId}\"";
        }

        if (ips.Count > 0)
        {
            return "a device CSR may not ask for IP address SANs";
        }

        foreach (var d in dns)
        {
            if (!string.Equals(d, deviceId, StringComparison.Ordinal))
            {
                return $"CSR SAN DNS:{Printable(d)} does not match the device id \"{deviceId}\"";
            }
        }

        foreach (var u in uris)
        {
            if (!string.Equals(u, DeviceId.Urn(deviceId), StringComparison.Ordinal))
            {
                return $"CSR SAN URI:{Printable(u)} does not match the device id (expected {DeviceId.Urn(deviceId)})";
            }
        }

        return null;
    }

    private static string? CheckServerNames(string cn, List<string> dns, List<IPAddress> ips, List<string> uris, CsrExpectation expect)
    {
        if (expect.BoundName is not null && !string.Equals(cn, expect.BoundName, StringComparison.Ordinal))
        {
            return $"CSR CN \"{Printable(cn)}\" does not match the enrolled name \"{expect.BoundName}\"";
        }

        if (uris.Count > 0)
        {
            return "a server CSR may not ask for URI SANs";
        }

        foreach (var d in dns.Append(cn).Where(n => !IPAddress.TryParse(n, out _)))
        {
            if (!DeviceId.IsHostName(d))
            {
                return $"\"{Printable(d)}\" is not a valid host name";
            }

            if (expect.AllowedDnsNames is not null && !expect.AllowedDnsNames.Contains(d, StringComparer.OrdinalIgnoreCase))
            {
                return $"CSR asks for DNS:{d}, which this enrollment does not allow";
            }
        }

        return null;
    }

    // Names from a CSR are attacker-controlled: keep refusal messages printable and short.
    private static string Printable(string s)
    {
        var t = new string(s.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
        return t.Length > 80 ? t[..80] + "..." : t;
    }
}
