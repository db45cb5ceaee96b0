namespace SecMon.Capture.Protocols.Telnet;

/// <summary>
/// Telnet's own limits and word lists, per flow. Every bound is what a hostile peer could otherwise grow: a line is
/// kept only while a login is in progress, up to <see cref="MaxLineBytes"/>; a subnegotiation is read up to
/// <see cref="MaxSubnegotiationBytes"/>; nothing is sized by a length from the wire (Telnet has none).
/// </summary>
internal sealed record TelnetOptions
{
    /// <summary>Longest line kept per direction while a login is in progress (the client's answer to a prompt, the
    /// server's current line where prompts and verdicts are looked for). A longer client answer is cut (its user name
    /// keeps the first bytes); a longer server line keeps its last bytes, where a prompt ends. Clamped to 32..4,096.
    /// Default 256.</summary>
    public int MaxLineBytes { get; init; } = 256;

    /// <summary>Longest subnegotiation (IAC SB ... IAC SE, RFC 854) read; a longer one is malformed
    /// (<see cref="MalformedReason.TooLarge"/>) and the direction goes back to data at once (a missing IAC SE would
    /// otherwise swallow the stream). Clamped to 16..65,536. Default 512.</summary>
    public int MaxSubnegotiationBytes { get; init; } = 512;

    /// <summary>Login attempts reported per connection; later ones are counted on <c>telnet.session</c> only. Clamped
    /// to 1..1,024. Default 32.</summary>
    public int MaxLogins { get; init; } = 32;

    /// <summary>Endings of a server line (case ignored, trailing blanks ignored) that ask for a user name: Linux
    /// login(1) and BusyBox (<c>camera login:</c>), routers (<c>Username:</c>, <c>User Name:</c>, <c>User:</c>), PuTTY
    /// style <c>login as:</c>. Default: <c>login:</c>, <c>username:</c>, <c>user name:</c>, <c>user:</c>,
    /// <c>login as:</c>, <c>account:</c>.</summary>
    public IReadOnlyList<string> UserPrompts { get; init; } = ["login:", "username:", "user name:", "user:", "login as:", "account:"];

    /// <summary>Endings of a server line (case ignored, trailing blanks ignored) that ask for a password. Default:
    /// <c>password:</c>, <c>passwd:</c>, <c>pass:</c>, <c>passcode:</c>.</summary>
    public IReadOnlyList<string> PasswordPrompts { get; init; } = ["password:", "passwd:", "pass:", "passcode:"];

    /// <summary>Text in a complete server line after a password (case ignored) that says the login failed: login(1)'s
    /// <c>Login incorrect</c>, <c>Access denied</c>, <c>Authentication failed</c>, <c>Invalid password</c>... A line that
    /// also holds <c>last</c> is not a verdict (<c>Last failed login: ...</c> follows a successful login). Default:
    /// <c>incorrect</c>, <c>denied</c>, <c>failed</c>, <c>failure</c>, <c>invalid</c>, <c>bad password</c>,
    /// <c>wrong</c>, <c>unauthorized</c>, <c>not authorized</c>.</summary>
    public IReadOnlyList<string> FailureMessages { get; init; } =
        ["incorrect", "denied", "failed", "failure", "invalid", "bad password", "wrong", "unauthorized", "not authorized"];

    /// <summary>Last characters of a shell prompt (after trailing blanks): a server line ending so after a login means
    /// the login succeeded (<c>$ </c>, <c># </c>, <c>&gt; </c>, <c>% </c>). Default <c>$#&gt;%</c>.</summary>
    public string ShellPromptEndings { get; init; } = "$#>%";
}
