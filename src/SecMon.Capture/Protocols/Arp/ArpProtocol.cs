using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Arp;

/// <summary>
/// ARP (RFC 826) for IPv4 over Ethernet, EtherType 0x0806, untagged or behind 802.1Q/802.1ad tags, from Ethernet and
/// Linux cooked (SLL, SLL2) captures: who claims which address. Every request and reply is an event (<see
/// cref="ArpEvent"/>) naming the sender's MAC and the address it claims, so the device inventory discovers devices from
/// ARP too; announcements (gratuitous ARP), unsolicited replies, probes and an Ethernet source that is not the ARP
/// sender are flagged for the rules (rules/arp.yaml).
/// </summary>
internal sealed class ArpProtocol(ArpOptions? options = null) : ILinkProtocol
{
    /// <summary>EtherType of ARP (IEEE registry; RFC 826).</summary>
    public const ushort EtherTypeArp = 0x0806;

    /// <summary>ARP's own limits; defaults documented there.</summary>
    public ArpOptions Options { get; } = options ?? new ArpOptions();

    /// <inheritdoc />
    public string Name => "arp";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas => [ArpEvent.RequestSchema, ArpEvent.ReplySchema];

    /// <inheritdoc />
    public IReadOnlyList<ushort> EtherTypes { get; } = [EtherTypeArp];

    /// <inheritdoc />
    public ILinkSession CreateSession(ProtocolServices services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return new ArpSession(services, Options);
    }
}
