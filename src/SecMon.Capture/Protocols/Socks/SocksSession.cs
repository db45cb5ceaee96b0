using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Socks;

/// <summary>
/// Per-flow SOCKS state. SOCKS5 (RFC 1928): the client's greeting (the methods it offers), the proxy's choice, the
/// username/password login when chosen (RFC 1929: the password in clear, kept only as a keyed hash), the request and the
/// reply. SOCKS4 and 4a: one request, one reply. Each direction is read on its own (every message says what it is by
/// its first byte); events are joined across them. Once the proxy grants a CONNECT, what the connection carries is the
/// relayed stream: it goes to a session of the catalogue's (<see cref="ProtocolServices.Tunnel"/>), recognised by
/// content, the requested port being the hint. Refusals and BIND or UDP ASSOCIATE end the reading.
/// </summary>
internal sealed class SocksSession : IStreamSession
{
    /// <summary>Most bytes of one SOCKS message held while it arrives (an RFC 1929 login is at most 513; a SOCKS4a request
    /// with a user and a host at most 520).</summary>
    public const int MaxMessage = 600;

    private const string ProtocolName = "socks";

    private readonly FlowContext _toServer;
    private readonly ProtocolServices _services;
    private readonly Side _client = new(FlowDirection.ToServer);
    private readonly Side _server = new(FlowDirection.ToClient);
    private int _version;
    private string? _user;
    private string? _method;
    private string? _passwordHash;
    private bool _loginPending;
    private SocksTarget? _request;
    private IStreamSession? _tunnel;
    private bool _done;

    /// <summary>Creates the session of one flow; <paramref name="toServer"/> is its client-to-server context.</summary>
    public SocksSession(FlowContext toServer, ProtocolServices services)
    {
        _toServer = toServer;
        _services = services;
    }

    private enum State
    {
        /// <summary>Client: the greeting (SOCKS5) or the request (SOCKS4). Server: the method choice (SOCKS5; a SOCKS4 reply
        /// is read in any state, by the version).</summary>
        First,
        /// <summary>Client: a login or a request. Server: the login's verdict or the reply.</summary>
        Next,
        /// <summary>Client: the request sent, its bytes held until the reply (the server side never waits).</summary>
        Waiting,
        /// <summary>The relayed stream.</summary>
        Tunnel,
        /// <summary>Nothing more is read.</summary>
        Done,
    }

    /// <inheritdoc />
    public long IdleHoldMicros => _tunnel?.IdleHoldMicros ?? 0;

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        var side = direction == FlowDirection.ToServer ? _client : _server;
        if (side.State == State.Tunnel)
        {
            _tunnel?.OnData(direction, data, meta);
            return;
        }

        if (_done || side.State == State.Done)
        {
            return;
        }

        if (side.State == State.Waiting && direction == FlowDirection.ToServer)
        {
            side.Hold(data); // sent before the reply: the relayed stream's first bytes, if the proxy grants the request
            return;
        }

        side.Buffer.Append(data);
        var held = side.Buffer.Span;
        var at = 0;
        while (!_done && side.State is State.First or State.Next && at < held.Length)
        {
            var used = direction == FlowDirection.ToServer ? Client(held[at..], meta) : Server(held[at..], meta);
            if (used == 0)
            {
                break; // the rest of the message is still to come
            }

            if (used < 0)
            {
                return; // malformed: reported, nothing more read
            }

            at += used;
        }

        if (_done && side.State != State.Tunnel)
        {
            return; // refused, finished or malformed: the buffers are gone
        }

        var rest = held[at..];
        if (side.State == State.Tunnel)
        {
            _tunnel?.OnData(direction, rest, meta);
            side.Buffer.Release();
        }
        else if (side.State == State.Waiting && direction == FlowDirection.ToServer)
        {
            side.Hold(rest);
            side.Buffer.Release();
        }
        else
        {
            side.Buffer.Consume(at);
            if (side.Buffer.Length > MaxMessage)
            {
                Malformed(side, meta, MalformedReason.TooLarge, $"a message longer than {MaxMessage} bytes");
            }
        }
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        var side = direction == FlowDirection.ToServer ? _client : _server;
        if (side.State == State.Tunnel)
        {
            _tunnel?.OnGap(direction, length, meta);
            return;
        }

