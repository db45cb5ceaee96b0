using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecMon.Api;

/// <summary>
/// The API's HTTPS certificate when the data directory has no CA: a self-signed ECDSA P-256 certificate kept in
/// <c>DATA/api-tls.pfx</c> (mode 0600), made on first start and again when less than a third of its year is left.
/// Clients pin its SHA-256 fingerprint, which <c>serve</c> prints at start (<c>curl --pinnedpubkey</c> takes the key's
/// hash; or trust the file's certificate: <c>openssl pkcs12 -in api-tls.pfx -nokeys -passin pass:</c>). With a CA,
/// the API uses SecMon's server certificate from the CA instead.
/// </summary>
internal static class ApiCertificate
{
    /// <summary>The file's name in the data directory.</summary>
    public const string FileName = "api-tls.pfx";

    /// <summary>Loads or makes the certificate, naming <paramref name="names"/> and <paramref name="ips"/>.</summary>
    public static X509Certificate2 LoadOrCreate(string dataDirectory, IReadOnlyList<string> names, IReadOnlyList<IPAddress> ips, DateTimeOffset now)
    {
        var path = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        if (File.Exists(path))
        {
            var existing = X509CertificateLoader.LoadPkcs12FromFile(path, null);
            var lifetime = existing.NotAfter - existing.NotBefore;
            var covers = names.All(n => existing.MatchesHostname(n)) && ips.All(ip => existing.MatchesHostname(ip.ToString()));
            if (covers && existing.NotAfter.ToUniversalTime() - now.UtcDateTime > lifetime / 3)
            {
                return existing;
            }

            existing.Dispose();
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=SecMon API (self-signed)", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in names)
        {
            san.AddDnsName(n);
        }

        foreach (var ip in ips)
        {
            san.AddIpAddress(ip);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var made = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
        var pfx = made.Export(X509ContentType.Pkcs12);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, options))
        {
            stream.Write(pfx);
        }

        File.Move(temp, path, overwrite: true);
        CryptographicOperations.ZeroMemory(pfx);
        return X509CertificateLoader.LoadPkcs12FromFile(path, null);
    }

    /// <summary>The certificate's SHA-256 fingerprint, hex with colons.</summary>
    public static string Fingerprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return string.Join(':', certificate.GetCertHash(HashAlgorithmName.SHA256).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
    }
}
