using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Socks;

// ECS has no socks.* field set: user.name is ECS's (the RFC 1929 user, or SOCKS4's USERID); the rest is SecMon's custom
// socks.* set, named after Wireshark's SOCKS fields where it has them. The connection's destination is the proxy; where
// the client asked the proxy to connect to is socks.target.*.

/// <summary>Base of every SOCKS event: the protocol version and the user the client named.</summary>
internal abstract record SocksEvent : ProtocolEvent
{
    /// <summary>4 (SOCKS4 and 4a) or 5 (RFC 1928).</summary>
    public required int Version { get; init; }

    /// <summary>The RFC 1929 user name, or SOCKS4's USERID, when one was sent.</summary>
    public string? User { get; init; }

    /// <summary>Builds a schema: socks.version and user.name, then the type's own fields.</summary>
    protected static EventSchema CreateSchema(string type, params EventField[] own) =>
        new(type,
        [
            new EventField<SocksEvent>("socks.version", FieldKind.Number, e => FieldValue.Of(e.Version), "SOCKS version: 4 (SOCKS4, SOCKS4a) or 5 (RFC 1928)."),
            Text<SocksEvent>("user.name", e => e.User, "User name of the RFC 1929 username/password login, or SOCKS4's USERID; the password is never kept."),
            .. own,
        ]);

    /// <summary>A text field of <typeparamref name="T"/>.</summary>
    protected static EventField Text<T>(string name, Func<T, string?> get, string description) where T : SocksEvent =>
        new EventField<T>(name, FieldKind.Text, e => FieldValue.Of(get(e)), description);

    /// <summary>A boolean field of <typeparamref name="T"/>.</summary>
    protected static EventField Flag<T>(string name, Func<T, bool?> get, string description) where T : SocksEvent =>
        new EventField<T>(name, FieldKind.Boolean, e => FieldValue.Of(get(e)), description);

    /// <summary>The fields of the request a reply answers (and the request itself has).</summary>
    protected static EventField[] Target<T>(Func<T, SocksTarget?> get) where T : SocksEvent =>
    [
        Text<T>("socks.command", e => get(e)?.Command, "What the client asked: connect, bind or udp_associate."),
        Text<T>("socks.target.domain", e => get(e)?.Domain, "Host name the client asked the proxy to connect to (SOCKS5 domain name, SOCKS4a), resolved by the proxy."),
        new EventField<T>("socks.target.ip", FieldKind.Ip, e => FieldValue.OfIp(get(e)?.Ip), "Address the client asked the proxy to connect to."),
        new EventField<T>("socks.target.port", FieldKind.Number, e => FieldValue.Of(get(e)?.Port), "Port the client asked the proxy to connect to."),
        Text<T>("socks.target.address", e => get(e)?.Address, "Where the client asked the proxy to connect to, as host:port or address:port ([IPv6]:port)."),
    ];
}

/// <summary>Where a request asked the proxy to go.</summary>
internal sealed record SocksTarget(string Command, string? Domain, string? Ip, int Port)
{
    /// <summary>host:port, address:port or [IPv6]:port.</summary>
    public string Address { get; } = $"{(Domain ?? (Ip is { } ip && ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : Ip))}:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary><c>socks.login</c>: a username/password login (RFC 1929) and the proxy's verdict, emitted with the verdict (or
/// when the flow ends without one). Never carries the password: that one was sent, and its keyed hash.</summary>
internal sealed record SocksLoginEvent : SocksEvent
{
    /// <summary>The schema of <c>socks.login</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("socks.login",
        Flag<SocksLoginEvent>("socks.login.accepted", e => e.Accepted, "The proxy accepted the login (status 0); missing when its answer was not seen."),
        Flag<SocksLoginEvent>("socks.password.present", e => true, "A password crossed the network in clear (RFC 1929 sends it as is)."),
        Text<SocksLoginEvent>("socks.password.hash", e => e.PasswordHash, "Keyed hash of the password (tells passwords apart; not reversible)."))
        .WithFacts(
            DeviceFact.Username("user.name"),
            DeviceFact.Login("socks.password.present"),
            DeviceFact.Accepted("socks.login.accepted", "socks.password.present"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>The proxy's verdict, when seen.</summary>
    public bool? Accepted { get; init; }

    /// <summary>Keyed hash of the password.</summary>
    public required string PasswordHash { get; init; }
}

/// <summary><c>socks.request</c>: what the client asked the proxy (RFC 1928 §4, SOCKS4's request), with the authentication
/// method the proxy chose for it.</summary>
internal sealed record SocksRequestEvent : SocksEvent
{
    /// <summary>The schema of <c>socks.request</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("socks.request",
        [
            .. Target<SocksRequestEvent>(e => e.Target),
            Text<SocksRequestEvent>("socks.auth_method", e => e.AuthMethod, "Authentication the proxy chose (SOCKS5): none, gssapi, username_password, or the method's number."),
        ])
        .WithFacts(DeviceFact.Values("socks.target.domain", "socks.target"), DeviceFact.Values("socks.target.ip", "socks.target"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>The request.</summary>
    public required SocksTarget Target { get; init; }

    /// <summary>The method the proxy chose (SOCKS5), when seen.</summary>
    public string? AuthMethod { get; init; }
}

/// <summary><c>socks.reply</c>: the proxy's answer to a request (RFC 1928 §6, SOCKS4's reply), joined to it; or its refusal
/// of every method the client offered (<c>no_acceptable_methods</c>, no request then). It travels as the proxy's.</summary>
internal sealed record SocksReplyEvent : SocksEvent
{
    /// <summary>The schema of <c>socks.reply</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("socks.reply",
        [
            .. Target<SocksReplyEvent>(e => e.Target),
            Text<SocksReplyEvent>("socks.status", e => e.Status, "succeeded, general_failure, not_allowed, network_unreachable, host_unreachable, connection_refused, ttl_expired, command_not_supported, address_type_not_supported, no_acceptable_methods; SOCKS4: succeeded, rejected, no_identd, identd_mismatch."),
            Flag<SocksReplyEvent>("socks.relayed", e => e.Relayed, "The proxy granted the request: from here on the connection carries what it relays."),
        ]);

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>The request answered, when seen.</summary>
    public SocksTarget? Target { get; init; }

    /// <summary>The status's name.</summary>
    public required string Status { get; init; }

    /// <summary>Granted.</summary>
    public bool Relayed { get; init; }
}
