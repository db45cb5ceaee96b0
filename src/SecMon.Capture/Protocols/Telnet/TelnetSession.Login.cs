using System.Security.Cryptography;
using System.Text;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Telnet;

/// <summary>
/// The login tracker. The server's current line is assembled (bounded, control bytes dropped); when a segment leaves it
/// unfinished, its end is tested for a prompt (<see cref="TelnetText.Prompt"/>): a user prompt, a password prompt, or
/// after an answer a shell prompt (success). Finished server lines after an answer are tested for a failure message;
/// a new user or password prompt after an answer is a failure too. The client's line is assembled only while a prompt
/// waits for it (character mode sends one keystroke per segment: backspace, DEL, IAC EC and IAC EL edit it; CR NUL,
/// CR LF or LF ends it). A user name is kept as text; a password is hashed with the run's keyed hasher and its bytes
/// zeroed at once. While the password is typed the server's bytes are skipped unread: with its echo on they are the
/// password (only whether it was echoed is kept); the server's first line after it is dropped (and zeroed) when it is
/// the password's echo (same keyed hash, or as many '*'), and read as a server line otherwise.
/// </summary>
internal sealed partial class TelnetSession
{
    private LoginState _login;
    private bool _attemptOpen;
    private bool _skipEcho;
    private bool _echoPending;
    private int _passwordLength;
    private bool _echoed;
    private bool _passwordPresent;
    private string? _passwordHash;
    private string? _user;
    private int _attempts;
    private int _failures;
    private string _lastOutcome = TelnetOutcome.None;
    private long _clientBytes;
    private long _serverBytes;

    private enum LoginState : byte
    {
        /// <summary>No prompt waits.</summary>
        None,
        /// <summary>The server asked for a user name.</summary>
        AwaitUser,
        /// <summary>The client answered a user prompt; a password prompt, a shell prompt or a verdict follows.</summary>
        UserSent,
        /// <summary>The server asked for a password.</summary>
        AwaitPassword,
        /// <summary>The client answered the password prompt; a verdict follows.</summary>
        PasswordSent,
        /// <summary>A login succeeded: lines are no longer read.</summary>
        Done,
    }

    /// <summary>Login attempts decided or given up so far.</summary>
    internal int Attempts => _attempts;

    private void Text(Side side, ReadOnlySpan<byte> run, in PacketMeta meta)
    {
        if (side.Direction == FlowDirection.ToServer)
        {
            _clientBytes += run.Length;
            if (_login is LoginState.AwaitUser or LoginState.AwaitPassword)
            {
                ClientText(side, run, meta);
            }
        }
        else
        {
            _serverBytes += run.Length;
            if (_login != LoginState.Done)
            {
                ServerText(side, run, meta);
            }
        }
    }

    private void ClientText(Side side, ReadOnlySpan<byte> run, in PacketMeta meta)
    {
        for (var i = 0; i < run.Length && _login is LoginState.AwaitUser or LoginState.AwaitPassword; i++)
        {
            var b = run[i];
            if (side.AfterCr)
            {
                side.AfterCr = false;
                if (b is 0 or (byte)'\n')
                {
                    continue; // CR NUL, CR LF (RFC 854)
                }
            }

            switch (b)
            {
                case (byte)'\r':
                    side.AfterCr = true;
                    ClientLine(side, meta);
                    break;
                case (byte)'\n':
                    ClientLine(side, meta);
                    break;
                case 0x08 or 0x7F:
                    EraseChar(side);
                    break;
                case 0x15:
                    EraseLine(side); // ^U
                    break;
                case < 0x20:
                    break;
                default:
                    side.Line ??= new byte[_maxLine];
                    if (side.LineLength < side.Line.Length)
                    {
                        side.Line[side.LineLength++] = b;
                        side.MaxBuffered = Math.Max(side.MaxBuffered, side.LineLength);
                    }

                    break;
            }
        }
    }

    private void ClientLine(Side side, in PacketMeta meta)
    {
        var line = side.Line is null ? default : side.Line.AsSpan(0, side.LineLength);
        if (_login == LoginState.AwaitUser)
        {
            if (!line.IsEmpty)
            {
                // A new attempt: an answer to a user prompt (an empty one only makes login(1) ask again).
                _user = Encoding.UTF8.GetString(line);
                _passwordPresent = false;
                _passwordHash = null;
                _attemptOpen = true;
                _login = LoginState.UserSent;
            }
        }
        else
        {
            // The password: hashed, then its bytes zeroed (ClearLine). An empty password is a password too.
            _passwordPresent = true;
            _passwordHash = _services.SecretHasher.Hash(line);
            _passwordLength = line.Length;
            _attemptOpen = true;
            _login = LoginState.PasswordSent;
            _skipEcho = false;
            _echoPending = true;
        }

        side.ClearLine();
    }

