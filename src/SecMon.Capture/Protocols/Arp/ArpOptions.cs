namespace SecMon.Capture.Protocols.Arp;

/// <summary>ARP's own limits and window. Every bound here is what a hostile sender could otherwise grow.</summary>
internal sealed record ArpOptions
{
    /// <summary>How long after a request a reply to it counts as solicited (capture time). Default 5 s: Linux retries an
    /// unanswered request every second, three times (<c>ucast_solicit</c>/<c>mcast_solicit</c> 3).</summary>
    public TimeSpan ReplyWindow { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Most requests remembered to tell solicited replies from unsolicited ones; when full the table is emptied
    /// (a flood of requests costs at most some replies wrongly called unsolicited). Default 4,096.</summary>
    public int MaxPendingRequests { get; init; } = 4096;

    /// <summary>Most ARP conversations (sender, target, Ethernet addresses, VLAN) whose flow context is kept, so their
    /// events share one <c>flow.id</c>; when full the table is emptied. A conversation costs about 500 bytes (two flow
    /// contexts and a key), a new one a SHA-256 for its id. Default 16,384 (8 MB at most): a LAN of a few thousand
    /// hosts each asking for its gateway and a few peers.</summary>
    public int MaxConversations { get; init; } = 16_384;

    /// <summary>Most addresses whose latest claimant (MAC) is remembered, so an event can name the MAC that claimed its
    /// address before it (<c>arp.sender.previous_mac</c>); when full the table is emptied. An address costs about 40
    /// bytes. Default 16,384.</summary>
    public int MaxClaimedAddresses { get; init; } = 16_384;
}
