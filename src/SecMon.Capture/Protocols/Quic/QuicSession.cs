using System.Buffers;
using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Quic;

/// <summary>
/// Per-flow QUIC state: opens each direction's Initial packets (<see cref="QuicPackets"/>) and reassembles their CRYPTO
/// frames by offset into the TLS handshake messages they carry (clients scatter the ClientHello over frames and packets
/// out of order, and repeat it when a packet is lost), which the TLS reader (<see cref="TlsHandshake"/>) turns into
/// <c>quic.client_hello</c> (SNI, ALPN, JA3, a JA4 starting with <c>q</c>), <c>quic.server_hello</c> and the
/// <c>quic.handshake</c> summary. The rest of the connection is encrypted with keys from the handshake: a client's
/// Handshake packet says its last flight is out, a server's 1-RTT packet after it that the connection was established,
/// a server's CONNECTION_CLOSE in an Initial that it was refused.
/// </summary>
/// <remarks>
/// Bounds: a direction's Initial CRYPTO data up to <see cref="MaxInitialCrypto"/> bytes in at most
/// <see cref="MaxRanges"/> separate pieces; after <see cref="MaxFailures"/> Initial packets that do not authenticate (a
/// forgery, another connection's keys) a direction is no longer tried, so a flood of fake Initials costs one key
/// derivation per flow and a few decryptions. Retry (a new Destination Connection ID, so new keys) is followed.
/// </remarks>
internal sealed class QuicSession : IDatagramSession
{
    /// <summary>Most bytes of CRYPTO data one direction's Initial packets may carry (a ClientHello with post-quantum
    /// key shares is about 2 KB).</summary>
    public const int MaxInitialCrypto = 16 * 1024;

    /// <summary>Most separate pieces of CRYPTO data held waiting for the bytes between them.</summary>
    public const int MaxRanges = 64;

    /// <summary>Initial packets of a direction that may fail to authenticate before it is no longer tried.</summary>
    public const int MaxFailures = 4;

    private const string ProtocolName = "quic";

    private readonly ProtocolServices _services;
    private readonly TlsHandshake _handshake;
    private readonly Side _client = new(FlowDirection.ToServer);
    private readonly Side _server = new(FlowDirection.ToClient);
    private byte[]? _keysId;
    private byte[]? _retrySourceId;

    /// <summary>Creates the session of one flow; <paramref name="flow"/> is its to-server context.</summary>
    public QuicSession(FlowContext flow, ProtocolServices services, TlsOptions options, TlsCaches? caches = null)
    {
        _services = services;
        _handshake = new TlsHandshake(flow, services, options, datagram: false, caches, quic: true);
    }

