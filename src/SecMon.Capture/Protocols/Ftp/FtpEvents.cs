using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Ftp;

// ECS has no ftp.* field set: user.name is ECS's; the rest is SecMon's custom ftp.* set, named after Wireshark's FTP
// fields where they exist (ftp.request.command, ftp.request.arg, ftp.response.code, ftp.response.arg) so the two can be
// compared and analysts find the names they know.

/// <summary>Base of every FTP event: the user the control session named (USER), when it did.</summary>
internal abstract record FtpEvent : ProtocolEvent
{
    /// <summary>The user name sent with USER on the control session (the latest), if any.</summary>
    public string? User { get; init; }

    /// <summary>Builds a schema: user.name, then the type's own fields.</summary>
    protected static EventSchema CreateSchema(string type, params EventField[] own) =>
        new(type,
        [
            Text<FtpEvent>("user.name", e => e.User, "User name sent with USER on the control session (the latest one); the password is never kept."),
            .. own,
        ]);

    /// <summary>A text field of <typeparamref name="T"/>.</summary>
    protected static EventField Text<T>(string name, Func<T, string?> get, string description) where T : FtpEvent =>
        new EventField<T>(name, FieldKind.Text, e => FieldValue.Of(get(e)), description);

    /// <summary>A number field of <typeparamref name="T"/>.</summary>
    protected static EventField Number<T>(string name, Func<T, long?> get, string description) where T : FtpEvent =>
        new EventField<T>(name, FieldKind.Number, e => FieldValue.Of(get(e)), description);

    /// <summary>A boolean field of <typeparamref name="T"/>.</summary>
    protected static EventField Flag<T>(string name, Func<T, bool?> get, string description) where T : FtpEvent =>
        new EventField<T>(name, FieldKind.Boolean, e => FieldValue.Of(get(e)), description);
}

