using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Tls;

/// <summary>
/// TLS, recognised by its first record (a handshake record carrying a ClientHello), on any port. SecMon reads
/// only the cleartext handshake: versions, SNI, ALPN, offered and chosen suites, JA3/JA3S/JA4 fingerprints, the
/// server's chain (TLS 1.2 and earlier) and whether the server asked for and the client sent a certificate (mutual
/// TLS; in TLS 1.3 inferred). MQTT over TLS (8883) is therefore reported as TLS, never as an MQTT session.
/// </summary>
internal sealed class TlsProtocol : IStreamProtocol
{
    private readonly TlsOptions _options;
    private readonly TlsCaches.PerRun _caches;

    /// <summary>Creates the protocol with its limits (default <see cref="TlsOptions"/>).</summary>
    public TlsProtocol(TlsOptions? options = null)
    {
        _options = options ?? new TlsOptions();
        _caches = new TlsCaches.PerRun(_options);
    }

    /// <inheritdoc />
    public string Name => "tls";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [443, 8883, 8443, 5684, 4843];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas { get; } =
    [
        TlsClientHelloEvent.SchemaInstance,
        TlsServerHelloEvent.SchemaInstance,
        TlsCertificateRequestEvent.SchemaInstance,
        TlsClientCertificateEvent.SchemaInstance,
        TlsServerCertificateEvent.SchemaInstance,
        TlsHandshakeEvent.SchemaInstance,
    ];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction)
    {
        if (direction != FlowDirection.ToServer)
        {
            return ProbeResult.NotMine;
        }

        // RFC 8446 §5.1: handshake record, legacy version 3.x, then handshake type 1 (client_hello) with a
        // 24-bit length that fits in the record.
        if (data.Length < 1)
        {
            return ProbeResult.NeedMoreData;
        }

        if (data[0] != TlsParser.ContentHandshake)
        {
            return ProbeResult.NotMine;
        }

        if (data.Length < 6)
        {
            return data.Length >= 2 && data[1] != 3 ? ProbeResult.NotMine : ProbeResult.NeedMoreData;
        }

        TlsParser.TryReadRecordHeader(data, out _, out var version, out var length);
        if ((version >> 8) != 3 || (version & 0xFF) > 4 || length < 4 || length > TlsParser.MaxRecordBody || data[5] != 1)
        {
            return ProbeResult.NotMine;
        }

        if (data.Length < 9)
        {
            return ProbeResult.NeedMoreData;
        }

        var helloLength = (data[6] << 16) | (data[7] << 8) | data[8];
        return helloLength >= 38 ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new TlsSession(flow, services, midStream, _options, _caches.For(services));
}
