using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace SecMon.Core;

/// <summary>Server certificates checked against one configured CA (an output's <c>ca_certificate</c>).</summary>
public static class TlsTrust
{
    /// <summary>
    /// True when <paramref name="certificate"/> chains to <paramref name="ca"/>, and only to it (a custom trust store,
    /// not the system's), and the connection had no other problem: a name mismatch or a missing certificate is not made
    /// right by the CA. For <c>RemoteCertificateValidationCallback</c>.
    /// </summary>
    public static bool ChainsTo(X509Certificate2 ca, X509Certificate? certificate, SslPolicyErrors errors)
    {
        ArgumentNullException.ThrowIfNull(ca);
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
