namespace SecMon.Capture.Protocols.Dhcpv6;

/// <summary>
/// DHCPv6's own limits. Every bound here is what a hostile peer could otherwise grow; the defaults suit a sensor
/// watching a few thousand devices.
/// </summary>
internal sealed record Dhcpv6Options
{
    /// <summary>Requests remembered per run to join replies to them by transaction id and client DUID (a client asks
    /// from its link-local address to ff02::1:2 and the server answers on another flow). The oldest is forgotten
    /// first; a reply whose request was forgotten has no <c>dhcpv6.request.message_type</c>. Values below 16 are taken
    /// as 16. Default 4,096.</summary>
    public int MaxTransactions { get; init; } = 4096;

    /// <summary>Addresses reported per message from its IA_NA options (the rest are counted in
    /// <c>dhcpv6.address_count</c>, not listed). Values below 1 are taken as 1. Default 8.</summary>
    public int MaxAddresses { get; init; } = 8;
}
