using SecMon.Capture.Decoding;
using SecMon.Capture.Protocols.Arp;
using SecMon.Core.Devices;

namespace SecMon.Capture.Flows;

/// <summary>
/// The MAC each address was last sent from, for captures whose frames carry the sender's MAC only: a Linux cooked
/// capture (<c>tcpdump -i any</c>, <c>dumpcap -i any</c>) keeps one link-layer address per frame, the sender's. Without it a
/// flow's server end would have no MAC until the server sent, and the inventory would count the server twice: by its
/// address (as the receiver of the first packet) and by its MAC (as a sender). Learned from IP senders and ARP senders
/// (hosts on a LAN ask ARP before they talk; the packet path reads each ARP packet once), looked up when a flow starts.
/// Per capture interface (<see cref="DecodedPacket.Interface"/>): a router capturing its LAN and its uplink sees a cloud
/// host sent from the uplink's gateway there and from the router itself on the LAN. Bounded: when full it starts again empty
/// (a flood of spoofed senders costs the look-ups, never memory).
/// </summary>
internal sealed class LinkAddresses(int capacity = LinkAddresses.DefaultCapacity)
{
    /// <summary>Addresses remembered at most.</summary>
    public const int DefaultCapacity = 16_384;

    private readonly Dictionary<(IpAddress, ulong), MacAddress> _macs = new(SeededLinkComparer.Instance);

    /// <summary>Learns the sender of a decoded IP packet that has its MAC and no receiver's MAC (the others need no
    /// table).</summary>
    public void Learn(in DecodedPacket packet)
    {
        if (packet.HasSourceMac && !packet.HasDestinationMac && packet.SourceMac.IsUsable)
        {
            Remember(packet.Source, packet.Interface, packet.SourceMac);
        }
    }

    /// <summary>Learns the sender of an ARP packet (IPv4 over Ethernet, RFC 826) of such a frame.</summary>
    public void Learn(in DecodedPacket packet, in ArpMessage arp)
    {
        if (packet.HasSourceMac && !packet.HasDestinationMac && arp.SenderMac.IsUsable)
        {
            Remember(new IpAddress(0, arp.SenderIp, false), packet.Interface, arp.SenderMac);
        }
    }

    /// <summary>The MAC <paramref name="address"/> was last sent from on capture interface <paramref name="captureInterface"/>,
    /// when known.</summary>
    public bool TryGet(IpAddress address, uint captureInterface, out MacAddress mac) => _macs.TryGetValue((address, captureInterface), out mac);

    private void Remember(IpAddress address, uint captureInterface, MacAddress mac)
    {
        if ((address.Low | address.High) == 0)
        {
            return; // 0.0.0.0 or ::: a host without an address yet
        }

        if (_macs.Count >= capacity && !_macs.ContainsKey((address, captureInterface)))
        {
            _macs.Clear();
        }

        _macs[(address, captureInterface)] = mac;
    }
}
