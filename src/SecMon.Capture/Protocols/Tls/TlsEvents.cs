using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Tls;

/// <summary><c>tls.client_hello</c>: a client opened a TLS session (RFC 8446 §4.1.2). ECS <c>tls.*</c> names.</summary>
internal sealed record TlsClientHelloEvent : ProtocolEvent
{
    /// <summary>The schema.</summary>
    public static readonly EventSchema SchemaInstance = new EventSchema("tls.client_hello",
    [
        new EventField<TlsClientHelloEvent>("tls.client.server_name", FieldKind.Text, e => FieldValue.Of(e.ServerName), "SNI host name."),
        new EventField<TlsClientHelloEvent>("tls.version", FieldKind.Text, e => FieldValue.Of(e.Version), "Highest version offered (1.3 when supported_versions lists it)."),
        new EventField<TlsClientHelloEvent>("tls.version_protocol", FieldKind.Text, e => FieldValue.Of("tls"), "Always tls."),
        new EventField<TlsClientHelloEvent>("tls.client.supported_versions", FieldKind.StringList, e => FieldValue.Of(e.SupportedVersions), "Versions offered."),
        new EventField<TlsClientHelloEvent>("tls.client.alpn", FieldKind.StringList, e => FieldValue.Of(e.Alpn), "ALPN protocols offered (e.g. mqtt)."),
        new EventField<TlsClientHelloEvent>("tls.client.cipher_count", FieldKind.Number, e => FieldValue.Of(e.CipherCount), "Number of cipher suites offered."),
    ]).WithFacts(DeviceFact.TlsSession());

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

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary><c>tls.server_hello</c>: the server chose the version and cipher (RFC 8446 §4.1.3).</summary>
internal sealed record TlsServerHelloEvent : ProtocolEvent
{
    /// <summary>The schema.</summary>
    public static readonly EventSchema SchemaInstance = new("tls.server_hello",
    [
        new EventField<TlsServerHelloEvent>("tls.version", FieldKind.Text, e => FieldValue.Of(e.Version), "Negotiated version."),
        new EventField<TlsServerHelloEvent>("tls.version_protocol", FieldKind.Text, e => FieldValue.Of("tls"), "Always tls."),
        new EventField<TlsServerHelloEvent>("tls.cipher_suite", FieldKind.Number, e => FieldValue.Of(e.CipherSuite), "Chosen cipher suite (IANA number)."),
        new EventField<TlsServerHelloEvent>("tls.next_protocol", FieldKind.Text, e => FieldValue.Of(e.Alpn), "ALPN protocol chosen."),
    ]);

    /// <summary>Negotiated version (<c>1.2</c>, <c>1.3</c>).</summary>
    public required string Version { get; init; }

    /// <summary>Chosen cipher suite.</summary>
    public int CipherSuite { get; init; }

    /// <summary>ALPN protocol chosen, when any.</summary>
    public string? Alpn { get; init; }

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary><c>tls.certificate_request</c>: the server asked the client for a certificate (mutual TLS). Visible
/// in TLS 1.2 and earlier; TLS 1.3 encrypts it (RFC 8446 §4.3.2).</summary>
internal sealed record TlsCertificateRequestEvent : ProtocolEvent
{
    /// <summary>The schema.</summary>
    public static readonly EventSchema SchemaInstance = new EventSchema("tls.certificate_request", []).WithFacts(DeviceFact.ClientCertificate());

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary>A certificate chain sent in cleartext (TLS 1.2 and earlier): the leaf's subject and issuer.</summary>
internal abstract record TlsCertificateEvent : ProtocolEvent
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
    /// <summary>The schema.</summary>
    public static readonly EventSchema SchemaInstance = new EventSchema("tls.client_certificate",
    [
        new EventField<TlsClientCertificateEvent>("tls.client.certificate_count", FieldKind.Number, e => FieldValue.Of((long?)e.Count), "Certificates in the client's chain (0: it had none); missing when TLS 1.3 hid it."),
        new EventField<TlsClientCertificateEvent>("tls.client.subject", FieldKind.Text, e => FieldValue.Of(e.Subject), "Client leaf subject DN (ECS)."),
        new EventField<TlsClientCertificateEvent>("tls.client.issuer", FieldKind.Text, e => FieldValue.Of(e.Issuer), "Client leaf issuer DN (ECS)."),
        new EventField<TlsClientCertificateEvent>("tls.client.x509.serial_number", FieldKind.Text, e => FieldValue.Of(e.Serial), "Client leaf serial number, upper-case hex (ECS)."),
        new EventField<TlsClientCertificateEvent>("tls.client.hash.sha256", FieldKind.Text, e => FieldValue.Of(e.Sha256), "SHA-256 of the client leaf's DER, lower-case hex (ECS)."),
        new EventField<TlsClientCertificateEvent>("tls.client.certificate_inferred", FieldKind.Boolean, e => e.Inferred ? FieldValue.Of(true) : FieldValue.Missing, "TLS 1.3: inferred from the size of the client's encrypted flight, not read."),
        new EventField<TlsClientCertificateEvent>("tls.client.encrypted_flight_size", FieldKind.Number, e => FieldValue.Of((long?)e.EncryptedFlightSize), "TLS 1.3: bytes of the client's first encrypted handshake record."),
    ]).WithFacts(DeviceFact.ClientCertificate(new CertificateFields(
        "tls.client.subject", "tls.client.issuer", "tls.client.x509.serial_number", "tls.client.hash.sha256", "tls.client.certificate_inferred")));

    /// <summary>True when TLS 1.3 hid the certificate and its presence was inferred from the record size.</summary>
    public bool Inferred { get; init; }

    /// <summary>TLS 1.3: the length of the client's first encrypted handshake record.</summary>
    public int? EncryptedFlightSize { get; init; }

    /// <inheritdoc />
    public override bool FromClient => true;

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary><c>tls.server_certificate</c>: the server's chain, seen in TLS 1.2 and earlier.</summary>
internal sealed record TlsServerCertificateEvent : TlsCertificateEvent
{
    /// <summary>The schema.</summary>
    public static readonly EventSchema SchemaInstance = new("tls.server_certificate",
    [
        new EventField<TlsServerCertificateEvent>("tls.server.certificate_count", FieldKind.Number, e => FieldValue.Of((long?)e.Count), "Certificates in the server's chain."),
        new EventField<TlsServerCertificateEvent>("tls.server.subject", FieldKind.Text, e => FieldValue.Of(e.Subject), "Server leaf subject DN (ECS)."),
        new EventField<TlsServerCertificateEvent>("tls.server.issuer", FieldKind.Text, e => FieldValue.Of(e.Issuer), "Server leaf issuer DN (ECS)."),
    ]);

    /// <inheritdoc />
    public override bool FromClient => false;

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}
