using System.Buffers.Binary;
using System.Text;

namespace SecMon.Capture.Tests.Protocols.Dhcpv6;

/// <summary>DHCPv6 messages for tests, built as RFC 8415 §8 and §9 lay them out (the shapes dhclient -6 and dnsmasq
/// send in the samples).</summary>
internal static class Dhcpv6Messages
{
    /// <summary>DUID-LL of Ethernet 02:53:4d:00:00:20 (dhclient -D LL in the samples).</summary>
    public static readonly byte[] DuidLl = [0, 3, 0, 1, 0x02, 0x53, 0x4d, 0, 0, 0x20];

    /// <summary>DUID-LLT of Ethernet 02:53:4d:00:00:02 (dnsmasq's server DUID in the samples).</summary>
    public static readonly byte[] DuidLlt = [0, 1, 0, 1, 0x32, 0xa7, 0x28, 0x52, 0x02, 0x53, 0x4d, 0, 0, 0x02];

    public static byte[] Message(byte type, uint xid, params byte[][] options)
    {
        var m = new List<byte> { type, (byte)(xid >> 16), (byte)(xid >> 8), (byte)xid };
        foreach (var o in options)
        {
            m.AddRange(o);
        }

        return [.. m];
    }

    public static byte[] Relay(byte type, byte hops, byte[] inner)
    {
        var m = new List<byte> { type, hops };
        m.AddRange(new byte[32]); // link-address, peer-address
        m.AddRange(Option(9, inner));
        return [.. m];
    }

    public static byte[] Option(ushort code, params byte[] value)
    {
        var o = new byte[4 + value.Length];
        BinaryPrimitives.WriteUInt16BigEndian(o, code);
        BinaryPrimitives.WriteUInt16BigEndian(o.AsSpan(2), (ushort)value.Length);
        value.CopyTo(o, 4);
        return o;
    }

    public static byte[] ClientId(byte[]? duid = null) => Option(1, duid ?? DuidLl);

    public static byte[] ServerId(byte[]? duid = null) => Option(2, duid ?? DuidLlt);

    public static byte[] Oro(params ushort[] codes)
    {
        var v = new byte[codes.Length * 2];
        for (var i = 0; i < codes.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(i * 2), codes[i]);
        }

        return Option(6, v);
    }

    public static byte[] Fqdn(string name)
    {
        var v = new List<byte> { 0x01 };
        foreach (var label in name.Split('.'))
        {
            v.Add((byte)label.Length);
            v.AddRange(Encoding.ASCII.GetBytes(label));
        }

        v.Add(0);
        return Option(39, [.. v]);
    }

    public static byte[] VendorClass(uint enterprise, params string[] items)
    {
        var v = new List<byte> { (byte)(enterprise >> 24), (byte)(enterprise >> 16), (byte)(enterprise >> 8), (byte)enterprise };
        foreach (var item in items)
        {
            v.Add((byte)(item.Length >> 8));
            v.Add((byte)item.Length);
            v.AddRange(Encoding.ASCII.GetBytes(item));
        }

        return Option(16, [.. v]);
    }

    public static byte[] IaNa(uint iaid, params byte[][] inner)
    {
        var v = new List<byte> { (byte)(iaid >> 24), (byte)(iaid >> 16), (byte)(iaid >> 8), (byte)iaid, 0, 0, 0x0e, 0x10, 0, 0, 0x15, 0x18 };
        foreach (var o in inner)
        {
            v.AddRange(o);
        }

        return Option(3, [.. v]);
    }

    public static byte[] IaAddress(string address, params byte[][] inner)
    {
        var v = new List<byte>(System.Net.IPAddress.Parse(address).GetAddressBytes()) { 0, 0, 0x0e, 0x10, 0, 0, 0x0e, 0x10 };
        foreach (var o in inner)
        {
            v.AddRange(o);
        }

        return Option(5, [.. v]);
    }

    public static byte[] Status(ushort code, string message = "") =>
        Option(13, [(byte)(code >> 8), (byte)code, .. Encoding.ASCII.GetBytes(message)]);

    /// <summary>A SOLICIT as dhclient -6 sends it in the samples.</summary>
    public static byte[] Solicit(uint xid = 0x562b6d, string host = "thermostat-1", string vendor = "acme-thermo 2.1") =>
        Message(1, xid, ClientId(), Oro(23, 24), Option(8, 0, 0), VendorClass(32473, vendor), Fqdn(host), IaNa(0x4d000020));

    /// <summary>dnsmasq's REPLY to a REQUEST, with the assigned address.</summary>
    public static byte[] Reply(uint xid, string address = "2001:db8:1::108") =>
        Message(7, xid, ClientId(), ServerId(), IaNa(0x4d000020, IaAddress(address)), Status(0, "success"), Fqdn("thermostat-1"));
}
