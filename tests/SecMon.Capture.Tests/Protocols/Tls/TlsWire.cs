using System.Buffers.Binary;
using SecMon.Capture.Sources;

namespace SecMon.Capture.Tests.Protocols.Tls;

/// <summary>Builds hello messages from their parts, and reads the payloads of a loopback sample (Ethernet, IPv4).</summary>
internal static class TlsWire
{
    /// <summary>A ClientHello body (after the handshake header); <paramref name="cookie"/> makes it DTLS's.</summary>
    public static byte[] ClientHello(ushort version, ushort[] ciphers, (ushort Type, byte[] Data)[] extensions, byte[]? cookie = null)
    {
        var b = new List<byte>();
        Add16(b, version);
        b.AddRange(new byte[32]);
        b.Add(0); // session id
        if (cookie is not null)
        {
            b.Add((byte)cookie.Length);
            b.AddRange(cookie);
        }

        Add16(b, (ushort)(ciphers.Length * 2));
        foreach (var c in ciphers)
        {
            Add16(b, c);
        }

        b.Add(1);
        b.Add(0); // null compression
        var ext = new List<byte>();
        foreach (var (type, data) in extensions)
        {
            Add16(ext, type);
            Add16(ext, (ushort)data.Length);
            ext.AddRange(data);
        }

        Add16(b, (ushort)ext.Count);
        b.AddRange(ext);
        return [.. b];
    }

    /// <summary>An extension body holding a 16-bit-length list of 16-bit values (supported_groups, signature_algorithms).</summary>
    public static byte[] List16(params ushort[] values)
    {
        var b = new List<byte>();
        Add16(b, (ushort)(values.Length * 2));
        foreach (var v in values)
        {
            Add16(b, v);
        }

        return [.. b];
    }

    /// <summary>server_name with one host name (RFC 6066 §3).</summary>
    public static byte[] ServerName(string host)
    {
        var name = System.Text.Encoding.ASCII.GetBytes(host);
        var b = new List<byte>();
        Add16(b, (ushort)(name.Length + 3));
        b.Add(0);
        Add16(b, (ushort)name.Length);
        b.AddRange(name);
        return [.. b];
    }

    /// <summary>ALPN with the given protocol names (RFC 7301 §3.1).</summary>
    public static byte[] Alpn(params string[] names)
    {
        var list = new List<byte>();
        foreach (var n in names)
        {
            list.Add((byte)n.Length);
            list.AddRange(System.Text.Encoding.Latin1.GetBytes(n));
        }

        var b = new List<byte>();
        Add16(b, (ushort)list.Count);
        b.AddRange(list);
        return [.. b];
    }

    /// <summary>supported_versions of a ClientHello (8-bit length).</summary>
    public static byte[] Versions(params ushort[] versions)
    {
        var b = new List<byte> { (byte)(versions.Length * 2) };
        foreach (var v in versions)
        {
            Add16(b, v);
        }

        return [.. b];
    }

    /// <summary>A TLS handshake record holding one message.</summary>
    public static byte[] Record(byte type, byte[] body)
    {
        var b = new List<byte> { 22, 3, 1 };
        Add16(b, (ushort)(body.Length + 4));
        b.Add(type);
        b.Add((byte)(body.Length >> 16));
        b.Add((byte)(body.Length >> 8));
        b.Add((byte)body.Length);
        b.AddRange(body);
        return [.. b];
    }

    /// <summary>The transport payloads of a loopback sample in frame order: (frame, to server, UDP, payload).</summary>
    public static List<(long Frame, bool ToServer, bool Udp, byte[] Payload)> Payloads(string pcap, int serverPort)
    {
        var list = new List<(long, bool, bool, byte[])>();
        using var source = PcapFileSource.TryOpen(pcap, out var error) ?? throw new InvalidOperationException(error);
        using var files = new CaptureFileSet([source]);
        long frame = 0;
        while (files.MoveNext())
        {
            frame++;
            var d = files.Current.Data;
            if (d.Length < 34 || BinaryPrimitives.ReadUInt16BigEndian(d[12..]) != 0x0800)
            {
                continue;
            }

            var ip = d[14..];
            var ihl = (ip[0] & 0x0F) * 4;
            var total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            var l4 = ip[ihl..total];
            var udp = ip[9] == 17;
            var dst = BinaryPrimitives.ReadUInt16BigEndian(l4[2..]);
            var header = udp ? 8 : (l4[12] >> 4) * 4;
            var payload = l4[header..];
            if (!payload.IsEmpty)
            {
                list.Add((frame, dst == serverPort, udp, payload.ToArray()));
            }
        }

        return list;
    }

    private static void Add16(List<byte> b, ushort v)
    {
        b.Add((byte)(v >> 8));
        b.Add((byte)v);
    }
}
