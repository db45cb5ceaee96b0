using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using SecMon.Core.Configuration;

namespace SecMon.Core;

/// <summary>Server certificates checked against a configured CA (an output's <c>ca_certificate</c>).</summary>
public static class TlsTrust
{
    /// <summary>
    /// True when <paramref name="certificate"/> chains to a self-signed certificate of <paramref name="trusted"/> (to any
    /// of them when none is self-signed), and only to those (a custom trust store, not the system's; the others in it
    /// serve as intermediates), and the connection had no other problem: a name mismatch or a missing certificate is
    /// not made right by the CA. For <c>RemoteCertificateValidationCallback</c>.
    /// </summary>
    public static bool ChainsTo(X509Certificate2Collection trusted, X509Certificate? certificate, SslPolicyErrors errors)
    {
        ArgumentNullException.ThrowIfNull(trusted);
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        // Roots are the anchors and the rest intermediates; a file without a root anchors at what it holds.
        var hasRoot = trusted.Any(SelfSigned);
        foreach (var ca in trusted)
        {
            (!hasRoot || SelfSigned(ca) ? chain.ChainPolicy.CustomTrustStore : chain.ChainPolicy.ExtraStore).Add(ca);
        }

        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    private static bool SelfSigned(X509Certificate2 certificate) =>
        certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);

    /// <summary>The CA certificates of the PEM file that configuration key <paramref name="key"/> names, checked when the
    /// configuration is read; null when the key is absent, or (with the error reported at the key) when the file is
    /// missing or holds no certificate. <paramref name="whose"/> says whose CA it is, for the message.</summary>
    public static X509Certificate2Collection? FromConfig(ConfigSection section, string key, string whose)
    {
        ArgumentNullException.ThrowIfNull(section);
        if (section.FilePath(key) is not { } path)
        {
            return null;
        }

        if (!File.Exists(path))
        {
            section.Error(key, $"no such file '{path}'; give the PEM file of {whose}");
            return null;
        }

        try
        {
            return Load(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            section.Error(key, $"cannot use '{path}' ({ex.Message}); give the PEM file of {whose}");
            return null;
        }
    }

    /// <summary>The certificates of a PEM file (a CA, or a bundle of an issuing CA and its root).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">It holds no PEM certificate.</exception>
    public static X509Certificate2Collection Load(string pemFile)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(pemFile);
        if (certificates.Count == 0)
        {
            throw new System.Security.Cryptography.CryptographicException($"'{pemFile}' holds no PEM certificate");
        }

        return certificates;
    }
}
