using System.Runtime.CompilerServices;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Dhcpv6;

/// <summary>
/// DHCPv6 over UDP (RFC 8415). Recognised from content on any port (<see cref="Dhcpv6Parser.LooksLikeDhcpv6"/>): a
/// message type, options that fill the datagram exactly and a well-formed client or server DUID; 546 (client) and 547
/// (server, relay) are only hints. A client asks from its link-local address to ff02::1:2 and the server answers
/// from its own to the client's: two flows, so replies are joined to requests per run, by transaction id and client
/// DUID.
/// </summary>
internal sealed class Dhcpv6Protocol(Dhcpv6Options? options = null) : IDatagramProtocol
{
    // One run state per run (a run has one ProtocolServices): requests and replies are on different flows.
    private readonly ConditionalWeakTable<ProtocolServices, Dhcpv6Run> _runs = [];

    /// <summary>DHCPv6's own limits; defaults documented there.</summary>
    public Dhcpv6Options Options { get; } = options ?? new Dhcpv6Options();

    /// <inheritdoc />
    public string Name => "dhcpv6";

    /// <inheritdoc />
    /// <remarks>547 only: 546 is the client's port, and declaring it a server port would make the flow table take the
    /// client for the server.</remarks>
    public IReadOnlyList<int> PortHints { get; } = [547];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas => [Dhcpv6MessageEvent.RequestSchema, Dhcpv6MessageEvent.ReplySchema];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> datagram, FlowDirection direction) =>
        Dhcpv6Parser.LooksLikeDhcpv6(datagram) ? ProbeResult.Mine : ProbeResult.NotMine;

    /// <inheritdoc />
    public IDatagramSession CreateSession(FlowContext flow, ProtocolServices services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var run = _runs.GetValue(services, _ => new Dhcpv6Run(Math.Max(16, Options.MaxTransactions)));
        return new Dhcpv6Session(flow, services, run, Math.Max(1, Options.MaxAddresses));
    }
}
