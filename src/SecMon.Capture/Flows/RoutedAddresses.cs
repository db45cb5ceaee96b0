using SecMon.Capture.Decoding;

namespace SecMon.Capture.Flows;

/// <summary>
/// Addresses that reach this segment through a router: on the wire they carry the router's MAC, not their own, so that
/// MAC must not be taken for theirs (a cloud broker, a DNS resolver, every internet host would otherwise become one
/// device, the gateway, "serving" everything). A packet that crossed a router arrives with its TTL (IPv6: hop limit)
/// below every initial value senders use (<see cref="IsInitial"/>: 64 Linux and most RTOS, 128 Windows, 255 network
/// gear and lwIP, 32, 30 and 60 older stacks, 1 link-local protocols), since each router lowers it by one: its sender is
/// off the segment. Only unicast frames are judged (multicast chatter such as SSDP goes out with a small TTL on
/// purpose). Addresses are judged per link (<see cref="DecodedPacket.Segment"/>): per VLAN (on a trunk, a host on its own
/// VLAN reaches the others through the router) and, in a Linux cooked capture of several interfaces (<c>tcpdump -i any</c>
/// on a router), per interface: a cloud host is on-link on the router's uplink and routed on its LAN ports. A cooked frame
/// carries no receiver MAC; it is judged when the capturing host took it as unicast (to it, to another host, or sent by
/// it) and its destination is not a group address.
/// An address seen on the segment itself is never judged routed: one that sent an ARP packet, an ICMP or
/// ICMPv6 packet (neighbour discovery goes out with hop limit 255), or any unicast frame with an initial TTL. That keeps
/// a local scanner local: nmap's raw SYNs go out with a random TTL, but nmap resolves its targets' MACs first.
/// Bounded: past <see cref="MaxAddresses"/> addresses in either set none is added (a flood of spoofed senders costs
/// memory no further; an address not remembered is still judged by each flow's own packets).
/// </summary>
internal sealed class RoutedAddresses
{
    /// <summary>Addresses remembered.</summary>
    public const int MaxAddresses = 65_536;

    /// <summary>Router MACs remembered.</summary>
    public const int MaxRouters = 1_024;

    // Keyed by address and link (VLAN, capture interface): on a trunk, a host on-link in its own VLAN reaches another
    // VLAN through the router. Hashed with a per-process seed (SeededIpComparer): the addresses are the senders' to choose.
    private readonly HashSet<(IpAddress, ulong)> _routed = new(SeededLinkComparer.Instance);
    private readonly HashSet<(IpAddress, ulong)> _onLink = new(SeededLinkComparer.Instance);
    private readonly HashSet<Core.Devices.MacAddress> _routers = new(Hosts.SeededMacComparer.Instance);

    /// <summary>True for a TTL (or hop limit) a sender starts with.</summary>
    public static bool IsInitial(byte ttl) => ttl is 64 or 128 or 255 or 32 or 30 or 60 or 1;

    /// <summary>True when the sender of <paramref name="packet"/> is off the segment (its frame came through a
    /// router); such a sender is remembered.</summary>
    public bool SenderIsRouted(ref DecodedPacket packet)
    {
        if (!packet.HasSourceMac || !IsUnicast(ref packet))
        {
            return false;
        }

        var segment = packet.Segment;
        if (IsInitial(packet.Ttl))
        {
            OnLink(packet.Source, segment);
            return false;
        }

        if (_onLink.Contains((packet.Source, segment)))
        {
            return false;
        }

        Add(_routed, (packet.Source, segment));
        if (_routers.Count < MaxRouters)
        {
            _routers.Add(packet.SourceMac);
        }

        return true;
    }

    /// <summary>True when a packet to <paramref name="address"/> sent to <paramref name="mac"/> goes beyond a router:
    /// the address was seen arriving through one, or the MAC is a router's (it carried routed senders) and the address
    /// was never seen on the segment. A flow's first packet is judged so before its answer can tell (a DNS query to a
    /// resolver in the cloud: its event would otherwise name the gateway's MAC for the resolver).</summary>
    public bool ReceiverIsRouted(IpAddress address, ulong segment, Core.Devices.MacAddress mac) =>
        _routed.Count > 0 && (_routed.Contains((address, segment)) || (_routers.Contains(mac) && !_onLink.Contains((address, segment))));

    /// <summary>An address seen on the link (<see cref="DecodedPacket.Segment"/>) itself: an ARP sender, a neighbour
    /// discovery or ICMP sender with an initial TTL.</summary>
    public void OnLink(IpAddress address, ulong segment)
    {
        if ((address.Low | address.High) != 0)
        {
            Add(_onLink, (address, segment));
        }
    }

    // A frame to one host: by its receiver MAC, or in a cooked capture by how the host took it and the destination.
    private static bool IsUnicast(ref DecodedPacket packet) => packet.HasDestinationMac
        ? packet.DestinationMac.IsUsable
        : packet.Cooked && packet.CookedType is 0 or 3 or 4 && !packet.Destination.IsGroup;

    private static void Add(HashSet<(IpAddress, ulong)> set, (IpAddress, ulong) key)
    {
        if (set.Count < MaxAddresses)
        {
            set.Add(key);
        }
    }
}
