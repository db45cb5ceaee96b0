using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Tls;

/// <summary>
/// Per-flow TLS state: reads records of each direction until that direction turns encrypted (its
/// ChangeCipherSpec or first application_data record), reassembling handshake messages across records. Memory is
/// bounded by one record plus one handshake message per direction, and freed when the direction turns encrypted;
/// records and messages that arrive whole are read in place, without a copy.
/// After a full TLS 1.3 handshake the client's first encrypted record is still looked at, for its size only: it
/// holds the client's Certificate when it sent one (see <see cref="TlsClientCertificateEvent"/>).
/// <para>
/// Whether the server accepted the client's last flight (<see cref="TlsHandshake.ServerAnswered"/>) is read from what it
/// sends next. TLS 1.2 and earlier: its ChangeCipherSpec, or a fatal alert in the clear. TLS 1.3, where both are
/// encrypted: the server's record headers are followed (their bodies skipped, nothing buffered) until the answer is
/// known. A lone record no larger than an encrypted alert (<see cref="MaxAlertRecord"/>) followed by the end of the
/// flow is a refusal (a broker that requires client certificates answers a client without one so); a larger record,
/// a second one, or two more segments from the client after it, is a session that went on.
/// </para>
/// </summary>
internal sealed class TlsSession : IStreamSession
{
    private const int RecordBufferSize = TlsParser.MaxRecordBody + 5;

    /// <summary>
    /// Smallest first encrypted client record taken for a Certificate. Without a certificate the record holds the
    /// Finished alone (32 or 48 bytes of MAC + 4 + 17 of record overhead: 53-69 bytes) or an empty Certificate with
    /// it (under 100); the smallest useful certificate (an EC leaf) is 250 bytes or more.
    /// </summary>
    internal const int MinCertificateRecord = 200;

    /// <summary>Largest TLS 1.3 record body taken for an encrypted alert: 2 bytes of alert, 1 of inner content type and
    /// a 16-byte AEAD tag make 19 (RFC 8446 §5.2), with room for a little padding.</summary>
    internal const int MaxAlertRecord = 24;

    /// <summary>How long an idle session that carries MQTT is held (<see cref="IdleHoldMicros"/>): one and a half times
    /// the longest keep alive the IoT clouds' brokers accept (AWS IoT Core 1,200 s, the SDKs' default; Azure IoT Hub
    /// 1,177 s), 30 minutes.</summary>
    internal const long MqttIdleHoldMicros = 1_800_000_000;

    /// <summary>MQTT over TLS (IANA).</summary>
    internal const int MqttTlsPort = 8883;

    private readonly FlowContext _flow;
    private readonly ProtocolServices _services;
    private readonly TlsHandshake _handshake;
    private readonly int _maxHandshakeMessage;
    private readonly Direction _client;
    private readonly Direction _server;
    private ServerHelloSeen _serverHello;
    private ServerWatch? _watch;

    private enum ServerHelloSeen
    {
        NotYet,
        Tls13Full,
        Other, // TLS 1.2 or earlier, or a resumed TLS 1.3 session (no certificates at all)
    }

    /// <summary>Creates the session; a mid-stream session has missed the handshake and emits nothing. <paramref name="caches"/>
    /// are the run's (none: every certificate and fingerprint is computed).</summary>
    public TlsSession(FlowContext flow, ProtocolServices services, bool midStream, TlsOptions? options = null, TlsCaches? caches = null)
    {
        _flow = flow;
        _services = services;
        options ??= new TlsOptions();
        _handshake = new TlsHandshake(flow, services, options, datagram: false, caches);
        _maxHandshakeMessage = options.HandshakeBound;
        _client = new Direction(_maxHandshakeMessage);
        _server = new Direction(_maxHandshakeMessage);
        if (midStream)
        {
            _client.Done = true;
            _server.Done = true;
        }
    }

