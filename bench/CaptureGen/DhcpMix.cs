using System.Buffers.Binary;
using System.Text;

/// <summary>
/// DHCP for the capture benchmark (<c>--dhcp N</c>): N messages of DISCOVER/OFFER/REQUEST/ACK exchanges of many
/// clients, as a LAN sees them: clients ask from 0.0.0.0:68 to 255.255.255.255:67 (broadcast MAC), the server
/// (10.0.0.1) answers to 255.255.255.255:68. Host names, vendor classes and parameter request lists of four common
/// DHCP stacks (udhcpc, Windows, Android, dhcpcd). Deterministic.
/// </summary>
internal static class DhcpMix
{
    private static readonly byte[] ServerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    private const uint ServerIp = 0x0A000001; // 10.0.0.1 in the synthetic capture only

    private static readonly (string Vendor, byte[] Prl)[] Stacks =
    [
        ("udhcp 1.35.0", [1, 3, 6, 12, 15, 28, 42]),
        ("MSFT 5.0", [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]),
        ("android-dhcp-13", [1, 3, 6, 15, 26, 28, 51, 58, 59, 43, 114]),
        ("dhcpcd-9.4.1:Linux-6.1.0:armv7l:BCM2835", [1, 121, 33, 3, 6, 28, 51, 58, 59, 119]),
    ];

    /// <summary>Writes <paramref name="messages"/> DHCP messages from <paramref name="time"/> on; returns the time after.</summary>
    public static long Write(PcapWriter w, int messages, long time)
    {
        var written = 0;
        for (var client = 0; written < messages; client++)
        {
            var mac = new byte[] { 0x02, 0x44, (byte)(client >> 16), (byte)(client >> 8), (byte)client, 0x01 };
            var (vendor, prl) = Stacks[client % Stacks.Length];
            var host = $"device-{client:D6}";
            var xid = (uint)(0x10000000 + client);
            var yiaddr = 0x0A010000u + (uint)(client % 65000) + 2;
            for (var step = 0; step < 4 && written < messages; step++, written++)
            {
                time += 5;
                var request = step is 0 or 2;
                var payload = Message(request, step switch { 0 => 1, 1 => 2, 2 => 3, _ => 5 }, xid, mac, request ? 0 : yiaddr, host, vendor, prl, yiaddr);
                if (request)
                {
                    w.Udp(time, mac, Broadcast, 0, 0xFFFFFFFF, 68, 67, payload);
                }
                else
                {
                    w.Udp(time, ServerMac, Broadcast, ServerIp, 0xFFFFFFFF, 67, 68, payload);
                }
            }
        }

        return time;
    }

    private static byte[] Message(bool request, byte type, uint xid, byte[] mac, uint yiaddr, string host, string vendor, byte[] prl, uint address)
    {
        var header = new byte[240];
        header[0] = (byte)(request ? 1 : 2);
        header[1] = 1;
        header[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), xid);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(16), yiaddr);
        mac.CopyTo(header, 28);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(236), 0x63825363);
        var m = new List<byte>(header);
        Option(m, 53, [type]);
        if (request)
        {
            Option(m, 61, [1, .. mac]);
            if (type == 3)
            {
                Option(m, 50, Be(address));
                Option(m, 54, Be(ServerIp));
            }

            Option(m, 57, [0x05, 0xdc]);
            Option(m, 60, Encoding.ASCII.GetBytes(vendor));
            Option(m, 12, Encoding.ASCII.GetBytes(host));
            Option(m, 55, prl);
        }
        else
        {
            Option(m, 54, Be(ServerIp));
            Option(m, 51, Be(3600));
            Option(m, 58, Be(1800));
            Option(m, 59, Be(3150));
            Option(m, 1, [255, 255, 0, 0]);
            Option(m, 3, Be(ServerIp));
            Option(m, 6, Be(ServerIp));
        }

        m.Add(255);
        while (m.Count < 300)
        {
            m.Add(0); // BOOTP minimum size (RFC 1542 §2.1)
        }

        return [.. m];
    }

    private static byte[] Be(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    private static void Option(List<byte> m, byte code, byte[] value)
    {
        m.Add(code);
        m.Add((byte)value.Length);
        m.AddRange(value);
    }
}
