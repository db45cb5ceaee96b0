using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Http;

/// <summary>
/// Per-flow HTTP/1.x state (Suricata's <c>http</c> parser shape): each direction is a small state machine over the
/// reassembled bytes, head (start line and header fields, buffered up to <see cref="HttpOptions.MaxHeaderBytes"/>),
/// then a body skipped by its framing (RFC 9112 §6.3: Content-Length, chunked, or until the connection closes), then the
/// next head. Requests are remembered until their responses arrive and joined to them
/// (<c>HttpSession.Transactions.cs</c>).
/// </summary>
/// <remarks>
/// <para>Malformed input (a bad start line, a header field without a colon or with whitespace before it, differing
/// Content-Length values, a transfer coding other than chunked last in a request, a head over the limits, a bad chunk
/// size) is reported once per message with its <see cref="MalformedReason"/> (diagnostic, counter and an
/// <c>http.malformed</c> event); the direction then resynchronises: it skips to the next line that begins a valid
/// start line, silently (bytes skipped are counted in <see cref="ResyncSkippedBytes"/>). A gap does the same unless it
/// falls inside a body of known length.</para>
/// <para>Upgrades: a 101 response or a 2xx answer to CONNECT ends HTTP on the flow (what follows is another protocol or
/// a tunnel). A WebSocket upgrade request is also handed to the catalogue's <c>websocket</c> protocol, see
/// <see cref="HttpProtocol"/>. A tunnel's bytes go to a <see cref="StreamDispatcher"/> of their own, which recognises
/// what the tunnel carries by content (TLS to the origin, MQTT, HTTP), the CONNECT's port being the hint; tunnels nest
/// at most <see cref="ProtocolServices.MaxTunnelDepth"/> deep.</para>
/// </remarks>
internal sealed partial class HttpSession : IStreamSession
{
    private const string ProtocolName = "http";

    private readonly FlowContext _toServer;
    private readonly ProtocolServices _services;
    private readonly HttpProtocol _protocol;
    private readonly HttpOptions _options;
    private readonly int _maxHeaderBytes;
    private readonly Side _client;
    private readonly Side _server;
    private IStreamSession? _upgrade;
    private IStreamSession? _tunnel;
    private GrowableBuffer? _early;
    private bool _closed;

    /// <summary>Creates the session of one flow; <paramref name="toServer"/> is the client-to-server context.</summary>
    public HttpSession(FlowContext toServer, ProtocolServices services, HttpProtocol protocol, bool midStream)
    {
        ArgumentNullException.ThrowIfNull(toServer);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(protocol);
        _toServer = toServer;
        _services = services;
        _protocol = protocol;
        _options = protocol.Options;
        _maxHeaderBytes = Math.Max(_options.MaxHeaderBytes, 256);
        _client = new Side(FlowDirection.ToServer, _maxHeaderBytes);
        _server = new Side(FlowDirection.ToClient, _maxHeaderBytes);
        if (midStream)
        {
            // Look for the next message start; a segment boundary is a good guess for one.
            StartResync(_client, atLineStart: true);
            StartResync(_server, atLineStart: true);
            _untracked = true;
        }
    }

    private enum State
    {
        /// <summary>A start line and header fields.</summary>
        Head,
        /// <summary>A body of known length (Content-Length).</summary>
        Body,
        /// <summary>A chunk-size line.</summary>
        ChunkLine,
        /// <summary>Chunk data.</summary>
        ChunkData,
        /// <summary>The CRLF after chunk data.</summary>
        ChunkEnd,
        /// <summary>The trailer section after the last chunk.</summary>
        Trailers,
        /// <summary>A body that ends when the connection does; nothing more is read.</summary>
        UntilClose,
        /// <summary>Looking for the next message start after malformed input or a gap.</summary>
        Resync,
        /// <summary>Not HTTP any more (after 101 or CONNECT), or waiting for the answer to an upgrade handed over.</summary>
        Ignored,
        /// <summary>The client sent CONNECT: what it sends before the proxy's answer is held, for the tunnel if the proxy
        /// grants it, read as HTTP again if it refuses.</summary>
        AwaitingTunnel,
    }

    /// <summary>Bytes skipped while resynchronising (both directions).</summary>
    internal long ResyncSkippedBytes => _client.Skipped + _server.Skipped;

