using System.Security.Cryptography;
using System.Text;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Ftp;

/// <summary>
/// Per-flow state of an FTP control connection (Suricata's <c>ftp</c> parser shape): each direction is cut into lines
/// (CRLF, RFC 959 §4.1.3; only a line split across segments is copied, up to <see cref="FtpOptions.MaxLineBytes"/>),
/// client lines are commands kept in order until their final reply (multi-line replies, §4.2, are read to their last
/// line), and the pair becomes one <c>ftp.command</c>; the replies to USER and PASS decide an <c>ftp.login</c>.
/// </summary>
/// <remarks>
/// <para>Secrets: the argument of PASS is hashed with the run's keyed <see cref="Core.SecretHasher"/> where it lies and
/// never copied into a string; a PASS line split across segments is copied into the line buffer, which is zeroed after
/// every line. Anonymous logins (user anonymous or ftp, RFC 1635) are not hashed: their password is an e-mail address by
/// convention.</para>
/// <para>AUTH TLS (RFC 4217): once the server accepts it (234) the rest of the connection is TLS; FTP reads no more, says
/// so on that command's event (<c>ftp.control.encrypted</c>), and hands the bytes to the catalogue's <c>tls</c>
/// protocol, which reads the handshake as on any TLS connection.</para>
/// <para>Data connections: a successful PASV or EPSV reply, or PORT or EPRT command, announces an endpoint to the run's
/// <see cref="FtpDataChannels"/>; the next transfer command (RETR, STOR, LIST...) is noted on it for the
/// <c>ftp.data</c> event of the connection that claims it.</para>
/// <para>Malformed lines (a command that is not a 3- or 4-letter verb, a reply without a code, a line over the limit)
/// are reported with their <see cref="MalformedReason"/>; after <see cref="FtpOptions.MaxMalformedInARow"/> in a row the
/// direction is not read any more. A gap drops the partial line and the direction resumes at the next line.</para>
/// </remarks>
internal sealed class FtpSession : IStreamSession
{
    private const string ProtocolName = "ftp";

    private readonly FlowContext _toServer;
    private readonly ProtocolServices _services;
    private readonly FtpProtocol _protocol;
    private readonly int _maxLine;
    private readonly int _maxPending;
    private readonly int _maxText;
    private readonly int _maxReplyLines;
    private readonly int _maxMalformed;
    private readonly Side _client = new(FlowDirection.ToServer);
    private readonly Side _server = new(FlowDirection.ToClient);
    private readonly Queue<Pending> _pending = new();

    // The preliminary reply (1xx) of the oldest command waiting: only that one can get one, so it lives here rather than
    // in each queued command (which is a struct, no object per command).
    private int? _headPreliminary;
    private string? _user;
    private bool _anonymous;
    private bool _passwordSent;
    private string? _passwordHash;
    private bool _authRequested;
    private bool _greeted;
    private AnnouncedChannel? _announced;
    private IStreamSession? _tls;
    private bool _encrypted;
    private bool _closed;

    // A multi-line reply being read: its code (0 when none), the text of its first line, its continuation lines.
    private int _replyCode;
    private string? _replyText;
    private int _replyLines;

    /// <summary>Creates the session of one control connection; <paramref name="toServer"/> is the client-to-server context.</summary>
    public FtpSession(FlowContext toServer, ProtocolServices services, FtpProtocol protocol, bool midStream)
    {
        ArgumentNullException.ThrowIfNull(toServer);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(protocol);
        _toServer = toServer;
        _services = services;
        _protocol = protocol;
        var o = protocol.Options;
        _maxLine = Math.Clamp(o.MaxLineBytes, 64, 65_536);
        _maxPending = Math.Clamp(o.MaxPendingCommands, 1, 256);
        _maxText = Math.Clamp(o.MaxReplyTextChars, 0, 1024);
        _maxReplyLines = Math.Max(1, o.MaxReplyLines);
        _maxMalformed = Math.Max(1, o.MaxMalformedInARow);
        if (midStream)
        {
            // The greeting is long gone; a segment boundary is a good guess for a line start.
            _greeted = true;
        }
    }

    /// <summary>True once AUTH TLS was accepted.</summary>
    internal bool Encrypted => _encrypted;

    /// <summary>Commands waiting for their replies.</summary>
    internal int PendingCommands => _pending.Count;

    /// <summary>Most bytes a direction ever held in its line buffer.</summary>
    internal int MaxBufferedBytes(FlowDirection direction) => SideOf(direction).MaxBuffered;

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        if (_encrypted)
        {
            _tls?.OnData(direction, data, meta);
            return;
        }

