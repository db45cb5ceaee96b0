using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Dtls;

/// <summary>
/// DTLS 1.0, 1.2 and 1.3 (RFC 4347, 6347, 9147) over UDP, recognised by content on any port (5684, CoAP over DTLS, is
/// only a hint): a handshake record of epoch 0 carrying the first fragment of a ClientHello. The handshake messages are
/// read by the same code as TLS (<see cref="TlsHandshake"/>); events are the TLS ones under <c>dtls.*</c> types
/// (<c>dtls.client_hello</c> with JA3 and a JA4 starting with <c>d</c>, <c>dtls.server_hello</c>,
/// <c>dtls.server_certificate</c>, <c>dtls.handshake</c>: certificate or PSK identity), with the same <c>tls.*</c> fields.
/// </summary>
internal sealed class DtlsProtocol : IDatagramProtocol
{
    private readonly TlsOptions _options;
    private readonly TlsCaches.PerRun _caches;

    /// <summary>Creates the protocol with its limits (the TLS ones: <see cref="TlsOptions"/>).</summary>
    public DtlsProtocol(TlsOptions? options = null)
    {
        _options = options ?? new TlsOptions();
        _caches = new TlsCaches.PerRun(_options);
    }

    /// <inheritdoc />
    public string Name => "dtls";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [5684];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        TlsClientHelloEvent.DatagramSchema,
        TlsServerHelloEvent.DatagramSchema,
        TlsCertificateRequestEvent.DatagramSchema,
        TlsClientCertificateEvent.DatagramSchema,
        TlsServerCertificateEvent.DatagramSchema,
        TlsHandshakeEvent.DatagramSchema,
    ];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> datagram, FlowDirection direction)
    {
        // RFC 6347 §4.1 record header (13 bytes), §4.2.2 handshake header (12 bytes), then at least a version, a random,
        // three empty vectors and one cipher suite.
        if (direction != FlowDirection.ToServer || datagram.Length < DtlsRecords.RecordHeader + DtlsRecords.HandshakeHeader + 40)
        {
            return ProbeResult.NotMine;
        }

        if (!DtlsRecords.TryReadRecordHeader(datagram, out var type, out var version, out var epoch, out var length)
            || type != TlsParser.ContentHandshake || !DtlsRecords.IsDtlsVersion(version) || epoch != 0
            || length < DtlsRecords.HandshakeHeader || length > datagram.Length - DtlsRecords.RecordHeader)
        {
            return ProbeResult.NotMine;
        }

        var hs = datagram[DtlsRecords.RecordHeader..];
        DtlsRecords.TryReadHandshakeHeader(hs, out var msgType, out var msgLength, out _, out var offset, out _);
        return msgType == 1 && offset == 0 && msgLength >= 40 ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    /// <inheritdoc />
    public IDatagramSession CreateSession(FlowContext flow, ProtocolServices services) => new DtlsSession(flow, services, _options, _caches.For(services));
}