    /// <summary>Most bytes a direction ever held buffered (tests check that bodies are not buffered).</summary>
    internal int MaxBufferedBytes(FlowDirection direction) => SideOf(direction).MaxBuffered;

    /// <summary>True once the stream was handed to the WebSocket protocol.</summary>
    internal bool HandedOver => _upgrade is not null;

    /// <inheritdoc />
    public long IdleHoldMicros => Math.Max(_tunnel?.IdleHoldMicros ?? 0, _upgrade?.IdleHoldMicros ?? 0);

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        // After a WebSocket upgrade request the inner session sees every byte from that request on.
        _upgrade?.OnData(direction, data, meta);
        var side = SideOf(direction);
        while (!data.IsEmpty)
        {
            switch (side.State)
            {
                case State.Head:
                case State.Trailers:
                    data = Head(side, data, meta);
                    break;
                case State.Body:
                case State.ChunkData:
                    var n = (int)Math.Min(side.Left, data.Length);
                    side.Left -= n;
                    data = data[n..];
                    if (side.Left == 0)
                    {
                        side.State = side.State == State.Body ? State.Head : State.ChunkEnd;
                    }

                    break;
                case State.ChunkLine:
                    data = ChunkLine(side, data, meta);
                    break;
                case State.ChunkEnd:
                    data = ChunkEnd(side, data, meta);
                    break;
                case State.Resync:
                    data = Resync(side, data);
                    break;
                case State.AwaitingTunnel:
                    (_early ??= new GrowableBuffer(ProtocolServices.MaxEarlyTunnelBytes)).Append(data);
                    return;
                default:
                    if (side.State == State.Ignored)
                    {
                        _tunnel?.OnData(direction, data, meta); // after a CONNECT's 2xx, the rest is the tunnel's
                    }

                    return; // UntilClose, Ignored
            }
        }
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        if (_closed || length <= 0)
        {
            return;
        }

        _upgrade?.OnGap(direction, length, meta);
        var side = SideOf(direction);
        string outcome;
        if (side.State is State.Body or State.ChunkData && side.Left > length)
        {
            side.Left -= length; // inside a body of known length: the framing holds
            outcome = "inside a body, framing kept";
        }
        else if (side.State is State.UntilClose or State.Ignored)
        {
            if (side.State == State.Ignored)
            {
                _tunnel?.OnGap(direction, length, meta);
            }

            return;
        }
        else
        {
            if (side.State == State.AwaitingTunnel)
            {
                _early = null; // the tunnel's first bytes are lost: it starts mid-stream if granted
            }

            StartResync(side, atLineStart: true); // the next segment often starts a message; a candidate is checked
            LoseTrack(); // requests or responses were lost: joins would be wrong
            outcome = "resynchronising at the next message";
        }

        _services.Diagnostics.Report(DiagnosticKind.ReassemblyGap, meta,
            $"http: {length} bytes missing from the {side.Name} stream; {outcome}");
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        _upgrade?.OnClose(meta);
        _tunnel?.OnClose(meta);
        _early = null;
        foreach (var side in (ReadOnlySpan<Side>)[_client, _server])
        {
            if (side.State == State.Head && side.Buffer.Length > 0 && !side.Resyncing)
            {
                Malformed(side, meta, new ParseError(MalformedReason.Truncated, "header block", "the connection closed inside it"));
            }

            side.Buffer.Release();
        }

