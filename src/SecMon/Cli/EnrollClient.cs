using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using SecMon.Core.Devices;
using SecMon.Pki;
using SecMon.Pki.Est;
using SecMon.Pki.Keys;
using SecMon.Pki.Profiles;

namespace SecMon.Cli;

/// <summary>The files a device keeps in its <c>--out</c> directory.</summary>
/// <param name="Dir">The directory.</param>
internal sealed record DeviceFiles(string Dir)
{
    /// <summary>The device key (unencrypted PKCS#8 PEM, mode 0600: the device's TLS stack reads it unattended).</summary>
    public string Key => Path.Combine(Dir, "device.key.pem");

    /// <summary>The device certificate.</summary>
    public string Certificate => Path.Combine(Dir, "device.crt.pem");

    /// <summary>The issuing CA and root (what a TLS peer needs besides the device certificate).</summary>
    public string Chain => Path.Combine(Dir, "chain.pem");

    /// <summary>The trust anchor (root CA) the device verifies the EST server and brokers with.</summary>
    public string Root => Path.Combine(Dir, "ca.pem");

    /// <summary>A CSR kept while an enrollment waits for approval (the retry must send the same CSR).</summary>
    public string PendingCsr => Path.Combine(Dir, "device.csr.pem");

    /// <summary>The key of <see cref="PendingCsr"/> (0600); it replaces <see cref="Key"/> only once a certificate is issued.</summary>
    public string PendingKey => Path.Combine(Dir, "device.key.pending.pem");

    /// <summary>Where to renew: the server URL and the device id.</summary>
    public string State => Path.Combine(Dir, "enroll.json");
}

/// <summary>What <c>enroll.json</c> remembers for <c>secmon enroll renew</c>.</summary>
/// <param name="Server">The EST server base URL.</param>
/// <param name="DeviceId">The device id.</param>
/// <param name="Label">The EST label, if any.</param>
internal sealed record EnrollState(string Server, string DeviceId, string? Label);

/// <summary>The outcome of one enrollment attempt.</summary>
/// <param name="Status">HTTP status (0 when the server could not be reached).</param>
/// <param name="Message">What happened, for the user.</param>
/// <param name="RetryAfter">Retry-After of a 202/429.</param>
internal sealed record EnrollAttempt(int Status, string Message, TimeSpan? RetryAfter = null);

