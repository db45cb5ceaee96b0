using System.Runtime.CompilerServices;

namespace SecMon.Capture.Protocols.Tls;

/// <summary>
/// What one run's TLS (or DTLS) sessions compute once and reuse: certificate summaries by DER, and hello fingerprints
/// by the text they are hashed from. A device opens the same kind of session again and again (same client stack, same
/// chain), so after the first the handshake costs a lookup. Bounded (<see cref="TlsOptions.CertificateCacheEntries"/>,
/// <see cref="TlsOptions.FingerprintCacheEntries"/>), hits and misses counted. One per run and protocol: a run's
/// sessions all run on its capture thread.
/// </summary>
internal sealed class TlsCaches
{
    /// <summary>Longest fingerprint key cached (a real hello's JA3 text is 100-600 bytes).</summary>
    public const int MaxFingerprintKeyBytes = 4096;

    /// <summary>Creates the caches with the sizes of <paramref name="options"/>.</summary>
    public TlsCaches(TlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Certificates = new ByteKeyCache<X509Summary>(options.CertificateCacheEntries, options.MaxCertificateBytes);
        ClientHellos = new ByteKeyCache<ClientHelloFingerprints>(options.FingerprintCacheEntries, MaxFingerprintKeyBytes);
        ServerHellos = new ByteKeyCache<ServerHelloFingerprints>(options.FingerprintCacheEntries, MaxFingerprintKeyBytes);
    }

    /// <summary>Certificate summaries by DER (a null value: the DER is not a certificate SecMon can read).</summary>
    public ByteKeyCache<X509Summary> Certificates { get; }

    /// <summary>ClientHello fingerprints by their key (<see cref="TlsFingerprint.Client"/>).</summary>
    public ByteKeyCache<ClientHelloFingerprints> ClientHellos { get; }

    /// <summary>ServerHello fingerprints by the JA3S text.</summary>
    public ByteKeyCache<ServerHelloFingerprints> ServerHellos { get; }

    /// <summary>The run's ClientHello, filled again by each parse (<see cref="TlsParser.TryReadClientHello"/>): the lists
    /// JA3 and JA4 read keep their capacity from one hello to the next.</summary>
    public TlsParser.ClientHello Hello { get; } = new();

    /// <summary>The summary of a certificate (null when unreadable), from the cache or read and added.</summary>
    public X509Summary? ReadCertificate(ReadOnlySpan<byte> der)
    {
        if (Certificates.TryGet(der, out var summary))
        {
            return summary;
        }

        summary = X509Reader.Read(der);
        Certificates.Add(der, summary);
        return summary;
    }

    /// <summary>
    /// The caches of each run of one protocol instance (TLS and DTLS each have theirs, with their own options), found by
    /// the run's <see cref="ProtocolServices"/> and dropped with it.
    /// </summary>
    internal sealed class PerRun(TlsOptions options)
    {
        private readonly ConditionalWeakTable<ProtocolServices, TlsCaches> _runs = [];

        /// <summary>The caches of the run of <paramref name="services"/>.</summary>
        public TlsCaches For(ProtocolServices services) => _runs.GetValue(services, _ => new TlsCaches(options));
    }
}
