using System.Security.Cryptography;
using System.Text;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Telnet;

/// <summary>
/// Per-flow Telnet state. Each direction runs the RFC 854 command parser: data runs between IAC bytes are found with a
/// vectorised search; WILL/WONT/DO/DONT update which options each side performs (RFC 855: agreed when one side's
/// WILL meets the other's DO, withdrawn by WONT/DONT); subnegotiations are skipped up to IAC SE, bounded, and the
/// client's TERMINAL-TYPE IS (RFC 1091) read. The data runs feed the login tracker (<c>TelnetSession.Login.cs</c>)
/// until a login succeeds; after that only commands are parsed, so a long shell session costs a search per segment.
/// </summary>
/// <remarks>
/// Malformed input (IAC followed by a byte that is no command, IAC inside a subnegotiation other than IAC IAC or
/// IAC SE, a subnegotiation longer than <see cref="TelnetOptions.MaxSubnegotiationBytes"/>, a command cut by the end of
/// the connection) goes to the diagnostics sink with its <see cref="MalformedReason"/>, to
/// <see cref="CaptureStats.MalformedByReason"/> and to a <c>telnet.malformed</c> event; the direction goes on with the
/// next byte as data, as a telnet peer does. Telnet has no length fields: nothing is sized from the wire.
/// </remarks>
internal sealed partial class TelnetSession : IStreamSession
{
    private const string ProtocolName = "telnet";
    private const int MaxTerminalTypeBytes = 64;

    private readonly FlowContext _toServer;
    private readonly ProtocolServices _services;
    private readonly TelnetText _text;
    private readonly int _maxLine;
    private readonly int _maxSubnegotiation;
    private readonly int _maxLogins;
    private readonly Side _client;
    private readonly Side _server;

    // Option state (RFC 855), one bit per option: what each side said it WILL do, and asked the other to DO.
    private Bits256 _clientWill;
    private Bits256 _clientDo;
    private Bits256 _serverWill;
    private Bits256 _serverDo;
    private string? _terminalType;
    private bool _closed;

    /// <summary>Creates the session of one flow; <paramref name="toServer"/> is the client-to-server context.</summary>
    public TelnetSession(FlowContext toServer, ProtocolServices services, TelnetProtocol protocol)
    {
        ArgumentNullException.ThrowIfNull(toServer);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(protocol);
        _toServer = toServer;
        _services = services;
        _text = protocol.Text;
        var o = protocol.Options;
        _maxLine = Math.Clamp(o.MaxLineBytes, 32, 4096);
        _maxSubnegotiation = Math.Clamp(o.MaxSubnegotiationBytes, 16, 65536);
        _maxLogins = Math.Clamp(o.MaxLogins, 1, 1024);
        _client = new Side(FlowDirection.ToServer);
        _server = new Side(FlowDirection.ToClient);
    }

    private enum IacState : byte
    {
        Data,
        Iac,
        Option,
        SbOption,
        Sb,
        SbIac,
    }

    /// <summary>True when the server agreed to echo (ECHO, RFC 857).</summary>
    internal bool ServerEchoes => _serverWill.Get(TelnetCodes.OptEcho) && _clientDo.Get(TelnetCodes.OptEcho);

    /// <summary>A direction's line buffer, whole (tests check that a password's bytes are zeroed); null when released.</summary>
    internal byte[]? LineBuffer(FlowDirection direction) => SideOf(direction).Line;

    /// <summary>Most bytes a direction's line buffer ever held (tests check the bound).</summary>
    internal int MaxBuffered(FlowDirection direction) => SideOf(direction).MaxBuffered;

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (_closed || data.IsEmpty)
        {
            return;
        }

