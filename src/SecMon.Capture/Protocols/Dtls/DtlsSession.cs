using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Dtls;

/// <summary>
/// Per-flow DTLS state: reads the records of each datagram until that direction turns encrypted (its ChangeCipherSpec,
/// a record of a later epoch, or a DTLS 1.3 unified header), and reassembles each handshake message from its fragments
/// (RFC 6347 §4.2.3: a Certificate is split across records and datagrams to fit the path MTU). Fragments are taken in
/// order, retransmissions overlapping what is already there are trimmed, and a message whose fragments arrive out of
/// order is skipped (a loss the peers recover from by retransmitting, which is read again). Memory is bounded by one
/// handshake message per direction (<see cref="TlsOptions.MaxHandshakeMessageBytes"/>).
/// </summary>
internal sealed class DtlsSession : IDatagramSession
{
    private readonly ProtocolServices _services;
    private readonly TlsHandshake _handshake;
    private readonly int _maxMessage;
    private readonly Direction _client;
    private readonly Direction _server;

    /// <summary>Creates the session of one flow; <paramref name="flow"/> is its to-server context; <paramref name="caches"/>
    /// are the run's (none: every certificate and fingerprint is computed).</summary>
    public DtlsSession(FlowContext flow, ProtocolServices services, TlsOptions options, TlsCaches? caches = null)
    {
        _services = services;
        _handshake = new TlsHandshake(flow, services, options, datagram: true, caches);
        _maxMessage = options.HandshakeBound;
        _client = new Direction(_maxMessage);
        _server = new Direction(_maxMessage);
    }

    /// <inheritdoc />
    public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta)
    {
        var d = direction == FlowDirection.ToServer ? _client : _server;
        while (!d.Done && !payload.IsEmpty)
        {
            if (DtlsRecords.IsUnifiedHeader(payload[0]))
            {
                Encrypted(direction, d, meta); // DTLS 1.3 ciphertext (RFC 9147 §4)
                return;
            }

            if (!DtlsRecords.TryReadRecordHeader(payload, out var type, out var version, out var epoch, out var length))
            {
                Malformed(d, meta, MalformedReason.Truncated, "dtls: record header runs past the end of the datagram");
                return;
            }

            var invalid = type is < TlsParser.ContentChangeCipherSpec or > 25 ? MalformedReason.UnknownType
                : !DtlsRecords.IsDtlsVersion(version) ? MalformedReason.BadValue
                : length > payload.Length - DtlsRecords.RecordHeader ? MalformedReason.Truncated
                : MalformedReason.None;
            if (invalid != MalformedReason.None)
            {
                Malformed(d, meta, invalid, $"dtls: invalid record (type {type}, version 0x{version:x4}, length {length})");
                return;
            }

            var body = payload.Slice(DtlsRecords.RecordHeader, length);
            payload = payload[(DtlsRecords.RecordHeader + length)..];
            switch (type)
            {
                case TlsParser.ContentHandshake when epoch == 0:
                    HandshakeRecord(direction, d, body, meta);
                    break;
                case TlsParser.ContentChangeCipherSpec or TlsParser.ContentApplicationData:
                case TlsParser.ContentHandshake: // a later epoch: the encrypted Finished
                    Encrypted(direction, d, meta);
                    return;
                case TlsParser.ContentAlert when direction == FlowDirection.ToClient && epoch == 0 && body.Length >= 2 && body[0] == 2:
                    _handshake.ServerAnswered(meta, accepted: false); // a fatal alert in the clear: the server refused
                    break;
                default:
                    break; // other alerts, DTLS 1.3 ACKs: nothing to read
            }
        }
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        _handshake.Close(meta);
        _client.Release();
        _server.Release();
    }

    private void Encrypted(FlowDirection direction, Direction d, in PacketMeta meta)
    {
        d.Done = true;
        d.Release();
        if (direction == FlowDirection.ToServer)
        {
            _handshake.ClientEncrypted(meta);
        }
        else
        {
            _handshake.ServerAnswered(meta, accepted: true); // its ChangeCipherSpec: it went on with the session
        }
    }

    private void HandshakeRecord(FlowDirection direction, Direction d, ReadOnlySpan<byte> body, in PacketMeta meta)
    {
        while (!d.Done && !body.IsEmpty)
        {
            if (!DtlsRecords.TryReadHandshakeHeader(body, out var type, out var length, out var seq, out var offset, out var fragmentLength)
                || fragmentLength > body.Length - DtlsRecords.HandshakeHeader)
            {
                Malformed(d, meta, MalformedReason.Truncated, "dtls: handshake fragment runs past the end of its record");
                return;
            }

            if ((long)offset + fragmentLength > length)
            {
                Malformed(d, meta, MalformedReason.BadLength, $"dtls: fragment {offset}+{fragmentLength} of a {length}-byte handshake message");
                return;
            }

            if (length > _maxMessage)
            {
                Malformed(d, meta, MalformedReason.TooLarge, $"dtls: handshake message type {type} of {length} bytes exceeds the {_maxMessage}-byte bound");
                return;
            }

            var fragment = body.Slice(DtlsRecords.HandshakeHeader, fragmentLength);
            body = body[(DtlsRecords.HandshakeHeader + fragmentLength)..];
            Fragment(direction, d, type, length, seq, offset, fragment, meta);
        }
    }

    private void Fragment(FlowDirection direction, Direction d, byte type, int length, ushort seq, int offset, ReadOnlySpan<byte> fragment, in PacketMeta meta)
    {
        if (d.HasNext && seq < d.NextSeq)
        {
            return; // a retransmission of a message already read
        }

        if (!d.Assembling || d.Seq != seq)
        {
            if (offset != 0)
            {
                return; // the start of this message was lost or reordered: wait for its retransmission
            }

            d.Assembling = true;
            d.Seq = seq;
            d.Type = type;
            d.Length = length;
            d.Message.Consume(d.Message.Length);
        }

        if (type != d.Type || length != d.Length)
        {
            Malformed(d, meta, MalformedReason.BadValue, "dtls: fragments of one message disagree on its type or length");
            return;
        }

        var have = d.Message.Length;
        if (offset > have)
        {
            return; // a gap: skip until the missing bytes are retransmitted
        }

        var end = offset + fragment.Length;
        if (end > have)
        {
            d.Message.Append(fragment[(have - offset)..]);
        }

        if (d.Message.Length < d.Length)
        {
            return;
        }

        d.Assembling = false;
        d.HasNext = true;
        d.NextSeq = seq + 1;
        if (!_handshake.OnMessage(direction, d.Type, d.Message.Span[..d.Length], meta, out var reason))
        {
            Malformed(d, meta, reason, $"dtls: malformed {TlsSession.MessageName(d.Type)}");
            return;
        }

        d.Message.Consume(d.Message.Length);
        if (d.Type == 2 && direction == FlowDirection.ToClient && _handshake.Version13)
        {
            d.Done = true; // RFC 9147 §5: everything after the ServerHello is encrypted
            d.Release();
        }
    }

    private void Malformed(Direction d, in PacketMeta meta, MalformedReason reason, string message)
    {
        _services.Stats.CountMalformed("dtls", reason);
        _services.Diagnostics.ReportMalformed(meta, "dtls", reason, message);
        d.Done = true;
        d.Release();
    }

    private sealed class Direction(int maxMessage)
    {
        public bool Done;
        public bool Assembling;
        public bool HasNext;
        public int NextSeq;
        public ushort Seq;
        public byte Type;
        public int Length;
        public readonly GrowableBuffer Message = new(maxMessage);

        public void Release() => Message.Release();
    }
}
