using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Tls;

/// <summary><c>tls.client_hello</c> (and <c>dtls.client_hello</c>): a client opened a TLS or DTLS session (RFC 8446
/// §4.1.2, RFC 6347 §4.2.1). ECS <c>tls.*</c> names.</summary>
internal sealed record TlsClientHelloEvent : TlsEvent
{
    private static readonly EventField[] Fields =
    [
        new EventField<TlsClientHelloEvent>("tls.client.server_name", FieldKind.Text, e => FieldValue.Of(e.ServerName), "SNI host name."),
        new EventField<TlsClientHelloEvent>("tls.version", FieldKind.Text, e => FieldValue.Of(e.Version), "Highest version offered (1.3 when supported_versions lists it)."),
        new EventField<TlsClientHelloEvent>("tls.version_protocol", FieldKind.Text, e => FieldValue.Of(e.VersionProtocol), "tls, or dtls for DTLS."),
        new EventField<TlsClientHelloEvent>("tls.client.supported_versions", FieldKind.StringList, e => FieldValue.Of(e.SupportedVersions), "Versions offered."),
        new EventField<TlsClientHelloEvent>("tls.client.alpn", FieldKind.StringList, e => FieldValue.Of(e.Alpn), "ALPN protocols offered (e.g. mqtt)."),
        new EventField<TlsClientHelloEvent>("tls.client.cipher_count", FieldKind.Number, e => FieldValue.Of(e.CipherCount), "Number of cipher suites offered."),
        new EventField<TlsClientHelloEvent>("tls.client.cipher_suites", FieldKind.NumberList, e => FieldValue.Of(e.CipherSuites), "Cipher suites offered, IANA numbers in the client's order, GREASE removed."),
        new EventField<TlsClientHelloEvent>("tls.client.weak_ciphers", FieldKind.StringList, e => FieldValue.Of(e.WeakCiphers), "Weak kinds of suites offered: null, export, rc4, 3des, des, anon (empty: none)."),
        new EventField<TlsClientHelloEvent>("tls.client.ja3", FieldKind.Text, e => FieldValue.Of(e.Ja3), "JA3 fingerprint: MD5 of tls.client.ja3_string (ECS)."),
        new EventField<TlsClientHelloEvent>("tls.client.ja3_string", FieldKind.Text, e => FieldValue.Of(e.Ja3String), "JA3 string: version,ciphers,extensions,groups,point formats (decimal, GREASE removed)."),
        new EventField<TlsClientHelloEvent>("tls.client.ja4", FieldKind.Text, e => FieldValue.Of(e.Ja4), "JA4 TLS client fingerprint (FoxIO JA4; t for TLS, d for DTLS)."),
    ];

    /// <summary>The TLS schema.</summary>
    public static readonly EventSchema SchemaInstance = new EventSchema("tls.client_hello", Fields).WithFacts(DeviceFact.TlsSession());

    /// <summary>The DTLS schema.</summary>
    public static readonly EventSchema DatagramSchema = new EventSchema("dtls.client_hello", Fields).WithFacts(DeviceFact.TlsSession());

    /// <summary>The same hello in a QUIC Initial packet.</summary>
    public static readonly EventSchema QuicSchema = new EventSchema("quic.client_hello", Fields).WithFacts(DeviceFact.TlsSession());

    /// <summary>SNI, when sent.</summary>
    public string? ServerName { get; init; }

    /// <summary>Highest version offered.</summary>
    public required string Version { get; init; }

    /// <summary>Versions offered.</summary>
    public required IReadOnlyList<string> SupportedVersions { get; init; }

    /// <summary>ALPN protocol names offered, when sent.</summary>
    public IReadOnlyList<string>? Alpn { get; init; }

    /// <summary>Number of cipher suites offered.</summary>
    public int CipherCount { get; init; }

    /// <summary>Cipher suites offered (IANA numbers), GREASE removed.</summary>
    public IReadOnlyList<long>? CipherSuites { get; init; }

    /// <summary>Weak kinds among the suites offered.</summary>
    public IReadOnlyList<string>? WeakCiphers { get; init; }

    /// <summary>JA3 hash.</summary>
    public string? Ja3 { get; init; }

    /// <summary>JA3 string.</summary>
    public string? Ja3String { get; init; }

    /// <summary>JA4 fingerprint.</summary>
    public string? Ja4 { get; init; }

