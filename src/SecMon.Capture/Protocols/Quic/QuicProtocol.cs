using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Quic;

/// <summary>
/// QUIC version 1 (RFC 9000, RFC 9001) over UDP, recognised by content on any port (443, and 14567 for MQTT over QUIC
/// as EMQX serves it, are only hints): a client's first datagram, at least 1,200 bytes, starting with a version 1 Initial
/// packet whose Destination Connection ID is 8 to 20 bytes. Its Initial packets are opened with the keys every observer
/// can derive, and the TLS 1.3 hellos inside are read by the TLS code (<see cref="QuicSession"/>): events are the TLS
/// ones under <c>quic.*</c> types, with the same <c>tls.*</c> fields (SNI, ALPN, JA3, JA4 starting with <c>q</c>).
/// Other QUIC versions (version 2, drafts) are left unread.
/// </summary>
internal sealed class QuicProtocol : IDatagramProtocol
{
    private readonly TlsOptions _options;
    private readonly TlsCaches.PerRun _caches;

    /// <summary>Creates the protocol with the TLS limits (<see cref="TlsOptions"/>).</summary>
    public QuicProtocol(TlsOptions? options = null)
    {
        _options = options ?? new TlsOptions();
        _caches = new TlsCaches.PerRun(_options);
    }

    /// <inheritdoc />
    public string Name => "quic";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [443, 14567];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        TlsClientHelloEvent.QuicSchema,
        TlsServerHelloEvent.QuicSchema,
        TlsHandshakeEvent.QuicSchema,
    ];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> datagram, FlowDirection direction)
    {
        if (direction != FlowDirection.ToServer || datagram.Length < QuicPackets.MinClientInitialDatagram
            || !QuicPackets.TryReadLongHeader(datagram, out var header) || header.Type != QuicPackets.TypeInitial)
        {
            return ProbeResult.NotMine;
        }

        return header.DestinationId.Length >= QuicPackets.MinInitialDestinationId ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    /// <inheritdoc />
    public IDatagramSession CreateSession(FlowContext flow, ProtocolServices services) => new QuicSession(flow, services, _options, _caches.For(services));
}
