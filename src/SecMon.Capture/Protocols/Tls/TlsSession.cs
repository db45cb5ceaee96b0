using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Tls;

/// <summary>
/// Per-flow TLS state: reads records of each direction until that direction turns encrypted (its
/// ChangeCipherSpec or first application_data record), reassembling handshake messages across records. Memory is
/// bounded by one record plus one handshake message per direction, and freed when the direction turns encrypted.
/// After a full TLS 1.3 handshake the client's first encrypted record is still looked at, for its size only: it
/// holds the client's Certificate when it sent one (see <see cref="TlsClientCertificateEvent"/>).
/// </summary>
internal sealed class TlsSession : IStreamSession
{
    private const int MaxHandshakeMessage = 64 * 1024;
    private const int RecordBufferSize = TlsParser.MaxRecordBody + 5;

    /// <summary>
    /// Smallest first encrypted client record taken for a Certificate. Without a certificate the record holds the
    /// Finished alone (32 or 48 bytes of MAC + 4 + 17 of record overhead: 53-69 bytes) or an empty Certificate with
    /// it (under 100); the smallest useful certificate (an EC leaf) is 250 bytes or more.
    /// </summary>
    internal const int MinCertificateRecord = 200;

    private readonly FlowContext _flow;
    private readonly ProtocolServices _services;
    private readonly Direction _client = new();
    private readonly Direction _server = new();
    private ServerHelloSeen _serverHello;

    private enum ServerHelloSeen
    {
        NotYet,
        Tls13Full,
        Other, // TLS 1.2 or earlier, or a resumed TLS 1.3 session (no certificates at all)
    }

    /// <summary>Creates the session; a mid-stream session has missed the handshake and emits nothing.</summary>
    public TlsSession(FlowContext flow, ProtocolServices services, bool midStream)
    {
        _flow = flow;
        _services = services;
        if (midStream)
        {
            _client.Done = true;
            _server.Done = true;
        }
    }

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        var d = direction == FlowDirection.ToServer ? _client : _server;
        if (d.Done)
        {
            return;
        }

        // Append what fits, parse the complete records, repeat: a large segment holding many records never
        // needs more than one record of buffer.
        while (!data.IsEmpty && !d.Done)
        {
            var take = Math.Min(data.Length, RecordBufferSize - d.Records.Length);
            d.Records.Append(data[..take]);
            data = data[take..];
            ParseRecords(direction, d, meta);
        }

