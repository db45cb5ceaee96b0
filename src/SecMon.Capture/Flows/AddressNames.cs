using SecMon.Capture.Decoding;
using SecMon.Core.Devices;

namespace SecMon.Capture.Flows;

/// <summary>
/// The text of addresses for new flows, from small direct-mapped caches: a flow holds its endpoints' addresses as
/// strings, and the same few (the broker, the gateway's MAC) begin most flows. Under a flood of new flows from one
/// MAC to one server this keeps one copy of each instead of one per flow (~100 bytes of the ~1 KB a flow costs).
/// Bounded (a slot is overwritten by the next address that hashes to it), allocation-free on a hit. Sized for a site of
/// a few thousand devices: with 1,024 slots, 2,000 devices' new flows missed often enough to spend 3% of a DNS capture's
/// dissection formatting addresses again (bench/README "Session 26").
/// </summary>
internal sealed class AddressNames
{
    private const int Slots = 8192; // a power of two: 384 KiB for both caches

    private readonly (MacAddress Mac, string? Text)[] _macs = new (MacAddress, string?)[Slots];
    private readonly (IpAddress Ip, string? Text)[] _ips = new (IpAddress, string?)[Slots];

    /// <summary>The text of <paramref name="mac"/> (as <see cref="MacAddress.ToString"/>).</summary>
    public string Of(MacAddress mac)
    {
        ref var slot = ref _macs[(int)((mac.Value ^ (mac.Value >> 24)) & (Slots - 1))];
        if (slot.Text is null || slot.Mac != mac)
        {
            slot = (mac, mac.ToString());
        }

        return slot.Text!;
    }

    /// <summary>The text of <paramref name="ip"/> (as <see cref="IpAddress.ToString"/>).</summary>
    public string Of(IpAddress ip)
    {
        ref var slot = ref _ips[ip.GetHashCode() & (Slots - 1)];
        if (slot.Text is null || slot.Ip != ip)
        {
            slot = (ip, ip.ToString());
        }

        return slot.Text!;
    }
}
