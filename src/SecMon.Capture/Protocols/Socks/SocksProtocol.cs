using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Socks;

/// <summary>
/// SOCKS5 (RFC 1928, with RFC 1929's username/password login) and SOCKS4/4a over TCP, recognised by content on any port
/// (1080 is only a hint): a client's first segment that is exactly a SOCKS5 greeting (version 5, one to 255 distinct
/// methods) or a SOCKS4 request (version 4, CONNECT or BIND, a NUL-terminated user id, and for 4a a host name). Proxies
/// matter twice on an IoT network: a device that logs in to one sends its password in clear, and a device that serves
/// one (IoT malware turns devices into residential proxies) relays strangers' connections. Events: <c>socks.login</c>,
/// <c>socks.request</c>, <c>socks.reply</c>; the relayed stream is dissected as a connection of its own
/// (<see cref="SocksSession"/>).
/// </summary>
internal sealed class SocksProtocol : IStreamProtocol
{
    /// <inheritdoc />
    public string Name => "socks";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [1080];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        SocksLoginEvent.SchemaInstance,
        SocksRequestEvent.SchemaInstance,
        SocksReplyEvent.SchemaInstance,
    ];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction)
    {
        if (direction != FlowDirection.ToServer || data.IsEmpty)
        {
            return ProbeResult.NotMine;
        }

        // The client waits for the proxy's answer after each message: its first segment is the whole first message.
        var length = data[0] switch
        {
            5 => SocksParser.Greeting(data),
            4 => SocksParser.Socks4Request(data, out _, out _, out _, out _, out _),
            _ => -1,
        };
        return length == data.Length ? ProbeResult.Mine : length == 0 ? ProbeResult.NeedMoreData : ProbeResult.NotMine;
    }

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) => new SocksSession(flow, services);
}