/// <summary><c>ftp.command</c>: a command of the client (RFC 959 §4.1) with the final reply it got (§4.2), emitted when that
/// reply arrives (or when the flow ends without one). The argument of PASS is never carried.</summary>
internal sealed record FtpCommandEvent : FtpEvent
{
    /// <summary>The schema of <c>ftp.command</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("ftp.command",
        Text<FtpCommandEvent>("ftp.request.command", e => e.Command, "Command verb, upper case (USER, RETR, EPSV, AUTH...)."),
        Text<FtpCommandEvent>("ftp.request.arg", e => e.Argument, "Command argument as sent (a path, a type, PORT's address); never PASS's (the password)."),
        Number<FtpCommandEvent>("ftp.response.code", e => e.ReplyCode, "Final reply code (2xx-5xx) the command got; missing when none arrived."),
        Number<FtpCommandEvent>("ftp.response.preliminary_code", e => e.PreliminaryCode, "Preliminary reply (1xx, e.g. 150 before a transfer), when there was one."),
        Text<FtpCommandEvent>("ftp.response.arg", e => e.ReplyText, "Text of the final reply's first line, bounded (FtpOptions.MaxReplyTextChars)."),
        new EventField<FtpCommandEvent>("ftp.data_channel.ip", FieldKind.Ip, e => FieldValue.OfIp(e.DataIp), "Address of the data connection the command announced (PASV/EPSV reply, PORT/EPRT argument), when accepted."),
        Number<FtpCommandEvent>("ftp.data_channel.port", e => e.DataPort, "Port of the data connection the command announced, when accepted."),
        Flag<FtpCommandEvent>("ftp.control.encrypted", e => e.Encrypted, "AUTH TLS/SSL was accepted (234, RFC 4217 §4): the control channel is encrypted from here on and SecMon reads no more FTP on it."))
        .WithFacts(DeviceFact.Values("ftp.request.command", "ftp.command"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Verb, upper case.</summary>
    public required string Command { get; init; }
    /// <summary>Argument (never PASS's).</summary>
    public string? Argument { get; init; }
    /// <summary>Final reply code.</summary>
    public int? ReplyCode { get; init; }
    /// <summary>Preliminary reply code.</summary>
    public int? PreliminaryCode { get; init; }
    /// <summary>First line of the final reply, after the code.</summary>
    public string? ReplyText { get; init; }
    /// <summary>Announced data address.</summary>
    public string? DataIp { get; init; }
    /// <summary>Announced data port.</summary>
    public int? DataPort { get; init; }
    /// <summary>AUTH accepted.</summary>
    public bool? Encrypted { get; init; }
}

/// <summary><c>ftp.login</c>: the outcome of a login (USER, PASS when asked for, RFC 959 §5.4), emitted with the reply that
/// decides it; it travels as the client's (source = client). Never carries a password: for a named account only that
/// one was sent and its keyed hash; anonymous logins (RFC 1635: the password is an e-mail address) carry neither.</summary>
internal sealed record FtpLoginEvent : FtpEvent
{
    /// <summary>The schema of <c>ftp.login</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("ftp.login",
        Text<FtpLoginEvent>("ftp.login.outcome", e => e.Outcome, "success (2xx) or failure (4xx, 5xx: 530 not logged in)."),
        Flag<FtpLoginEvent>("ftp.login.accepted", e => e.Accepted, "The server accepted the login (230 or 202)."),
        Flag<FtpLoginEvent>("ftp.login.anonymous", e => e.Anonymous, "The user is anonymous or ftp (RFC 1635)."),
        Number<FtpLoginEvent>("ftp.response.code", e => e.ReplyCode, "The reply that decided the login (230, 530...)."),
        Text<FtpLoginEvent>("ftp.response.arg", e => e.ReplyText, "Text of that reply's first line, bounded."),
        Flag<FtpLoginEvent>("ftp.password.present", e => e.PasswordPresent, "A password for a named account crossed the network in clear (PASS before any AUTH TLS); missing for anonymous logins and logins without PASS."),
        Text<FtpLoginEvent>("ftp.password.hash", e => e.PasswordHash, "Keyed hash of that password (tells passwords apart; not reversible)."))
        .WithFacts(
            DeviceFact.Username("user.name"),
            DeviceFact.Login("ftp.password.present"),
            DeviceFact.Accepted("ftp.login.accepted", "ftp.password.present"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>success or failure.</summary>
    public required string Outcome { get; init; }
    /// <summary>Accepted.</summary>
    public bool Accepted { get; init; }
    /// <summary>Anonymous user.</summary>
    public bool Anonymous { get; init; }
    /// <summary>Reply code.</summary>
    public int ReplyCode { get; init; }
    /// <summary>Reply text.</summary>
    public string? ReplyText { get; init; }
    /// <summary>A named account's password was sent.</summary>
    public bool? PasswordPresent { get; init; }
    /// <summary>Its keyed hash.</summary>
    public string? PasswordHash { get; init; }
}

/// <summary><c>ftp.reply</c>: a reply that answers no command: the server's greeting (220, RFC 959 §5.4), or an unsolicited
/// one (421 before the server closes).</summary>
internal sealed record FtpReplyEvent : FtpEvent
{
    /// <summary>The schema of <c>ftp.reply</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("ftp.reply",
        Number<FtpReplyEvent>("ftp.response.code", e => e.ReplyCode, "Reply code."),
        Text<FtpReplyEvent>("ftp.response.arg", e => e.ReplyText, "Text of the reply's first line, bounded."),
        Text<FtpReplyEvent>("ftp.banner", e => e.Banner, "The greeting's text (the server's first reply, 220): often the software and version."))
        .WithFacts(DeviceFact.Identity("ftp.banner", DeviceEnd.Server));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Reply code.</summary>
    public int ReplyCode { get; init; }
    /// <summary>Reply text.</summary>
    public string? ReplyText { get; init; }
    /// <summary>Greeting text.</summary>
    public string? Banner { get; init; }
}

/// <summary><c>ftp.data</c>: a data connection (RFC 959 §3.2) opened to an endpoint a control session announced (PASV, EPSV,
/// PORT, EPRT), emitted when it ends; its bytes are counted, never dissected as another protocol.</summary>
internal sealed record FtpDataEvent : FtpEvent
{
    /// <summary>The schema of <c>ftp.data</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("ftp.data",
        Text<FtpDataEvent>("ftp.control.flow_id", e => e.ControlFlowId, "flow.id of the control connection that announced this data connection."),
        Text<FtpDataEvent>("ftp.data.mode", e => e.Mode, "passive (the client connected to the server's PASV/EPSV endpoint) or active (the server connected to the client's PORT/EPRT endpoint)."),
        Text<FtpDataEvent>("ftp.data.announced_by", e => e.AnnouncedBy, "The command that announced the endpoint: PASV, EPSV, PORT or EPRT."),
        Text<FtpDataEvent>("ftp.request.command", e => e.Command, "The transfer command that used the connection (RETR, STOR, LIST...), when it was seen."),
        Text<FtpDataEvent>("ftp.request.arg", e => e.Argument, "Its argument (the file or directory)."),
        Number<FtpDataEvent>("ftp.data.bytes_to_server", e => e.BytesToServer, "Payload bytes sent by the side that opened the data connection."),
        Number<FtpDataEvent>("ftp.data.bytes_to_client", e => e.BytesToClient, "Payload bytes sent by the other side."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Control flow id.</summary>
    public required string ControlFlowId { get; init; }
    /// <summary>passive or active.</summary>
    public required string Mode { get; init; }
    /// <summary>PASV, EPSV, PORT, EPRT.</summary>
    public required string AnnouncedBy { get; init; }
    /// <summary>Transfer command.</summary>
    public string? Command { get; init; }
    /// <summary>Its argument.</summary>
    public string? Argument { get; init; }
    /// <summary>Bytes from the opener.</summary>
    public long BytesToServer { get; init; }
    /// <summary>Bytes from the other side.</summary>
    public long BytesToClient { get; init; }
}

/// <summary><c>ftp.malformed</c>: a line that is not FTP or exceeds a limit (also reported as a diagnostic).</summary>
internal sealed record FtpMalformedEvent : FtpEvent
{
    /// <summary>The schema of <c>ftp.malformed</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("ftp.malformed",
        Text<FtpMalformedEvent>("error.message", e => e.ErrorMessage, "What was wrong and where."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>What was wrong and where.</summary>
    public required string ErrorMessage { get; init; }
}