        if (d.Done)
        {
            d.Release();
        }
    }

    private void ParseRecords(FlowDirection direction, Direction d, in PacketMeta meta)
    {
        while (!d.Done && TlsParser.TryReadRecordHeader(d.Records.Span, out var type, out var version, out var length))
        {
            var invalid = TlsParser.CheckRecord(type, version, length);
            if (invalid != MalformedReason.None)
            {
                Malformed(d, meta, invalid, $"tls: invalid record header (type {type}, version 0x{version:x4}, length {length})");
                return;
            }

            if (d.Records.Length < 5 + length)
            {
                return; // the rest of the record is in a later segment
            }

            var body = d.Records.Span.Slice(5, length);
            switch (type)
            {
                case TlsParser.ContentHandshake:
                    HandleHandshakeBytes(direction, d, body, meta);
                    break;
                case TlsParser.ContentChangeCipherSpec when direction == FlowDirection.ToServer && _serverHello != ServerHelloSeen.Other:
                    break; // TLS 1.3's compatibility ChangeCipherSpec (RFC 8446 §D.4): the client's flight follows
                case TlsParser.ContentApplicationData when direction == FlowDirection.ToServer && _serverHello == ServerHelloSeen.Tls13Full:
                    InferClientCertificate(length, meta);
                    d.Done = true;
                    break;
                case TlsParser.ContentChangeCipherSpec or TlsParser.ContentApplicationData:
                    d.Done = true; // from here this direction is encrypted
                    break;
                default:
                    break; // alerts: nothing to read
            }

            d.Records.Consume(5 + length);
        }
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
        _client.Release();
        _server.Release();
    }

    private void HandleHandshakeBytes(FlowDirection direction, Direction d, ReadOnlySpan<byte> bytes, in PacketMeta meta)
    {
        d.Handshake.Append(bytes);
        while (d.Handshake.Length >= 4)
        {
            var hs = d.Handshake.Span;
            var length = (hs[1] << 16) | (hs[2] << 8) | hs[3];
            if (length > MaxHandshakeMessage)
            {
                Malformed(d, meta, MalformedReason.TooLarge, $"tls: handshake message type {hs[0]} of {length} bytes exceeds the {MaxHandshakeMessage}-byte bound");
                return;
            }

            if (hs.Length < 4 + length)
            {
                return;
            }

            HandleMessage(direction, d, hs[0], hs.Slice(4, length), meta);
            d.Handshake.Consume(4 + length);
            if (d.Done)
            {
                return;
            }
        }
    }

    private void HandleMessage(FlowDirection direction, Direction d, byte type, ReadOnlySpan<byte> body, in PacketMeta meta)
    {
        var flow = direction == FlowDirection.ToServer ? _flow : _flow.Reverse!;
        switch (type)
        {
            case 1 when direction == FlowDirection.ToServer:
                if (!TlsParser.TryReadClientHello(body, out var ch, out var clientHelloError))
                {
                    Malformed(d, meta, clientHelloError, "tls: malformed ClientHello");
                    return;
                }

                Emit(new TlsClientHelloEvent
                {
                    Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                    ServerName = ch.ServerName, Version = ch.Version, SupportedVersions = ch.SupportedVersions, Alpn = ch.Alpn, CipherCount = ch.CipherCount,
                });
                break;
            case 2 when direction == FlowDirection.ToClient:
                if (!TlsParser.TryReadServerHello(body, out var sh, out var serverHelloError))
                {
                    Malformed(d, meta, serverHelloError, "tls: malformed ServerHello");
                    return;
                }

                Emit(new TlsServerHelloEvent
                {
                    Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                    Version = sh.Version, CipherSuite = sh.CipherSuite, Alpn = sh.Alpn,
                });
                _serverHello = sh.WireVersion == 0x0304 && !sh.Resumed ? ServerHelloSeen.Tls13Full : ServerHelloSeen.Other;
                if (sh.WireVersion == 0x0304)
                {
                    // RFC 8446 §2: everything after ServerHello is encrypted in TLS 1.3.
                    d.Done = true;
                }

                break;
            case 11:
                if (TlsParser.TryReadCertificateList(body, out var count, out var leaf))
                {
                    var (subject, issuer, serial) = Names(leaf);
                    if (direction == FlowDirection.ToServer)
                    {
                        Emit(new TlsClientCertificateEvent
                        {
                            Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                            Count = count, Subject = subject, Issuer = issuer, Serial = serial,
                            Sha256 = leaf.IsEmpty ? null : Convert.ToHexStringLower(SHA256.HashData(leaf)),
                        });
                    }
                    else
                    {
                        Emit(new TlsServerCertificateEvent
                        {
                            Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                            Count = count, Subject = subject, Issuer = issuer,
                        });
                    }
                }

                break;
            case 13 when direction == FlowDirection.ToClient:
                Emit(new TlsCertificateRequestEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber });
                break;
            default:
                break;
        }
    }

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

    private static (string? Subject, string? Issuer, string? Serial) Names(ReadOnlySpan<byte> der)
    {
        if (der.IsEmpty)
        {
            return (null, null, null);
        }

        try
        {
            using var cert = X509CertificateLoader.LoadCertificate(der);
            return (cert.Subject, cert.Issuer, cert.SerialNumber);
        }
        catch (CryptographicException)
        {
            return (null, null, null); // an unparseable certificate: the count still says one was sent
        }
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

    private sealed class Direction
    {
        public bool Done;
        public readonly GrowableBuffer Records = new(RecordBufferSize);
        public readonly GrowableBuffer Handshake = new(MaxHandshakeMessage + 4);

        public void Release()
        {
            Records.Release();
            Handshake.Release();
        }
    }
}
