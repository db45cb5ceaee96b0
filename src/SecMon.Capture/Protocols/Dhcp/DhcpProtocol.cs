using System.Runtime.CompilerServices;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Dhcp;

/// <summary>
/// BOOTP/DHCP over UDP (RFC 2131, RFC 2132; IPv4 only: DHCPv6 is another protocol, not dissected). Recognised from
/// content on any port: op 1 or 2, a hardware address length that fits chaddr, at most 16 hops and the magic cookie
/// 99.130.83.99 at byte 236; 67 (server) and 68 (client) are only hints. A client asks from 0.0.0.0:68 to
/// 255.255.255.255:67 and the server answers from :67 to the broadcast or the offered address, so a request and its
/// reply are usually on two flows: replies are joined to requests per run, by transaction id and chaddr.
/// </summary>
internal sealed class DhcpProtocol(DhcpOptions? options = null) : IDatagramProtocol
{
    // One transaction table per run (a run has one ProtocolServices): requests and replies are on different flows.
    private readonly ConditionalWeakTable<ProtocolServices, DhcpRun> _runs = [];

    /// <summary>DHCP's own limits; defaults documented there.</summary>
    public DhcpOptions Options { get; } = options ?? new DhcpOptions();

    /// <inheritdoc />
    public string Name => "dhcp";

    /// <inheritdoc />
    /// <remarks>67 only: 68 is the client's port (still a service port, being below 1024).</remarks>
    public IReadOnlyList<int> PortHints { get; } = [67];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas => [DhcpMessageEvent.RequestSchema, DhcpMessageEvent.ReplySchema];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> datagram, FlowDirection direction) =>
        DhcpParser.LooksLikeDhcp(datagram) ? ProbeResult.Mine : ProbeResult.NotMine;

    /// <inheritdoc />
    public IDatagramSession CreateSession(FlowContext flow, ProtocolServices services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var run = _runs.GetValue(services, _ => new DhcpRun(new DhcpTransactions(Math.Max(16, Options.MaxTransactions)), new DhcpTextCache()));
        return new DhcpSession(flow, services, run.Transactions, run.Texts);
    }

    private sealed record DhcpRun(DhcpTransactions Transactions, DhcpTextCache Texts);
}
