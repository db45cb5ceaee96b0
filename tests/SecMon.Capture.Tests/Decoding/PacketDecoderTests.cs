using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using SecMon.Capture.Decoding;

namespace SecMon.Capture.Tests.Decoding;

/// <summary>
/// Parser tables: one hex frame per link type and header variant (vectors generated from the RFC layouts by a
/// separate script and checked with tshark 4.0 while writing them), then labelled malformed rows.
/// </summary>
public sealed class PacketDecoderTests
{
    [Theory]
    [InlineData("Ethernet_Ipv4_Tcp_PaddingTrimmed", 1, "020000000001001a2b3c4d5e08004500002c12344000400600000a0000020a000001c350075b000003e8000007d05018faf0000000004d5154540000", "10.0.0.2", "10.0.0.1", 50000, 1883, 6, "MQTT", 0, "00-1A-2B-3C-4D-5E")]
    [InlineData("Ethernet_Vlan8021Q_Ipv4_Udp", 1, "020000000001001a2b3c4d5e810020640800450000201234400040110000c0a8013408080808d5390035000c000061626364", "192.168.1.52", "8.8.8.8", 54585, 53, 17, "abcd", 100, "00-1A-2B-3C-4D-5E")]
    [InlineData("Ethernet_QinQ_OuterVlanKept", 1, "020000000001001a2b3c4d5e88a800c88100012c08004500002812344000400600000a0000020a000001c350075b00000001000000005002faf000000000", "10.0.0.2", "10.0.0.1", 50000, 1883, 6, "", 200, "00-1A-2B-3C-4D-5E")]
    [InlineData("Ethernet_PriorityTag9100_ThenVlan", 1, "020000000001001a2b3c4d5e910060008100000708004500002812344000400600000a0000020a000001c350075b00000001000000005002faf000000000", "10.0.0.2", "10.0.0.1", 50000, 1883, 6, "", 7, "00-1A-2B-3C-4D-5E")]
    [InlineData("LinuxSll_Ipv4_Tcp", 113, "000000010006001a2b3c4d5e000008004500002a12344000400600000a0000020a000001c350075b00000005000000065010faf0000000006869", "10.0.0.2", "10.0.0.1", 50000, 1883, 6, "hi", 0, "00-1A-2B-3C-4D-5E")]
    [InlineData("LinuxSll2_Ipv6_Udp", 276, "86dd00000000000300010406001a2b3c4d5e000060000000000c114020010db800000000000000000000000220010db800000000000000000000000116331633000c0000636f6170", "2001:db8::2", "2001:db8::1", 5683, 5683, 17, "coap", 0, "00-1A-2B-3C-4D-5E")]
    [InlineData("Null_LittleEndianInet_Udp", 0, "020000004500001d12344000401100007f0000017f0000019c40075b0009000078", "127.0.0.1", "127.0.0.1", 40000, 1883, 17, "x", 0, null)]
    [InlineData("Null_BigEndianInet6Darwin_Tcp", 0, "0000001e600000000014064000000000000000000000000000000001000000000000000000000000000000019c4122b300000007000000005002faf000000000", "::1", "::1", 40001, 8883, 6, "", 0, null)]
    [InlineData("Null_LittleEndianInet6Linux_Tcp", 0, "0a000000600000000014064000000000000000000000000000000001000000000000000000000000000000019c4122b300000007000000005002faf000000000", "::1", "::1", 40001, 8883, 6, "", 0, null)]
    [InlineData("Loop_NetworkOrder_Tcp", 108, "000000024500002812344000400600007f0000017f0000029c42075b00000009000000005002faf000000000", "127.0.0.1", "127.0.0.2", 40002, 1883, 6, "", 0, null)]
    [InlineData("Raw101_Ipv4_Udp", 101, "4500002012344000401100000a0101010a01010203e807d0000c000072617734", "10.1.1.1", "10.1.1.2", 1000, 2000, 17, "raw4", 0, null)]
    [InlineData("DltRaw12_Ipv6_Tcp", 12, "6000000000140640fe800000000000000000000000000001fe8000000000000000000000000000020bb801bb00000001000000005002faf000000000", "fe80::1", "fe80::2", 3000, 443, 6, "", 0, null)]
    [InlineData("DltRaw14_Ipv4_Tcp", 14, "4500002812344000400600000a0101010a0101020bb801bb00000001000000005002faf000000000", "10.1.1.1", "10.1.1.2", 3000, 443, 6, "", 0, null)]
    [InlineData("LinktypeIpv4_EmptyUdp", 228, "4500001c12344000401100000a0101010a0101020001000200080000", "10.1.1.1", "10.1.1.2", 1, 2, 17, "", 0, null)]
    [InlineData("LinktypeIpv6_Udp", 229, "60000000000a114020010db800000000000000000000000120010db800000000000000000000000200010002000a00007636", "2001:db8::1", "2001:db8::2", 1, 2, 17, "v6", 0, null)]
    [InlineData("Ethernet_Ipv6_HopRoutingDestAh_Tcp", 1, "020000000001001a2b3c4d5e86dd60000000004f004020010db800000000000000000000000220010db80000000000000000000000012b000104000000003c000000000000003301010c000000000000000000000000060400000000010000000001000000000000000000000000c350075b00000001000000015018faf000000000657874", "2001:db8::2", "2001:db8::1", 50000, 1883, 6, "ext", 0, "00-1A-2B-3C-4D-5E")]
    [InlineData("Ethernet_Ipv4WithOptions_Udp", 1, "020000000001001a2b3c4d5e08004600002312344000401100000a0000020a0000010101010013881633000b00006f7074", "10.0.0.2", "10.0.0.1", 5000, 5683, 17, "opt", 0, "00-1A-2B-3C-4D-5E")]
    [InlineData("Ethernet_Ipv4_TcpWithOptions", 1, "020000000001001a2b3c4d5e08004500003512344000400600000a0000020a000001c350075b00000001000000018018faf0000000000101010101010101010101017a", "10.0.0.2", "10.0.0.1", 50000, 1883, 6, "z", 0, "00-1A-2B-3C-4D-5E")]
    public void Decode_WellFormedFrame_ExtractsTuplePayloadAndLink(string label, int linkType, string hex, string source,
        string destination, int sourcePort, int destinationPort, int protocol, string payload, int vlan, string? sourceMac)
    {
        var frame = TestFrames.Hex(hex);

        var result = PacketDecoder.Decode(linkType, frame, frame.Length, out var packet, out var error);

        Assert.True(result == DecodeResult.Ok, $"{label}: {result} {error}");
        Assert.Null(error);
        Assert.Equal(source, packet.Source.ToString());
        Assert.Equal(destination, packet.Destination.ToString());
        Assert.Equal(sourcePort, packet.SourcePort);
        Assert.Equal(destinationPort, packet.DestinationPort);
        Assert.Equal(protocol, packet.Protocol);
        Assert.Equal(payload, System.Text.Encoding.ASCII.GetString(packet.Payload));
        Assert.Equal(0, packet.MissingPayloadBytes);
        Assert.Equal(vlan, packet.VlanId);
        Assert.Equal(sourceMac, packet.HasSourceMac ? packet.SourceMac.ToString() : null);
    }