        var side = SideOf(direction);
        while (!data.IsEmpty && !side.Dead)
        {
            var lf = data.IndexOf((byte)'\n');
            if (side.Skipping)
            {
                if (lf < 0)
                {
                    return;
                }

                side.Skipping = false;
                data = data[(lf + 1)..];
                continue;
            }

            if (lf < 0)
            {
                if (side.Length + data.Length > _maxLine)
                {
                    Overlong(side, meta);
                    return;
                }

                side.Append(data, _maxLine);
                return;
            }

            ReadOnlySpan<byte> line;
            if (side.Length > 0)
            {
                if (side.Length + lf > _maxLine)
                {
                    Overlong(side, meta);
                    side.Skipping = false;
                    data = data[(lf + 1)..];
                    continue;
                }

                side.Append(data[..lf], _maxLine);
                line = side.Buffer.AsSpan(0, side.Length);
            }
            else
            {
                if (lf > _maxLine)
                {
                    Overlong(side, meta);
                    side.Skipping = false;
                    data = data[(lf + 1)..];
                    continue;
                }

                line = data[..lf];
            }

            data = data[(lf + 1)..];
            if (direction == FlowDirection.ToServer)
            {
                ClientLine(FtpParser.TrimEnd(line), meta);
            }
            else
            {
                ServerLine(FtpParser.TrimEnd(line), meta);
            }

            side.Clear();
            if (_encrypted)
            {
                if (!data.IsEmpty)
                {
                    _tls?.OnData(direction, data, meta);
                }

                return;
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

        if (_encrypted)
        {
            _tls?.OnGap(direction, length, meta);
            return;
        }

        var side = SideOf(direction);
        var inLine = side.Length > 0;
        side.Clear();
        side.Skipping = inLine; // the rest of a line begun before the gap is not a line
        if (direction == FlowDirection.ToClient)
        {
            _replyCode = 0;
        }
        else
        {
            // Commands were lost: the replies to come cannot be joined to the ones still waiting.
            FlushPending();
        }

        _services.Diagnostics.Report(DiagnosticKind.ReassemblyGap, meta,
            $"ftp: {length} bytes missing from the {side.Name} stream; {(inLine ? "the partial line dropped, " : "")}resuming at the next line");
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        if (_encrypted)
        {
            _tls?.OnClose(meta);
            return;
        }

        foreach (var side in (ReadOnlySpan<Side>)[_client, _server])
        {
            if (side.Length > 0 && !side.Dead)
            {
                Malformed(side, meta, new ParseError(MalformedReason.Truncated, "line", $"the connection closed {side.Length} bytes into it"));
            }

            side.Release();
        }

        FlushPending();
    }

    private Side SideOf(FlowDirection direction) => direction == FlowDirection.ToServer ? _client : _server;

    private FlowContext FlowOf(FlowDirection direction) =>
        direction == FlowDirection.ToServer ? _toServer : _toServer.Reverse ?? _toServer.CreateReverse();

    private void ClientLine(ReadOnlySpan<byte> line, in PacketMeta meta)
    {
        if (line.IsEmpty)
        {
            return; // an empty line is not a command (some clients send a bare CRLF to keep alive)
        }

        if (_authRequested && line[0] == 0x16)
        {
            // A TLS record (handshake, RFC 8446 §5.1) after AUTH: the acceptance was missed, the rest is encrypted.
            _encrypted = true;
            _pending.Clear();
            _headPreliminary = null;
            return;
        }

        if (!FtpParser.TryReadCommand(line, out var verbBytes, out var arg, out var error))
        {
            Malformed(_client, meta, error);
            return;
        }

        _client.MalformedInARow = 0;
        var verb = FtpParser.Verb(verbBytes);
        string? argument = null;
        if (verb == "PASS")
        {
            // The password never leaves this span: a keyed tag of it for a named account, nothing for anonymous.
            _passwordSent = !_anonymous;
            _passwordHash = _anonymous ? null : _services.SecretHasher.Hash(arg);
        }
        else if (!arg.IsEmpty)
        {
            argument = FtpParser.Text(arg, _maxLine);
        }

        var pending = new Pending(verb, meta.TimestampMicros, meta.PacketNumber, argument, verb is "PORT" or "EPRT" ? argument : null);
        switch (verb)
        {
            case "USER":
                _user = argument;
                _anonymous = argument is not null &&
                             (argument.Equals("anonymous", StringComparison.OrdinalIgnoreCase) || argument.Equals("ftp", StringComparison.OrdinalIgnoreCase));
                _passwordSent = false;
                _passwordHash = null;
                break;
            case "AUTH":
                _authRequested = true;
                break;
            default:
                if (FtpParser.IsTransfer(verb) && _announced is { } channel)
                {
                    channel.Command = verb;
                    channel.Argument = argument;
                    _announced = null;
                }

                break;
        }

        if (_pending.Count >= _maxPending && TryDequeue(out var oldest, out var preliminary))
        {
            Unanswered(oldest, preliminary);
        }

        _pending.Enqueue(pending);
    }

    private void ServerLine(ReadOnlySpan<byte> line, in PacketMeta meta)
    {
        if (_replyCode > 0)
        {
            // Inside a multi-line reply: only "code SP" (or the code alone) with the same code ends it (RFC 959 §4.2).
            if (FtpParser.TryReadReplyCode(line, out var last, out var sep) && last == _replyCode && sep != '-')
            {
                var code = _replyCode;
                _replyCode = 0;
                Reply(code, default, _replyText, meta);
            }
            else if (++_replyLines > _maxReplyLines)
            {
                _replyCode = 0;
                Malformed(_server, meta, new ParseError(MalformedReason.TooLarge, "multi-line reply", $"more than {_maxReplyLines} lines"));
            }

            return;
        }

        if (line.IsEmpty)
        {
            return;
        }

        if (!FtpParser.TryReadReplyCode(line, out var replyCode, out var separator))
        {
            Malformed(_server, meta, new ParseError(MalformedReason.BadValue, "reply code", "not three digits 1xx-5xx followed by a space or '-'"));
            return;
        }

        _server.MalformedInARow = 0;
        var text = line.Length > 4 ? line[4..] : default;
        if (separator == '-')
        {
            _replyCode = replyCode;
            _replyText = FtpParser.Text(text, _maxText);
            _replyLines = 0;
            return;
        }

        Reply(replyCode, text, null, meta);
    }

    private void Reply(int code, ReadOnlySpan<byte> textBytes, string? text, in PacketMeta meta)
    {
        text ??= FtpParser.Text(textBytes, _maxText);
        if (code < 200)
        {
            // Preliminary (1xx): the command waits for its final reply.
            if (_pending.Count > 0)
            {
                _headPreliminary ??= code;
            }
            else
            {
                Unsolicited(code, text, meta);
            }

            return;
        }

        if (!TryDequeue(out var p, out var pPreliminary))
        {
            Unsolicited(code, text, meta);
            return;
        }

        string? dataIp = null;
        int? dataPort = null;
        bool? encrypted = null;
        switch (p.Verb)
        {
            case "USER" when code == 230 || code >= 400:
            case "PASS" when code is 230 or 202 || code >= 400:
            case "ACCT" when code is 230 or 202 || code >= 400:
                Login(code, text, meta);
                break;
            case "AUTH" when code == 234:
                encrypted = true;
                break;
            case "REIN" when code / 100 == 2:
                _user = null;
                _anonymous = false;
                _passwordSent = false;
                _passwordHash = null;
                break;
            case "PASV" or "EPSV" or "PORT" or "EPRT":
                var replyBytes = textBytes.IsEmpty && text.Length > 0 ? Encoding.UTF8.GetBytes(text) : textBytes;
                var argument = p.RawArgument is null ? default : Encoding.UTF8.GetBytes(p.RawArgument).AsSpan();
                if (FtpParser.TryReadAnnounced(p.Verb, code, argument, replyBytes, _toServer, out var ip, out var port))
                {
                    dataIp = ip;
                    dataPort = port;
                    Announce(p.Verb, ip!, port, meta);
                }

                break;
            default:
                break;
        }

        _services.Events.Emit(new FtpCommandEvent
        {
            Flow = _toServer,
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            User = _user,
            Command = p.Verb,
            Argument = p.Argument,
            ReplyCode = code,
            PreliminaryCode = pPreliminary,
            ReplyText = text,
            DataIp = dataIp,
            DataPort = dataPort,
            Encrypted = encrypted,
        });

        if (encrypted == true)
        {
            StartTls();
        }
    }

    private void Login(int code, string text, in PacketMeta meta)
    {
        var accepted = code is 230 or 202;
        _services.Events.Emit(new FtpLoginEvent
        {
            Flow = _toServer,
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            User = _user,
            Outcome = code < 400 ? "success" : "failure",
            Accepted = accepted,
            Anonymous = _anonymous,
            ReplyCode = code,
            ReplyText = text,
            PasswordPresent = _passwordSent ? true : null,
            PasswordHash = _passwordSent ? _passwordHash : null,
        });
        _passwordSent = false;
        _passwordHash = null;
    }

    private void Announce(string verb, string ip, int port, in PacketMeta meta)
    {
        var channels = _protocol.Channels(_services);
        var channel = new AnnouncedChannel
        {
            ControlFlowId = _toServer.FlowId,
            Mode = verb is "PASV" or "EPSV" ? "passive" : "active",
            AnnouncedBy = verb,
            AnnouncedMicros = meta.TimestampMicros,
            User = _user,
        };
        channels.Announce(ip, port, channel);
        if (verb == "PASV" && ip != _toServer.DestinationIp)
        {
            // Behind NAT the server announces its private address; the connection the sensor sees goes to the public one.
            channels.Announce(_toServer.DestinationIp, port, channel);
        }

        _announced = channel;
    }

    private void Unsolicited(int code, string text, in PacketMeta meta)
    {
        var greeting = !_greeted && code is 220 or 120;
        _greeted = true;
        _services.Events.Emit(new FtpReplyEvent
        {
            Flow = FlowOf(FlowDirection.ToClient),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            User = _user,
            ReplyCode = code,
            ReplyText = text,
            Banner = greeting ? text : null,
        });
    }

    private void Unanswered(in Pending p, int? preliminary) =>
        _services.Events.Emit(new FtpCommandEvent
        {
            Flow = _toServer,
            TimestampMicros = p.Micros,
            PacketNumber = p.PacketNumber,
            User = _user,
            Command = p.Verb,
            Argument = p.Argument,
            PreliminaryCode = preliminary,
        });

    private void FlushPending()
    {
        while (TryDequeue(out var p, out var preliminary))
        {
            Unanswered(p, preliminary);
        }
    }

    /// <summary>Takes the oldest command waiting, with the preliminary reply it got.</summary>
    private bool TryDequeue(out Pending pending, out int? preliminary)
    {
        preliminary = null;
        if (!_pending.TryDequeue(out pending))
        {
            return false;
        }

        preliminary = _headPreliminary;
        _headPreliminary = null;
        return true;
    }

    private void StartTls()
    {
        _encrypted = true;
        _client.Release();
        _server.Release();
        FlushPending();
        _tls = _services.Catalogue.FindStream("tls")?.CreateSession(_toServer, _services, midStream: false);
    }

    private void Overlong(Side side, in PacketMeta meta)
    {
        side.Clear();
        side.Skipping = true;
        Malformed(side, meta, new ParseError(MalformedReason.TooLarge, "line", $"longer than {_maxLine} bytes"));
    }

    private void Malformed(Side side, in PacketMeta meta, in ParseError error)
    {
        var message = $"ftp: {error}, in a {(side.Direction == FlowDirection.ToServer ? "command" : "reply")} ({side.Name})";
        _services.Diagnostics.ReportMalformed(meta, ProtocolName, error.Reason, message);
        _services.Stats.CountMalformed(ProtocolName, error.Reason);
        _services.Events.Emit(new FtpMalformedEvent
        {
            Flow = FlowOf(side.Direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            User = _user,
            ErrorMessage = message,
        });
        if (++side.MalformedInARow >= _maxMalformed)
        {
            side.Dead = true;
            side.Release();
            _services.Diagnostics.Report(DiagnosticKind.MalformedProtocol, meta,
                $"ftp: {_maxMalformed} malformed lines in a row from the {side.Name}; that direction is no longer read");
        }
    }

    /// <summary>A command waiting for its final reply (its preliminary reply, if any, is <c>_headPreliminary</c>).</summary>
    private readonly record struct Pending(string Verb, long Micros, long PacketNumber, string? Argument, string? RawArgument);

    /// <summary>One direction's line state.</summary>
    private sealed class Side(FlowDirection direction)
    {
        public readonly FlowDirection Direction = direction;
        public byte[]? Buffer;
        public int Length;
        public int MaxBuffered;
        public bool Skipping;
        public bool Dead;
        public int MalformedInARow;

        public string Name => Direction == FlowDirection.ToServer ? "client" : "server";

        public void Append(ReadOnlySpan<byte> data, int max)
        {
            if (Buffer is null || Buffer.Length < Length + data.Length)
            {
                var next = new byte[Math.Min(max, Math.Max(256, Math.Max(Length + data.Length, (Buffer?.Length ?? 0) * 2)))];
                if (Buffer is not null)
                {
                    Buffer.AsSpan(0, Length).CopyTo(next);
                    CryptographicOperations.ZeroMemory(Buffer); // it may hold part of a PASS line
                }

                Buffer = next;
            }

            data.CopyTo(Buffer.AsSpan(Length));
            Length += data.Length;
            MaxBuffered = Math.Max(MaxBuffered, Length);
        }

        /// <summary>Empties the line buffer, zeroing what it held (a PASS line may have been split across segments).</summary>
        public void Clear()
        {
            if (Length > 0)
            {
                CryptographicOperations.ZeroMemory(Buffer.AsSpan(0, Length));
                Length = 0;
            }
        }

        public void Release()
        {
            Clear();
            Buffer = null;
        }
    }
}