/// <summary>
/// The device side of EST (RFC 7030): fetches and checks /cacerts against a trust anchor given out of band
/// (a root certificate file or its SHA-256 fingerprint, §4.1.1), makes the key on the device (it never
/// leaves), and enrolls with a one-time token or re-enrolls with its current certificate over mutual TLS.
/// </summary>
internal static class EnrollClient
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>Bootstrap enrollment with a token. Writes key, certificate, chain, root and enroll.json into <paramref name="files"/>.</summary>
    public static async Task<EnrollAttempt> EnrollAsync(
        Uri server, string token, string deviceId, DeviceFiles files, X509Certificate2? trustedRoot, string? rootFingerprint, string? label, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(files);
        if (!DeviceId.IsValidName(deviceId))
        {
            throw new PkiException($"--device-id {deviceId}: not a valid device id (1-64 of A-Z a-z 0-9 . _ : -).");
        }

        Directory.CreateDirectory(files.Dir);
        var root = trustedRoot ?? await DiscoverRootAsync(server, label, rootFingerprint ?? throw new PkiException("give the CA to trust: --ca-cert ROOT.pem or --ca-fingerprint SHA256"), cancellationToken).ConfigureAwait(false);
        using var http = CreateClient(root, null);
        var caCerts = await FetchCaCertsAsync(http, server, label, cancellationToken).ConfigureAwait(false);
        CheckChain(caCerts, root);

        // The key is made here and never sent. A pending enrollment (manual approval) resends the same CSR.
        // A device that already has a certificate keeps its working key until the new one is issued.
        var resume = File.Exists(files.PendingKey) && File.Exists(files.PendingCsr);
        using var key = resume
            ? SigningKey.FromPem(await File.ReadAllTextAsync(files.PendingKey, cancellationToken).ConfigureAwait(false), default, files.PendingKey)
            : SigningKey.Generate(KeyAlgorithm.EcdsaP256);
        byte[] csr;
        if (resume)
        {
            csr = Convert.FromBase64String(ExtractPem(await File.ReadAllTextAsync(files.PendingCsr, cancellationToken).ConfigureAwait(false)));
        }
        else
        {
            csr = BuildCsr(key, deviceId);
            SecureFiles.WritePrivate(files.PendingKey, key.ExportPem());
            SecureFiles.WritePublic(files.PendingCsr, PemEncoding.WriteString("CERTIFICATE REQUEST", csr) + "\n");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, EstUrl(server, label, "simpleenroll")) { Content = CsrContent(csr) };
        // RFC 7030 §3.2.3: HTTP Basic; the token is the password (RFC 7617 user-id:password).
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(deviceId + ":" + token)));
        var attempt = await SendEnrollAsync(http, request, key, files, caCerts, cancellationToken).ConfigureAwait(false);
        if (attempt.Status == 200)
        {
            File.Delete(files.PendingCsr);
            File.Delete(files.PendingKey);
            SecureFiles.WritePublic(files.State, JsonSerializer.Serialize(new EnrollState(server.ToString(), deviceId, label), Json) + "\n");
        }
        else if (attempt.Status != 202)
        {
            // Nothing to resume: the next attempt makes a fresh key.
            File.Delete(files.PendingCsr);
            File.Delete(files.PendingKey);
        }

        return attempt;
    }

    /// <summary>Re-enrollment over mutual TLS with the current certificate, when it expires within <paramref name="before"/>.</summary>
    public static async Task<EnrollAttempt> RenewAsync(DeviceFiles files, Uri? serverOverride, TimeSpan before, bool force, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(time);
        if (!File.Exists(files.Certificate) || !File.Exists(files.Key) || !File.Exists(files.State) || !File.Exists(files.Root))
        {
            throw new PkiException($"{files.Dir}: no enrolled device here (device.crt.pem, device.key.pem, ca.pem, enroll.json); run `secmon enroll` first.");
        }

        var state = JsonSerializer.Deserialize<EnrollState>(await File.ReadAllTextAsync(files.State, cancellationToken).ConfigureAwait(false), Json)
            ?? throw new PkiException($"{files.State}: empty.");
        using var current = X509CertificateLoader.LoadCertificateFromFile(files.Certificate);
        var remaining = current.NotAfter.ToUniversalTime() - time.GetUtcNow().UtcDateTime;
        if (!force && remaining > before)
        {
            return new EnrollAttempt(304, $"not due: {current.Subject} valid until {current.NotAfter.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ} ({remaining.TotalDays:F1} days left, renewing within {before.TotalDays:F1})");
        }

        using var root = X509CertificateLoader.LoadCertificateFromFile(files.Root);
        using var currentKey = SigningKey.FromPem(await File.ReadAllTextAsync(files.Key, cancellationToken).ConfigureAwait(false), default, files.Key);
        using var withKey = currentKey.Key switch
        {
            ECDsa ec => current.CopyWithPrivateKey(ec),
            RSA rsa => current.CopyWithPrivateKey(rsa),
            _ => throw new PkiException($"{files.Key}: unsupported key."),
        };
        // TLS client certificates need a persisted-key form on some platforms; an ephemeral PFX round trip gives one.
        using var clientCert = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        var server = serverOverride ?? new Uri(state.Server);
        using var http = CreateClient(root, clientCert);
        var caCerts = await FetchCaCertsAsync(http, server, state.Label, cancellationToken).ConfigureAwait(false);
        CheckChain(caCerts, root);

        // A fresh key for the new certificate (RFC 7030 §4.2.2 allows either; a new key limits what a leaked old one can do).
        using var newKey = SigningKey.Generate(currentKey.Algorithm);
        var csr = BuildCsr(newKey, state.DeviceId);
        using var request = new HttpRequestMessage(HttpMethod.Post, EstUrl(server, state.Label, "simplereenroll")) { Content = CsrContent(csr) };
        return await SendEnrollAsync(http, request, newKey, files, caCerts, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A CSR for the device: CN=id, SAN URI urn:secmon:device:id (and DNS:id when it is a host name).</summary>
    public static byte[] BuildCsr(SigningKey key, string deviceId)
    {
        ArgumentNullException.ThrowIfNull(key);
        var subject = new X500DistinguishedName("CN=" + deviceId);
        var req = key.Key switch
        {
            ECDsa ec => new CertificateRequest(subject, ec, key.Hash),
            RSA rsa => new CertificateRequest(subject, rsa, key.Hash, RSASignaturePadding.Pkcs1),
            _ => throw new PkiException("unsupported key"),
        };
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(DeviceId.Urn(deviceId)));
        if (DeviceId.IsHostName(deviceId))
        {
            san.AddDnsName(deviceId);
        }

        req.CertificateExtensions.Add(san.Build());
        return req.CreateSigningRequest();
    }

    private static async Task<EnrollAttempt> SendEnrollAsync(HttpClient http, HttpRequestMessage request, SigningKey key, DeviceFiles files, IReadOnlyList<X509Certificate2> caCerts, CancellationToken cancellationToken)
    {
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        if (status != 200)
        {
            var reason = Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 500))).Trim();
            var retry = response.Headers.RetryAfter?.Delta;
            return new EnrollAttempt(status, $"{status} {response.ReasonPhrase}: {reason}", retry);
        }

        if (!EstEncoding.TryDecodeBody(body, out var der))
        {
            return new EnrollAttempt(502, "the server's answer is not a base64 PKCS#7");
        }

        var certs = EstEncoding.ReadCertsOnly(der);
        var leaf = certs.FirstOrDefault(c => c.SubjectPublicKeyInfo.GetDerEncoded().AsSpan().SequenceEqual(key.SubjectPublicKeyInfoDer))
            ?? throw new PkiException("the server returned a certificate for another key");
        var issued = X509CertificateLoader.LoadCertificate(leaf.GetEncoded());
        CheckLeaf(issued, caCerts);
        var root = caCerts[^1];
        SecureFiles.WritePrivate(files.Key + ".new", key.ExportPem());
        SecureFiles.WritePublic(files.Certificate + ".new", issued.ExportCertificatePem() + "\n");
        File.Move(files.Key + ".new", files.Key, overwrite: true);
        File.Move(files.Certificate + ".new", files.Certificate, overwrite: true);
        SecureFiles.WritePublic(files.Chain, string.Concat(caCerts.Select(c => c.ExportCertificatePem() + "\n")));
        SecureFiles.WritePublic(files.Root, root.ExportCertificatePem() + "\n");
        return new EnrollAttempt(200, $"enrolled {issued.Subject}, serial {Convert.ToHexString(issued.SerialNumberBytes.Span).TrimStart('0')}, valid until {issued.NotAfter.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}");
    }

    private static HttpClient CreateClient(X509Certificate2 root, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
                {
                    if (cert is null)
                    {
                        return false;
                    }

                    using var c = X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
                    return ValidateServer(c, chain, errors, root);
                },
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
            },
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        return new HttpClient(handler, disposeHandler: true) { Timeout = TimeSpan.FromSeconds(60) };
    }

    // The server certificate must chain to the trust anchor (only) and name the host (SslStream checks the name:
    // RemoteCertificateNameMismatch is in errors).
    private static bool ValidateServer(X509Certificate2 cert, X509Chain? presented, SslPolicyErrors errors, X509Certificate2 root)
    {
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var e in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(e.Certificate);
            }
        }

        return chain.Build(cert);
    }

    // RFC 7030 §4.1.1 bootstrap: fetch /cacerts without trusting anything, accept it only if it holds a root
    // with the fingerprint given out of band, and the TLS server certificate chains to that root.
    private static async Task<X509Certificate2> DiscoverRootAsync(Uri server, string? label, string fingerprint, CancellationToken cancellationToken)
    {
        var want = fingerprint.Replace(":", "", StringComparison.Ordinal).Trim().ToUpperInvariant();
        X509Certificate2? serverCert = null;
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    serverCert = cert is null ? null : X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
                    return cert is not null;
                },
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var certs = await FetchCaCertsAsync(http, server, label, cancellationToken).ConfigureAwait(false);
        var root = certs.FirstOrDefault(c => Convert.ToHexString(SHA256.HashData(c.RawData)) == want)
            ?? throw new PkiException($"{server}: no CA certificate in /cacerts has SHA-256 fingerprint {want}; not trusting this server.");
        using var presented = serverCert;
        if (presented is null || !ChainsVia(presented, certs, root))
        {
            throw new PkiException($"{server}: the TLS server certificate does not chain to the pinned root; not trusting this server.");
        }

        return root;
    }

    private static bool ChainsVia(X509Certificate2 cert, IReadOnlyList<X509Certificate2> intermediates, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        foreach (var i in intermediates)
        {
            chain.ChainPolicy.ExtraStore.Add(i);
        }

        return chain.Build(cert);
    }

    private static async Task<IReadOnlyList<X509Certificate2>> FetchCaCertsAsync(HttpClient http, Uri server, string? label, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(EstUrl(server, label, "cacerts"), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new PkiException($"{server}: /cacerts answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        }

        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!EstEncoding.TryDecodeBody(body, out var der))
        {
            throw new PkiException($"{server}: /cacerts is not a base64 PKCS#7.");
        }

        // Order: issuing CA(s) first, the self-signed root last.
        var certs = EstEncoding.ReadCertsOnly(der).Select(c => X509CertificateLoader.LoadCertificate(c.GetEncoded())).ToList();
        return [.. certs.Where(c => c.Subject != c.Issuer), .. certs.Where(c => c.Subject == c.Issuer)];
    }

    private static void CheckChain(IReadOnlyList<X509Certificate2> caCerts, X509Certificate2 root)
    {
        if (caCerts.Count == 0 || !caCerts.Any(c => c.RawData.AsSpan().SequenceEqual(root.RawData)))
        {
            throw new PkiException("/cacerts does not contain the trusted root; not trusting this server.");
        }

        foreach (var c in caCerts)
        {
            if (!ChainsVia(c, caCerts, root))
            {
                throw new PkiException($"/cacerts: {c.Subject} does not chain to the trusted root.");
            }
        }
    }

    private static void CheckLeaf(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> caCerts)
    {
        if (!ChainsVia(leaf, caCerts, caCerts[^1]))
        {
            throw new PkiException($"the issued certificate {leaf.Subject} does not chain to the CA from /cacerts.");
        }
    }

    private static Uri EstUrl(Uri server, string? label, string operation) =>
        new(server, "/.well-known/est/" + (label is null ? "" : label + "/") + operation);

    private static ByteArrayContent CsrContent(byte[] csr)
    {
        // RFC 7030 §4.2.1 and RFC 8951: base64 body, application/pkcs10.
        var content = new ByteArrayContent(EstEncoding.EncodeBody(csr));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/pkcs10");
        content.Headers.Add("Content-Transfer-Encoding", "base64");
        return content;
    }

    private static string ExtractPem(string pem) =>
        PemEncoding.TryFind(pem, out var f) ? pem[f.Base64Data] : throw new PkiException("not a PEM file");
}
