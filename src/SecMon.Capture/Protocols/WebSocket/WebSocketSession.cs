using System.Buffers.Binary;
using System.Text;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.WebSocket;

/// <summary>
/// One HTTP/1.1 stream that may upgrade to WebSocket: reads the client's request headers and the server's response
/// headers (RFC 6455 §4), then, for an upgrade with the <c>mqtt</c> subprotocol, reads each direction as WebSocket
/// frames (§5.2) and hands the unmasked payload of data frames to an <see cref="MqttSession"/> as one byte stream
/// (MQTT packets may span frames, and frames may hold several packets: MQTT 5.0 §6). Control frames (ping, pong,
/// close) are skipped. Everything is bounded: headers to <see cref="MaxHeaderBytes"/>, a frame header to 14 bytes,
/// payloads are streamed, never buffered. When the server agreed to permessage-deflate (RFC 7692: browsers offer it,
/// and brokers such as EMQX and HiveMQ accept it), a message whose first frame has RSV1 set is inflated before it goes
/// on (<see cref="MessageInflater"/>; bounded by <see cref="MaxInflatedMessageBytes"/>). A stream that is not such an
/// upgrade, or whose frames cannot be read (other reserved bits, compressed data that does not inflate, a lost frame
/// header), is left alone from then on and said once as a diagnostic.
/// </summary>
internal sealed class WebSocketSession : IStreamSession
{
    /// <summary>Largest request or response header block read.</summary>
    internal const int MaxHeaderBytes = 8 * 1024; // what common servers accept for a request header block

    /// <summary>Largest inflated compressed message passed on: past it the direction is left alone (a decompression bomb,
    /// or MQTT larger than any broker accepts by default).</summary>
    internal const int MaxInflatedMessageBytes = 16 * 1024 * 1024;

    private readonly FlowContext _flow;
    private readonly ProtocolServices _services;
    private readonly Side _client = new(FlowDirection.ToServer);
    private readonly Side _server = new(FlowDirection.ToClient);
    private IStreamSession? _inner;
    private bool _deflate; // the server agreed to permessage-deflate

    /// <summary>Creates the session of one flow; <paramref name="flow"/> is its to-server context.</summary>
    public WebSocketSession(FlowContext flow, ProtocolServices services)
    {
        _flow = flow;
        _services = services;
    }

    private enum Phase
    {
        Headers,
        Frames,
        Ignored,
    }

    /// <summary>True once both sides agreed on WebSocket with the mqtt subprotocol.</summary>
    internal bool CarriesMqtt => _inner is not null;

    /// <inheritdoc />
    public long IdleHoldMicros => _inner?.IdleHoldMicros ?? 0;

    /// <summary>Why the stream is not read (null while it is).</summary>
    internal string? IgnoredBecause { get; private set; }

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        var side = direction == FlowDirection.ToServer ? _client : _server;
        while (!data.IsEmpty && side.Phase != Phase.Ignored)
        {
            data = side.Phase == Phase.Headers ? Headers(side, data, meta) : Frames(side, data, meta);
        }
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        var side = direction == FlowDirection.ToServer ? _client : _server;
        if (side.Phase == Phase.Frames && side.PayloadLeft > 0 && side.PayloadLeft >= length && side.Compressed)
        {
            Ignore(side, meta, $"{length} bytes of a compressed WebSocket message were lost: the rest cannot be inflated");
            return;
        }

        if (side.Phase == Phase.Frames && side.PayloadLeft > 0 && side.PayloadLeft >= length)
        {
            // The hole is inside a frame's payload: the framing is intact, only MQTT bytes are missing.
            side.PayloadLeft -= length;
            side.MaskAt = (int)((side.MaskAt + length) & 3);
            if (side.Deliver)
            {
                _inner?.OnGap(direction, length, meta);
            }

            if (side.PayloadLeft == 0)
            {
                EndFrame(side, meta);
            }

            return;
        }

