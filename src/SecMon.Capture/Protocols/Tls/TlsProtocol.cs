using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Tls;

/// <summary>
/// TLS, recognised by its first record (a handshake record carrying a ClientHello, or an old client's SSL 2.0-format
/// ClientHello), on any port. SecMon reads only the cleartext handshake: versions, SNI, ALPN, offered and chosen
/// suites, JA3/JA3S/JA4 fingerprints, the server's chain (TLS 1.2 and earlier) and whether the server asked for and
/// the client sent a certificate (mutual TLS; in TLS 1.3 inferred). MQTT over TLS (8883) is therefore reported as TLS, never as an MQTT session.
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
    public IReadOnlyList<EventSchema> EventSchemas =>
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

        if (data.Length >= 1 && (data[0] & 0x80) != 0)
        {
            return TlsParser.CheckSsl2ClientHello(data, out _); // the SSL 2.0-format hello of old clients (RFC 5246 §E.2)
        }

        // RFC 8446 §5.1: handshake records, legacy version 3.x, then handshake type 1 (client_hello) with a 24-bit
        // length. A record may hold as little as one byte of the message (RFC 8446 §5.1 and RFC 5246 §6.2.1 let a
        // handshake message span records; only an empty record is forbidden), so the 4-byte handshake header is
        // gathered from as many records as it takes (at most 4): a client that cut it up is TLS all the same.
        Span<byte> header = stackalloc byte[4];
        var have = 0;
        var offset = 0;
        while (have < header.Length)
        {
            var rest = data[offset..];
            if (rest.Length < 1)
            {
                return ProbeResult.NeedMoreData;
            }

            if (rest[0] != TlsParser.ContentHandshake)
            {
                return ProbeResult.NotMine;
            }

            if (rest.Length < 6)
            {
                return rest.Length >= 2 && rest[1] != 3 ? ProbeResult.NotMine : ProbeResult.NeedMoreData;
            }

            TlsParser.TryReadRecordHeader(rest, out _, out var version, out var length);
            if ((version >> 8) != 3 || (version & 0xFF) > 4 || length < 1 || length > TlsParser.MaxRecordBody)
            {
                return ProbeResult.NotMine;
            }

            var want = Math.Min(length, header.Length - have);
            var take = Math.Min(want, rest.Length - 5);
            rest.Slice(5, take).CopyTo(header[have..]);
            have += take;
            if (header[0] != 1)
            {
                return ProbeResult.NotMine;
            }

            if (take < want)
            {
                return ProbeResult.NeedMoreData; // the rest of the record is in a later segment
            }

            offset += 5 + length;
        }

        var helloLength = (header[1] << 16) | (header[2] << 8) | header[3];
        return helloLength >= 38 ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new TlsSession(flow, services, midStream, _options, _caches.For(services));
}
