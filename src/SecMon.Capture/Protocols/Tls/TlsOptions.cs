namespace SecMon.Capture.Protocols.Tls;

/// <summary>
/// TLS and DTLS limits, per flow. Every bound is what a hostile peer could otherwise grow; the defaults hold any real
/// chain (a leaf, one or two intermediates and a root, each under 4 KiB).
/// </summary>
internal sealed record TlsOptions
{
    /// <summary>Largest handshake message reassembled (a Certificate message carries the whole chain); a larger one is
    /// reported malformed (too_large) and the direction is no longer read. Values below 1,024 are taken as 1,024.
    /// Default 64 KiB.</summary>
    public int MaxHandshakeMessageBytes { get; init; } = 64 * 1024;

    /// <summary>Certificates of a chain read and summarised (leaf first); the rest are counted only
    /// (<c>tls.server.chain.truncated</c>). Default 8.</summary>
    public int MaxCertificates { get; init; } = 8;

    /// <summary>Largest certificate read; a larger one is counted and listed as not read. Default 16 KiB.</summary>
    public int MaxCertificateBytes { get; init; } = 16 * 1024;

    /// <summary>Certificate summaries remembered per run, keyed by the certificate's whole DER (compared byte for byte
    /// on a hit, so a collision cannot return another certificate's summary): devices present the same chain on every
    /// session, and a hit skips the DER parse and the SHA-256. Rounded up to a power of two; 0 turns the cache off.
    /// Holds at most this many x <see cref="MaxCertificateBytes"/> bytes (4 MiB by default; a real chain's
    /// certificates are 0.5-2 KiB each). Default 256.</summary>
    public int CertificateCacheEntries { get; init; } = 256;

    /// <summary>Client and server hello fingerprints (JA3, JA3S, JA4 and the lists derived with them) remembered per
    /// run, keyed by the exact text they are hashed from (at most <see cref="TlsCaches.MaxFingerprintKeyBytes"/> bytes;
    /// a longer hello is fingerprinted without the cache). Rounded up to a power of two; 0 turns the cache off.
    /// Default 256.</summary>
    public int FingerprintCacheEntries { get; init; } = 256;

    /// <summary>The effective handshake bound.</summary>
    internal int HandshakeBound => Math.Max(MaxHandshakeMessageBytes, 1024);
}
