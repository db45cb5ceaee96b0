using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dhcpv6;
using static SecMon.Capture.Tests.Protocols.Dhcpv6.Dhcpv6Messages;

namespace SecMon.Capture.Tests.Protocols.Dhcpv6;

public sealed class Dhcpv6ParserTests
{
    [Fact]
    public void TryRead_Solicit_EveryOptionRead()
    {
        var bytes = Solicit();
        Assert.True(Dhcpv6Parser.TryRead(bytes, out var m, out var error), error.ToString());
        Assert.Equal(1, m.MessageType);
        Assert.Equal(0x562b6du, m.TransactionId);
        Assert.Equal(0, m.RelayHops);
        Assert.Equal(DuidLl, m.ClientDuid.ToArray());
        Assert.True(m.ServerDuid.IsEmpty);
        Assert.True(m.HasOptionRequest);
        Assert.Equal(new byte[] { 0, 23, 0, 24 }, m.OptionRequest.ToArray());
        Assert.True(m.HasVendorClass);
        Assert.Equal(32473u, m.VendorEnterprise);
        Assert.True(m.HasFqdn);
        Assert.Equal(0, m.AddressCount);
        Assert.Null(m.StatusCode);
        Assert.Equal(new byte[] { 0x02, 0x53, 0x4d, 0, 0, 0x20 }, Dhcpv6Parser.EthernetAddress(m.ClientDuid).ToArray());
    }

    [Fact]
    public void TryRead_ReplyWithAddressesAndStatusInIaAddress_AddressesEnumeratedStatusFound()
    {
        var bytes = Message(7, 9, ClientId(), ServerId(),
            IaNa(1, IaAddress("2001:db8:1::108"), IaAddress("2001:db8:1::109", Status(2, "no"))),
            IaNa(2, IaAddress("2001:db8:1::110")));
        Assert.True(Dhcpv6Parser.TryRead(bytes, out var m, out var error), error.ToString());
        Assert.Equal(3, m.AddressCount);
        Assert.Equal((ushort)2, m.StatusCode);
        var addresses = new List<string>();
        foreach (var a in Dhcpv6Parser.Addresses(m.Options, 2))
        {
            addresses.Add(new System.Net.IPAddress(a).ToString());
        }

        Assert.Equal(["2001:db8:1::108", "2001:db8:1::109"], addresses);
        Assert.Equal(new byte[] { 0x02, 0x53, 0x4d, 0, 0, 0x02 }, Dhcpv6Parser.EthernetAddress(m.ServerDuid).ToArray());
    }