        if (!_done)
        {
            _services.Diagnostics.Report(DiagnosticKind.ReassemblyGap, meta,
                $"socks: {length} bytes missing {side.Name}; the negotiation is not read further");
            Finish();
        }
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        FlushLogin(null, meta);
        _tunnel?.OnClose(meta);
        Finish();
    }

    // One client message at the start of data: its length, 0 when incomplete, -1 when malformed (reported).
    private int Client(ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (_client.State == State.First)
        {
            if (data[0] == 4)
            {
                return Socks4Request(data, meta);
            }

            var greeting = SocksParser.Greeting(data);
            if (greeting > 0)
            {
                _version = 5;
                _client.State = State.Next;
            }
            else if (greeting < 0)
            {
                Malformed(_client, meta, MalformedReason.BadValue, "not a SOCKS5 greeting");
            }

            return greeting;
        }

        if (data[0] == 1)
        {
            var n = SocksParser.Login(data, out var user, out var password);
            if (n > 0)
            {
                FlushLogin(null, meta); // a second login on one connection: the first had no verdict seen
                _user = user.IsEmpty ? null : System.Text.Encoding.UTF8.GetString(user);
                _passwordHash = _services.SecretHasher.Hash(password);
                _loginPending = true;
            }

            return n;
        }

        var length = SocksParser.Request(data, out var code, out var domain, out var ip, out var port);
        if (length > 0)
        {
            if (SocksParser.Command(code) is not { } command)
            {
                Malformed(_client, meta, MalformedReason.UnknownType, $"request command {code}");
                return -1;
            }

            Request(new SocksTarget(command, domain, ip, port), meta);
        }
        else if (length < 0)
        {
            Malformed(_client, meta, MalformedReason.BadValue, "not a SOCKS5 login or request");
        }

        return length;
    }

    private int Socks4Request(ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        var length = SocksParser.Socks4Request(data, out var command, out var port, out var address, out var user, out var host);
        if (length > 0)
        {
            var domain = host.IsEmpty ? null : SocksParser.HostName(host);
            var ip = host.IsEmpty ? new System.Net.IPAddress(address).ToString() : null;
            _version = 4;
            _user = user.IsEmpty ? null : System.Text.Encoding.Latin1.GetString(user);
            Request(new SocksTarget(SocksParser.Command(command)!, domain, ip, port), meta);
        }
        else if (length < 0)
        {
            Malformed(_client, meta, MalformedReason.BadValue, "not a SOCKS4 request");
        }

        return length;
    }

    private void Request(SocksTarget target, in PacketMeta meta)
    {
        _request = target;
        _client.State = State.Waiting;
        _services.Events.Emit(new SocksRequestEvent
        {
            Flow = _toServer, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
            Version = _version, User = _user, Target = target, AuthMethod = _method,
        });
    }

    // One server message at the start of data, as Client.
    private int Server(ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (_version == 4)
        {
            if (data.Length < 8)
            {
                return 0;
            }

            if (data[0] != 0 || SocksParser.Status4(data[1]) is not { } status4)
            {
                Malformed(_server, meta, MalformedReason.BadValue, "not a SOCKS4 reply");
                return -1;
            }

            Reply(status4, data[1] == 90, meta);
            return 8;
        }

        if (_server.State == State.First)
        {
            if (data.Length < 2)
            {
                return 0;
            }

            if (data[0] != 5)
            {
                Malformed(_server, meta, MalformedReason.BadValue, "not a SOCKS5 method choice");
                return -1;
            }

            _method = SocksParser.Method(data[1]);
            _server.State = State.Next;
            if (data[1] == 0xFF)
            {
                Reply("no_acceptable_methods", granted: false, meta);
            }

            return 2;
        }

        if (data[0] == 1 && _loginPending)
        {
            if (data.Length < 2)
            {
                return 0;
            }

            FlushLogin(data[1] == 0, meta);
            if (data[1] != 0)
            {
                Finish(); // RFC 1929 §2: the proxy closes the connection after a refused login
            }

            return 2;
        }

        var length = SocksParser.Request(data, out var code, out _, out _, out _);
        if (length > 0)
        {
            Reply(SocksParser.Status5(code), code == 0, meta);
        }
        else if (length < 0)
        {
            Malformed(_server, meta, MalformedReason.BadValue, "not a SOCKS5 login verdict or reply");
        }

        return length;
    }

    private void Reply(string status, bool granted, in PacketMeta meta)
    {
        _services.Events.Emit(new SocksReplyEvent
        {
            Flow = _toServer.Reverse!, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
            Version = _version, User = _user, Target = _request, Status = status, Relayed = granted && _request is not null,
        });
        if (!granted || _request is not { Command: "connect" } target)
        {
            Finish(); // refused, or a BIND or UDP ASSOCIATE, whose relayed data is on another connection
            return;
        }

        _tunnel = _services.Tunnel(_toServer, (ushort)target.Port);
        _server.State = State.Tunnel;
        _client.State = State.Tunnel;
        if (_tunnel is not null && _client.Early is { Length: > 0 } early)
        {
            _tunnel.OnData(FlowDirection.ToServer, early.Span, meta);
        }

        _client.Early?.Release();
    }

    private void FlushLogin(bool? accepted, in PacketMeta meta)
    {
        if (!_loginPending)
        {
            return;
        }

        _loginPending = false;
        _services.Events.Emit(new SocksLoginEvent
        {
            Flow = _toServer, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
            Version = 5, User = _user, Accepted = accepted, PasswordHash = _passwordHash!,
        });
    }

    private void Malformed(Side side, in PacketMeta meta, MalformedReason reason, string message)
    {
        _services.Stats.CountMalformed(ProtocolName, reason);
        _services.Diagnostics.ReportMalformed(meta, ProtocolName, reason, $"socks: {message} ({side.Name})");
        Finish();
    }

    private void Finish()
    {
        _done = true;
        foreach (var side in (ReadOnlySpan<Side>)[_client, _server])
        {
            if (side.State != State.Tunnel)
            {
                side.State = State.Done;
            }

            side.Buffer.Release();
            side.Early?.Release();
        }
    }

    /// <summary>One direction: where its negotiation is, and the bytes of a message still arriving.</summary>
    private sealed class Side(FlowDirection direction)
    {
        public State State { get; set; }

        public string Name { get; } = direction == FlowDirection.ToServer ? "from the client" : "from the proxy";

        public GrowableBuffer Buffer { get; } = new(MaxMessage + 64 * 1024);

        /// <summary>The client's bytes after its request, before the reply.</summary>
        public GrowableBuffer? Early { get; private set; }

        public void Hold(ReadOnlySpan<byte> data)
        {
            if (!data.IsEmpty)
            {
                (Early ??= new GrowableBuffer(ProtocolServices.MaxEarlyTunnelBytes)).Append(data);
            }
        }
    }
}
