using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Coap;

/// <summary>
/// Per-connection CoAP over TCP (RFC 8323): frames each direction's bytes (§3.2), hands requests and responses to a
/// <see cref="CoapSession"/> over TCP (joined by token, §3.3; events as over UDP without type and message id) and
/// skips signalling messages (7.01 CSM, Ping, Pong, Release, Abort: §5) and empty messages (0.00, §3.4), which carry no
/// request. A partial frame is buffered up to <see cref="CoapOptions.MaxTcpMessageBytes"/>; a longer one is counted
/// (<c>too_large</c>) and its bytes skipped as they arrive. A gap loses the frame boundary (the framing has no marker
/// to find again), so the direction is not read further.
/// </summary>
internal sealed class CoapTcpSession : IStreamSession
{
    private readonly CoapSession _messages;
    private readonly ProtocolServices _services;
    private readonly int _maxMessage;
    private readonly Direction _client;
    private readonly Direction _server;

    /// <summary>Creates the session of one connection; <paramref name="flow"/> is its to-server context.</summary>
    public CoapTcpSession(FlowContext flow, ProtocolServices services, CoapOptions options)
    {
        _services = services;
        _messages = new CoapSession(flow, services, options, overTcp: true);
        _maxMessage = Math.Max(64, options.MaxTcpMessageBytes);
        _client = new Direction(_maxMessage);
        _server = new Direction(_maxMessage);
    }

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        var d = direction == FlowDirection.ToServer ? _client : _server;
        while (!data.IsEmpty && !d.Lost)
        {
            if (d.Skip > 0)
            {
                var n = (int)Math.Min(d.Skip, data.Length);
                d.Skip -= n;
                data = data[n..];
                continue;
            }

            if (d.Buffer.Length == 0)
            {
                // Whole frames straight from the segment; only a frame's unfinished start is copied.
                var used = ReadFrames(direction, d, data, meta);
                data = data[used..];
                if (d.Skip == 0 && !d.Lost)
                {
                    d.Buffer.Append(data);
                    data = default;
                }

                continue;
            }

            // The buffer holds an unfinished frame: add only what it still needs, then read it.
            var held = d.Buffer.Span;
            var need = CoapParser.TryReadTcpFrameLength(held, out var frameLength)
                ? frameLength - held.Length
                : CoapParser.TcpPrefixLength(held[0]) - held.Length;
            var take = (int)Math.Min(need, data.Length);
            d.Buffer.Append(data[..take]);
            data = data[take..];
            var consumed = ReadFrames(direction, d, d.Buffer.Span, meta);
            if (consumed > 0)
            {
                d.Buffer.Release();
            }
        }
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        var d = direction == FlowDirection.ToServer ? _client : _server;
        d.Buffer.Release();
        d.Lost = true;
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        foreach (var (d, name) in new[] { (_client, "to server"), (_server, "to client") })
        {
            if (d.Buffer.Length > 0 && !d.Lost)
            {
                _services.Stats.CountMalformed("coap", MalformedReason.Truncated);
                _services.Diagnostics.ReportMalformed(meta, "coap", MalformedReason.Truncated,
                    $"coap: a {d.Buffer.Length}-byte message left unfinished when the connection ended ({name})");
            }

            d.Buffer.Release();
        }

        _messages.OnClose(meta);
    }

    // Reads the whole frames at the start of data; returns the bytes used (a frame too large to buffer: all of data,
    // with the rest to skip set).
    private int ReadFrames(FlowDirection direction, Direction d, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        var position = 0;
        while (CoapParser.TryReadTcpFrameLength(data[position..], out var frameLength))
        {
            var available = data.Length - position;
            if (frameLength > _maxMessage)
            {
                _services.Stats.CountMalformed("coap", MalformedReason.TooLarge);
                _services.Diagnostics.ReportMalformed(meta, "coap", MalformedReason.TooLarge,
                    $"coap: a {frameLength}-byte message over TCP, past the {_maxMessage}-byte limit: skipped ({Name(direction)})");
                d.Skip = frameLength - available;
                return data.Length;
            }

            if (frameLength > available)
            {
                break;
            }

            OnFrame(direction, d, data.Slice(position, (int)frameLength), meta);
            position += (int)frameLength;
            if (d.Lost)
            {
                return data.Length;
            }
        }

        return position;
    }

    private void OnFrame(FlowDirection direction, Direction d, ReadOnlySpan<byte> frame, in PacketMeta meta)
    {
        if (!CoapParser.TryParseTcp(frame, out var m, out var error, out var offset))
        {
            _services.Stats.CountMalformed("coap", error.Reason);
            _services.Diagnostics.ReportMalformed(meta, "coap", error.Reason,
                $"coap: {error} (byte {offset} of a {frame.Length}-byte message over TCP, {Name(direction)})");
            // Before any good frame this is not CoAP framing at all (a capture that began mid-stream): stop reading.
            d.Lost = !d.Framed;
            return;
        }

        d.Framed = true;
        if (m.CodeClass == 7 || m.IsEmpty)
        {
            return; // signalling (§5) or empty (§3.4): no request or response
        }

        _messages.OnMessage(direction, ref m, meta);
    }

    private static string Name(FlowDirection direction) => direction == FlowDirection.ToServer ? "to server" : "to client";

    private sealed class Direction(int maxMessage)
    {
        public readonly GrowableBuffer Buffer = new(maxMessage);
        public long Skip;
        public bool Lost;
        public bool Framed;
    }
}
