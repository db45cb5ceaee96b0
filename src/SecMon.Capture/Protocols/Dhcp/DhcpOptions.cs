namespace SecMon.Capture.Protocols.Dhcp;

/// <summary>
/// DHCP's own limits. Every bound here is what a hostile peer could otherwise grow; the defaults suit a sensor
/// watching a few thousand devices.
/// </summary>
internal sealed record DhcpOptions
{
    /// <summary>Requests remembered per run to join replies to them by transaction id and chaddr (a client's DISCOVER
    /// and REQUEST arrive on one flow, the server's OFFER and ACK often on another: to 255.255.255.255 or to the
    /// offered address). The oldest is forgotten first; a reply whose request was forgotten has no
    /// <c>dhcp.request.message_type</c>. Values below 16 are taken as 16. Default 4,096.</summary>
    public int MaxTransactions { get; init; } = 4096;
}
