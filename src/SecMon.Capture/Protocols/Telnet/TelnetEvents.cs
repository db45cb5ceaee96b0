using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Telnet;

// SecMon's custom telnet.* field set (ECS has none). Every Telnet event travels with the client's flow (source = the
// client), stamped with the packet that completed it: a login's verdict comes from the server.

/// <summary>Base of every Telnet event: the user name of the connection's latest login, when one was answered.</summary>
internal abstract record TelnetEvent : ProtocolEvent
{
    /// <summary>User name typed at the latest user prompt.</summary>
    public string? Username { get; init; }

    /// <summary>Builds a schema: the user name, then the type's own fields.</summary>
    protected static EventSchema CreateSchema(string type, params EventField[] own) =>
        new(type,
        [
            Text<TelnetEvent>("telnet.username", e => e.Username, "User name the client typed at the server's user prompt (login:, Username:); the password is never kept."),
            .. own,
        ]);

    /// <summary>A text field of <typeparamref name="T"/>.</summary>
    protected static EventField Text<T>(string name, Func<T, string?> get, string description) where T : TelnetEvent =>
        new EventField<T>(name, FieldKind.Text, e => FieldValue.Of(get(e)), description);

    /// <summary>A number field of <typeparamref name="T"/>.</summary>
    protected static EventField Number<T>(string name, Func<T, long?> get, string description) where T : TelnetEvent =>
        new EventField<T>(name, FieldKind.Number, e => FieldValue.Of(get(e)), description);

    /// <summary>A boolean field of <typeparamref name="T"/>.</summary>
    protected static EventField Flag<T>(string name, Func<T, bool?> get, string description) where T : TelnetEvent =>
        new EventField<T>(name, FieldKind.Boolean, e => FieldValue.Of(get(e)), description);

    /// <summary>A text-list field of <typeparamref name="T"/>.</summary>
    protected static EventField List<T>(string name, Func<T, IReadOnlyList<string>?> get, string description) where T : TelnetEvent =>
        new EventField<T>(name, FieldKind.StringList, e => FieldValue.Of(get(e)), description);
}

