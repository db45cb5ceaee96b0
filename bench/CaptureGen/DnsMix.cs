using System.Buffers.Binary;
using System.Text;

/// <summary>
/// A DNS-only capture for the dissector's benchmark (<c>--dns N</c>): N exchanges over Ethernet/IPv4/UDP between 2,000
/// devices and a resolver on 53, answered 20 µs later, one exchange every 40 µs (25,000 a second); the client ports
/// cycle so that 64,000 flows are live at once, each carrying a query and its answer every 2.56 s. The mix: 60% A with two addresses, 20% AAAA, 10% TXT, 5% NXDOMAIN (with an SOA), 5% PTR; names
/// compressed in answers as real servers write them. Deterministic.
/// </summary>
internal static class DnsMix
{
    private static readonly string[] Domains = ["plant.example", "cloud.example.com", "time.example.org", "updates.vendor.example", "api.example.co.uk"];

    /// <summary>Writes <paramref name="exchanges"/> exchanges from <paramref name="time"/> on; returns the time after the last.</summary>
    public static long Write(PcapWriter writer, int exchanges, long time)
    {
        var random = new Random(53);
        var resolverMac = Mac(ResolverIpAddress);
        var message = new byte[1500];
        for (var i = 0; i < exchanges; i++)
        {
            var device = i % 2000;
            var clientIp = 0x0A010000u + (uint)device + 2;
            const uint ResolverIp = ResolverIpAddress;
            var port = (ushort)(1024 + (i % 64000));
            var id = (ushort)random.Next(65536);
            var kind = random.Next(100);
            var name = kind >= 95
                ? $"{device % 250}.{device / 250}.1.10.in-addr.arpa"
                : $"host-{random.Next(400)}.{Domains[random.Next(Domains.Length)]}";
            ushort type = kind switch { < 60 => 1, < 80 => 28, < 90 => 16, < 95 => 1, _ => 12 };

            var q = Query(message, id, name, type);
            time += 40;
            var clientMac = Mac(clientIp);
            writer.Udp(time, clientMac, resolverMac, clientIp, ResolverIp, port, 53, message.AsSpan(0, q));
            var r = Response(message, id, name, type, nxdomain: kind is >= 90 and < 95, random);
            writer.Udp(time + 20, resolverMac, clientMac, ResolverIp, clientIp, 53, port, message.AsSpan(0, r));
        }

        return time + 40;
    }

    private static int Name(Span<byte> m, int at, string name)
    {
        foreach (var label in name.Split('.'))
        {
            m[at++] = (byte)label.Length;
            at += Encoding.ASCII.GetBytes(label, m[at..]);
        }

        m[at++] = 0;
        return at;
    }

    private static int Header(Span<byte> m, ushort id, ushort flags, ushort qd, ushort an, ushort ns, ushort ar)
    {
        BinaryPrimitives.WriteUInt16BigEndian(m, id);
        BinaryPrimitives.WriteUInt16BigEndian(m[2..], flags);
        BinaryPrimitives.WriteUInt16BigEndian(m[4..], qd);
        BinaryPrimitives.WriteUInt16BigEndian(m[6..], an);
        BinaryPrimitives.WriteUInt16BigEndian(m[8..], ns);
        BinaryPrimitives.WriteUInt16BigEndian(m[10..], ar);
        return 12;
    }

    private static int Query(Span<byte> m, ushort id, string name, ushort type)
    {
        var at = Header(m, id, 0x0100, 1, 0, 0, 0);
        at = Name(m, at, name);
        BinaryPrimitives.WriteUInt16BigEndian(m[at..], type);
        BinaryPrimitives.WriteUInt16BigEndian(m[(at + 2)..], 1);
        return at + 4;
    }

    private static int Response(Span<byte> m, ushort id, string name, ushort type, bool nxdomain, Random random)
    {
        var answers = nxdomain ? 0 : type == 1 ? 2 : 1;
        var at = Header(m, id, (ushort)(nxdomain ? 0x8183 : 0x8180), 1, (ushort)answers, (ushort)(nxdomain ? 1 : 0), 0);
        at = Name(m, at, name);
        BinaryPrimitives.WriteUInt16BigEndian(m[at..], type);
        BinaryPrimitives.WriteUInt16BigEndian(m[(at + 2)..], 1);
        at += 4;
        for (var a = 0; a < answers; a++)
        {
            at = RecordHeader(m, at, type, 300);
            var rdata = at + 2;
            var length = type switch
            {
                1 => Bytes(m, rdata, 4, random),
                28 => Bytes(m, rdata, 16, random),
                16 => Txt(m, rdata, random),
                _ => Name(m, rdata, "device.plant.example") - rdata,
            };
            BinaryPrimitives.WriteUInt16BigEndian(m[at..], (ushort)length);
            at = rdata + length;
        }

        if (nxdomain)
        {
            // SOA of the zone: a pointer to the question's last two labels would need their offset; written in full.
            at = RecordHeader(m, at, 6, 60);
            var rdata = at + 2;
            var end = Name(m, rdata, "ns.example");
            end = Name(m, end, "hostmaster.example");
            m.Slice(end, 20).Fill(1);
            end += 20;
            BinaryPrimitives.WriteUInt16BigEndian(m[at..], (ushort)(end - rdata));
            at = end;
        }

        return at;
    }

    // Owner = pointer to the question name (offset 12), type, class IN, TTL; returns where RDLENGTH goes.
    private static int RecordHeader(Span<byte> m, int at, ushort type, uint ttl)
    {
        BinaryPrimitives.WriteUInt16BigEndian(m[at..], 0xC00C);
        BinaryPrimitives.WriteUInt16BigEndian(m[(at + 2)..], type);
        BinaryPrimitives.WriteUInt16BigEndian(m[(at + 4)..], 1);
        BinaryPrimitives.WriteUInt32BigEndian(m[(at + 6)..], ttl);
        return at + 10;
    }

    private static int Bytes(Span<byte> m, int at, int count, Random random)
    {
        random.NextBytes(m.Slice(at, count));
        return count;
    }

    private static int Txt(Span<byte> m, int at, Random random)
    {
        var s = "v=device1 interval=" + random.Next(10, 600).ToString(System.Globalization.CultureInfo.InvariantCulture);
        m[at] = (byte)s.Length;
        return 1 + Encoding.ASCII.GetBytes(s, m[(at + 1)..]);
    }

    private const uint ResolverIpAddress = 0x0A000035; // 10.0.0.53 in the synthetic capture only

    // 02:00:00:00:00:NN, NN the address's last byte.
    private static byte[] Mac(uint ip) => [0x02, 0, 0, 0, 0, (byte)ip];
}