    /// <inheritdoc />
    public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta)
    {
        var side = direction == FlowDirection.ToServer ? _client : _server;
        while (!payload.IsEmpty)
        {
            if (!QuicPackets.IsLongHeader(payload))
            {
                // A 1-RTT packet (the rest of the datagram): the server sending it after the client's last flight
                // finished the handshake.
                if (direction == FlowDirection.ToClient && _handshake.ClientFlightSent)
                {
                    _handshake.ServerAnswered(meta, accepted: true);
                }

                return;
            }

            if (!QuicPackets.TryReadLongHeader(payload, out var header))
            {
                if (direction == FlowDirection.ToClient && QuicPackets.TryReadRetrySourceId(payload, out var retryId))
                {
                    _retrySourceId = retryId.ToArray(); // the client's next Initials go to this id, under keys derived from it
                }

                return; // Version Negotiation, Retry, other versions
            }

            var packet = payload[..(header.PacketNumberOffset + header.Length)];
            payload = payload[packet.Length..];
            switch (header.Type)
            {
                case QuicPackets.TypeInitial:
                    Initial(side, packet, header, meta);
                    break;
                case QuicPackets.TypeHandshake when direction == FlowDirection.ToServer && _handshake.ServerHello is not null:
                    _handshake.ClientEncrypted(meta); // the client's Finished (and certificate, if asked): its last flight
                    break;
                default:
                    break; // 0-RTT, the server's Handshake packets: encrypted with keys never seen
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

    private void Initial(Side side, ReadOnlySpan<byte> packet, in QuicPackets.LongHeader header, in PacketMeta meta)
    {
        if (side.Done || side.Failures >= MaxFailures)
        {
            return;
        }

        // Both directions' Initial keys come from the Destination Connection ID of the client's first Initial (RFC 9001
        // §5.2), kept when the client then addresses the server's chosen id; only a Retry makes new ones, from the id
        // the Retry gave (RFC 9001 §5.2, RFC 9000 §17.2.5.2).
        // The server's keys are made when its first Initial arrives: most probes and floods are never answered.
        if (side.Direction == FlowDirection.ToServer &&
            (_keysId is null || (_retrySourceId is not null && header.DestinationId.SequenceEqual(_retrySourceId))))
        {
            _keysId = header.DestinationId.ToArray();
            _retrySourceId = null;
            _client.SetKeys(QuicPackets.DeriveInitialKeys(_keysId, client: true));
            _server.SetKeys(null);
        }
        else if (side.Direction == FlowDirection.ToClient && side.Keys is null && _keysId is not null)
        {
            _server.SetKeys(QuicPackets.DeriveInitialKeys(_keysId, client: false));
        }

        if (side.Keys is not { } keys)
        {
            return; // the server's Initial of a connection whose client's was not seen
        }

        byte[]? rented = null;
        var plaintext = packet.Length <= 2048 ? stackalloc byte[packet.Length] : (rented = ArrayPool<byte>.Shared.Rent(packet.Length));
        try
        {
            if (!QuicPackets.TryOpen(packet, header, keys, side.Largest, plaintext, out var written, out var number))
            {
                if (++side.Failures == MaxFailures)
                {
                    side.Release(); // what the flow holds for a direction it will never read
                    _services.Diagnostics.Report(DiagnosticKind.MalformedProtocol, meta,
                        $"quic: {MaxFailures} Initial packets {side.Name} did not authenticate with the keys of the client's connection id; its Initial packets are not read further");
                }

                return;
            }

            side.Largest = Math.Max(side.Largest, number);
            Frames(side, plaintext[..written], meta);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private void Frames(Side side, ReadOnlySpan<byte> p, in PacketMeta meta)
    {
        var at = 0;
        while (at < p.Length)
        {
            if (p[at] == 0)
            {
                at++; // PADDING
                continue;
            }

            if (!QuicPackets.TryReadVarint(p, ref at, out var type))
            {
                break;
            }

            switch (type)
            {
                case 0x01: // PING
                    break;
                case 0x02 or 0x03: // ACK (RFC 9000 §19.3): largest, delay, range count, first range, the ranges, ECN counts
                    if (!Skip(p, ref at, 3) || !QuicPackets.TryReadVarint(p, ref at, out var ranges) || ranges > (ulong)p.Length
                        || !Skip(p, ref at, ((int)ranges * 2) + (type == 0x03 ? 3 : 0)))
                    {
                        Malformed(side, meta, MalformedReason.Truncated, "an ACK frame runs past the end of its packet");
                        return;
                    }

                    break;
                case 0x06: // CRYPTO (§19.6)
                    if (!QuicPackets.TryReadVarint(p, ref at, out var offset) || !QuicPackets.TryReadVarint(p, ref at, out var length)
                        || length > (ulong)(p.Length - at))
                    {
                        Malformed(side, meta, MalformedReason.Truncated, "a CRYPTO frame runs past the end of its packet");
                        return;
                    }

                    if (offset + length > MaxInitialCrypto)
                    {
                        Malformed(side, meta, MalformedReason.TooLarge, $"CRYPTO data up to offset {offset + length} in Initial packets, over the {MaxInitialCrypto}-byte bound");
                        return;
                    }

                    if (!side.Add((int)offset, p.Slice(at, (int)length)))
                    {
                        Malformed(side, meta, MalformedReason.TooLarge, $"CRYPTO data in more than {MaxRanges} separate pieces");
                        return;
                    }

                    at += (int)length;
                    break;
                case 0x1c or 0x1d: // CONNECTION_CLOSE (§19.19): in an Initial, the handshake was refused
                    if (side.Direction == FlowDirection.ToClient)
                    {
                        _handshake.ServerAnswered(meta, accepted: false);
                    }

                    return;
                default:
                    Malformed(side, meta, MalformedReason.UnknownType, $"frame type 0x{type:x} is not allowed in an Initial packet (RFC 9000 §12.4)");
                    return;
            }
        }

        Deliver(side, meta);
    }

    // Hands every whole handshake message at the start of the contiguous CRYPTO data to the TLS reader.
    private void Deliver(Side side, in PacketMeta meta)
    {
        var contiguous = side.Contiguous;
        while (!side.Done && contiguous - side.Consumed >= 4)
        {
            var m = side.Data.AsSpan(side.Consumed, contiguous - side.Consumed);
            var type = m[0];
            var length = (m[1] << 16) | (m[2] << 8) | m[3];
            if (side.Consumed + 4 + length > MaxInitialCrypto)
            {
                Malformed(side, meta, MalformedReason.TooLarge, $"a {length}-byte handshake message in Initial packets, over the {MaxInitialCrypto}-byte bound");
                return;
            }

            if (m.Length < 4 + length)
            {
                return; // the rest is still to come
            }

            side.Consumed += 4 + length;
            if (!_handshake.OnMessage(side.Direction, type, m.Slice(4, length), meta, out var reason))
            {
                Malformed(side, meta, reason, $"malformed {TlsSession.MessageName(type)} in Initial packets");
                return;
            }

            if (type == 2 && side.Direction == FlowDirection.ToClient && _handshake.ServerHello is { IsHelloRetryRequest: false })
            {
                // The server's Initial carries only its ServerHello (RFC 9001 §4.1.4), and the client sends nothing more
                // in its Initials after one: both directions' keys go. After a HelloRetryRequest both go on: the client's
                // second ClientHello and the real ServerHello follow in the same CRYPTO streams (RFC 8446 §4.1.4).
                foreach (var done in (ReadOnlySpan<Side>)[_server, _client])
                {
                    done.Done = true;
                    done.Release();
                }
            }
        }
    }

    private static bool Skip(ReadOnlySpan<byte> p, ref int at, int varints)
    {
        for (var i = 0; i < varints; i++)
        {
            if (!QuicPackets.TryReadVarint(p, ref at, out _))
            {
                return false;
            }
        }

        return true;
    }

    private void Malformed(Side side, in PacketMeta meta, MalformedReason reason, string message)
    {
        _services.Stats.CountMalformed(ProtocolName, reason);
        _services.Diagnostics.ReportMalformed(meta, ProtocolName, reason, $"quic: {message} ({side.Name})");
        side.Done = true;
        side.Release();
    }

    /// <summary>One direction: its Initial keys, the largest packet number opened, and its CRYPTO data so far.</summary>
    private sealed class Side(FlowDirection direction)
    {
        private readonly List<(int Start, int End)> _ranges = [];

        public FlowDirection Direction { get; } = direction;

        public string Name => Direction == FlowDirection.ToServer ? "from the client" : "from the server";

        public QuicPackets.InitialKeys? Keys { get; private set; }

        public long Largest { get; set; } = -1;

        public int Failures { get; set; }

        public bool Done { get; set; }

        public byte[] Data { get; private set; } = [];

        /// <summary>Bytes of CRYPTO data handed to the TLS reader.</summary>
        public int Consumed { get; set; }

        /// <summary>Bytes of CRYPTO data received without a gap from offset 0.</summary>
        public int Contiguous => _ranges.Count > 0 && _ranges[0].Start == 0 ? _ranges[0].End : 0;

        public void SetKeys(QuicPackets.InitialKeys? keys)
        {
            Keys = keys;
            Largest = -1;
            Failures = 0;
        }

        /// <summary>Adds a CRYPTO frame's data at <paramref name="offset"/> (a repeat of bytes held is taken again, the
        /// same bytes); false when that would leave more than <see cref="MaxRanges"/> pieces.</summary>
        public bool Add(int offset, ReadOnlySpan<byte> data)
        {
            var end = offset + data.Length;
            if (end <= Consumed || data.IsEmpty)
            {
                return true; // already read
            }

            if (end > Data.Length)
            {
                var grown = new byte[Math.Min(MaxInitialCrypto, Math.Max(end, Math.Max(Data.Length * 2, 2048)))];
                Data.CopyTo(grown, 0);
                Data = grown;
            }

            data.CopyTo(Data.AsSpan(offset));
            var i = 0;
            while (i < _ranges.Count && _ranges[i].End < offset)
            {
                i++;
            }

            var start = offset;
            while (i < _ranges.Count && _ranges[i].Start <= end)
            {
                start = Math.Min(start, _ranges[i].Start);
                end = Math.Max(end, _ranges[i].End);
                _ranges.RemoveAt(i);
            }

            _ranges.Insert(i, (start, end));
            return _ranges.Count <= MaxRanges;
        }

        public void Release()
        {
            Keys = null;
            Data = [];
            _ranges.Clear();
        }
    }
}
