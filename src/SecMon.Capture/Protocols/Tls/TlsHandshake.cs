using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Tls;

/// <summary>
/// The handshake messages of one TLS or DTLS session, shared by <see cref="TlsSession"/> (records over TCP) and
/// <c>Dtls.DtlsSession</c> (records in datagrams): each feeds it whole handshake messages (type and body, after the
/// 4-byte TLS or 12-byte DTLS header), and it emits the events: client and server hello with their fingerprints, the
/// certificate request, each side's certificates, and once per session the <see cref="TlsHandshakeEvent"/> summary.
/// </summary>
internal sealed class TlsHandshake
{
    private readonly FlowContext _flow;
    private readonly ProtocolServices _services;
    private readonly TlsOptions _options;
    private readonly bool _datagram;
    private readonly bool _quic;
    private readonly TlsCaches? _caches;
    private bool _summaryDone;
    private bool? _serverAccepted;
    private bool _abbreviated;
    private bool? _certificateInferred;
    private bool _certificateRequested;
    private bool? _clientCertificate;
    private bool _serverCertificate;
    private string? _serverName;
    private string? _ja4;
    private string? _pskIdentity;
    private string? _pskIdentityHint;

    /// <summary>Creates the state of one session; <paramref name="flow"/> is its to-server context. With
    /// <paramref name="caches"/> (the run's), certificates and fingerprints seen before are not computed again.</summary>
    public TlsHandshake(FlowContext flow, ProtocolServices services, TlsOptions options, bool datagram, TlsCaches? caches = null, bool quic = false)
    {
        _flow = flow;
        _services = services;
        _options = options;
        _datagram = datagram && !quic; // QUIC carries TLS's own handshake messages (RFC 9001 §4), not DTLS's
        _quic = quic;
        _caches = caches;
    }

    /// <summary>The ServerHello, once seen.</summary>
    public TlsParser.ServerHello? ServerHello { get; private set; }

    /// <summary>True once a ServerHello chose TLS 1.3 or DTLS 1.3 (everything after it is encrypted, RFC 8446 §2).</summary>
    public bool Version13 => ServerHello is { } sh && TlsParser.VersionRank(sh.WireVersion) >= 34;

