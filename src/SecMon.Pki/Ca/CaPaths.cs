namespace SecMon.Pki.Ca;

/// <summary>The files of a CA home (<c>certs/</c> by default). Private keys are encrypted PKCS#8, mode 0600.</summary>
/// <param name="Home">The CA home directory.</param>
public sealed record CaPaths(string Home)
{
    /// <summary>Settings written by <c>ca init</c>.</summary>
    public string Settings => Path.Combine(Home, "ca.json");

    /// <summary>Root CA certificate (PEM).</summary>
    public string RootCertificate => Path.Combine(Home, "root-ca.crt.pem");

    /// <summary>Root CA key (encrypted PEM); absent for an offline root.</summary>
    public string RootKey => Path.Combine(Home, "root-ca.key.pem");

    /// <summary>Issuing CA certificate (PEM).</summary>
    public string IssuingCertificate => Path.Combine(Home, "issuing-ca.crt.pem");

    /// <summary>Issuing CA key (encrypted PEM).</summary>
    public string IssuingKey => Path.Combine(Home, "issuing-ca.key.pem");

    /// <summary>Issuing CA CSR for an offline root (<c>ca init --issuing-csr</c>).</summary>
    public string IssuingCsr => Path.Combine(Home, "issuing-ca.csr.pem");

    /// <summary>Chain for relying parties: issuing CA then root (PEM); brokers use it as <c>cafile</c>.</summary>
    public string Chain => Path.Combine(Home, "chain.pem");

    /// <summary>Delegated OCSP responder certificate (PEM).</summary>
    public string OcspCertificate => Path.Combine(Home, "ocsp.crt.pem");

    /// <summary>Delegated OCSP responder key (encrypted PEM).</summary>
    public string OcspKey => Path.Combine(Home, "ocsp.key.pem");

    /// <summary>SecMon's own HTTPS certificate (PEM, server profile).</summary>
    public string ServerCertificate => Path.Combine(Home, "server.crt.pem");

    /// <summary>SecMon's own HTTPS key (encrypted PEM).</summary>
    public string ServerKey => Path.Combine(Home, "server.key.pem");

    /// <summary>The key of the audit log's MACs (encrypted with the passphrase, 0600; see <c>AuditKey</c>).</summary>
    public string AuditKey => Path.Combine(Home, "audit.key.json");

    /// <summary>The latest CRL, DER.</summary>
    public string CrlDer => Path.Combine(Home, "crl.der");

    /// <summary>The latest CRL, PEM (<c>crlfile</c> for mosquitto).</summary>
    public string CrlPem => Path.Combine(Home, "crl.pem");
}
