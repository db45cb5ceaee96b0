using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dhcp;
using static SecMon.Capture.Tests.Protocols.Dhcp.DhcpMessages;

namespace SecMon.Capture.Tests.Protocols.Dhcp;

public sealed class DhcpParserTests
{
    [Fact]
    public void TryRead_UdhcpcDiscover_ReadsHeaderAndOptions()
    {
        Assert.True(DhcpParser.TryRead(Discover(), out var m, out var error), error.ToString());

        Assert.Equal(1, m.Op);
        Assert.Equal(0x5f23b068u, m.Xid);
        Assert.Equal(Mac, m.ClientHardware.ToArray());
        Assert.Equal(1, m.MessageType);
        Assert.Equal("thermostat-1", System.Text.Encoding.ASCII.GetString(m.HostName));
        Assert.Equal("acme-thermo 2.1", System.Text.Encoding.ASCII.GetString(m.VendorClass));
        Assert.Equal([1, 3, 6, 12, 15, 28, 42], m.ParameterRequestList.ToArray());
        Assert.Equal([1, .. Mac], m.ClientId.ToArray());
        Assert.False(m.MissingEnd);
        Assert.Null(m.LeaseTime);
    }

    [Fact]
    public void TryRead_DnsmasqAck_ReadsAssignedAddressServerAndLease()
    {
        Assert.True(DhcpParser.TryRead(Ack(), out var m, out _));

        Assert.Equal(2, m.Op);
        Assert.Equal(5, m.MessageType);
        Assert.Equal(0xC0000252u, m.YourIp);
        Assert.Equal(0xC0000201u, m.ServerId);
        Assert.Equal(3600u, m.LeaseTime);
    }

    [Fact]
    public void TryRead_PadBetweenOptionsAndBytesAfterEnd_Ignored()
    {
        var msg = Build(1, 7, [Type(3)], end: false);
        msg = [.. msg, 0, 0, 0, 12, 3, (byte)'a', (byte)'b', (byte)'c', 255, 12, 200, 1, 2]; // after End: padding, not options

        Assert.True(DhcpParser.TryRead(msg, out var m, out _));

        Assert.Equal("abc", System.Text.Encoding.ASCII.GetString(m.HostName));
        Assert.False(m.MissingEnd);
    }

    [Fact]
    public void TryRead_NoEndOption_ToleratedAndFlagged()
    {
        Assert.True(DhcpParser.TryRead(Build(1, 7, [Type(1), Text(12, "x")], end: false), out var m, out _));

        Assert.True(m.MissingEnd);
        Assert.Equal(1, m.MessageType);
    }

    [Fact]
    public void TryRead_OverloadBothFields_ReadsFileThenSname()
    {
        // RFC 2131 §4.1: options first, then file (overload 1 or 3), then sname (2 or 3). The first occurrence wins.
        var file = Area(128, Text(12, "from-file"), Text(60, "vendor-from-file"));
        var sname = Area(64, Text(12, "from-sname"), Ip(50, 192, 0, 2, 77));
        var msg = Build(1, 9, [Type(1), (52, [3])], sname: sname, file: file);

        Assert.True(DhcpParser.TryRead(msg, out var m, out var error), error.ToString());

        Assert.Equal(3, m.Overload);
        Assert.Equal("from-file", System.Text.Encoding.ASCII.GetString(m.HostName));
        Assert.Equal("vendor-from-file", System.Text.Encoding.ASCII.GetString(m.VendorClass));
        Assert.Equal(0xC000024Du, m.RequestedIp);
    }

    [Fact]
    public void TryRead_NoOverload_SnameAndFileAreNotOptions()
    {
        var msg = Build(1, 9, [Type(1)], sname: Area(64, Text(12, "not-an-option")), file: Area(128, Text(12, "neither")));

        Assert.True(DhcpParser.TryRead(msg, out var m, out _));

        Assert.True(m.HostName.IsEmpty);
    }

    public static TheoryData<string, byte[], string, string> Malformed => new()
    {
        { "Truncated: header only", Discover()[..239], "truncated", "header" },
        { "Truncated: option length past the end", [.. Build(1, 1, [Type(1)], end: false), 12, 10, (byte)'a'], "truncated", "options: option 12 of 10 bytes runs past the end" },
        { "Truncated: option without its length byte", [.. Build(1, 1, [Type(1)], end: false), 12], "truncated", "options: option 12 has no length byte" },
        { "BadLength: message type of 2 bytes", Build(1, 1, [(53, [1, 1])]), "bad_length", "option 53 (message type): not 1 byte" },
        { "BadLength: server id of 3 bytes", Build(2, 1, [Type(2), (54, [192, 0, 2])]), "bad_length", "option 54: not 4 bytes" },
        { "BadValue: overload 4", Build(1, 1, [Type(1), (52, [4])]), "bad_value", "option 52 (overload): not 1 byte of 1, 2 or 3" },
        { "BadValue: overload inside the file field", Build(1, 1, [Type(1), (52, [1])], file: Area(128, (52, [2]))), "bad_value", "option 52 (overload): inside an overloaded field" },
        { "Truncated: overloaded sname option past its field", Build(1, 1, [Type(1), (52, [2])], sname: [12, 100, (byte)'x']), "truncated", "sname (overloaded options): option 12 of 100 bytes runs past the end" },
        { "BadValue: wrong magic cookie", Corrupt(Discover(), 236, 0), "bad_value", "magic cookie: not 99.130.83.99" },
        { "UnknownType: op 3", Corrupt(Discover(), 0, 3), "unknown_type", "op: not BOOTREQUEST (1) or BOOTREPLY (2)" },
        { "BadLength: hlen 17", Corrupt(Discover(), 2, 17), "bad_length", "hlen: longer than the 16-byte chaddr field" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TryRead_Malformed_ReasonAndLocation(string label, byte[] message, string reason, string text)
    {
        Assert.False(DhcpParser.TryRead(message, out _, out var error), label);

        Assert.Equal(reason, ParseError.Name(error.Reason));
        Assert.StartsWith(text, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void LooksLikeDhcp_RequiresOpHlenHopsAndCookie()
    {
        Assert.True(DhcpParser.LooksLikeDhcp(Discover()));
        Assert.True(DhcpParser.LooksLikeDhcp(Ack()));
        Assert.False(DhcpParser.LooksLikeDhcp(Discover().AsSpan(0, 239)));
        Assert.False(DhcpParser.LooksLikeDhcp(Corrupt(Discover(), 0, 0)));
        Assert.False(DhcpParser.LooksLikeDhcp(Corrupt(Discover(), 2, 17)));
        Assert.False(DhcpParser.LooksLikeDhcp(Corrupt(Discover(), 3, 17)));
        Assert.False(DhcpParser.LooksLikeDhcp(Corrupt(Discover(), 239, 0x64)));
        Assert.False(DhcpParser.LooksLikeDhcp(new byte[300])); // a zeroed datagram (op 0)
    }

    private static byte[] Corrupt(byte[] message, int offset, byte value)
    {
        message[offset] = value;
        return message;
    }
}
