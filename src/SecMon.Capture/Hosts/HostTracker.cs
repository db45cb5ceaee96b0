using SecMon.Capture.Flows;
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

    private readonly Dictionary<string, string[]> _macs = new(StringComparer.Ordinal);
    private readonly int _maxMacs = Math.Max(1, maxMacs);

    /// <summary>The first packet of <paramref name="direction"/> of <paramref name="flow"/>: its sender, if new.</summary>
    public void OnFirstPacket(Flow flow, FlowDirection direction, in PacketMeta meta)
    {
        var context = direction == FlowDirection.ToServer ? flow.ToServer : flow.ToServer.Reverse!;
        var mac = context.SourceMac;
        var ip = context.SourceIp;
        if (mac is null || !IsUnicastMac(mac) || ip is "0.0.0.0" or "::")
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

            addresses = new string[MaxAddressesPerMac];
            _macs[mac] = addresses;
            newMac = true;
        }

        var free = -1;
        for (var i = 0; i < addresses.Length; i++)
        {
            if (addresses[i] is null)
            {
                free = i;
                break;
            }

            if (string.Equals(addresses[i], ip, StringComparison.Ordinal))
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
            Flow = context,
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            NewMac = newMac,
        });
    }

    // "02-00-00-00-00-01": not all zeros, and the group bit (the first octet's lowest bit) clear.
    private static bool IsUnicastMac(string mac) =>
        mac.Length == 17 && (HexValue(mac[1]) & 1) == 0 && mac != "00-00-00-00-00-00";

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => 1, // not a MAC as AddressNames writes it: treated as a group address (skipped)
    };
}
