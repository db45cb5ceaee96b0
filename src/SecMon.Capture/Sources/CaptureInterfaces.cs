using System.Net.Sockets;
using SharpPcap;
using SharpPcap.LibPcap;

namespace SecMon.Capture.Sources;

/// <summary>An interface libpcap can capture on, as <c>secmon interfaces</c> lists it.</summary>
/// <param name="Name">The name to give <c>-i</c> (<c>eth0</c>, <c>lo</c>, <c>any</c>).</param>
/// <param name="Description">libpcap's description, when it has one.</param>
/// <param name="Addresses">IPv4 and IPv6 addresses, each with its prefix length (<c>192.0.2.10/24</c>).</param>
/// <param name="Mac">The hardware address (<c>02:00:5e:10:00:01</c>), when it has one.</param>
/// <param name="Loopback">The loopback interface.</param>
/// <param name="Up">Administratively up.</param>
/// <param name="Running">Operationally up (a carrier, or always for virtual interfaces).</param>
internal sealed record CaptureInterface(string Name, string? Description, IReadOnlyList<string> Addresses, string? Mac,
    bool Loopback, bool Up, bool Running);

/// <summary>The interfaces of this machine as libpcap sees them (listing needs no privilege; capturing does).</summary>
internal static class CaptureInterfaces
{
    // pcap_findalldevs flags (pcap/pcap.h).
    private const uint PcapIfLoopback = 0x1;
    private const uint PcapIfUp = 0x2;
    private const uint PcapIfRunning = 0x4;

    /// <summary>Every interface, in libpcap's order; null and a one-line reason when libpcap cannot list them.</summary>
    public static IReadOnlyList<CaptureInterface>? TryList(out string? error)
    {
        try
        {
            var list = new List<CaptureInterface>();
            foreach (var device in LibPcapLiveDeviceList.New())
            {
                var i = device.Interface!;
                var addresses = new List<string>();
                foreach (var a in i.Addresses ?? [])
                {
                    if (a.Addr?.ipAddress is { AddressFamily: AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 } ip)
                    {
                        addresses.Add(ip + (PrefixLength(a.Netmask) is { } p ? "/" + p : ""));
                    }
                }

                var mac = i.MacAddress is { } m && m.GetAddressBytes().Length == 6 && m.GetAddressBytes().Any(b => b != 0)
                    ? string.Join(':', m.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)))
                    : null;
                list.Add(new CaptureInterface(i.Name, string.IsNullOrWhiteSpace(i.Description) ? null : i.Description, addresses, mac,
                    (i.Flags & PcapIfLoopback) != 0, (i.Flags & PcapIfUp) != 0, (i.Flags & PcapIfRunning) != 0));
            }

            error = null;
            return list;
        }
        catch (Exception ex) when (ex is PcapException or DllNotFoundException)
        {
            error = "cannot list interfaces: libpcap is missing or failed (Debian: apt-get install libpcap0.8): " + ex.Message;
            return null;
        }
    }

    // The prefix length of a netmask (255.255.255.0 -> 24), or null when there is none or it is not contiguous.
    private static int? PrefixLength(Sockaddr? netmask)
    {
        if (netmask?.ipAddress is not { } mask)
        {
            return null;
        }

        var bits = 0;
        var ended = false;
        foreach (var b in mask.GetAddressBytes())
        {
            for (var bit = 7; bit >= 0; bit--)
            {
                var set = (b >> bit & 1) == 1;
                if (set && ended)
                {
                    return null;
                }

                if (set)
                {
                    bits++;
                }
                else
                {
                    ended = true;
                }
            }
        }

        return bits;
    }
}
