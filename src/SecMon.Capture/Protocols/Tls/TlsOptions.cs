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

    /// <summary>The effective handshake bound.</summary>
    internal int HandshakeBound => Math.Max(MaxHandshakeMessageBytes, 1024);
}