    [Theory]
    [InlineData("Truncated_Ipv4Header", 1, "020000000001001a2b3c4d5e08004500002c12344000400600000a000002", 60, "Truncated", "IPv4 header needs 20 bytes, only 16 captured")]
    [InlineData("Truncated_TcpHeader", 1, "020000000001001a2b3c4d5e08004500002c12344000400600000a0000020a000001c350075b000003e80000", 60, "Truncated", "TCP header needs 20 bytes, only 10 captured")]
    [InlineData("Truncated_Ethernet", 1, "020000000001001a2b3c", 60, "Truncated", "Ethernet header needs 14 bytes, only 10 captured")]
    [InlineData("Malformed_ShortEthernet", 1, "020000000001001a2b3c", 10, "Malformed", "Ethernet header needs 14 bytes, the packet has only 10")]
    [InlineData("Truncated_VlanTag", 1, "020000000001001a2b3c4d5e81002064", 60, "Truncated", "802.1Q tag (TCI and inner EtherType at offset 14) needs 4 bytes, only 2 captured")]
    [InlineData("BadLength_Ipv4TotalLength", 1, "020000000001001a2b3c4d5e0800450005dc12344000400600000a0000020a000001c350075b000003e8000007d05018faf0000000004d5154540000", 60, "Malformed", "IPv4 total length 1500 exceeds captured 46 bytes")]
    [InlineData("BadLength_Ipv4TotalBelowHeader", 1, "020000000001001a2b3c4d5e08004500001012344000400600000a0000020a000001c350075b000003e8000007d05018faf0000000004d5154540000", 60, "Malformed", "IPv4 total length 16 is smaller than its header length 20")]
    [InlineData("BadVersion_Ipv4", 1, "020000000001001a2b3c4d5e08005500002c12344000400600000a0000020a000001c350075b000003e8000007d05018faf0000000004d5154540000", 60, "Malformed", "IPv4 header has version 5")]
    [InlineData("BadHeaderLength_Ipv4", 1, "020000000001001a2b3c4d5e08004400002c12344000400600000a0000020a000001c350075b000003e8000007d05018faf0000000004d5154540000", 60, "Malformed", "IPv4 header length 16 is below the minimum 20")]
    [InlineData("BadLength_TcpDataOffset", 1, "020000000001001a2b3c4d5e08004500002c12344000400600000a0000020a000001c350075b000003e8000007d04018faf0000000004d5154540000", 60, "Malformed", "TCP data offset 16 bytes is below the minimum 20")]
    [InlineData("BadLength_TcpOptionsPastEnd", 1, "020000000001001a2b3c4d5e08004500002c12344000400600000a0000020a000001c350075b000003e8000007d0f018faf0000000004d5154540000", 60, "Malformed", "TCP header with options needs 60 bytes, the packet has only 24")]
    [InlineData("BadLength_UdpBelowHeader", 101, "4500002012344000401100000a0101010a01010203e807d00004000072617734", 32, "Malformed", "UDP length 4 is below the header size 8")]
    [InlineData("BadLength_UdpPastIp", 101, "4500002012344000401100000a0101010a01010203e807d000c8000072617734", 32, "Malformed", "UDP length 200 exceeds the 12-byte IP payload")]
    [InlineData("BadVersion_Raw", 101, "7500002012344000401100000a0101010a01010203e807d0000c000072617734", 32, "Malformed", "raw IP packet has version 7, expected 4 or 6")]
    [InlineData("BadVersion_LinktypeIpv6Carrying4", 229, "4500002012344000401100000a0101010a01010203e807d0000c000072617734", 32, "Malformed", "IPv6 header has version 4")]
    [InlineData("Truncated_Ipv6ExtensionHeader", 1, "020000000001001a2b3c4d5e86dd60000000004f004020010db800000000000000000000000220010db80000000000000000000000012b000104000000003c000000", 133, "Truncated", "IPv6 extension header 43 needs 8 bytes, only 4 captured")]
    [InlineData("BadLength_Ipv6ExtensionHeader", 1, "020000000001001a2b3c4d5e86dd60000000004f004020010db800000000000000000000000220010db80000000000000000000000012bff0104000000003c000000000000003301010c000000000000000000000000060400000000010000000001000000000000000000000000c350075b00000001000000015018faf000000000657874", 133, "Malformed", "IPv6 extension header 0 needs 2048 bytes, the packet has only 79")]
    [InlineData("BadLength_Ipv6PayloadLength", 1, "020000000001001a2b3c4d5e86dd600000000100004020010db800000000000000000000000220010db80000000000000000000000012b000104000000003c000000000000003301010c000000000000000000000000060400000000010000000001000000000000000000000000c350075b00000001000000015018faf000000000657874", 133, "Malformed", "IPv6 payload length 256 exceeds captured 79 bytes")]
    [InlineData("Truncated_Ipv6Header", 229, "60000000000a114020010db800000000000000000000000120010db80000", 50, "Truncated", "IPv6 header needs 40 bytes, only 30 captured")]
    [InlineData("UnknownLinkType_147", 147, "020000000001001a2b3c4d5e08004500002c12344000400600000a0000020a000001c350075b000003e8000007d05018faf0000000004d5154540000", 60, "UnknownLinkType", "link type 147 is not supported")]
    [InlineData("NonIp_Arp", 1, "020000000001001a2b3c4d5e080600010800060400010000000000000000000000000000000000000000", 42, "NonIp", null)]
    [InlineData("NonIp_8023Length", 1, "020000000001001a2b3c4d5e002baaaa0300000000000000000000000000000000000000000000000000000000000000000000000000000000", 57, "NonIp", null)]
    [InlineData("NonIp_NullUnknownFamily", 0, "070000004500002012344000401100000a0101010a01010203e807d0000c000072617734", 36, "NonIp", null)]
    [InlineData("OtherTransport_Icmp", 1, "020000000001001a2b3c4d5e08004500001c12344000400100000a0000020a0000010800000000010001", 42, "OtherTransport", null)]
    [InlineData("Ipv6Fragment", 229, "6000000000182c4020010db800000000000000000000000120010db8000000000000000000000002110000090000abcd00000000000000000000000000000000", 64, "Ipv6Fragment", null)]
    [InlineData("Ipv4Fragment", 228, "4500002412342002401100000a0000020a00000100000000000000000000000000000000", 36, "Ipv4Fragment", null)]
    public void Decode_MalformedFrame_ReportsOutcomeAndPreciseMessage(string label, int linkType, string hex, int originalLength,
        string expectedResult, string? message)
    {
        var frame = TestFrames.Hex(hex);
        var expected = Enum.Parse<DecodeResult>(expectedResult);

        var result = PacketDecoder.Decode(linkType, frame, originalLength, out _, out var error);

        Assert.True(expected == result, $"{label}: expected {expected}, got {result} ({error})");
        if (message is null)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.NotNull(error);
            Assert.Contains(message, error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Decode_EthernetTcp_ReadsSequenceAckFlagsWindowAndMacs()
    {
        var frame = TestFrames.Hex("020000000001001a2b3c4d5e08004500002c12344000400600000a0000020a000001c350075b000003e8000007d05018faf0000000004d5154540000");

        var result = PacketDecoder.Decode(LinkTypes.Ethernet, frame, frame.Length, out var p, out _);

        Assert.Equal(DecodeResult.Ok, result);
        Assert.Equal(1000u, p.Sequence);
        Assert.Equal(2000u, p.Acknowledgment);
        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, p.Flags);
        Assert.Equal(64240, p.Window);
        Assert.Equal("02-00-00-00-00-01", p.DestinationMac.ToString());
        Assert.Equal("00-1A-2B-3C-4D-5E", p.SourceMac.ToString());
        Assert.True(p.IsTcp);
    }

    [Fact]
    public void Decode_PayloadCutBySnapLength_KeepsCapturedBytesAndCountsTheRest()
    {
        // 54 bytes of headers + 2 of the 4 payload bytes captured; the wire frame had 60.
        var full = TestFrames.Hex("020000000001001a2b3c4d5e08004500002c12344000400600000a0000020a000001c350075b000003e8000007d05018faf0000000004d5154540000");
        var frame = full[..56];

        var result = PacketDecoder.Decode(LinkTypes.Ethernet, frame, 60, out var p, out var error);

        Assert.Equal(DecodeResult.Ok, result);
        Assert.Null(error);
        Assert.Equal("MQ", System.Text.Encoding.ASCII.GetString(p.Payload));
        Assert.Equal(2, p.MissingPayloadBytes);
    }

    [Fact]
    public void Decode_Ipv4TotalLengthZero_SegmentationOffload_UsesCapturedLength()
    {
        var tcp = TestFrames.Tcp(50000, 1883, 1, 1, TcpFlags.Ack, "abcdef"u8);
        var ip = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 6, tcp, totalLength: 0);

        var result = PacketDecoder.Decode(LinkTypes.Ipv4, ip, ip.Length, out var p, out _);

        Assert.Equal(DecodeResult.Ok, result);
        Assert.Equal("abcdef", System.Text.Encoding.ASCII.GetString(p.Payload));
    }