    /// <inheritdoc />
    public override EventSchema Schema => Quic ? QuicSchema : Datagram ? DatagramSchema : SchemaInstance;
}

/// <summary><c>tls.server_hello</c> (and <c>dtls.server_hello</c>): the server chose the version and cipher (RFC 8446 §4.1.3).</summary>
internal sealed record TlsServerHelloEvent : TlsEvent
{
    private static readonly EventField[] Fields =
    [
        new EventField<TlsServerHelloEvent>("tls.version", FieldKind.Text, e => FieldValue.Of(e.Version), "Negotiated version."),
        new EventField<TlsServerHelloEvent>("tls.version_protocol", FieldKind.Text, e => FieldValue.Of(e.VersionProtocol), "tls, or dtls for DTLS."),
        new EventField<TlsServerHelloEvent>("tls.cipher_suite", FieldKind.Number, e => FieldValue.Of(e.CipherSuite), "Chosen cipher suite (IANA number)."),
        new EventField<TlsServerHelloEvent>("tls.next_protocol", FieldKind.Text, e => FieldValue.Of(e.Alpn), "ALPN protocol chosen."),
        new EventField<TlsServerHelloEvent>("tls.server.weak_cipher", FieldKind.StringList, e => FieldValue.Of(e.WeakCipher), "Weak kinds of the chosen suite: null, export, rc4, 3des, des, anon (empty: none)."),
        new EventField<TlsServerHelloEvent>("tls.psk", FieldKind.Boolean, e => FieldValue.Of(e.Psk), "The chosen suite's key exchange uses a pre-shared key (RFC 4279)."),
        new EventField<TlsServerHelloEvent>("tls.server.ja3s", FieldKind.Text, e => FieldValue.Of(e.Ja3s), "JA3S fingerprint: MD5 of tls.server.ja3s_string (ECS)."),
        new EventField<TlsServerHelloEvent>("tls.server.ja3s_string", FieldKind.Text, e => FieldValue.Of(e.Ja3sString), "JA3S string: version,cipher,extensions (decimal)."),
    ];

    /// <summary>The TLS schema.</summary>
    public static readonly EventSchema SchemaInstance = new("tls.server_hello", Fields);

    /// <summary>The DTLS schema.</summary>
    public static readonly EventSchema DatagramSchema = new("dtls.server_hello", Fields);

    /// <summary>The same hello in a QUIC Initial packet.</summary>
    public static readonly EventSchema QuicSchema = new("quic.server_hello", Fields);

    /// <summary>Negotiated version (<c>1.2</c>, <c>1.3</c>).</summary>
    public required string Version { get; init; }

    /// <summary>Chosen cipher suite.</summary>
    public int CipherSuite { get; init; }

    /// <summary>ALPN protocol chosen, when any.</summary>
    public string? Alpn { get; init; }

    /// <summary>Weak kinds of the chosen suite.</summary>
    public IReadOnlyList<string>? WeakCipher { get; init; }

    /// <summary>The chosen suite uses a pre-shared key.</summary>
    public bool Psk { get; init; }

    /// <summary>JA3S hash.</summary>
    public string? Ja3s { get; init; }

    /// <summary>JA3S string.</summary>
    public string? Ja3sString { get; init; }

    /// <inheritdoc />
    public override EventSchema Schema => Quic ? QuicSchema : Datagram ? DatagramSchema : SchemaInstance;
}

/// <summary><c>tls.certificate_request</c>: the server asked the client for a certificate (mutual TLS). Visible
/// in TLS 1.2 and earlier; TLS 1.3 encrypts it (RFC 8446 §4.3.2).</summary>
internal sealed record TlsCertificateRequestEvent : TlsEvent
{
    /// <summary>The schema.</summary>
    public static readonly EventSchema SchemaInstance = new EventSchema("tls.certificate_request", []);

    /// <summary>The DTLS schema.</summary>
    public static readonly EventSchema DatagramSchema = new EventSchema("dtls.certificate_request", []);

    /// <inheritdoc />
    public override EventSchema Schema => Datagram ? DatagramSchema : SchemaInstance;
}

/// <summary>A certificate chain sent in cleartext (TLS 1.2 and earlier): the leaf's subject and issuer.</summary>
internal abstract record TlsCertificateEvent : TlsEvent
{
    /// <summary>True when the client sent it (mutual TLS).</summary>
    public abstract bool FromClient { get; }

