using System.Buffers.Binary;
using System.Text;
using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;

namespace SecMon.Capture.Tests.Decoding;

/// <summary>The same IP packet captured twice (two interfaces of <c>tcpdump -i any</c>, two mirrored switch ports), and
/// a flow sent on again by the capturing host's NAT: frames built byte by byte, decoded, then judged.</summary>
public sealed class DuplicateFilterTests
{
    // A DNS query for cloud.example (id 0x37aa, recursion desired).
    private static readonly byte[] Dns = Convert.FromHexString("37aa01000001000000000000" + "05636c6f7564076578616d706c6500" + "00010001");

    [Fact]
    public void IsCopy_SamePacketOnAnotherInterfaceOrForwarded_CopyWithin5MsOnly()
    {
        var filter = new DuplicateFilter();
        var query = Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns, id: 0x332f, ttl: 64);

        Assert.False(IsCopy(filter, Sll2(query, iface: 3, type: 3), 1_000_000));
        Assert.True(IsCopy(filter, Sll2(query, iface: 2, type: 0), 1_000_017)); // the bridge's copy
        // Forwarded: TTL one lower (and the checksum, which the builder leaves zero): still the same packet.
        Assert.True(IsCopy(filter, Sll2(Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns, id: 0x332f, ttl: 63), iface: 5, type: 4), 999_990));
        // A second copy on Ethernet (a SPAN of two ports).
        Assert.True(IsCopy(filter, TestFrames.Ethernet(query), 1_000_040));
        // The sender's own retry a second later is a packet of its own.
        Assert.False(IsCopy(filter, Sll2(query, iface: 3, type: 3), 2_000_000));
        Assert.False(IsCopy(filter, Sll2(query, iface: 3, type: 3), 2_005_001));
    }

    [Theory]
    [InlineData("id")]
    [InlineData("payload")]
    [InlineData("length")]
    [InlineData("port")]
    [InlineData("address")]
    public void IsCopy_AnyFieldDiffers_NotACopy(string field)
    {
        var filter = new DuplicateFilter();
        var other = field switch
        {
            "id" => Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns, id: 0x3330),
            "payload" => Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, [.. Dns[..^1], 2]),
            "length" => Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, [.. Dns, 0]),
            "port" => Ipv4Udp("192.0.2.21", "198.51.100.53", 40001, 53, Dns),
            _ => Ipv4Udp("192.0.2.22", "198.51.100.53", 40000, 53, Dns),
        };

        Assert.False(IsCopy(filter, TestFrames.Ethernet(Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns)), 1_000_000));
        Assert.False(IsCopy(filter, TestFrames.Ethernet(other), 1_000_001));
    }

    [Theory]
    [InlineData(5, 3)]
    [InlineData(20, 18)]
    [InlineData(64, 63)]
    [InlineData(100, 40)]
    public void IsCopy_NoChecksumOneByteOfTheHeadDiffers_NotACopy_SameBytesACopy(int length, int differs)
    {
        // Without a UDP checksum the payload's first 64 bytes are all that tells two datagrams of one length apart: a
        // short payload's last partial block counts as much as its whole ones.
        var filter = new DuplicateFilter();
        byte[] Datagram(byte b)
        {
            var payload = new byte[length];
            payload[differs] = b;
            var udp = TestFrames.Udp(5683, 5683, payload);
            BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(6), 0);
            return TestFrames.Ethernet(TestFrames.Ipv4("192.0.2.7", "198.51.100.9", 17, udp, id: 0));
        }

        Assert.False(IsCopy(filter, Datagram(1), 1_000_000));
        Assert.False(IsCopy(filter, Datagram(2), 1_000_100));
        Assert.True(IsCopy(filter, Datagram(2), 1_000_200));
    }

    [Fact]
    public void IsCopy_SameHeadAndLengthOtherTail_TheChecksumTellsThemApart()
    {
        // udhcpc sends a transaction's DISCOVER and REQUEST from a raw socket (IPv4 identification 0), padded to one
        // length, 1 ms apart: their first 236 bytes are the same fixed fields, their options (and UDP checksums) differ.
        var filter = new DuplicateFilter();
        byte[] Message(byte type, ushort checksum)
        {
            var dhcp = new byte[300];
            dhcp[0] = 1;
            dhcp[236] = type;
            var udp = TestFrames.Udp(68, 67, dhcp);
            BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(6), checksum);
            return TestFrames.Ethernet(TestFrames.Ipv4("0.0.0.0", "255.255.255.255", 17, udp, id: 0));
        }

        Assert.False(IsCopy(filter, Message(1, 0x1111), 1_000_000));
        Assert.False(IsCopy(filter, Message(3, 0x2222), 1_000_900));
        Assert.True(IsCopy(filter, Message(3, 0x2222), 1_000_910));
    }

    [Fact]
    public void IsCopy_TcpSegmentsOfOneStream_EachItsOwn_RepeatedSegmentACopy()
    {
        var filter = new DuplicateFilter();
        byte[] Segment(uint seq, string data) => TestFrames.Ipv4("192.0.2.21", "192.0.2.10", 6,
            TestFrames.Tcp(40000, 1883, seq, 7000, TcpFlags.Ack | TcpFlags.Psh, Encoding.ASCII.GetBytes(data)));

        Assert.False(IsCopy(filter, TestFrames.Ethernet(Segment(1000, "abcd")), 1_000_000));
        Assert.False(IsCopy(filter, TestFrames.Ethernet(Segment(1004, "abcd")), 1_000_010)); // same bytes, next sequence
        Assert.True(IsCopy(filter, TestFrames.Ethernet(Segment(1000, "abcd")), 1_000_020));
    }

    [Fact]
    public void IsCopy_TenDifferentPacketsBetween_OnlyTheLastEightRemembered()
    {
        var filter = new DuplicateFilter();
        var first = TestFrames.Ethernet(Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns, id: 1));
        Assert.False(IsCopy(filter, first, 1_000_000));
        for (var i = 0; i < DuplicateFilter.Recent; i++)
        {
            Assert.False(IsCopy(filter, TestFrames.Ethernet(Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns, id: (ushort)(100 + i))), 1_000_001));
        }

        Assert.False(IsCopy(filter, first, 1_000_002));
    }

    [Fact]
    public void IsTranslatedCopy_SourceRewrittenOnAnotherInterface_ACopy()
    {
        var filter = new DuplicateFilter();
        var lan = Sll2(Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns, id: 0x332f, ttl: 64), iface: 3, type: 3);
        var wan = Sll2(Ipv4Udp("198.51.100.1", "198.51.100.53", 40000, 53, Dns, id: 0x332f, ttl: 63), iface: 5, type: 4);
        var remapped = Sll2(Ipv4Udp("198.51.100.1", "198.51.100.53", 61000, 53, Dns, id: 0x332f, ttl: 63), iface: 5, type: 4);

        Assert.False(IsTranslated(filter, lan, 1_000_000));
        Assert.True(IsTranslated(filter, wan, 1_000_050));
        Assert.True(IsTranslated(filter, remapped, 1_000_060)); // masquerading may change the port too
        // A port forward rewrites the destination instead.
        Assert.False(IsTranslated(filter, Sll2(Ipv4Udp("203.0.113.9", "198.51.100.1", 5000, 8080, Dns, id: 9), iface: 5, type: 0), 2_000_000));
        Assert.True(IsTranslated(filter, Sll2(Ipv4Udp("203.0.113.9", "192.0.2.10", 5000, 80, Dns, id: 9, ttl: 63), iface: 3, type: 4), 2_000_010));
    }

    [Fact]
    public void IsTranslatedCopy_EthernetFramesOfAPcapngOfTwoInterfaces_ACopy()
    {
        // dumpcap -i br-lan -i wan0 on the router: Ethernet frames, the interface named by the file.
        var filter = new DuplicateFilter();
        var lan = TestFrames.Ethernet(Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns, id: 0x332f, ttl: 64));
        var wan = TestFrames.Ethernet(Ipv4Udp("198.51.100.1", "198.51.100.53", 40000, 53, Dns, id: 0x332f, ttl: 63));

        Assert.False(IsTranslated(filter, lan, 1_000_000, pcapngInterface: 1));
        Assert.True(IsTranslated(filter, wan, 1_000_050, pcapngInterface: 2));
        Assert.False(IsTranslated(new DuplicateFilter(), wan, 1_000_050)); // the same frames without interfaces: not judged
    }

    [Fact]
    public void IsTranslatedCopy_CopyReadBeforeItsOriginal_TheEarlierReadFlowIsTheCopy()
    {
        // dumpcap writes each interface's packets in batches: the uplink's translated packet may precede, in the file,
        // the LAN packet it was made from, though its capture time is later.
        var filter = new DuplicateFilter();
        var wanFlow = NewFlow();
        var lanFlow = NewFlow();
        var wan = TestFrames.Ethernet(Ipv4Udp("198.51.100.1", "198.51.100.53", 40000, 53, Dns, id: 0x332f, ttl: 63));
        var lan = TestFrames.Ethernet(Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns, id: 0x332f, ttl: 64));

        Assert.False(IsTranslated(filter, wan, 1_000_050, wanFlow, out var none, pcapngInterface: 2));
        Assert.Null(none);
        Assert.False(IsTranslated(filter, lan, 1_000_000, lanFlow, out var earlier, pcapngInterface: 1));
        Assert.Same(wanFlow, earlier);
        // Judged once: the pair is forgotten, so a later retry's packets are a new pair.
        Assert.False(IsTranslated(filter, lan, 1_000_001, NewFlow(), out var again, pcapngInterface: 1));
        Assert.Null(again);
    }

    [Theory]
    [InlineData("same interface")]
    [InlineData("both addresses")]
    [InlineData("too late")]
    [InlineData("other payload")]
    [InlineData("ethernet")]
    public void IsTranslatedCopy_NotATranslation_False(string how)
    {
        var filter = new DuplicateFilter();
        Assert.False(IsTranslated(filter, Sll2(Ipv4Udp("192.0.2.21", "198.51.100.53", 40000, 53, Dns, id: 7), iface: 3, type: 3), 1_000_000));

        var (frame, time) = how switch
        {
            "same interface" => (Sll2(Ipv4Udp("192.0.2.22", "198.51.100.53", 40000, 53, Dns, id: 7), iface: 3, type: 3), 1_000_010L),
            "both addresses" => (Sll2(Ipv4Udp("198.51.100.1", "198.51.100.54", 40000, 53, Dns, id: 7), iface: 5, type: 4), 1_000_010L),
            "too late" => (Sll2(Ipv4Udp("198.51.100.1", "198.51.100.53", 40000, 53, Dns, id: 7), iface: 5, type: 4), 1_006_000L),
            "other payload" => (Sll2(Ipv4Udp("198.51.100.1", "198.51.100.53", 40000, 53, [.. Dns[..^1], 9], id: 7), iface: 5, type: 4), 1_000_010L),
            _ => (TestFrames.Ethernet(Ipv4Udp("198.51.100.1", "198.51.100.53", 40000, 53, Dns, id: 7)), 1_000_010L),
        };

        Assert.False(IsTranslated(filter, frame, time));
    }

    private static byte[] Ipv4Udp(string source, string destination, ushort sourcePort, ushort destinationPort, byte[] payload, ushort id = 0x1234, byte ttl = 64) =>
        TestFrames.Ipv4(source, destination, 17, TestFrames.Udp(sourcePort, destinationPort, payload), id: id, ttl: ttl);

    // LINKTYPE_LINUX_SLL2: protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length 6, address.
    private static byte[] Sll2(byte[] ip, uint iface, byte type)
    {
        var header = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(header, 0x0800);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), iface);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(8), 1);
        header[10] = type;
        header[11] = 6;
        TestFrames.ClientMac.CopyTo(header, 12);
        return [.. header, .. ip];
    }

    private static bool IsCopy(DuplicateFilter filter, byte[] frame, long micros)
    {
        var packet = Decode(frame);
        return filter.IsCopy(ref packet, micros);
    }

    private static bool IsTranslated(DuplicateFilter filter, byte[] frame, long micros, uint pcapngInterface = 0) =>
        IsTranslated(filter, frame, micros, NewFlow(), out _, pcapngInterface);

    // pcapngInterface: the interface a pcapng file of several interfaces names (PacketMeta.Interface) for an Ethernet frame.
    private static bool IsTranslated(DuplicateFilter filter, byte[] frame, long micros, Flow flow, out Flow? earlierCopy, uint pcapngInterface = 0)
    {
        var packet = Decode(frame);
        if (pcapngInterface != 0)
        {
            packet.Interface = pcapngInterface;
        }

        return filter.IsTranslatedCopy(ref packet, micros, flow, out earlierCopy);
    }

    private static Flow NewFlow()
    {
        var key = FlowKey.Create(IpAddress.Parse("192.0.2.21"), 40000, IpAddress.Parse("198.51.100.53"), 53, 17, 0, out _);
        return new Flow(key, clientIsA: true, Protocols.TestFlows.Flow(53), 0);
    }

    private static DecodedPacket Decode(byte[] frame)
    {
        var linkType = frame.Length > 1 && frame[0] == 0x08 && frame[1] == 0x00 ? LinkTypes.LinuxSll2 : LinkTypes.Ethernet;
        Assert.Equal(DecodeResult.Ok, PacketDecoder.Decode(linkType, frame, frame.Length, out var packet, out var error));
        Assert.Null(error);
        return packet;
    }
}