        if (side.Phase != Phase.Ignored)
        {
            _inner?.OnGap(direction, length, meta);
            Ignore(side, meta, $"{length} bytes of the stream were lost and the WebSocket framing with them");
        }
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        _inner?.OnClose(meta);
        _client.Release();
        _server.Release();
    }

    private ReadOnlySpan<byte> Headers(Side side, ReadOnlySpan<byte> data, scoped in PacketMeta meta)
    {
        // The end of the header block may straddle segments: look for it in what is held plus the new bytes.
        var held = side.Headers.Length;
        side.Headers.Append(data);
        var block = side.Headers.Span;
        var end = block.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            if (side.Headers.Overflowed || block.Length >= MaxHeaderBytes)
            {
                IgnoreBoth(side, meta, $"HTTP headers longer than {MaxHeaderBytes} bytes", report: true);
            }

            return default;
        }

        var headers = Encoding.Latin1.GetString(block[..end]);
        var rest = data[Math.Max(0, end + 4 - held)..];
        side.Headers.Release();
        if (side.Direction == FlowDirection.ToServer)
        {
            if (!IsUpgradeToKnownSubprotocol(headers, _services.Catalogue, out var inner, out var why))
            {
                IgnoreBoth(side, meta, why, report: false); // plain HTTP, or WebSocket for something else: not ours
                return default;
            }

            // The client may send frames as soon as it has sent the request; the server's answer decides. The inner
            // protocol comes from the catalogue by the subprotocol's name, so WebSocket names no protocol's types.
            _inner ??= inner!.CreateSession(_flow, _services, midStream: false);
        }
        else if (!IsSwitchingToWebSocket(headers, out var why))
        {
            IgnoreBoth(side, meta, why, report: false); // a refused upgrade is the server's business
            return default;
        }
        else
        {
            _deflate = HasToken(headers, "sec-websocket-extensions", "permessage-deflate");
        }

        side.Phase = Phase.Frames;
        return rest;
    }

    private ReadOnlySpan<byte> Frames(Side side, ReadOnlySpan<byte> data, scoped in PacketMeta meta)
    {
        if (side.PayloadLeft == 0 && side.HeaderHave < side.HeaderNeed)
        {
            var take = Math.Min(side.HeaderNeed - side.HeaderHave, data.Length);
            data[..take].CopyTo(side.Header.AsSpan(side.HeaderHave));
            side.HeaderHave += take;
            data = data[take..];
            if (side.HeaderHave == 2)
            {
                var b1 = side.Header[1];
                var lengthBytes = (b1 & 0x7F) switch { 126 => 2, 127 => 8, _ => 0 };
                side.HeaderNeed = 2 + lengthBytes + ((b1 & 0x80) != 0 ? 4 : 0);
            }

            if (side.HeaderHave == side.HeaderNeed && !StartFrame(side, meta))
            {
                return default;
            }

            return data;
        }

        var n = (int)Math.Min(side.PayloadLeft, data.Length);
        if (side.Deliver && _inner is not null && side.Compressed)
        {
            if (!Compressed(side, data[..n], meta))
            {
                return default;
            }
        }
        else if (side.Deliver && _inner is not null && side.Masked)
        {
            DeliverUnmasked(side, data[..n], meta);
        }
        else if (side.Deliver && _inner is not null)
        {
            _inner.OnData(side.Direction, data[..n], meta);
        }
        else
        {
            side.MaskAt = (side.MaskAt + n) & 3;
        }

        side.PayloadLeft -= n;
        if (side.PayloadLeft == 0)
        {
            EndFrame(side, meta);
        }

        return side.Phase == Phase.Ignored ? default : data[n..];
    }

    // A whole frame header is in side.Header: checks it and sets up its payload; false when the stream is dropped.
    private bool StartFrame(Side side, in PacketMeta meta)
    {
        var b0 = side.Header[0];
        var b1 = side.Header[1];
        var opcode = b0 & 0x0F;
        var length = (long)(b1 & 0x7F);
        var at = 2;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(side.Header.AsSpan(2));
            at = 4;
        }
        else if (length == 127)
        {
            var wide = BinaryPrimitives.ReadUInt64BigEndian(side.Header.AsSpan(2));
            if (wide > long.MaxValue)
            {
                Ignore(side, meta, "a WebSocket frame length with its most significant bit set (RFC 6455 §5.2)");
                return false;
            }

            length = (long)wide;
            at = 10;
        }

        var control = opcode >= 8;
        var rsv = b0 & 0x70;
        if (rsv != 0 && !(rsv == 0x40 && _deflate && opcode is 1 or 2))
        {
            // RSV1 is permessage-deflate's "compressed" bit, on a message's first frame only (RFC 7692 §6); anything else
            // belongs to an extension that was not agreed, or that SecMon cannot read.
            Ignore(side, meta, _deflate
                ? $"a WebSocket frame with reserved bits 0x{rsv:x2} set on opcode {opcode} (RFC 7692 §6 allows RSV1 on a message's first frame)"
                : "a WebSocket frame with reserved bits set (a compression extension?); its MQTT cannot be read");
            return false;
        }

        if (opcode is not (0 or 1 or 2 or 8 or 9 or 10) || (control && (length > 125 || (b0 & 0x80) == 0)))
        {
            Ignore(side, meta, $"an invalid WebSocket frame (opcode {opcode}, length {length}, RFC 6455 §5.5)");
            return false;
        }

        side.Masked = (b1 & 0x80) != 0;
        if (side.Masked)
        {
            side.Header.AsSpan(at, 4).CopyTo(side.Mask);
        }

        side.MaskAt = 0;
        side.Deliver = !control;
        side.PayloadLeft = length;
        side.Closing = opcode == 8;
        if (!control)
        {
            side.Fin = (b0 & 0x80) != 0;
            if (opcode != 0)
            {
                side.Compressed = rsv == 0x40; // a message's first frame says; its continuations follow
            }
        }

        if (length == 0)
        {
            EndFrame(side, meta);
        }

        return true;
    }

    private void EndFrame(Side side, in PacketMeta meta)
    {
        side.HeaderHave = 0;
        side.HeaderNeed = 2;
        if (side.Closing)
        {
            side.Phase = Phase.Ignored; // nothing follows a close frame (RFC 6455 §5.5.1)
        }
        else if (side.Deliver && side.Compressed && side.Fin && _inner is not null)
        {
            Inflate(side, meta); // the compressed message is whole
        }
    }

    // A piece of a compressed message's payload: unmasked and held until the message ends.
    private bool Compressed(Side side, ReadOnlySpan<byte> payload, in PacketMeta meta)
    {
        side.Inflater ??= new MessageInflater();
        Span<byte> piece = stackalloc byte[2048];
        while (!payload.IsEmpty)
        {
            var k = side.Masked ? Unmask(side, payload, piece) : payload.Length;
            if (!side.Inflater.Append(side.Masked ? piece[..k] : payload))
            {
                Ignore(side, meta, $"a compressed WebSocket message larger than {MessageInflater.MaxCompressedBytes} bytes");
                return false;
            }

            payload = payload[k..];
        }

        return true;
    }

    // The compressed message is whole: inflated and handed on, piece by piece.
    private void Inflate(Side side, in PacketMeta meta)
    {
        var inflater = side.Inflater!;
        inflater.EndMessage();
        Span<byte> piece = stackalloc byte[4096];
        long total = 0;
        try
        {
            int n;
            while ((n = inflater.Read(piece)) > 0)
            {
                total += n;
                if (total > MaxInflatedMessageBytes)
                {
                    Ignore(side, meta, $"a compressed WebSocket message inflating past {MaxInflatedMessageBytes} bytes");
                    return;
                }

                _inner!.OnData(side.Direction, piece[..n], meta);
            }
        }
        catch (InvalidDataException)
        {
            Ignore(side, meta, "a compressed WebSocket message that does not inflate (RFC 7692 §7.2.2)");
            return;
        }

        if (inflater.Held > 0)
        {
            inflater.Restart(); // a final DEFLATE block ended the stream: the next message starts afresh
        }
    }

    // Client frames are masked (RFC 6455 §5.3): unmasked piece by piece on the stack, so a session holds no buffer
    // however large the segments are (the MQTT session copies what it keeps).
    private void DeliverUnmasked(Side side, ReadOnlySpan<byte> payload, in PacketMeta meta)
    {
        Span<byte> piece = stackalloc byte[2048];
        while (!payload.IsEmpty)
        {
            var k = Unmask(side, payload, piece);
            _inner!.OnData(side.Direction, piece[..k], meta);
            payload = payload[k..];
        }
    }

    // Unmasks as much of payload as fits in piece; returns how much.
    private static int Unmask(Side side, ReadOnlySpan<byte> payload, Span<byte> piece)
    {
        var k = Math.Min(payload.Length, piece.Length);
        for (var i = 0; i < k; i++)
        {
            piece[i] = (byte)(payload[i] ^ side.Mask[side.MaskAt]);
            side.MaskAt = (side.MaskAt + 1) & 3;
        }

        return k;
    }

    private void Ignore(Side side, in PacketMeta meta, string why)
    {
        side.Phase = Phase.Ignored;
        side.Release();
        if (IgnoredBecause is null)
        {
            IgnoredBecause = why;
            _services.Stats.MalformedMessages++;
            _services.Diagnostics.Report(DiagnosticKind.MalformedProtocol, meta,
                $"websocket: {why}, {(side.Direction == FlowDirection.ToServer ? "client to server" : "server to client")}; the rest of this direction is not dissected");
        }
    }

    private void IgnoreBoth(Side side, in PacketMeta meta, string why, bool report)
    {
        if (report)
        {
            Ignore(side, meta, why);
        }

        IgnoredBecause ??= why;
        _client.Phase = Phase.Ignored;
        _server.Phase = Phase.Ignored;
        _client.Headers.Release();
        _server.Headers.Release();
    }

    // The request asks to upgrade to WebSocket (RFC 6455 §4.1) and offers a subprotocol (RFC 6455 §1.9) that names a
    // stream protocol of the catalogue (WebSocketProtocol.Subprotocols).
    private static bool IsUpgradeToKnownSubprotocol(string headers, ProtocolCatalogue catalogue, out IStreamProtocol? inner, out string why)
    {
        inner = null;
        if (!HasToken(headers, "upgrade", "websocket"))
        {
            why = "an HTTP request that is not a WebSocket upgrade";
            return false;
        }

        foreach (var (subprotocol, protocol) in WebSocketProtocol.Subprotocols)
        {
            if (HasToken(headers, "sec-websocket-protocol", subprotocol) && catalogue.FindStream(protocol) is { } found)
            {
                inner = found;
                why = "";
                return true;
            }
        }

        why = "a WebSocket upgrade for a subprotocol SecMon does not dissect";
        return false;
    }

    // The response switches protocols (101); the extensions it agreed to are read by the caller.
    private static bool IsSwitchingToWebSocket(string headers, out string why)
    {
        var lineEnd = headers.IndexOf('\r', StringComparison.Ordinal);
        var statusLine = lineEnd < 0 ? headers : headers[..lineEnd];
        if (!statusLine.StartsWith("HTTP/1.1 101 ", StringComparison.Ordinal) && statusLine != "HTTP/1.1 101")
        {
            why = $"the server did not switch to WebSocket ({statusLine})";
            return false;
        }

        why = "";
        return true;
    }

    // True when a header named `name` (any case) lists `token` (any case) among its comma-separated values.
    internal static bool HasToken(string headers, string name, string token)
    {
        foreach (var line in headers.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var value in line[(colon + 1)..].Split(','))
            {
                var v = value.Trim();
                var semicolon = v.IndexOf(';', StringComparison.Ordinal);
                if ((semicolon >= 0 ? v[..semicolon].TrimEnd() : v).Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private sealed class Side(FlowDirection direction)
    {
        public FlowDirection Direction { get; } = direction;

        public Phase Phase { get; set; }

        public GrowableBuffer Headers { get; } = new(MaxHeaderBytes);

        public byte[] Header { get; } = new byte[14];

        public int HeaderHave { get; set; }

        public int HeaderNeed { get; set; } = 2;

        public long PayloadLeft { get; set; }

        public bool Masked { get; set; }

        public byte[] Mask { get; } = new byte[4];

        public int MaskAt { get; set; }

        public bool Deliver { get; set; }

        public bool Closing { get; set; }

        public bool Fin { get; set; }

        public bool Compressed { get; set; }

        public MessageInflater? Inflater { get; set; }

        public void Release()
        {
            Headers.Release();
            Inflater?.Dispose();
            Inflater = null;
        }
    }
}