        var side = SideOf(direction);
        side.Offset += data.Length;
        while (!data.IsEmpty)
        {
            // The stream offset of data[0], for the malformed reports: a segment can hold thousands of broken commands
            // (tcpdump's telnet-iac-check-oobr.pcap: 2,492 in one), each must say where it is.
            side.At = side.Offset - data.Length;
            switch (side.State)
            {
                case IacState.Data:
                {
                    var iac = data.IndexOf(TelnetCodes.Iac);
                    var run = iac < 0 ? data : data[..iac];
                    if (!run.IsEmpty)
                    {
                        Text(side, run, meta);
                    }

                    if (iac < 0)
                    {
                        return;
                    }

                    data = data[(iac + 1)..];
                    side.State = IacState.Iac;
                    break;
                }

                case IacState.Iac:
                    Command(side, data[0], meta);
                    data = data[1..];
                    break;
                case IacState.Option:
                    Negotiate(side, side.Command, data[0]);
                    side.State = IacState.Data;
                    data = data[1..];
                    break;
                case IacState.SbOption:
                    side.SbOption = data[0];
                    side.SbLength = 0;
                    side.State = IacState.Sb;
                    data = data[1..];
                    break;
                case IacState.Sb:
                {
                    var iac = data.IndexOf(TelnetCodes.Iac);
                    var part = iac < 0 ? data : data[..iac];
                    if (!SubnegotiationBytes(side, part, meta))
                    {
                        // Too long: back to data at once (a lost IAC SE must not swallow the stream).
                        side.State = IacState.Data;
                        break;
                    }

                    if (iac < 0)
                    {
                        return;
                    }

                    data = data[(iac + 1)..];
                    side.State = IacState.SbIac;
                    break;
                }

                case IacState.SbIac:
                    var b = data[0];
                    if (b == TelnetCodes.Se)
                    {
                        EndSubnegotiation(side);
                        side.State = IacState.Data;
                        data = data[1..];
                    }
                    else if (b == TelnetCodes.Iac)
                    {
                        side.State = SubnegotiationBytes(side, [TelnetCodes.Iac], meta) ? IacState.Sb : IacState.Data;
                        data = data[1..];
                    }
                    else
                    {
                        // RFC 854: only IAC IAC and IAC SE may appear inside; take it as the end and read the command.
                        Malformed(side, meta, new ParseError(MalformedReason.BadValue, "subnegotiation", $"IAC {b} inside option {side.SbOption}'s subnegotiation"));
                        side.State = IacState.Iac;
                    }

                    break;
                default:
                    side.State = IacState.Data;
                    break;
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

        var side = SideOf(direction);
        side.State = IacState.Data;
        side.Offset += length;
        LoseTrack(meta);
        _services.Diagnostics.Report(DiagnosticKind.ReassemblyGap, meta,
            $"telnet: {length} bytes missing from the {Name(direction)} stream; a login in progress is reported with an unknown outcome, commands resume at the next IAC");
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        foreach (var side in (ReadOnlySpan<Side>)[_client, _server])
        {
            if (side.State != IacState.Data)
            {
                var field = side.State is IacState.Sb or IacState.SbIac or IacState.SbOption ? "subnegotiation" : "command";
                side.At = side.Offset;
                Malformed(side, meta, new ParseError(MalformedReason.Truncated, field, "the connection closed inside it"));
                side.State = IacState.Data;
            }
        }

        CloseLogin(meta);
        _services.Events.Emit(new TelnetSessionEvent
        {
            Flow = _toServer,
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            Username = _user,
            ServerOptions = Agreed(_serverWill, _clientDo),
            ClientOptions = Agreed(_clientWill, _serverDo),
            TerminalType = _terminalType,
            Echo = ServerEchoes,
            Attempts = _attempts,
            Failures = _failures,
            Outcome = _lastOutcome,
            ClientBytes = _clientBytes,
            ServerBytes = _serverBytes,
        });
        _client.Release();
        _server.Release();
        _closed = true;
    }

    private static string Name(FlowDirection direction) => direction == FlowDirection.ToServer ? "client" : "server";

    private static string[] Agreed(in Bits256 will, in Bits256 @do)
    {
        List<string>? names = null;
        for (var i = 0; i < 256; i++)
        {
            if (will.Get((byte)i) && @do.Get((byte)i))
            {
                (names ??= []).Add(TelnetCodes.OptionName((byte)i));
            }
        }

        return names is null ? [] : [.. names];
    }

    private Side SideOf(FlowDirection direction) => direction == FlowDirection.ToServer ? _client : _server;

    private FlowContext FlowOf(FlowDirection direction) =>
        direction == FlowDirection.ToServer ? _toServer : _toServer.Reverse ?? _toServer.CreateReverse();

    // IAC <b>: RFC 854's commands.
    private void Command(Side side, byte b, in PacketMeta meta)
    {
        side.State = IacState.Data;
        switch (b)
        {
            case TelnetCodes.Iac:
                Text(side, [TelnetCodes.Iac], meta); // IAC IAC: a data byte 255
                break;
            case >= TelnetCodes.Will and <= TelnetCodes.Dont:
                side.Command = b;
                side.State = IacState.Option;
                break;
            case TelnetCodes.Sb:
                side.State = IacState.SbOption;
                break;
            case TelnetCodes.EraseChar:
                EraseChar(side);
                break;
            case TelnetCodes.EraseLine:
                EraseLine(side);
                break;
            case TelnetCodes.Se:
                Malformed(side, meta, new ParseError(MalformedReason.BadValue, "command", "IAC SE outside a subnegotiation"));
                break;
            case > TelnetCodes.Se:
                break; // NOP, DM, BRK, IP, AO, AYT, GA: nothing a login depends on
            default:
                Malformed(side, meta, new ParseError(MalformedReason.UnknownType, "command", $"IAC followed by {b}, which is no command"));
                break;
        }
    }

    private void Negotiate(Side side, byte command, byte option)
    {
        var client = side.Direction == FlowDirection.ToServer;
        ref var will = ref client ? ref _clientWill : ref _serverWill;
        ref var @do = ref client ? ref _clientDo : ref _serverDo;
        switch (command)
        {
            case TelnetCodes.Will:
                will.Set(option, true);
                break;
            case TelnetCodes.Wont:
                will.Set(option, false);
                break;
            case TelnetCodes.Do:
                @do.Set(option, true);
                break;
            default:
                @do.Set(option, false);
                break;
        }
    }

    // Bytes of a subnegotiation's parameters; false (reported) when it grows past the bound.
    private bool SubnegotiationBytes(Side side, ReadOnlySpan<byte> part, in PacketMeta meta)
    {
        if (part.Length > _maxSubnegotiation - side.SbLength)
        {
            Malformed(side, meta, new ParseError(MalformedReason.TooLarge, "subnegotiation", $"option {side.SbOption}'s runs past {_maxSubnegotiation} bytes without IAC SE"));
            side.SbLength = 0;
            return false;
        }

        if (side.SbOption == TelnetCodes.OptTerminalType && side.Direction == FlowDirection.ToServer && side.SbLength < MaxTerminalTypeBytes)
        {
            side.Sb ??= new byte[MaxTerminalTypeBytes];
            var n = Math.Min(part.Length, MaxTerminalTypeBytes - side.SbLength);
            part[..n].CopyTo(side.Sb.AsSpan(side.SbLength));
        }

        side.SbLength += part.Length;
        return true;
    }

    private void EndSubnegotiation(Side side)
    {
        // RFC 1091: IAC SB TERMINAL-TYPE IS <name> IAC SE, sent by the client. A client may cycle through its names:
        // the last one stands.
        if (side.SbOption != TelnetCodes.OptTerminalType || side.Sb is null || side.SbLength < 2 || side.Sb[0] != 0)
        {
            return;
        }

        var name = side.Sb.AsSpan(1, Math.Min(side.SbLength, MaxTerminalTypeBytes) - 1);
        foreach (var c in name)
        {
            if (c is < 0x20 or > 0x7E)
            {
                return;
            }
        }

        if (_terminalType is null || !Ascii.Equals(name, _terminalType))
        {
            _terminalType = Encoding.ASCII.GetString(name);
        }
    }

    private void Malformed(Side side, in PacketMeta meta, in ParseError error)
    {
        var message = $"telnet: {error}, from the {Name(side.Direction)} near stream offset {side.At}";
        _services.Diagnostics.ReportMalformed(meta, ProtocolName, error.Reason, message);
        _services.Stats.CountMalformed(ProtocolName, error.Reason);
        _services.Events.Emit(new TelnetMalformedEvent
        {
            Flow = FlowOf(side.Direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            Username = _user,
            ErrorMessage = message,
        });
    }

    /// <summary>256 flags, inline.</summary>
    private struct Bits256
    {
        private ulong _a;
        private ulong _b;
        private ulong _c;
        private ulong _d;

        public readonly bool Get(byte i) => ((i >> 6) switch { 0 => _a, 1 => _b, 2 => _c, _ => _d } & (1UL << (i & 63))) != 0;

        public void Set(byte i, bool on)
        {
            ref var w = ref _a;
            switch (i >> 6)
            {
                case 1:
                    w = ref _b;
                    break;
                case 2:
                    w = ref _c;
                    break;
                case 3:
                    w = ref _d;
                    break;
                default:
                    break;
            }

            w = on ? w | (1UL << (i & 63)) : w & ~(1UL << (i & 63));
        }
    }

    /// <summary>One direction: its command parser and, while a login is in progress, its line.</summary>
    private sealed class Side(FlowDirection direction)
    {
        public readonly FlowDirection Direction = direction;
        public IacState State;
        public byte Command;
        public byte SbOption;
        public int SbLength;
        public byte[]? Sb;
        public byte[]? Line;
        public int LineLength;
        public bool AfterCr;
        public bool Fresh;
        public long Offset;

        /// <summary>Stream offset of the byte being read (Offset counts every byte given so far).</summary>
        public long At;
        public int MaxBuffered;

        /// <summary>Empties the line, zeroing it (a client line may hold a password).</summary>
        public void ClearLine()
        {
            if (Line is not null && LineLength > 0)
            {
                CryptographicOperations.ZeroMemory(Line.AsSpan(0, LineLength));
            }

            LineLength = 0;
            Fresh = false;
        }

        /// <summary>Zeroes and frees the buffers.</summary>
        public void Release()
        {
            ClearLine();
            Line = null;
            Sb = null;
        }
    }
}