    /// <summary>Handles one whole handshake message; false when it is malformed (with the reason).</summary>
    public bool OnMessage(FlowDirection direction, byte type, ReadOnlySpan<byte> body, in PacketMeta meta, out MalformedReason reason)
    {
        reason = MalformedReason.None;
        var flow = direction == FlowDirection.ToServer ? _flow : _flow.Reverse!;
        switch (type)
        {
            case 1 when direction == FlowDirection.ToServer:
                if (!TlsParser.TryReadClientHello(body, out var ch, out reason, _datagram, _caches?.Hello))
                {
                    return false;
                }

                var fp = TlsFingerprint.Client(ch, _quic ? 'q' : _datagram ? 'd' : 't', _caches?.ClientHellos);
                _serverName = ch.ServerName;
                OffersMqtt = ch.Alpn is { } alpn && (alpn.Contains("mqtt") || alpn.Contains("x-amzn-mqtt-ca"));
                _ja4 = fp.Ja4;
                Emit(new TlsClientHelloEvent
                {
                    Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Datagram = _datagram, Quic = _quic,
                    ServerName = ch.ServerName, Version = ch.Version, SupportedVersions = ch.SupportedVersions, Alpn = ch.Alpn, CipherCount = ch.CipherCount,
                    CipherSuites = fp.CipherSuites, WeakCiphers = fp.WeakCiphers,
                    Ja3String = fp.Ja3String, Ja3 = fp.Ja3, Ja4 = fp.Ja4,
                });
                return true;
            case 2 when direction == FlowDirection.ToClient:
                if (!TlsParser.TryReadServerHello(body, out var sh, out reason))
                {
                    return false;
                }

                if (_datagram && sh.WireVersion < 0xFE00 && sh.WireVersion != TlsParser.DtlsBadVersion)
                {
                    // A DTLS ServerHello carries DTLS versions (RFC 6347 §4.1); a TLS value here is not DTLS.
                    reason = MalformedReason.BadValue;
                    return false;
                }

                ServerHello = sh;
                var ja3s = TlsFingerprint.Server(sh, _caches?.ServerHellos);
                Emit(new TlsServerHelloEvent
                {
                    Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Datagram = _datagram, Quic = _quic,
                    Version = sh.Version, CipherSuite = sh.CipherSuite, Alpn = sh.Alpn,
                    WeakCipher = CipherSuites.Names(CipherSuites.Weakness(sh.CipherSuite)), Psk = CipherSuites.IsPsk(sh.CipherSuite),
                    Ja3sString = ja3s.Ja3sString, Ja3s = ja3s.Ja3s,
                });
                return true;
            case 11:
                var chain = direction == FlowDirection.ToClient ? new List<X509Summary?>() : null;
                if (!TlsParser.TryReadCertificateList(body, out var count, out var leaf, chain, _options.MaxCertificates, _options.MaxCertificateBytes, _caches))
                {
                    reason = MalformedReason.Truncated;
                    return false;
                }

                if (direction == FlowDirection.ToServer)
                {
                    _clientCertificate = count > 0;
                    var summary = leaf.IsEmpty || leaf.Length > _options.MaxCertificateBytes ? null : _caches is { } c ? c.ReadCertificate(leaf) : X509Reader.Read(leaf);
                    Emit(new TlsClientCertificateEvent
                    {
                        Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Datagram = _datagram, Quic = _quic,
                        Count = count, Subject = summary?.Subject, Issuer = summary?.Issuer, Serial = summary?.Serial,
                        Sha256 = leaf.IsEmpty ? null : summary?.Sha256 ?? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(leaf)),
                    });
                }
                else
                {
                    _serverCertificate = count > 0;
                    var l = chain!.Count > 0 ? chain[0] : null;
                    Emit(new TlsServerCertificateEvent
                    {
                        Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Datagram = _datagram, Quic = _quic,
                        Count = count, Subject = l?.Subject, Issuer = l?.Issuer, Serial = l?.Serial, Sha256 = l?.Sha256, Chain = chain,
                    });
                }

                return true;
            case 12 when direction == FlowDirection.ToClient && ServerHello is { } s1 && CipherSuites.IsPsk(s1.CipherSuite):
                _pskIdentityHint = TlsParser.ReadPskIdentity(body); // ServerKeyExchange of a PSK suite (RFC 4279 §2)
                return true;
            case 13 when direction == FlowDirection.ToClient:
                _certificateRequested = true;
                Emit(new TlsCertificateRequestEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Datagram = _datagram, Quic = _quic });
                return true;
            case 16 when direction == FlowDirection.ToServer && ServerHello is { } s2 && CipherSuites.IsPsk(s2.CipherSuite):
                _pskIdentity = TlsParser.ReadPskIdentity(body); // ClientKeyExchange of a PSK suite (RFC 4279 §2)
                return true;
            default:
                return true;
        }
    }

    /// <summary>Handles an SSL 2.0-format ClientHello (<paramref name="message"/> whole, its 2-byte header included, as
    /// <see cref="TlsParser.CheckSsl2ClientHello"/> accepted it): the hello of an old client, reported like any other
    /// but without SNI, ALPN or fingerprints, which it cannot carry.</summary>
    public void OnSsl2ClientHello(ReadOnlySpan<byte> message, in PacketMeta meta)
    {
        var ch = TlsParser.ReadSsl2ClientHello(message, out var ssl2Weakness);
        var weakness = ssl2Weakness;
        var suites = new long[ch.Ciphers.Count];
        for (var i = 0; i < suites.Length; i++)
        {
            suites[i] = ch.Ciphers[i];
            weakness |= CipherSuites.Weakness(ch.Ciphers[i]);
        }

        Emit(new TlsClientHelloEvent
        {
            Flow = _flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Datagram = _datagram, Quic = _quic,
            Version = ch.Version, SupportedVersions = ch.SupportedVersions, CipherCount = ch.CipherCount,
            CipherSuites = suites, WeakCiphers = CipherSuites.Names(weakness),
        });
    }

    /// <summary>True once the client's direction turned encrypted (its last handshake flight was sent).</summary>
    public bool ClientFlightSent { get; private set; }

    /// <summary>The ClientHello offered MQTT by ALPN: <c>mqtt</c> (IANA), or <c>x-amzn-mqtt-ca</c> (AWS IoT Core's MQTT
    /// on port 443).</summary>
    public bool OffersMqtt { get; private set; }

    /// <summary>
    /// The client's direction turned encrypted: its last flight (with its certificate, when it sent one) is out.
    /// <paramref name="certificateInferred"/>: in TLS 1.3, whether that flight held a certificate (null: unknown). The
    /// summary waits for the server's answer (<see cref="ServerAnswered"/>), which says whether the session was
    /// established: a server that requires a client certificate answers a flight without one with an alert and closes.
    /// Where that answer cannot be read (DTLS 1.3, whose records this reader does not follow after the handshake), the
    /// flight itself stands for it.
    /// </summary>
    public void ClientEncrypted(in PacketMeta meta, bool? certificateInferred = null)
    {
        if (ClientFlightSent)
        {
            return;
        }

        ClientFlightSent = true;
        _certificateInferred = certificateInferred;
        if (_serverAccepted is { } accepted)
        {
            Summary(meta, accepted); // the server went first (an abbreviated TLS 1.2 handshake)
        }
        else if (_datagram && Version13)
        {
            Summary(meta, established: true);
        }
    }

    /// <summary>The server answered: <paramref name="accepted"/> when it went on with the session (TLS 1.2 and earlier:
    /// its ChangeCipherSpec; TLS 1.3: more than a lone alert after the client's flight), false when it sent a fatal
    /// alert instead. The summary is emitted once the client's flight was seen too.</summary>
    public void ServerAnswered(in PacketMeta meta, bool accepted)
    {
        if (_serverAccepted is not null)
        {
            return;
        }

        _serverAccepted = accepted;
        // TLS 1.2 and earlier: a server that finishes before the client's flight resumed an earlier session (the
        // abbreviated handshake, RFC 5246 §7.3): no certificate is exchanged, whatever the first session had.
        _abbreviated = accepted && !ClientFlightSent && !Version13;
        if (ClientFlightSent || !accepted)
        {
            Summary(meta, accepted && ClientFlightSent);
        }
    }

    /// <summary>The flow ended: emits the summary if a ServerHello was seen and it was not emitted yet, as not
    /// established (the server's answer to the client's flight was not seen).</summary>
    public void Close(in PacketMeta meta) => Summary(meta, established: false);

    private void Summary(in PacketMeta meta, bool established)
    {
        if (_summaryDone || ServerHello is not { } sh)
        {
            return;
        }

        _summaryDone = true;
        var v13 = Version13;
        bool? presented = v13 ? (sh.Resumed ? null : _certificateInferred) : (_clientCertificate ?? false);
        if ((!ClientFlightSent && !v13 && _clientCertificate is null) || _abbreviated)
        {
            presented = null; // the flow ended before the client's flight, or a resumed session: unknown
        }

        Emit(new TlsHandshakeEvent
        {
            Flow = _flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Datagram = _datagram, Quic = _quic,
            Version = sh.Version, CipherSuite = sh.CipherSuite, Established = established, Resumed = v13 ? sh.Resumed : _abbreviated ? true : null,
            ServerName = _serverName, Ja4 = _ja4,
            CertificateRequested = v13 ? null : _certificateRequested,
            CertificatePresented = presented,
            ServerCertificatePresented = v13 ? null : _serverCertificate,
            Psk = CipherSuites.IsPsk(sh.CipherSuite) || (v13 && sh.Resumed),
            PskIdentity = _pskIdentity, PskIdentityHint = _pskIdentityHint,
        });
    }

    private void Emit(Core.Events.ProtocolEvent e) => _services.Events.Emit(e);
}