    /// <summary>Certificates in the chain (0: a client that was asked but had none; null: TLS 1.3 hid the chain).</summary>
    public int? Count { get; init; }

    /// <summary>Leaf subject, when parseable.</summary>
    public string? Subject { get; init; }

    /// <summary>Leaf issuer, when parseable.</summary>
    public string? Issuer { get; init; }

    /// <summary>Leaf serial number (upper-case hex), when parseable.</summary>
    public string? Serial { get; init; }

    /// <summary>SHA-256 of the leaf's DER (lower-case hex), when a leaf was sent.</summary>
    public string? Sha256 { get; init; }
}

/// <summary><c>tls.client_certificate</c>: the client presented a certificate (mutual TLS). Seen in clear in TLS 1.2
/// and earlier (RFC 5246 §7.4.6). TLS 1.3 encrypts it (RFC 8446 §4.4.2): there it is inferred from the client's
/// first encrypted handshake record after a full (not resumed) handshake, which holds either its Certificate
/// (hundreds of bytes or more) or only its Finished (under 100 bytes), and the chain itself stays unknown.</summary>
internal sealed record TlsClientCertificateEvent : TlsCertificateEvent
{
    private static readonly EventField[] Fields =
    [
        new EventField<TlsClientCertificateEvent>("tls.client.certificate_count", FieldKind.Number, e => FieldValue.Of((long?)e.Count), "Certificates in the client's chain (0: it had none); missing when TLS 1.3 hid it."),
        new EventField<TlsClientCertificateEvent>("tls.client.subject", FieldKind.Text, e => FieldValue.Of(e.Subject), "Client leaf subject DN (ECS)."),
        new EventField<TlsClientCertificateEvent>("tls.client.issuer", FieldKind.Text, e => FieldValue.Of(e.Issuer), "Client leaf issuer DN (ECS)."),
        new EventField<TlsClientCertificateEvent>("tls.client.x509.serial_number", FieldKind.Text, e => FieldValue.Of(e.Serial), "Client leaf serial number, upper-case hex (ECS)."),
        new EventField<TlsClientCertificateEvent>("tls.client.hash.sha256", FieldKind.Text, e => FieldValue.Of(e.Sha256), "SHA-256 of the client leaf's DER, lower-case hex (ECS)."),
        new EventField<TlsClientCertificateEvent>("tls.client.certificate_inferred", FieldKind.Boolean, e => e.Inferred ? FieldValue.Of(true) : FieldValue.Missing, "TLS 1.3: inferred from the size of the client's encrypted flight, not read."),
        new EventField<TlsClientCertificateEvent>("tls.client.encrypted_flight_size", FieldKind.Number, e => FieldValue.Of((long?)e.EncryptedFlightSize), "TLS 1.3: bytes of the client's first encrypted handshake record."),
    ];

    private static readonly DeviceFact Fact = DeviceFact.ClientCertificate(new CertificateFields(
        "tls.client.subject", "tls.client.issuer", "tls.client.x509.serial_number", "tls.client.hash.sha256", "tls.client.certificate_inferred"));

    /// <summary>The schema.</summary>
    public static readonly EventSchema SchemaInstance = new EventSchema("tls.client_certificate", Fields).WithFacts(Fact);

    /// <summary>The DTLS schema.</summary>
    public static readonly EventSchema DatagramSchema = new EventSchema("dtls.client_certificate", Fields).WithFacts(Fact);

    /// <summary>True when TLS 1.3 hid the certificate and its presence was inferred from the record size.</summary>
    public bool Inferred { get; init; }

    /// <summary>TLS 1.3: the length of the client's first encrypted handshake record.</summary>
    public int? EncryptedFlightSize { get; init; }

    /// <inheritdoc />
    public override bool FromClient => true;

    /// <inheritdoc />
    public override EventSchema Schema => Datagram ? DatagramSchema : SchemaInstance;
}

