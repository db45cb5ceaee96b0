/// <summary>
/// ARP for the capture benchmark (<c>--arp N</c>): N frames of a LAN's ARP as SecMon meets it, mixed: broadcast requests
/// and their unicast replies among many hosts (most frames), unicast re-validation requests, announcements (sender =
/// target), RFC 5227 probes from 0.0.0.0, and every 64th exchange a request behind an 802.1Q tag. Deterministic.
/// </summary>
internal static class ArpMix
{
    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    /// <summary>Writes <paramref name="frames"/> ARP frames from <paramref name="time"/> on; returns the time after.</summary>
    public static long Write(PcapWriter w, int frames, long time)
    {
        var written = 0;
        for (var n = 0; written < frames; n++)
        {
            var a = n % 4000;
            var b = (n * 7 + 1) % 4000;
            var (macA, ipA) = Host(a);
            var (macB, ipB) = Host(b);
            time += 10;
            switch (n % 16)
            {
                case 14: // announcement
                    w.Raw(time, Frame(Broadcast, macA, 1, macA, ipA, new byte[6], ipA, vlan: 0));
                    written++;
                    break;
                case 15: // probe
                    w.Raw(time, Frame(Broadcast, macA, 1, macA, [0, 0, 0, 0], new byte[6], ipB, vlan: 0));
                    written++;
                    break;
                default:
                    var unicast = n % 16 >= 10; // a re-validation, sent to the known MAC
                    w.Raw(time, Frame(unicast ? macB : Broadcast, macA, 1, macA, ipA, new byte[6], ipB, vlan: n % 64 == 3 ? (ushort)10 : (ushort)0));
                    written++;
                    if (written < frames)
                    {
                        time += 5;
                        w.Raw(time, Frame(macA, macB, 2, macB, ipB, macA, ipA, vlan: n % 64 == 3 ? (ushort)10 : (ushort)0));
                        written++;
                    }

                    break;
            }
        }

        return time;
    }

    private static (byte[] Mac, byte[] Ip) Host(int i) =>
        ([0x02, 0x41, 0x00, 0x00, (byte)(i >> 8), (byte)i], [10, 2, (byte)(i >> 8), (byte)i]);

    private static byte[] Frame(byte[] destination, byte[] source, ushort op, byte[] senderMac, byte[] senderIp, byte[] targetMac, byte[] targetIp, ushort vlan)
    {
        var tag = vlan == 0 ? 0 : 4;
        var f = new byte[60];
        destination.CopyTo(f, 0);
        source.CopyTo(f, 6);
        if (tag > 0)
        {
            f[12] = 0x81;
            f[14] = (byte)(vlan >> 8);
            f[15] = (byte)vlan;
        }

        f[12 + tag] = 0x08;
        f[13 + tag] = 0x06;
        var m = 14 + tag;
        f[m + 1] = 1;       // Ethernet
        f[m + 2] = 0x08;    // IPv4
        f[m + 4] = 6;
        f[m + 5] = 4;
        f[m + 7] = (byte)op;
        senderMac.CopyTo(f, m + 8);
        senderIp.CopyTo(f, m + 14);
        targetMac.CopyTo(f, m + 18);
        targetIp.CopyTo(f, m + 24);
        return f;
    }
}