    /// <summary>MQTT over TLS (port 8883, or ALPN <c>mqtt</c> or <c>x-amzn-mqtt-ca</c>) is held as long as a broker may
    /// keep it (<see cref="MqttIdleHoldMicros"/>): its keep alive is encrypted, and a device that reports every 15
    /// minutes with a keep alive of 20 keeps one connection, which would otherwise be cut by the TCP idle timeout
    /// (5 minutes) and go on as a flow started mid-stream. Other TLS keeps the TCP timeout.</summary>
    public long IdleHoldMicros => _flow.DestinationPort == MqttTlsPort || _handshake.OffersMqtt ? MqttIdleHoldMicros : 0;

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (_watch is { } watch && (direction == FlowDirection.ToClient || _handshake.ClientFlightSent))
        {
            Watch(watch, direction, data, meta);
            return;
        }

        var d = direction == FlowDirection.ToServer ? _client : _server;
        if (d.Done)
        {
            return;
        }

        // Records that are whole in the segment are read where they are; only a record the segment cuts is copied,
        // and completed from the next segments. The buffer holds at most one record: a large segment holding many
        // records is parsed piece by piece.
        while (!data.IsEmpty && !d.Done)
        {
            if (d.Records.Length == 0)
            {
                data = data[ParseRecords(direction, d, data, meta)..];
                if (data.IsEmpty || d.Done)
                {
                    break;
                }
            }

            var take = Math.Min(data.Length, RecordBufferSize - d.Records.Length);
            d.Records.Append(data[..take]);
            data = data[take..];
            d.Records.Consume(ParseRecords(direction, d, d.Records.Span, meta));
        }

        if (direction == FlowDirection.ToClient && _watch is { } started)
        {
            // The server's TLS 1.3 ServerHello: its records from here on are followed by their headers, starting with
            // those that came in the same segment after it.
            started.Records(this, d.Records.Span, meta);
            started.Records(this, data, meta);
        }