    [Fact]
    public void Decode_UdpLengthShorterThanIpPayload_TrimsToUdpLength()
    {
        var udp = TestFrames.Udp(1000, 5683, "abcdXYZ"u8, lengthField: 12);
        var ip = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, udp);

        var result = PacketDecoder.Decode(LinkTypes.Ipv4, ip, ip.Length, out var p, out _);

        Assert.Equal(DecodeResult.Ok, result);
        Assert.Equal("abcd", System.Text.Encoding.ASCII.GetString(p.Payload));
    }

    [Fact]
    public void Decode_Ipv6AtomicFragment_IsAWholePacket()
    {
        // RFC 6946: a fragment header with offset 0 and M=0 does not make a fragment.
        var udp = TestFrames.Udp(1000, 2000, "atomic"u8);
        var ip = TestFrames.Ipv6("2001:db8::1", "2001:db8::2", 17, udp, (44, new byte[6]));

        var result = PacketDecoder.Decode(LinkTypes.Ipv6, ip, ip.Length, out var p, out _);

        Assert.Equal(DecodeResult.Ok, result);
        Assert.Equal("atomic", System.Text.Encoding.ASCII.GetString(p.Payload));
    }

    [Fact]
    public void Decode_Ipv4Fragment_ReportsIdOffsetAndMoreFragments()
    {
        var ip = TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, new byte[24], id: 77, moreFragments: true, fragmentOffset: 1480);

        var result = PacketDecoder.Decode(LinkTypes.Ipv4, ip, ip.Length, out var p, out _);

        Assert.Equal(DecodeResult.Ipv4Fragment, result);
        Assert.Equal(77u, p.FragmentId);
        Assert.Equal(1480, p.FragmentOffset);
        Assert.True(p.MoreFragments);
        Assert.Equal(24, p.Payload.Length);
    }

    [Fact]
    public void Decode_Ipv6Fragment_ReportsIdOffsetMoreFragmentsAndTheFragmentsBytes()
    {
        // Hop-by-hop options before the fragment header (the unfragmentable part), 1232 bytes at offset 2464, M set.
        var ip = TestFrames.Ipv6("2001:db8::10", "2001:db8::21", 17, new byte[24], (0, new byte[6]), (44, [0x09, 0xa1, 0xbd, 0x56, 0xac, 0x23]));

        var result = PacketDecoder.Decode(LinkTypes.Ipv6, ip, ip.Length, out var p, out _);

        Assert.Equal(DecodeResult.Ipv6Fragment, result);
        Assert.Equal(0xbd56ac23u, p.FragmentId);
        Assert.Equal(2464, p.FragmentOffset);
        Assert.True(p.MoreFragments);
        Assert.Equal(17, p.Protocol);
        Assert.Equal(24, p.Payload.Length);
    }

    [Fact]
    public void Decode_Ipv6FragmentCutByTheCapture_IsTruncatedNotHeldForReassembly()
    {
        var ip = TestFrames.Ipv6("2001:db8::10", "2001:db8::21", 17, new byte[1232], (44, [0x00, 0x01, 0, 0, 0, 5]));

        var result = PacketDecoder.Decode(LinkTypes.Ipv6, ip.AsSpan(0, 96), ip.Length, out _, out var error);

        Assert.Equal(DecodeResult.Truncated, result);
        Assert.Equal("IPv6 fragment (id 5, offset 0) cut by the capture: 1184 bytes missing, cannot reassemble", error);
    }

    [Fact]
    public void Decode_EveryPrefixOfEveryValidFrame_NeverThrowsAndNeverReadsPastTheEnd()
    {
        // Hostile-input sweep: every truncation of valid frames, as captured-short and as wire-short.
        var frames = new (int LinkType, byte[] Frame)[]
        {
            (1, TestFrames.Hex("020000000001001a2b3c4d5e86dd60000000004f004020010db800000000000000000000000220010db80000000000000000000000012b000104000000003c000000000000003301010c000000000000000000000000060400000000010000000001000000000000000000000000c350075b00000001000000015018faf000000000657874")),
            (1, TestFrames.Hex("020000000001001a2b3c4d5e88a800c88100012c08004500002812344000400600000a0000020a000001c350075b00000001000000005002faf000000000")),
            (276, TestFrames.Hex("86dd00000000000300010406001a2b3c4d5e000060000000000c114020010db800000000000000000000000220010db800000000000000000000000116331633000c0000636f6170")),
        };
        foreach (var (linkType, frame) in frames)
        {
            for (var n = 0; n < frame.Length; n++)
            {
                var prefix = frame[..n];
                var cut = PacketDecoder.Decode(linkType, prefix, frame.Length, out _, out var cutError);
                var shortFrame = PacketDecoder.Decode(linkType, prefix, n, out _, out var shortError);
                Assert.True(cut is DecodeResult.Truncated or DecodeResult.Ok, $"prefix {n}: {cut} {cutError}");
                Assert.True(shortFrame is DecodeResult.Malformed or DecodeResult.Ok, $"prefix {n}: {shortFrame} {shortError}");
            }
        }
    }

    [Fact]
    public void Decode_EveryPrefixOfAnIpv6Fragment_NeverThrowsAndNeverReadsPastTheEnd()
    {
        // A hop-by-hop header, then the fragment header, then 24 bytes of the fragment: cut at every length.
        var ip = TestFrames.Ipv6("2001:db8::10", "2001:db8::21", 17, new byte[24], (0, new byte[6]), (44, [0x09, 0xa1, 0, 0, 0, 7]));
        var frame = TestFrames.Ethernet(ip, etherType: 0x86DD);
        for (var n = 0; n < frame.Length; n++)
        {
            var prefix = frame[..n];
            var cut = PacketDecoder.Decode(LinkTypes.Ethernet, prefix, frame.Length, out _, out var cutError);
            var shortFrame = PacketDecoder.Decode(LinkTypes.Ethernet, prefix, n, out _, out var shortError);
            Assert.True(cut is DecodeResult.Truncated, $"prefix {n}: {cut} {cutError}");
            Assert.True(shortFrame is DecodeResult.Malformed or DecodeResult.Ipv6Fragment, $"prefix {n}: {shortFrame} {shortError}");
        }

        Assert.Equal(DecodeResult.Ipv6Fragment, PacketDecoder.Decode(LinkTypes.Ethernet, frame, frame.Length, out _, out _));
    }

    [Fact]
    public void Decode_FrameBuiltByPacketDotNet_Ipv4Tcp_MatchesItsFields()
    {
        var tcp = new TcpPacket(49152, 8883)
        {
            SequenceNumber = 0xFFFFFFF0,
            AcknowledgmentNumber = 42,
            Synchronize = false,
            Acknowledgment = true,
            Push = true,
            WindowSize = 1024,
            PayloadData = "hello mqtt"u8.ToArray(),
        };
        var ip = new IPv4Packet(IPAddress.Parse("192.168.7.20"), IPAddress.Parse("192.168.7.1")) { PayloadPacket = tcp };
        var eth = new EthernetPacket(PhysicalAddress.Parse("AA-BB-CC-DD-EE-01"), PhysicalAddress.Parse("AA-BB-CC-DD-EE-02"), EthernetType.IPv4)
        {
            PayloadPacket = ip,
        };
        eth.UpdateCalculatedValues();
        var frame = eth.Bytes;

        var result = PacketDecoder.Decode(LinkTypes.Ethernet, frame, frame.Length, out var p, out var error);

        Assert.True(result == DecodeResult.Ok, error);
        Assert.Equal("192.168.7.20", p.Source.ToString());
        Assert.Equal("192.168.7.1", p.Destination.ToString());
        Assert.Equal(49152, p.SourcePort);
        Assert.Equal(8883, p.DestinationPort);
        Assert.Equal(0xFFFFFFF0u, p.Sequence);
        Assert.Equal(42u, p.Acknowledgment);
        Assert.Equal(TcpFlags.Ack | TcpFlags.Psh, p.Flags);
        Assert.Equal(1024, p.Window);
        Assert.Equal("hello mqtt", System.Text.Encoding.ASCII.GetString(p.Payload));
        Assert.Equal("AA-BB-CC-DD-EE-01", p.SourceMac.ToString());
    }

    [Fact]
    public void Decode_FrameBuiltByPacketDotNet_Ipv6Udp_MatchesItsFields()
    {
        var udp = new UdpPacket(5683, 61000) { PayloadData = "coap!"u8.ToArray() };
        var ip = new IPv6Packet(IPAddress.Parse("fd00::10"), IPAddress.Parse("fd00::1:2")) { PayloadPacket = udp };
        var eth = new EthernetPacket(PhysicalAddress.Parse("AA-BB-CC-DD-EE-01"), PhysicalAddress.Parse("AA-BB-CC-DD-EE-02"), EthernetType.IPv6)
        {
            PayloadPacket = ip,
        };
        eth.UpdateCalculatedValues();
        var frame = eth.Bytes;

        var result = PacketDecoder.Decode(LinkTypes.Ethernet, frame, frame.Length, out var p, out var error);

        Assert.True(result == DecodeResult.Ok, error);
        Assert.True(p.Source.IsV6);
        Assert.Equal("fd00::10", p.Source.ToString());
        Assert.Equal("fd00::1:2", p.Destination.ToString());
        Assert.Equal(5683, p.SourcePort);
        Assert.Equal(61000, p.DestinationPort);
        Assert.Equal("coap!", System.Text.Encoding.ASCII.GetString(p.Payload));
    }
}