    private void ServerText(Side side, ReadOnlySpan<byte> run, in PacketMeta meta)
    {
        for (var i = 0; i < run.Length && _login != LoginState.Done; i++)
        {
            var b = run[i];
            if (_skipEcho)
            {
                // The password is being typed: with the server's echo on these bytes are it. Never read.
                if (b > 0x20 && b != '*')
                {
                    _echoed = true;
                }

                continue;
            }

            if (b is (byte)'\r' or (byte)'\n')
            {
                if (side.LineLength > 0 || _echoPending)
                {
                    ServerLine(side, meta);
                }

                continue;
            }

            if (b < 0x20)
            {
                continue; // ESC of colour sequences, BEL, NUL after CR
            }

            side.Line ??= new byte[_maxLine];
            if (side.LineLength == side.Line.Length)
            {
                // Keep the line's end, where a prompt is: drop its first half.
                var half = side.Line.Length / 2;
                side.Line.AsSpan(half).CopyTo(side.Line);
                CryptographicOperations.ZeroMemory(side.Line.AsSpan(side.Line.Length - half));
                side.LineLength -= half;
            }

            side.Line[side.LineLength++] = b;
            side.MaxBuffered = Math.Max(side.MaxBuffered, side.LineLength);
            side.Fresh = true;
        }

        // The line right after the password may be its echo: no prompt is looked for in it while it is shorter than the
        // password or is its echo.
        if (side.Fresh && _login != LoginState.Done && !_skipEcho &&
            !(_echoPending && (side.LineLength < _passwordLength || (side.LineLength == _passwordLength && IsEcho(side.Line.AsSpan(0, side.LineLength))))))
        {
            side.Fresh = false;
            ServerPrompt(side, meta);
        }
    }

    private void ServerLine(Side side, in PacketMeta meta)
    {
        var line = side.Line.AsSpan(0, side.LineLength);
        if (_echoPending)
        {
            // The first line after the password: its echo when it hashes to the password (a line-mode client's
            // answer echoed whole), then zeroed; or all '*' of its length. Anything else is read as a server line.
            _echoPending = false;
            if (IsEcho(line))
            {
                _echoed |= line.IndexOfAnyExcept((byte)'*') >= 0;
                side.ClearLine();
                return;
            }
        }

        if (_login is LoginState.UserSent or LoginState.PasswordSent && _text.IsFailure(line))
        {
            Verdict(TelnetOutcome.Failure, meta);
        }

        side.ClearLine();
    }

    private bool IsEcho(ReadOnlySpan<byte> line) =>
        line.Length == _passwordLength && line.Length > 0 &&
        (line.IndexOfAnyExcept((byte)'*') < 0 || _services.SecretHasher.Hash(line) == _passwordHash);

    // The end of the server's unfinished line: a prompt?
    private void ServerPrompt(Side side, in PacketMeta meta)
    {
        switch (_text.Prompt(side.Line.AsSpan(0, side.LineLength)))
        {
            case ServerCue.UserPrompt:
                Verdict(TelnetOutcome.Failure, meta); // asked again: the answer before was refused
                _login = LoginState.AwaitUser;
                side.LineLength = 0;
                _client.ClearLine();
                break;
            case ServerCue.PasswordPrompt:
                if (_login == LoginState.PasswordSent)
                {
                    Verdict(TelnetOutcome.Failure, meta);
                }

                if (_login != LoginState.UserSent)
                {
                    _user = null; // a password-only device, or a prompt whose user prompt was missed
                }

                _login = LoginState.AwaitPassword;
                _skipEcho = true;
                _echoed = false;
                side.LineLength = 0;
                _client.ClearLine();
                break;
            case ServerCue.ShellPrompt when _login is LoginState.UserSent or LoginState.PasswordSent:
                Verdict(TelnetOutcome.Success, meta);
                break;
            default:
                break;
        }
    }

    private static void EraseChar(Side side)
    {
        if (side.LineLength > 0)
        {
            side.Line![--side.LineLength] = 0;
        }
    }

    private static void EraseLine(Side side) => side.ClearLine();

    private void Verdict(string outcome, in PacketMeta meta)
    {
        if (!_attemptOpen)
        {
            return;
        }

        _attempts++;
        if (outcome == TelnetOutcome.Failure)
        {
            _failures++;
        }

        _lastOutcome = outcome;
        if (_attempts <= _maxLogins)
        {
            _services.Events.Emit(new TelnetLoginEvent
            {
                Flow = _toServer,
                TimestampMicros = meta.TimestampMicros,
                PacketNumber = meta.PacketNumber,
                Username = _user,
                PasswordPresent = _passwordPresent,
                PasswordHash = _passwordHash,
                PasswordEchoed = _passwordPresent ? _echoed : null,
                Outcome = outcome,
                Attempt = _attempts,
            });
        }

        _attemptOpen = false;
        _passwordPresent = false;
        _passwordHash = null;
        _skipEcho = false;
        _echoPending = false;
        _login = LoginState.None;
        if (outcome == TelnetOutcome.Success)
        {
            _login = LoginState.Done;
            _client.ClearLine();
            _server.ClearLine();
            _client.Line = null;
            _server.Line = null;
        }
    }

    // Bytes were lost: an attempt in progress cannot be judged, and lines restart.
    private void LoseTrack(in PacketMeta meta)
    {
        if (_login == LoginState.Done)
        {
            return;
        }

        Verdict(TelnetOutcome.Unknown, meta);
        _login = LoginState.None;
        _skipEcho = false;
        _echoPending = false;
        _client.ClearLine();
        _server.ClearLine();
    }

    private void CloseLogin(in PacketMeta meta)
    {
        if (_login != LoginState.Done)
        {
            Verdict(TelnetOutcome.Unknown, meta); // an answered prompt with no verdict yet
        }
    }
}