/// <summary><c>tls.server_certificate</c> (and <c>dtls.server_certificate</c>): the server's chain, seen in TLS 1.2 and
/// earlier (RFC 5246 §7.4.2; TLS 1.3 encrypts it). The leaf in ECS <c>tls.server.*</c> and <c>tls.server.x509.*</c>
/// fields; every certificate read (up to <see cref="TlsOptions.MaxCertificates"/>) in the <c>tls.server.chain.*</c>
/// lists, leaf first. Validity is judged at the packet's capture time.</summary>
internal sealed record TlsServerCertificateEvent : TlsCertificateEvent
{
    private static readonly EventField[] Fields =
    [
        new EventField<TlsServerCertificateEvent>("tls.server.certificate_count", FieldKind.Number, e => FieldValue.Of((long?)e.Count), "Certificates in the server's chain."),
        new EventField<TlsServerCertificateEvent>("tls.server.subject", FieldKind.Text, e => FieldValue.Of(e.Subject), "Server leaf subject DN (ECS)."),
        new EventField<TlsServerCertificateEvent>("tls.server.issuer", FieldKind.Text, e => FieldValue.Of(e.Issuer), "Server leaf issuer DN (ECS)."),
        new EventField<TlsServerCertificateEvent>("tls.server.not_before", FieldKind.Text, e => FieldValue.Of(e.Leaf is { } l ? X509Summary.IsoTime(l.NotBeforeMicros) : null), "Server leaf valid from (ECS date)."),
        new EventField<TlsServerCertificateEvent>("tls.server.not_after", FieldKind.Text, e => FieldValue.Of(e.Leaf is { } l ? X509Summary.IsoTime(l.NotAfterMicros) : null), "Server leaf valid until (ECS date)."),
        new EventField<TlsServerCertificateEvent>("tls.server.hash.sha256", FieldKind.Text, e => FieldValue.Of(e.Sha256), "SHA-256 of the server leaf's DER, lower-case hex (ECS)."),
        new EventField<TlsServerCertificateEvent>("tls.server.x509.subject.distinguished_name", FieldKind.Text, e => FieldValue.Of(e.Leaf?.Subject), "Server leaf subject DN (ECS x509)."),
        new EventField<TlsServerCertificateEvent>("tls.server.x509.issuer.distinguished_name", FieldKind.Text, e => FieldValue.Of(e.Leaf?.Issuer), "Server leaf issuer DN (ECS x509)."),
        new EventField<TlsServerCertificateEvent>("tls.server.x509.serial_number", FieldKind.Text, e => FieldValue.Of(e.Serial), "Server leaf serial number, upper-case hex (ECS)."),
        new EventField<TlsServerCertificateEvent>("tls.server.x509.not_before", FieldKind.Text, e => FieldValue.Of(e.Leaf is { } l ? X509Summary.IsoTime(l.NotBeforeMicros) : null), "Server leaf valid from (ECS date)."),
        new EventField<TlsServerCertificateEvent>("tls.server.x509.not_after", FieldKind.Text, e => FieldValue.Of(e.Leaf is { } l ? X509Summary.IsoTime(l.NotAfterMicros) : null), "Server leaf valid until (ECS date)."),
        new EventField<TlsServerCertificateEvent>("tls.server.x509.public_key_algorithm", FieldKind.Text, e => FieldValue.Of(e.Leaf?.KeyAlgorithm), "Server leaf key algorithm: RSA, EC, Ed25519... (ECS)."),
        new EventField<TlsServerCertificateEvent>("tls.server.x509.public_key_size", FieldKind.Number, e => FieldValue.Of((long?)e.Leaf?.KeySize), "Server leaf key size in bits (ECS)."),
        new EventField<TlsServerCertificateEvent>("tls.server.x509.public_key_curve", FieldKind.Text, e => FieldValue.Of(e.Leaf?.Curve), "Server leaf EC curve: nistp256, nistp384... (ECS)."),
        new EventField<TlsServerCertificateEvent>("tls.server.certificate_self_signed", FieldKind.Boolean, e => FieldValue.Of(e.Leaf?.SelfSigned), "The server leaf's issuer is its subject."),
        new EventField<TlsServerCertificateEvent>("tls.server.certificate_expired", FieldKind.Boolean, e => FieldValue.Of(e.Leaf is { } l ? e.TimestampMicros > l.NotAfterMicros : null), "The server leaf had expired at the packet's capture time."),
        new EventField<TlsServerCertificateEvent>("tls.server.certificate_not_yet_valid", FieldKind.Boolean, e => FieldValue.Of(e.Leaf is { } l ? e.TimestampMicros < l.NotBeforeMicros : null), "The server leaf was not yet valid at the packet's capture time."),
        new EventField<TlsServerCertificateEvent>("tls.server.chain.subjects", FieldKind.StringList, e => FieldValue.Of(e.ChainSubjects), "Subject DN of each certificate read, leaf first ('' for one not read)."),
        new EventField<TlsServerCertificateEvent>("tls.server.chain.issuers", FieldKind.StringList, e => FieldValue.Of(e.ChainIssuers), "Issuer DN of each certificate read, leaf first."),
        new EventField<TlsServerCertificateEvent>("tls.server.chain.not_after", FieldKind.StringList, e => FieldValue.Of(e.ChainNotAfter), "End of validity of each certificate read, leaf first."),
        new EventField<TlsServerCertificateEvent>("tls.server.chain.sha256", FieldKind.StringList, e => FieldValue.Of(e.ChainSha256), "SHA-256 of each certificate read, leaf first."),
        new EventField<TlsServerCertificateEvent>("tls.server.chain.truncated", FieldKind.Boolean, e => e.Count > e.Chain.Count ? FieldValue.Of(true) : FieldValue.Missing, "More certificates were sent than read (TlsOptions.MaxCertificates)."),
    ];

