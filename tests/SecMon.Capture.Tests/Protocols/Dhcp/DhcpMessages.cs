using System.Buffers.Binary;

namespace SecMon.Capture.Tests.Protocols.Dhcp;

/// <summary>Builds BOOTP/DHCP messages byte by byte (RFC 2131 figure 1, RFC 2132 options) for the parser tests.</summary>
internal static class DhcpMessages
{
    public static readonly byte[] Mac = [0x02, 0x53, 0x4d, 0x00, 0x00, 0x10];

    /// <summary>A message: the fixed header, the cookie, then <paramref name="options"/> (code, value) and End.</summary>
    public static byte[] Build(byte op, uint xid, (byte Code, byte[] Value)[] options, uint yiaddr = 0, uint ciaddr = 0, bool end = true,
        byte[]? sname = null, byte[]? file = null)
    {
        var header = new byte[240];
        header[0] = op;
        header[1] = 1;
        header[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), xid);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), ciaddr);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(16), yiaddr);
        Mac.CopyTo(header, 28);
        sname?.CopyTo(header, 44);
        file?.CopyTo(header, 108);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(236), 0x63825363);
        var bytes = new List<byte>(header);
        foreach (var (code, value) in options)
        {
            bytes.Add(code);
            bytes.Add((byte)value.Length);
            bytes.AddRange(value);
        }

        if (end)
        {
            bytes.Add(255);
        }

        return [.. bytes];
    }

    /// <summary>An options area (for sname/file overload): options then End, padded with Pad to <paramref name="size"/>.</summary>
    public static byte[] Area(int size, params (byte Code, byte[] Value)[] options)
    {
        var bytes = new List<byte>();
        foreach (var (code, value) in options)
        {
            bytes.Add(code);
            bytes.Add((byte)value.Length);
            bytes.AddRange(value);
        }

        bytes.Add(255);
        while (bytes.Count < size)
        {
            bytes.Add(0);
        }

        return [.. bytes];
    }

    public static (byte, byte[]) Type(byte t) => (53, [t]);

    public static (byte, byte[]) Text(byte code, string s) => (code, System.Text.Encoding.ASCII.GetBytes(s));

    public static (byte, byte[]) Ip(byte code, byte a, byte b, byte c, byte d) => (code, [a, b, c, d]);

    public static (byte, byte[]) Number(byte code, uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return (code, b);
    }

    /// <summary>udhcpc's DISCOVER as recorded in Samples/ (host name, vendor class, client id, parameter request list).</summary>
    public static byte[] Discover(uint xid = 0x5f23b068) => Build(1, xid,
    [
        Type(1),
        (61, [1, .. Mac]),
        Text(60, "acme-thermo 2.1"),
        Text(12, "thermostat-1"),
        (55, [1, 3, 6, 12, 15, 28, 42]),
    ]);

    /// <summary>dnsmasq's ACK to it.</summary>
    public static byte[] Ack(uint xid = 0x5f23b068) => Build(2, xid,
    [
        Type(5),
        Ip(54, 192, 0, 2, 1),
        Number(51, 3600),
        Ip(1, 255, 255, 255, 0),
    ], yiaddr: 0xC0000252);
}