    [Fact]
    public void TryRead_RelayForwTwice_InnerMessageAndHops()
    {
        var bytes = Relay(12, 1, Relay(12, 0, Solicit(xid: 0xabcdef)));
        Assert.True(Dhcpv6Parser.TryRead(bytes, out var m, out var error), error.ToString());
        Assert.Equal(1, m.MessageType);
        Assert.Equal(0xabcdefu, m.TransactionId);
        Assert.Equal(2, m.RelayHops);
        Assert.Equal(DuidLl, m.ClientDuid.ToArray());
    }

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "Truncated: 3 bytes", [1, 0, 0], "Truncated" },
        { "UnknownType: msg-type 0", [0, 0, 0, 1], "UnknownType" },
        { "UnknownType: msg-type 200", [200, 0, 0, 1], "UnknownType" },
        { "Truncated: option header cut", [1, 0, 0, 1, 0, 1, 0], "Truncated" },
        { "Truncated: option runs past the end", Message(1, 1, [0, 1, 0, 10, 0, 3]), "Truncated" },
        { "BadLength: ORO of odd length", Message(1, 1, ClientId(), Option(6, 0, 23, 0)), "BadLength" },
        { "BadLength: IA_NA under 12 bytes", Message(1, 1, ClientId(), Option(3, 0, 0, 0, 1)), "BadLength" },
        { "BadLength: IA address under 24 bytes", Message(7, 1, ClientId(), IaNa(1, Option(5, new byte[16]))), "BadLength" },
        { "Truncated: option inside IA_NA runs past it", Message(7, 1, ClientId(), IaNa(1, [0, 5, 0, 40, 1])), "Truncated" },
        { "BadLength: status code of 1 byte", Message(7, 1, Option(13, 0)), "BadLength" },
        { "BadLength: empty client identifier", Message(1, 1, Option(1)), "BadLength" },
        { "BadLength: FQDN without flags", Message(1, 1, ClientId(), Option(39)), "BadLength" },
        { "BadLength: vendor class under 4 bytes", Message(1, 1, ClientId(), Option(16, 0, 0, 1)), "BadLength" },
        { "Truncated: vendor class item past the option", Message(1, 1, ClientId(), Option(16, 0, 0, 0, 1, 0, 9, 65)), "Truncated" },
        { "Missing: relay without a relay message", [12, 0, .. new byte[32], .. ClientId()], "Missing" },
        { "Truncated: relay header cut", [12, 0, 0, 0, 0, 0], "Truncated" },
        { "BadValue: relays nested too deep", Relay(12, 0, Relay(12, 0, Relay(12, 0, Relay(12, 0, Relay(12, 0, Relay(12, 0, Relay(12, 0, Relay(12, 0, Relay(12, 0, Solicit()))))))))), "BadValue" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TryRead_Malformed_ReasonWithField(string label, byte[] bytes, string reason)
    {
        Assert.False(Dhcpv6Parser.TryRead(bytes, out _, out var error), label);
        Assert.Equal(Enum.Parse<MalformedReason>(reason), error.Reason);
        Assert.NotNull(error.Field);
    }

    [Fact]
    public void TryRead_EightRelays_Accepted()
    {
        var bytes = Solicit();
        for (var i = 0; i < 8; i++)
        {
            bytes = Relay(12, (byte)i, bytes);
        }

        Assert.True(Dhcpv6Parser.TryRead(bytes, out var m, out var error), error.ToString());
        Assert.Equal(8, m.RelayHops);
    }

    [Fact]
    public void LooksLikeDhcpv6_MessagesAndOtherProtocols()
    {
        Assert.True(Dhcpv6Parser.LooksLikeDhcpv6(Solicit()));
        Assert.True(Dhcpv6Parser.LooksLikeDhcpv6(Reply(5)));
        Assert.True(Dhcpv6Parser.LooksLikeDhcpv6(Relay(12, 0, Solicit())));
        // A DNS query for example.com (id 0x0102), a message without any DUID, options that do not fill the datagram.
        Assert.False(Dhcpv6Parser.LooksLikeDhcpv6(Mqtt.Hex.Bytes("0102 0100 0001 0000 0000 0000 076578616d706c6503636f6d00 0001 0001")));
        Assert.False(Dhcpv6Parser.LooksLikeDhcpv6(Message(1, 1, Oro(23))));
        Assert.False(Dhcpv6Parser.LooksLikeDhcpv6([.. Solicit(), 0]));
        Assert.False(Dhcpv6Parser.LooksLikeDhcpv6(Message(1, 1, Option(1, 0, 3, 0))));
        Assert.False(Dhcpv6Parser.LooksLikeDhcpv6(Message(14, 1, ClientId())));
    }

    [Fact]
    public void TryRead_ValidAndHostile_AllocateNothing()
    {
        byte[][] inputs = [Solicit(), Reply(7), Relay(12, 0, Solicit()), Message(1, 1, [0, 1, 0xff, 0xff]), Message(7, 1, IaNa(1, [0, 5, 0xff, 0xff]))];
        var ok = 0;
        foreach (var i in inputs)
        {
            ok += Dhcpv6Parser.TryRead(i, out _, out _) ? 1 : 0; // warm up
        }

        Assert.Equal(3, ok);
        // The malformed ones format their detail: count only the valid inputs' allocations.
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var n = 0; n < 1000; n++)
        {
            for (var i = 0; i < 3; i++)
            {
                Dhcpv6Parser.TryRead(inputs[i], out _, out _);
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