    /// <summary>The schema.</summary>
    public static readonly EventSchema SchemaInstance = new("tls.server_certificate", Fields);

    /// <summary>The DTLS schema.</summary>
    public static readonly EventSchema DatagramSchema = new("dtls.server_certificate", Fields);

    /// <summary>Summaries of the certificates read, leaf first (null for one too large or unreadable).</summary>
    public IReadOnlyList<X509Summary?> Chain { get; init; } = [];

    /// <summary>The leaf's summary, when read.</summary>
    public X509Summary? Leaf => Chain.Count > 0 ? Chain[0] : null;

    private IReadOnlyList<string>? ChainSubjects => Chain.Count == 0 ? null : [.. Chain.Select(c => c?.Subject ?? "")];

    private IReadOnlyList<string>? ChainIssuers => Chain.Count == 0 ? null : [.. Chain.Select(c => c?.Issuer ?? "")];

    private IReadOnlyList<string>? ChainNotAfter => Chain.Count == 0 ? null : [.. Chain.Select(c => c is null ? "" : X509Summary.IsoTime(c.NotAfterMicros))];

    private IReadOnlyList<string>? ChainSha256 => Chain.Count == 0 ? null : [.. Chain.Select(c => c?.Sha256 ?? "")];

    /// <inheritdoc />
    public override bool FromClient => false;

    /// <inheritdoc />
    public override EventSchema Schema => Datagram ? DatagramSchema : SchemaInstance;
}

/// <summary>
/// <c>tls.handshake</c> (and <c>dtls.handshake</c>): what a handshake came to, once per session, when the server has
/// answered the client's last flight (its ChangeCipherSpec, or in TLS 1.3 what it sends after that flight: see
/// <see cref="TlsSession"/>) or the flow ends first. It answers what no single message does: whether the client
/// presented a certificate (mutual TLS) or a PSK identity, and whether the server accepted the session.
/// </summary>
internal sealed record TlsHandshakeEvent : TlsEvent
{
    private static readonly EventField[] Fields =
    [
        new EventField<TlsHandshakeEvent>("tls.version", FieldKind.Text, e => FieldValue.Of(e.Version), "Negotiated version."),
        new EventField<TlsHandshakeEvent>("tls.version_protocol", FieldKind.Text, e => FieldValue.Of(e.VersionProtocol), "tls, or dtls for DTLS."),
        new EventField<TlsHandshakeEvent>("tls.cipher_suite", FieldKind.Number, e => FieldValue.Of(e.CipherSuite), "Chosen cipher suite (IANA number)."),
        new EventField<TlsHandshakeEvent>("tls.established", FieldKind.Boolean, e => FieldValue.Of(e.Established), "The server went on with the session after the client's last flight (ECS); false when it refused it with an alert, or the flow ended first."),
        new EventField<TlsHandshakeEvent>("tls.resumed", FieldKind.Boolean, e => FieldValue.Of(e.Resumed), "A resumed session (ECS): TLS 1.3 with a pre-shared key, or the abbreviated handshake of TLS 1.2 and earlier (the server finished first); no certificates are exchanged."),
        new EventField<TlsHandshakeEvent>("tls.client.server_name", FieldKind.Text, e => FieldValue.Of(e.ServerName), "SNI host name."),
        new EventField<TlsHandshakeEvent>("tls.client.ja4", FieldKind.Text, e => FieldValue.Of(e.Ja4), "JA4 TLS client fingerprint."),
        new EventField<TlsHandshakeEvent>("tls.client.certificate_requested", FieldKind.Boolean, e => FieldValue.Of(e.CertificateRequested), "The server asked for a client certificate; missing in TLS 1.3 (encrypted)."),
        new EventField<TlsHandshakeEvent>("tls.client.certificate_presented", FieldKind.Boolean, e => FieldValue.Of(e.CertificatePresented), "The client presented a certificate (TLS 1.3: inferred); missing when it cannot be known."),
        new EventField<TlsHandshakeEvent>("tls.server.certificate_presented", FieldKind.Boolean, e => FieldValue.Of(e.ServerCertificatePresented), "The server sent a certificate in clear; missing in TLS 1.3 (encrypted)."),
        new EventField<TlsHandshakeEvent>("tls.psk", FieldKind.Boolean, e => FieldValue.Of(e.Psk), "The chosen suite's key exchange uses a pre-shared key (RFC 4279)."),
        new EventField<TlsHandshakeEvent>("tls.client.psk_identity", FieldKind.Text, e => FieldValue.Of(e.PskIdentity), "PSK identity the client named in its ClientKeyExchange (RFC 4279 §2)."),
        new EventField<TlsHandshakeEvent>("tls.server.psk_identity_hint", FieldKind.Text, e => FieldValue.Of(e.PskIdentityHint), "PSK identity hint of the server's ServerKeyExchange."),
    ];

