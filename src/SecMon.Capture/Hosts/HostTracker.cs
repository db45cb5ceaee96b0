using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Core.Devices;
using SecMon.Core.Flows;

namespace SecMon.Capture.Hosts;

/// <summary>
/// Which (MAC, IP address) pairs have sent IP traffic in this run: asked on the first packet of each direction of a
/// flow (at most twice per flow, never per packet), it writes an <see cref="HostSeenEvent"/> for a pair not seen
/// before. Skipped: frames without a MAC (loopback, raw IP), the all-zero MAC, group (multicast, broadcast) MACs, and
/// the unspecified address (a DHCP client asking from 0.0.0.0 is named by DHCP itself). Bounded: at most
/// <see cref="MaxAddressesPerMac"/> addresses per MAC (a router carries every routed address behind its own MAC) and
/// <paramref name="maxMacs"/> MACs; past that, new hosts are counted (<see cref="CaptureStats.HostsNotTracked"/>) and
/// left to ARP and the protocols' events.
/// </summary>
internal sealed class HostTracker(IEventSink events, CaptureStats stats, int maxMacs)
{
    /// <summary>Addresses remembered per MAC (IPv4, IPv6 link-local and a global address or two).</summary>
    public const int MaxAddressesPerMac = 4;

    // Keyed by the MAC's value with a per-process seeded hash (the sender's MAC is the attacker's to choose).
    private readonly Dictionary<MacAddress, IpAddress[]> _macs = new(SeededMacComparer.Instance);
    private readonly int _maxMacs = Math.Max(1, maxMacs);

    /// <summary>The first packet of <paramref name="direction"/> of <paramref name="flow"/>: its sender, if new. The
    /// sender is the direction's source as the flow's context has it (its MAC from the flow's first packet).</summary>
    public void OnFirstPacket(Flow flow, FlowDirection direction, in PacketMeta meta)
    {
        var toServer = direction == FlowDirection.ToServer;
        var hasMac = toServer ? flow.HasClientMac : flow.HasServerMac;
        var mac = toServer ? flow.ClientMac : flow.ServerMac;
        var ip = flow.ClientIsA == toServer ? flow.Key.AddressA : flow.Key.AddressB;
        if (!hasMac || !mac.IsUsable || (ip.Low == 0 && ip.High == 0))
        {
            return;
        }

        var newMac = false;
        if (!_macs.TryGetValue(mac, out var addresses))
        {
            if (_macs.Count >= _maxMacs)
            {
                stats.HostsNotTracked++;
                return;
            }

            addresses = new IpAddress[MaxAddressesPerMac];
            _macs[mac] = addresses;
            newMac = true;
        }

        // Unused entries are the unspecified address, which is never stored (skipped above).
        var free = -1;
        for (var i = 0; i < addresses.Length; i++)
        {
            var held = addresses[i];
            if (held.Low == 0 && held.High == 0)
            {
                free = i;
                break;
            }

            if (held == ip)
            {
                return;
            }
        }

        if (free < 0)
        {
            stats.HostsNotTracked++;
            return;
        }

        addresses[free] = ip;
        events.Emit(new HostSeenEvent
        {
            Flow = toServer ? flow.ToServer : flow.ToClient,
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            NewMac = newMac,
        });
    }
}

/// <summary>MACs hashed with a per-process seed (<see cref="HashCode"/>): a sender's MAC is the sender's to choose, so
/// colliding keys must not be precomputable.</summary>
internal sealed class SeededMacComparer : IEqualityComparer<MacAddress>
{
    /// <summary>The one instance.</summary>
    public static readonly SeededMacComparer Instance = new();

    /// <inheritdoc />
    public bool Equals(MacAddress x, MacAddress y) => x.Value == y.Value;

    /// <inheritdoc />
    public int GetHashCode(MacAddress obj) => HashCode.Combine(obj.Value);
}