        if (d.Done)
        {
            d.Release();
        }
    }

    // After a TLS 1.3 ServerHello: the server's record headers, and the client's bytes once the server answered its
    // flight with a record no larger than an alert.
    private void Watch(ServerWatch watch, FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (direction == FlowDirection.ToClient)
        {
            watch.Records(this, data, meta);
        }
        else if (watch.SmallAnswers > 0 && ++watch.ClientSegmentsAfter > 1)
        {
            // The client went on after the server's short record: it was no alert. One segment is not enough: a client
            // sends its first request (an MQTT CONNECT) right behind its flight, before the server's answer reaches it.
            Answered(accepted: true, meta);
        }
    }

    private void Answered(bool accepted, in PacketMeta meta)
    {
        _watch = null;
        _handshake.ServerAnswered(meta, accepted);
    }

    // One server record header after a TLS 1.3 ServerHello; records before the client's flight are the server's own.
    private void ServerRecord(ServerWatch watch, byte type, int length, in PacketMeta meta)
    {
        if (type is < TlsParser.ContentChangeCipherSpec or > TlsParser.ContentApplicationData)
        {
            _watch = null; // not a record boundary: lost track, no answer
        }
        else if (!_handshake.ClientFlightSent)
        {
            return;
        }
        else if (type == TlsParser.ContentAlert)
        {
            Answered(accepted: false, meta);
        }
        else if (type == TlsParser.ContentApplicationData)
        {
            if (length > MaxAlertRecord || ++watch.SmallAnswers > 1)
            {
                Answered(accepted: true, meta);
            }
        }
    }

    // Reads the complete records at the start of `records`; returns the bytes they took.
    private int ParseRecords(FlowDirection direction, Direction d, ReadOnlySpan<byte> records, in PacketMeta meta)
    {
        var used = 0;
        if (!d.Started && direction == FlowDirection.ToServer && !records.IsEmpty && (records[0] & 0x80) != 0)
        {
            // An SSL 2.0-format ClientHello (RFC 5246 §E.2): old clients open with it, then speak TLS records.
            switch (TlsParser.CheckSsl2ClientHello(records, out var helloLength))
            {
                case ProbeResult.NeedMoreData:
                    return 0;
                case ProbeResult.Mine when records.Length >= helloLength:
                    _handshake.OnSsl2ClientHello(records[..helloLength], meta);
                    used = helloLength;
                    break;
                case ProbeResult.Mine:
                    return 0; // the rest of the hello is in a later segment
                default:
                    break; // not one: the record header check below reports it
            }
        }

        d.Started = true;
        while (!d.Done && TlsParser.TryReadRecordHeader(records[used..], out var type, out var version, out var length))
        {
            var invalid = TlsParser.CheckRecord(type, version, length);
            if (invalid != MalformedReason.None)
            {
                Malformed(d, meta, invalid, $"tls: invalid record header (type {type}, version 0x{version:x4}, length {length})");
                return used;
            }

            if (records.Length - used < 5 + length)
            {
                return used; // the rest of the record is in a later segment
            }

            var body = records.Slice(used + 5, length);
            switch (type)
            {
                case TlsParser.ContentHandshake:
                    HandleHandshakeBytes(direction, d, body, meta);
                    break;
                case TlsParser.ContentChangeCipherSpec when direction == FlowDirection.ToServer && _serverHello != ServerHelloSeen.Other:
                    break; // TLS 1.3's compatibility ChangeCipherSpec (RFC 8446 §D.4): the client's flight follows
                case TlsParser.ContentChangeCipherSpec when direction == FlowDirection.ToClient && _handshake.ServerHello is { IsHelloRetryRequest: true }:
                    break; // the same after a HelloRetryRequest: the real ServerHello follows
                case TlsParser.ContentApplicationData when direction == FlowDirection.ToServer && _serverHello == ServerHelloSeen.Tls13Full:
                    InferClientCertificate(length, meta);
                    _handshake.ClientEncrypted(meta, certificateInferred: length >= MinCertificateRecord);
                    d.Done = true;
                    break;
                case TlsParser.ContentChangeCipherSpec or TlsParser.ContentApplicationData:
                    d.Done = true; // from here this direction is encrypted
                    if (direction == FlowDirection.ToServer)
                    {
                        _handshake.ClientEncrypted(meta);
                    }
                    else
                    {
                        _handshake.ServerAnswered(meta, accepted: true);
                    }

                    break;
                case TlsParser.ContentAlert when direction == FlowDirection.ToClient && body.Length >= 2 && body[0] == 2:
                    _handshake.ServerAnswered(meta, accepted: false); // a fatal alert in the clear: the server refused
                    break;
                default:
                    break; // other alerts: nothing to read
            }

            used += 5 + length;
        }

        return used;
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        // TLS records cannot be resynchronised reliably inside an encrypted stream; stop reading this direction.
        var d = direction == FlowDirection.ToServer ? _client : _server;
        d.Done = true;
        d.Release();
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        _handshake.Close(meta);
        _client.Release();
        _server.Release();
    }

    private void HandleHandshakeBytes(FlowDirection direction, Direction d, ReadOnlySpan<byte> bytes, in PacketMeta meta)
    {
        if (d.Handshake.Length == 0)
        {
            // Messages whole in the record are read where they are; only one split across records is copied.
            bytes = bytes[HandleMessages(direction, d, bytes, meta)..];
            if (bytes.IsEmpty || d.Done)
            {
                return;
            }
        }

        d.Handshake.Append(bytes);
        d.Handshake.Consume(HandleMessages(direction, d, d.Handshake.Span, meta));
    }

    // Handles the complete handshake messages at the start of `messages`; returns the bytes they took.
    private int HandleMessages(FlowDirection direction, Direction d, ReadOnlySpan<byte> messages, in PacketMeta meta)
    {
        var used = 0;
        while (messages.Length - used >= 4)
        {
            var hs = messages[used..];
            var length = (hs[1] << 16) | (hs[2] << 8) | hs[3];
            if (length > _maxHandshakeMessage)
            {
                Malformed(d, meta, MalformedReason.TooLarge, $"tls: handshake message type {hs[0]} of {length} bytes exceeds the {_maxHandshakeMessage}-byte bound");
                return used;
            }

            if (hs.Length < 4 + length)
            {
                return used;
            }

            HandleMessage(direction, d, hs[0], hs.Slice(4, length), meta);
            used += 4 + length;
            if (d.Done)
            {
                return used;
            }
        }

        return used;
    }

    private void HandleMessage(FlowDirection direction, Direction d, byte type, ReadOnlySpan<byte> body, in PacketMeta meta)
    {
        if (!_handshake.OnMessage(direction, type, body, meta, out var reason))
        {
            Malformed(d, meta, reason, $"tls: malformed {MessageName(type)}");
            return;
        }

        if (type == 2 && direction == FlowDirection.ToClient && _handshake.ServerHello is { IsHelloRetryRequest: false } sh)
        {
            _serverHello = sh.WireVersion == 0x0304 && !sh.Resumed ? ServerHelloSeen.Tls13Full : ServerHelloSeen.Other;
            if (sh.WireVersion == 0x0304)
            {
                // RFC 8446 §2: everything after ServerHello is encrypted in TLS 1.3; only record headers are followed.
                d.Done = true;
                _watch = new ServerWatch();
            }
        }
    }

    /// <summary>Name of a handshake message type (RFC 8446 §4, RFC 5246 §7.4) for diagnostics.</summary>
    internal static string MessageName(byte type) => type switch
    {
        1 => "ClientHello",
        2 => "ServerHello",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        16 => "ClientKeyExchange",
        _ => $"handshake message type {type}",
    };

    // The client's first encrypted record after a full TLS 1.3 handshake: its Certificate, or its Finished alone.
    private void InferClientCertificate(int recordLength, in PacketMeta meta)
    {
        if (recordLength < MinCertificateRecord)
        {
            return;
        }

        Emit(new TlsClientCertificateEvent
        {
            Flow = _flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
            Count = null, Inferred = true, EncryptedFlightSize = recordLength,
        });
    }

    private void Emit(Core.Events.ProtocolEvent e)
    {
        _services.Events.Emit(e);
    }

    private void Malformed(Direction d, in PacketMeta meta, MalformedReason reason, string message)
    {
        _services.Stats.CountMalformed("tls", reason);
        _services.Diagnostics.ReportMalformed(meta, "tls", reason, message);
        d.Done = true;
        d.Release();
    }

    // The server's record headers after a TLS 1.3 ServerHello: bodies skipped, a header cut by a segment kept (5 bytes).
    private sealed class ServerWatch
    {
        private readonly byte[] _header = new byte[5];
        private int _headerLength;
        private int _skip;

        /// <summary>Records after the client's flight no larger than an alert.</summary>
        public int SmallAnswers;

        /// <summary>Client segments since the first of those.</summary>
        public int ClientSegmentsAfter;

        public void Records(TlsSession session, ReadOnlySpan<byte> data, in PacketMeta meta)
        {
            while (!data.IsEmpty && session._watch == this)
            {
                if (_skip > 0)
                {
                    var n = Math.Min(_skip, data.Length);
                    _skip -= n;
                    data = data[n..];
                    continue;
                }

                var take = Math.Min(5 - _headerLength, data.Length);
                data[..take].CopyTo(_header.AsSpan(_headerLength));
                _headerLength += take;
                data = data[take..];
                if (_headerLength < 5)
                {
                    return;
                }

                _headerLength = 0;
                _skip = (_header[3] << 8) | _header[4];
                session.ServerRecord(this, _header[0], _skip, meta);
            }
        }
    }

    private sealed class Direction(int maxHandshakeMessage)
    {
        public bool Done;
        public bool Started; // past the first bytes, where an SSL 2.0-format ClientHello may stand
        public readonly GrowableBuffer Records = new(RecordBufferSize);
        public readonly GrowableBuffer Handshake = new(maxHandshakeMessage + 4);

        public void Release()
        {
            Records.Release();
            Handshake.Release();
        }
    }
}