/// <summary>
/// <c>telnet.login</c>: one login attempt, written when the server's answer decides it: the user name typed at the user
/// prompt, whether a password was typed at the password prompt (its keyed hash only: the password itself is hashed
/// from a buffer zeroed at once, never kept), and the outcome (a shell prompt: success; a failure message or a new
/// prompt: failure; the connection ended first: unknown).
/// </summary>
internal sealed record TelnetLoginEvent : TelnetEvent
{
    /// <summary>The schema of <c>telnet.login</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("telnet.login",
        Flag<TelnetLoginEvent>("telnet.password.present", e => e.PasswordPresent, "A password was typed at the server's password prompt (it crossed the network in cleartext)."),
        Text<TelnetLoginEvent>("telnet.password.hash", e => e.PasswordHash, "Keyed hash of the password typed (tells passwords apart; not reversible; never in findings)."),
        Flag<TelnetLoginEvent>("telnet.password.echoed", e => e.PasswordEchoed, "The server echoed the password's characters back (its echo was on while it was typed); the echo is skipped, never read."),
        Text<TelnetLoginEvent>("telnet.login.outcome", e => e.Outcome, "success (a shell prompt followed), failure (a failure message or a new prompt), unknown (the connection ended or was lost first)."),
        Flag<TelnetLoginEvent>("telnet.login.success", e => e.Success, "True when the login succeeded (telnet.login.outcome is success)."),
        Number<TelnetLoginEvent>("telnet.login.attempt", e => e.Attempt, "1-based number of the attempt on this connection."))
        .WithFacts(
            DeviceFact.Username("telnet.username"),
            DeviceFact.Login("telnet.password.present"),
            DeviceFact.Accepted("telnet.login.success", "telnet.password.present"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>A password was typed.</summary>
    public bool PasswordPresent { get; init; }
    /// <summary>Keyed hash of the password.</summary>
    public string? PasswordHash { get; init; }
    /// <summary>The server echoed the password; null without a password.</summary>
    public bool? PasswordEchoed { get; init; }
    /// <summary><c>success</c>, <c>failure</c> or <c>unknown</c>.</summary>
    public required string Outcome { get; init; }
    /// <summary>Outcome is success.</summary>
    public bool Success => Outcome == TelnetOutcome.Success;
    /// <summary>Attempt number on the connection.</summary>
    public int Attempt { get; init; }
}

/// <summary>
/// <c>telnet.session</c>: a Telnet connection, written when it ends: the options each side agreed to perform (RFC 855:
/// a WILL answered by DO, or a DO answered by WILL, and not withdrawn since), the terminal type the client named
/// (RFC 1091), whether the server echoes, the login attempts and their last outcome, and the data bytes of each side.
/// </summary>
internal sealed record TelnetSessionEvent : TelnetEvent
{
    /// <summary>The schema of <c>telnet.session</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("telnet.session",
        List<TelnetSessionEvent>("telnet.server.options", e => e.ServerOptions, "Options the server performs, agreed by both sides (echo, suppress_go_ahead, status...)."),
        List<TelnetSessionEvent>("telnet.client.options", e => e.ClientOptions, "Options the client performs, agreed by both sides (terminal_type, window_size, terminal_speed, new_environ...)."),
        Text<TelnetSessionEvent>("telnet.terminal_type", e => e.TerminalType, "Terminal type the client named in its TERMINAL-TYPE IS subnegotiation (RFC 1091): XTERM, VT100, ANSI..."),
        Flag<TelnetSessionEvent>("telnet.echo", e => e.Echo, "The server agreed to echo (ECHO option, RFC 857): the client's keystrokes come back as server output."),
        Number<TelnetSessionEvent>("telnet.login.attempts", e => e.Attempts, "Login attempts seen on the connection (answers to a password prompt, or user names answered without one)."),
        Number<TelnetSessionEvent>("telnet.login.failures", e => e.Failures, "Login attempts that failed."),
        Text<TelnetSessionEvent>("telnet.login.outcome", e => e.Outcome, "Outcome of the last login attempt: success, failure, unknown, or none when no login prompt was answered."),
        Number<TelnetSessionEvent>("telnet.client.bytes", e => e.ClientBytes, "Data bytes the client sent (commands removed)."),
        Number<TelnetSessionEvent>("telnet.server.bytes", e => e.ServerBytes, "Data bytes the server sent (commands removed)."))
        .WithFacts(
            DeviceFact.Username("telnet.username"),
            DeviceFact.Values("telnet.terminal_type", "telnet.terminal_type"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Options the server performs.</summary>
    public required IReadOnlyList<string> ServerOptions { get; init; }
    /// <summary>Options the client performs.</summary>
    public required IReadOnlyList<string> ClientOptions { get; init; }
    /// <summary>Terminal type.</summary>
    public string? TerminalType { get; init; }
    /// <summary>The server echoes.</summary>
    public bool Echo { get; init; }
    /// <summary>Login attempts.</summary>
    public int Attempts { get; init; }
    /// <summary>Failed attempts.</summary>
    public int Failures { get; init; }
    /// <summary>Last outcome, or none.</summary>
    public required string Outcome { get; init; }
    /// <summary>Client data bytes.</summary>
    public long ClientBytes { get; init; }
    /// <summary>Server data bytes.</summary>
    public long ServerBytes { get; init; }
}

/// <summary><c>telnet.malformed</c>: a command sequence that violates RFC 854 or exceeds a limit (also a diagnostic).</summary>
internal sealed record TelnetMalformedEvent : TelnetEvent
{
    /// <summary>The schema of <c>telnet.malformed</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("telnet.malformed",
        new EventField<TelnetMalformedEvent>("error.message", FieldKind.Text, e => FieldValue.Of(e.ErrorMessage), "What was wrong and where."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>What was wrong and where.</summary>
    public required string ErrorMessage { get; init; }
}

/// <summary>The values of <c>telnet.login.outcome</c>.</summary>
internal static class TelnetOutcome
{
    /// <summary>A shell prompt followed the login.</summary>
    public const string Success = "success";
    /// <summary>A failure message or a new prompt followed.</summary>
    public const string Failure = "failure";
    /// <summary>The connection ended (or bytes were lost) before a verdict.</summary>
    public const string Unknown = "unknown";
    /// <summary>No login prompt was answered (session only).</summary>
    public const string None = "none";
}