        _closed = true;
    }

    private Side SideOf(FlowDirection direction) => direction == FlowDirection.ToServer ? _client : _server;

    private FlowContext FlowOf(FlowDirection direction) =>
        direction == FlowDirection.ToServer ? _toServer : _toServer.Reverse ?? _toServer.CreateReverse();

    /// <summary>Reads a head (or a trailer section) up to its empty line; returns the bytes after what it consumed.</summary>
    private ReadOnlySpan<byte> Head(Side side, ReadOnlySpan<byte> data, scoped in PacketMeta meta)
    {
        var trailers = side.State == State.Trailers;
        var held = side.Buffer.Length;
        if (held == 0 && !trailers)
        {
            // Empty lines before a start line are ignored (RFC 9112 §2.2).
            var skip = 0;
            while (skip < data.Length && data[skip] is (byte)'\r' or (byte)'\n')
            {
                skip++;
            }

            data = data[skip..];
            if (data.IsEmpty)
            {
                return data;
            }
        }

        ReadOnlySpan<byte> block;
        int taken;
        if (held == 0)
        {
            block = data.Length > _maxHeaderBytes ? data[.._maxHeaderBytes] : data;
            taken = block.Length;
        }
        else
        {
            taken = Math.Min(data.Length, _maxHeaderBytes - held);
            side.Buffer.Append(data[..taken]);
            block = side.Buffer.Span;
        }

        var end = HttpParser.FindEmptyLine(block, ref side.ScanFrom, ref side.Lines);
        if (!trailers && !side.StartChecked && (end >= 0 || side.Lines > 0))
        {
            // The start line is complete: check it now, so garbage is not buffered up to the limit.
            HttpParser.TryFirstLine(block, out var line, out var next);
            side.StartChecked = true;
            if (!IsStartLine(side, line, out var error))
            {
                if (side.Resyncing)
                {
                    side.Skipped += next; // a candidate that was not a start line
                }
                else
                {
                    Malformed(side, meta, error);
                    LoseTrack();
                }

                StartResync(side, atLineStart: true);
                return data[(next - held)..];
            }

            side.Resyncing = false; // a valid start line: what is wrong with this message from here on is reported
        }

        if (end < 0)
        {
            if (side.Lines > _options.MaxHeaders + 1 || block.Length >= _maxHeaderBytes)
            {
                var error = side.Lines > _options.MaxHeaders + 1
                    ? new ParseError(MalformedReason.TooLarge, "header fields", $"more than {_options.MaxHeaders}")
                    : new ParseError(MalformedReason.TooLarge, trailers ? "trailer section" : "header block", $"longer than {_maxHeaderBytes} bytes");
                if (!side.Resyncing)
                {
                    Malformed(side, meta, error);
                    LoseTrack();
                }

                StartResync(side, atLineStart: false);
                return data[taken..];
            }

            if (held == 0)
            {
                side.Buffer.Append(block);
                side.MaxBuffered = Math.Max(side.MaxBuffered, side.Buffer.Length);
            }
            else
            {
                side.MaxBuffered = Math.Max(side.MaxBuffered, side.Buffer.Length);
            }

            return default;
        }

        var rest = data[(end - held)..];
        var head = block[..end];
        side.ScanFrom = 0;
        side.Lines = 0;
        side.StartChecked = false;
        if (trailers)
        {
            side.Buffer.Release();
            side.State = State.Head;
            return rest;
        }

        ParseError failed;
        if (side.Direction == FlowDirection.ToServer)
        {
            failed = OnRequest(head, rest.Length == 0 ? default : rest, meta, out var handedOver);
            side.Buffer.Release();
            if (handedOver)
            {
                return default; // the rest of this segment went to the WebSocket session
            }
        }
        else
        {
            failed = OnResponse(head, meta);
            side.Buffer.Release();
        }

        if (failed.IsError)
        {
            if (!side.Resyncing)
            {
                Malformed(side, meta, failed);
            }

            StartResync(side, atLineStart: true);
            LoseTrack();
        }
        else
        {
            side.Resyncing = false;
        }

        return rest;
    }

    private static bool IsStartLine(Side side, ReadOnlySpan<byte> line, out ParseError error) =>
        side.Direction == FlowDirection.ToServer
            ? HttpParser.TryReadRequestLine(line, out _, out _, out _, out error)
            : HttpParser.TryReadStatusLine(line, out _, out _, out error);

    private ReadOnlySpan<byte> ChunkLine(Side side, ReadOnlySpan<byte> data, scoped in PacketMeta meta)
    {
        var held = side.Buffer.Length;
        var lf = data.IndexOf((byte)'\n');
        ReadOnlySpan<byte> line;
        if (lf < 0)
        {
            side.Buffer.Append(data);
            if (side.Buffer.Length > HttpParser.MaxChunkLineBytes || side.Buffer.Overflowed)
            {
                Malformed(side, meta, new ParseError(MalformedReason.TooLarge, "chunk size line", $"longer than {HttpParser.MaxChunkLineBytes} bytes"));
                StartResync(side, atLineStart: false);
                LoseTrack();
            }

            return default;
        }

        if (held > 0)
        {
            side.Buffer.Append(data[..(lf + 1)]);
            if (side.Buffer.Overflowed)
            {
                Malformed(side, meta, new ParseError(MalformedReason.TooLarge, "chunk size line", $"longer than {_maxHeaderBytes} bytes"));
                StartResync(side, atLineStart: true);
                LoseTrack();
                return data[(lf + 1)..];
            }

            line = side.Buffer.Span;
        }
        else
        {
            line = data[..(lf + 1)];
        }

        line = line[..^1];
        if (!line.IsEmpty && line[^1] == '\r')
        {
            line = line[..^1];
        }

        long size = 0;
        var error = line.Length > HttpParser.MaxChunkLineBytes
            ? new ParseError(MalformedReason.TooLarge, "chunk size line", $"longer than {HttpParser.MaxChunkLineBytes} bytes")
            : HttpParser.TryReadChunkSize(line, out size, out var e) ? default : e;
        side.Buffer.Release();
        if (error.IsError)
        {
            Malformed(side, meta, error);
            StartResync(side, atLineStart: true);
            LoseTrack();
            return data[(lf + 1)..];
        }

        if (size == 0)
        {
            side.State = State.Trailers; // the last chunk; a trailer section and the empty line follow
        }
        else
        {
            side.Left = size;
            side.State = State.ChunkData;
        }

        return data[(lf + 1)..];
    }

    private ReadOnlySpan<byte> ChunkEnd(Side side, ReadOnlySpan<byte> data, scoped in PacketMeta meta)
    {
        // CRLF after chunk data (RFC 9112 §7.1); a bare LF is let through like elsewhere.
        if (data[0] == '\r' && !side.SawCr)
        {
            side.SawCr = true;
            return data[1..];
        }

        side.SawCr = false;
        if (data[0] == '\n')
        {
            side.State = State.ChunkLine;
            return data[1..];
        }

        Malformed(side, meta, new ParseError(MalformedReason.BadLength, "chunk data", "longer than its chunk size (no CRLF after it)"));
        StartResync(side, atLineStart: false);
        LoseTrack();
        return data;
    }

    /// <summary>Skips to the next line whose first byte may begin a start line (a method's capital letter; <c>H</c> of
    /// HTTP/1.x), then lets <see cref="Head"/> judge it (silently while resynchronising).</summary>
    private static ReadOnlySpan<byte> Resync(Side side, ReadOnlySpan<byte> data)
    {
        var i = 0;
        while (i < data.Length)
        {
            if (!side.AtLineStart)
            {
                var lf = data[i..].IndexOf((byte)'\n');
                if (lf < 0)
                {
                    side.Skipped += data.Length - i;
                    return default;
                }

                i += lf + 1;
                side.AtLineStart = true;
                continue;
            }

            var b = data[i];
            var candidate = side.Direction == FlowDirection.ToServer ? b is >= (byte)'A' and <= (byte)'Z' : b == 'H';
            if (candidate)
            {
                side.Skipped += i;
                side.State = State.Head;
                return data[i..];
            }

            if (b is not ((byte)'\r' or (byte)'\n'))
            {
                side.AtLineStart = false;
            }

            i++;
        }

        side.Skipped += data.Length;
        return default;
    }

    private static void StartResync(Side side, bool atLineStart)
    {
        side.State = State.Resync;
        side.Resyncing = true;
        side.AtLineStart = atLineStart;
        side.Buffer.Release();
        side.ScanFrom = 0;
        side.Lines = 0;
        side.StartChecked = false;
        side.SawCr = false;
        side.Left = 0;
    }

    private void Malformed(Side side, in PacketMeta meta, in ParseError error)
    {
        var message = $"http: {error}, in a {(side.Direction == FlowDirection.ToServer ? "request" : "response")} {side.Name}";
        _services.Diagnostics.ReportMalformed(meta, ProtocolName, error.Reason, message);
        _services.Stats.CountMalformed(ProtocolName, error.Reason);
        _services.Events.Emit(new HttpMalformedEvent
        {
            Flow = FlowOf(side.Direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            ErrorMessage = message,
        });
    }

    private sealed class Side(FlowDirection direction, int maxHeaderBytes)
    {
        public readonly FlowDirection Direction = direction;
        public readonly GrowableBuffer Buffer = new(maxHeaderBytes);
        public State State;
        public long Left;
        public int ScanFrom;
        public int Lines;
        public bool StartChecked;
        public bool SawCr;
        public bool Resyncing;
        public bool AtLineStart;
        public long Skipped;
        public int MaxBuffered;

        public string Name => Direction == FlowDirection.ToServer ? "client to server" : "server to client";
    }
}