    // Posture evidence (the device inventory): an established session, mutual when the client presented a certificate.
    private static readonly DeviceFact Fact = DeviceFact.TlsEstablished("tls.established", "tls.client.certificate_presented");

    /// <summary>The schema.</summary>
    public static readonly EventSchema SchemaInstance = new EventSchema("tls.handshake", Fields).WithFacts(Fact);

    /// <summary>The DTLS schema.</summary>
    public static readonly EventSchema DatagramSchema = new EventSchema("dtls.handshake", Fields).WithFacts(Fact);

    /// <summary>The same summary for a QUIC connection's handshake (what its Initial packets showed).</summary>
    public static readonly EventSchema QuicSchema = new EventSchema("quic.handshake", Fields).WithFacts(Fact);

    /// <summary>Negotiated version.</summary>
    public string? Version { get; init; }

    /// <summary>Chosen cipher suite.</summary>
    public int? CipherSuite { get; init; }

    /// <summary>The client turned encrypted.</summary>
    public bool Established { get; init; }

    /// <summary>A resumed TLS 1.3 session.</summary>
    public bool? Resumed { get; init; }

    /// <summary>SNI.</summary>
    public string? ServerName { get; init; }

    /// <summary>JA4 of the ClientHello.</summary>
    public string? Ja4 { get; init; }

    /// <summary>CertificateRequest seen (null: unknowable).</summary>
    public bool? CertificateRequested { get; init; }

    /// <summary>Client certificate presented (null: unknowable).</summary>
    public bool? CertificatePresented { get; init; }

    /// <summary>Server certificate seen in clear (null: unknowable).</summary>
    public bool? ServerCertificatePresented { get; init; }

    /// <summary>PSK suite chosen.</summary>
    public bool? Psk { get; init; }

    /// <summary>PSK identity.</summary>
    public string? PskIdentity { get; init; }

    /// <summary>PSK identity hint.</summary>
    public string? PskIdentityHint { get; init; }

    /// <inheritdoc />
    public override EventSchema Schema => Quic ? QuicSchema : Datagram ? DatagramSchema : SchemaInstance;
}

/// <summary>A TLS, DTLS or QUIC handshake event: the same fields, an event type prefixed <c>tls.</c>, <c>dtls.</c> or
/// <c>quic.</c> (so <c>network.protocol</c> tells them apart).</summary>
internal abstract record TlsEvent : ProtocolEvent
{
    /// <summary>True for DTLS (a datagram flow).</summary>
    public bool Datagram { get; init; }

    /// <summary>True for TLS carried in QUIC's CRYPTO frames (RFC 9001): the hellos of its Initial packets, under
    /// <c>quic.*</c> types (the certificates are in its encrypted Handshake packets, never seen).</summary>
    public bool Quic { get; init; }

    /// <summary>ECS <c>tls.version_protocol</c>: <c>tls</c> or <c>dtls</c> (QUIC carries TLS 1.3 itself: <c>tls</c>).</summary>
    public string VersionProtocol => Datagram ? "dtls" : "tls";
}
