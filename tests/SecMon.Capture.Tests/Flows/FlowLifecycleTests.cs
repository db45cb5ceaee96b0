using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Capture.Protocols;
using SecMon.Capture.Tests.Decoding;

namespace SecMon.Capture.Tests.Flows;

/// <summary>Idle timeouts, eviction, lingering closed flows and direction inference.</summary>
public sealed class FlowLifecycleTests
{
    private readonly CaptureStats _stats = new();
    private readonly RecordingDiagnostics _diagnostics = new();
    private readonly RecordingFactory _factory = new();

    private PacketProcessor Create(CaptureOptions? options = null) =>
        new(options ?? new CaptureOptions(), _stats, _diagnostics, _factory.Create);

    [Fact]
    public void Process_TcpFlowIdleLongerThanTimeout_IsClosedBySweepWithItsExpiryTime()
    {
        var p = Create(new CaptureOptions { TcpIdleTimeoutMicros = 10_000_000 });
        var a = new TcpConversation(p, clientPort: 50001);
        var b = new TcpConversation(p, clientPort: 50002);
        a.Handshake();
        a.Client(a.C(0), "quiet");
        var lastSeen = a.Now;

        b.Now = a.Now + 12_000_000;
        b.Handshake();

        var session = _factory.Sessions[0];
        Assert.Equal(1, session.Closes);
        Assert.Equal(lastSeen + 10_000_000, session.CloseTimestamp);
        Assert.Equal(1, _stats.FlowTimeouts);
        Assert.Equal(1, p.Flows.Count);
    }

    [Fact]
    public void Process_SweepRunsOncePerSecondOfCaptureTime_NotPerPacket()
    {
        var p = Create(new CaptureOptions { TcpIdleTimeoutMicros = 1_000 });
        var a = new TcpConversation(p, clientPort: 50001);
        var b = new TcpConversation(p, clientPort: 50002);
        a.Handshake();
        a.Client(a.C(0), "x");
        b.Now = a.Now;
        b.Handshake(); // 3 ms later: a is idle, but the sweep only runs once a second of capture time has passed

        Assert.Equal(0, _stats.FlowTimeouts);
        var d = new TcpConversation(p, clientPort: 50003) { Now = b.Now + 1_000_000 };
        d.Client(d.C(0), "y", advance: 0);
        Assert.Equal(2, _stats.FlowTimeouts); // a and b, by the sweep
        Assert.Equal(1, p.Flows.Count);
    }

    [Fact]
    public void Process_PacketAfterIdleTimeoutOnSameTuple_StartsANewFlow()
    {
        var p = Create(new CaptureOptions { TcpIdleTimeoutMicros = 5_000 });
        var c = new TcpConversation(p);
        c.Handshake();
        c.Client(c.C(0), "one");
        c.Client(c.C(3), "two", advance: 6_000);

        Assert.Equal(2, _stats.TcpFlows);
        Assert.Equal(1, _stats.FlowTimeouts);
        Assert.Equal("one", _factory.Sessions[0].Text(Core.Flows.FlowDirection.ToServer));
        Assert.Equal("two", _factory.Sessions[1].Text(Core.Flows.FlowDirection.ToServer));
    }

    [Fact]
    public void Process_UdpFlowIdle_IsForgottenAndCounted()
    {
        var p = Create(new CaptureOptions { UdpIdleTimeoutMicros = 2_000_000 });
        SendUdp(p, 1_000_000, 40000, 5683, "req");
        SendUdp(p, 5_000_000, 40001, 5683, "other");

        Assert.Equal(1, _stats.FlowTimeouts);
        Assert.Equal(2, _stats.UdpFlows);
        Assert.Equal(1, p.Flows.Count);
    }

    [Fact]
    public void Process_TableFull_EvictsTheLeastRecentlySeenFlowAndClosesIt()
    {
        var p = Create(new CaptureOptions { MaxFlows = 2 });
        var one = new TcpConversation(p, clientPort: 50001);
        var two = new TcpConversation(p, clientPort: 50002);
        var three = new TcpConversation(p, clientPort: 50003);
        one.Client(one.C(0), "1");
        two.Now = one.Now;
        two.Client(two.C(0), "2");
        one.Now = two.Now + FlowTable.TouchGranuleMicros; // eviction tells flows apart to the flow table's touch granule
        one.Client(one.C(1), "1");    // flow one is now more recent than flow two
        three.Now = one.Now;
        three.Client(three.C(0), "3");

        Assert.Equal(1, _stats.FlowEvictions);
        Assert.Equal(0, _factory.Sessions[0].Closes);
        Assert.Equal(1, _factory.Sessions[1].Closes);
        Assert.Equal(2, p.Flows.Count);
        var message = Assert.Single(_diagnostics.Of(DiagnosticKind.ResourceLimit));
        Assert.Contains("MaxFlows", message, StringComparison.Ordinal);
        Assert.Contains(":50002", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_SynFloodFillsTheTable_ConnectionsThatCarriedDataOutliveEveryQuietFlow()
    {
        // Two sessions that carried data, then a flood of SYNs (none ever answered): the flood's own flows are
        // evicted, oldest first, and the sessions stay although they are the least recently seen.
        var p = Create(new CaptureOptions { MaxFlows = 8 });
        var mqtt = new TcpConversation(p, clientPort: 40001);
        mqtt.Handshake();
        mqtt.Client(mqtt.C(0), "connect");
        var modbus = new TcpConversation(p, clientPort: 40002) { Now = mqtt.Now };
        modbus.Handshake();
        modbus.Client(modbus.C(0), "read");
        for (var i = 0; i < 500; i++)
        {
            var syn = new TcpConversation(p, clientPort: (ushort)(20000 + i)) { Now = modbus.Now + 10 + i };
            syn.Client(0, "", TcpFlags.Syn);
        }

        Assert.Equal(8, p.Flows.Count);
        Assert.Equal(500 - 6, _stats.FlowEvictions);
        Assert.Equal(500 - 6, _stats.QuietFlowEvictions);
        Assert.Equal(0, _factory.Sessions.Count(s => s.Closes > 0 && (s.Text(Core.Flows.FlowDirection.ToServer) is "connect" or "read")));
        Assert.Contains(p.Flows.All, f => f.ToServer.SourcePort == 40001);
        Assert.Contains(p.Flows.All, f => f.ToServer.SourcePort == 40002);

        // Once only flows with data are left, the least recently seen of them goes as before.
        var late = new TcpConversation(p, clientPort: 40003) { Now = modbus.Now + 1_000 };
        late.Handshake();
        late.Client(late.C(0), "late");
        for (var i = 0; i < 6; i++)
        {
            var more = new TcpConversation(p, clientPort: (ushort)(41000 + i)) { Now = late.Now + 1 + i };
            more.Client(more.C(0), "data");
        }

        Assert.DoesNotContain(p.Flows.All, f => f.ToServer.SourcePort == 40001);
        Assert.Contains(p.Flows.All, f => f.ToServer.SourcePort == 40003);
    }

    [Fact]
    public void Process_TableFullWithAClosedFlow_ForgetsTheClosedOneWithoutCountingAnEviction()
    {
        var p = Create(new CaptureOptions { MaxFlows = 2 });
        var one = new TcpConversation(p, clientPort: 50001);
        var two = new TcpConversation(p, clientPort: 50002);
        var three = new TcpConversation(p, clientPort: 50003);
        one.Client(one.C(0), "1");
        one.Client(one.C(1), "", TcpFlags.Rst);
        two.Now = one.Now;
        two.Client(two.C(0), "2");
        three.Now = two.Now;
        three.Client(three.C(0), "3");

        Assert.Equal(0, _stats.FlowEvictions);
        Assert.Equal(0, _factory.Sessions[1].Closes);
        Assert.Equal(2, p.Flows.Count);
    }

    [Fact]
    public void Process_ClosedFlowAfterLinger_IsForgotten()
    {
        var p = Create();
        var c = new TcpConversation(p);
        c.Handshake();
        c.Client(c.C(0), "", TcpFlags.Rst);
        Assert.Equal(1, p.Flows.Count);

        var other = new TcpConversation(p, clientPort: 50009) { Now = c.Now + PacketProcessor.ClosedLingerMicros + 2_000_000 };
        other.Handshake();

        Assert.Equal(1, p.Flows.Count);
        Assert.Equal(0, _stats.FlowTimeouts);
    }

    [Fact]
    public void Process_ManyFlows_MemoryStaysBoundedByMaxFlows()
    {
        var p = Create(new CaptureOptions { MaxFlows = 64 });
        for (var i = 0; i < 1000; i++)
        {
            var c = new TcpConversation(p, clientPort: (ushort)(20000 + i)) { Now = TcpConversation.Start + (i * 10) };
            c.Client(c.C(0), "x");
        }

        Assert.Equal(64, p.Flows.Count);
        Assert.Equal(1000 - 64, _stats.FlowEvictions);
        Assert.Equal(1000 - 64, _factory.Sessions.Count(s => s.Closes == 1));
    }

    [Theory]
    [InlineData(50000, 1883, true)]   // broker port is the server
    [InlineData(1883, 50000, false)]
    [InlineData(50000, 50001, true)]  // neither looks like a service: first sender is the client
    [InlineData(50001, 50000, true)]
    [InlineData(443, 80, true)]       // both below 1024: the lower port is the server
    [InlineData(80, 443, false)]
    [InlineData(123, 123, true)]      // same port: first sender
    [InlineData(5683, 61000, false)]  // CoAP
    [InlineData(8883, 1024, false)]   // MQTT over TLS is a known service port, 1024 is not
    [InlineData(546, 547, true)]      // DHCPv6: 547 is the declared server port, though 546 is lower
    [InlineData(547, 546, false)]
    [InlineData(547, 547, true)]      // relay to server: same port, first sender
    [InlineData(68, 67, true)]        // DHCPv4: 67 is the declared server port (and the lower)
    [InlineData(67, 68, false)]
    [InlineData(600, 8080, true)]     // a declared server port beats a client's privileged port
    [InlineData(8080, 600, false)]
    public void SenderLooksLikeClient_Ports_InfersTheClientSide(int sourcePort, int destinationPort, bool expected)
    {
        Assert.Equal(expected, PacketProcessor.SenderLooksLikeClient((ushort)sourcePort, (ushort)destinationPort));
    }

    [Fact]
    public void Process_UdpFirstDatagramFromServerPort_ClientIsTheOtherSideAndOpenerNotSeen()
    {
        var p = Create();
        SendUdp(p, 1_000_000, 5683, 40000, "notify", fromA: false);

        var flow = Assert.Single(p.Flows.All);
        Assert.Equal(40000, flow.ToServer.SourcePort);
        Assert.Equal(5683, flow.ToServer.DestinationPort);
        Assert.False(flow.ToServer.OpenerSeen);
        Assert.Equal(0, flow.PacketsToServer);
        Assert.Equal(1, flow.PacketsToClient);
        Assert.Equal(6, flow.PayloadBytesToClient);
    }

    [Theory]
    [InlineData(547, 2)] // DHCPv6 server: a dissected protocol's declared server port
    [InlineData(546, 1)] // DHCPv6 client: below 1024 only
    [InlineData(67, 2)]
    [InlineData(68, 1)]
    [InlineData(1883, 2)]
    [InlineData(3306, 1)] // a well-known service SecMon does not dissect
    [InlineData(50000, 0)]
    public void ServicePortRank_ShippedCatalogue_DeclaredServerPortsRankAboveOtherServicePorts(int port, int expected)
    {
        Assert.Equal(expected, ProtocolCatalogue.Shipped.ServicePortRank((ushort)port));
        Assert.Equal(expected != 0, ProtocolCatalogue.Shipped.IsServicePort((ushort)port));
    }

    [Fact]
    public void Process_UdpFirstDatagramFromDhcpv6ServerToClientPort_ClientIsThe546Side()
    {
        var p = Create();
        SendUdp(p, 1_000_000, 547, 546, "advertise", fromA: false);
        SendUdp(p, 2_000_000, 546, 547, "request", fromA: true);

        var flow = Assert.Single(p.Flows.All);
        Assert.Equal("10.0.0.2", flow.ToServer.SourceIp);
        Assert.Equal(546, flow.ToServer.SourcePort);
        Assert.Equal(547, flow.ToServer.DestinationPort);
        Assert.Equal(1, flow.PacketsToServer);
        Assert.Equal(1, flow.PacketsToClient);
    }

    [Fact]
    public void Process_DhcpClientsWithoutAnAddress_EachItsOwnFlowWithItsOwnMac()
    {
        // Every DHCP client before its lease sends 0.0.0.0:68 -> 255.255.255.255:67 (RFC 2131 §4.1); only the MAC
        // tells them apart. One flow for all would give the second client's messages the first one's MAC.
        var p = Create();
        byte[] camera = [0x00, 0x12, 0x12, 0x00, 0x00, 0x99];
        byte[] plug = [0x02, 0x00, 0x00, 0x00, 0x00, 0x77];
        byte[] broadcast = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        void Discover(long micros, byte[] mac)
        {
            var frame = TestFrames.Ethernet(TestFrames.Ipv4("0.0.0.0", "255.255.255.255", 17,
                TestFrames.Udp(68, 67, "discover"u8)), source: mac, destination: broadcast);
            p.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, 1, "dhcp.pcap", 1));
        }

        Discover(1_000_000, camera);
        Discover(2_000_000, plug);
        Discover(3_000_000, camera);

        var flows = p.Flows.All.OrderBy(f => f.FirstMicros).ToList();
        Assert.Equal(2, flows.Count);
        Assert.Equal("00-12-12-00-00-99", flows[0].ToServer.SourceMac);
        Assert.Equal(2, flows[0].PacketsToServer);
        Assert.Equal("02-00-00-00-00-77", flows[1].ToServer.SourceMac);
        Assert.Equal(1, flows[1].PacketsToServer);
        Assert.All(flows, f => Assert.Equal("0.0.0.0", f.ToServer.SourceIp));
    }

    [Fact]
    public void Process_ServerBehindTheGateway_ItsMacIsTheGatewaysAndNotTakenForIts()
    {
        // Recorded (Detection/RoutedSite): a sensor publishes to a cloud broker; on the LAN the broker's packets carry
        // the gateway's MAC and TTL 63 (64 less the router's hop). The broker's end has no MAC; the sensor keeps its own.
        var p = Create();
        byte[] sensor = [0x24, 0x0A, 0xC4, 0x00, 0x02, 0x21];
        byte[] gateway = [0x00, 0x11, 0x32, 0x00, 0x02, 0x01];
        void Send(long micros, bool fromSensor, ushort sensorPort)
        {
            var frame = fromSensor
                ? TestFrames.Ethernet(TestFrames.Ipv4("192.0.2.21", "198.51.100.10", 17, TestFrames.Udp(sensorPort, 5683, "q"u8)), source: sensor, destination: gateway)
                : TestFrames.Ethernet(TestFrames.Ipv4("198.51.100.10", "192.0.2.21", 17, TestFrames.Udp(5683, sensorPort, "r"u8), ttl: 63), source: gateway, destination: sensor);
            p.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, 1, "routed.pcap", 1));
        }

        Send(1_000_000, fromSensor: true, 40000);
        var first = Assert.Single(p.Flows.All);
        Assert.Equal("00-11-32-00-02-01", first.ToServer.DestinationMac); // nothing tells yet
        Send(1_001_000, fromSensor: false, 40000);
        Send(2_000_000, fromSensor: true, 40001);

        // Once the gateway's MAC carried a routed sender, a first packet to another address never seen on the segment
        // is judged before its answer: a query to a resolver in the cloud names no MAC for it. One to the gateway's own
        // address (it answered ARP) keeps the gateway's MAC.
        var arp = TestFrames.Ethernet(Convert.FromHexString("0001080006040002" + "001132000201" + "C0000201" + "240AC4000221" + "C0000215"),
            source: gateway, destination: sensor, etherType: 0x0806);
        p.Process(LinkTypes.Ethernet, arp, arp.Length, new PacketMeta(2_500_000, 1, "routed.pcap", 1));
        foreach (var (micros, server) in new[] { (3_000_000L, "198.51.100.53"), (3_100_000L, "192.0.2.1") })
        {
            var query = TestFrames.Ethernet(TestFrames.Ipv4("192.0.2.21", server, 17, TestFrames.Udp(40002, 53, "q"u8)), source: sensor, destination: gateway);
            p.Process(LinkTypes.Ethernet, query, query.Length, new PacketMeta(micros, 1, "routed.pcap", 1));
        }

        var flows = p.Flows.All.OrderBy(f => f.FirstMicros).ToList();
        Assert.Equal(4, flows.Count);
        Assert.All(flows.Take(3), f => Assert.Equal((null, null, false), (f.ToServer.DestinationMac, f.ToClient.SourceMac, f.HasServerMac)));
        Assert.Equal("00-11-32-00-02-01", flows[3].ToServer.DestinationMac);
        Assert.All(flows, f => Assert.Equal("24-0A-C4-00-02-21", f.ToServer.SourceMac));
    }

    [Fact]
    public void Process_TrunkWithInterVlanRouting_TheRoutedCopyIsJudgedInItsOwnVlan()
    {
        // A SPAN of a trunk sees a sensor's packet on its VLAN (10, TTL 64, its own MAC) and the router's copy on the
        // server's VLAN (20, TTL 63, the router's MAC). On VLAN 20 the sensor is beyond the router.
        var p = Create();
        byte[] sensor = [0x24, 0x0A, 0xC4, 0x00, 0x02, 0x21];
        byte[] router = [0x00, 0x11, 0x32, 0x00, 0x02, 0x01];
        var original = TestFrames.Ethernet(TestFrames.Ipv4("192.0.2.21", "198.51.100.5", 17, TestFrames.Udp(40000, 502, "q"u8)),
            source: sensor, destination: router, tags: [(0x8100, 10)]);
        var routed = TestFrames.Ethernet(TestFrames.Ipv4("192.0.2.21", "198.51.100.5", 17, TestFrames.Udp(40000, 502, "q"u8), ttl: 63),
            source: router, tags: [(0x8100, 20)]);
        p.Process(LinkTypes.Ethernet, original, original.Length, new PacketMeta(1_000_000, 1, "trunk.pcap", 1));
        p.Process(LinkTypes.Ethernet, routed, routed.Length, new PacketMeta(1_000_100, 1, "trunk.pcap", 1));

        var flows = p.Flows.All.OrderBy(f => f.FirstMicros).ToList();
        Assert.Equal(("24-0A-C4-00-02-21", (int?)10), (flows[0].ToServer.SourceMac, flows[0].ToServer.VlanId));
        Assert.Equal(((string?)null, (int?)20), (flows[1].ToServer.SourceMac, flows[1].ToServer.VlanId));
    }

    [Theory]
    [InlineData(true, false)]   // a local scanner (nmap's raw SYNs: a random TTL) that resolved its target by ARP first
    [InlineData(false, true)]   // SSDP to its multicast group goes out with TTL 4 on purpose: group frames are not judged
    public void Process_OddTtlFromTheSegment_KeepsItsMac(bool arpFirst, bool multicast)
    {
        var p = Create();
        byte[] scanner = [0x02, 0x00, 0x00, 0x00, 0x00, 0x66];
        if (arpFirst)
        {
            var arp = TestFrames.Ethernet(Convert.FromHexString("0001080006040001" + "020000000066" + "C0000242" + "000000000000" + "C000020A"),
                source: scanner, destination: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], etherType: 0x0806);
            p.Process(LinkTypes.Ethernet, arp, arp.Length, new PacketMeta(500_000, 1, "odd.pcap", 1));
        }

        var frame = multicast
            ? TestFrames.Ethernet(TestFrames.Ipv4("192.0.2.66", "239.255.255.250", 17, TestFrames.Udp(50000, 1900, "M-SEARCH"u8), ttl: 4), source: scanner, destination: [0x01, 0x00, 0x5E, 0x7F, 0xFF, 0xFA])
            : TestFrames.Ethernet(TestFrames.Ipv4("192.0.2.66", "192.0.2.10", 6, TestFrames.Tcp(50000, 1883, 1, 0, TcpFlags.Syn, []), ttl: 45), source: scanner);
        p.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(1_000_000, 1, "odd.pcap", 1));

        Assert.Equal("02-00-00-00-00-66", Assert.Single(p.Flows.All).ToServer.SourceMac);
    }

    [Fact]
    public void Process_SendersWithAnAddress_OneFlowWhateverTheirMacs()
    {
        // A router forwarding both directions, or a sender whose NIC changes (bonding): the address decides.
        var p = Create();
        foreach (var (micros, mac) in new[] { (1_000_000L, TestFrames.ClientMac), (2_000_000L, TestFrames.ServerMac) })
        {
            var frame = TestFrames.Ethernet(TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, TestFrames.Udp(5000, 53, "q"u8)), source: mac);
            p.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, 1, "udp.pcap", 1));
        }

        Assert.Equal(2, Assert.Single(p.Flows.All).PacketsToServer);
    }

    [Fact]
    public void Process_CookedCapture_TheServersMacFromItsEarlierArpOrPackets_NotLeftUnknown()
    {
        // tcpdump -i any (Linux cooked v2) keeps the sender's MAC only. The server answered ARP before the client's
        // first packet: that flow's server end has the server's MAC, so the inventory does not count it twice.
        var p = Create();
        byte[] server = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
        byte[] client = [0x24, 0x0A, 0xC4, 0x00, 0x00, 0x21];
        var arpReply = TestFrames.Concat([0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02], server, [10, 0, 0, 1], client, [10, 0, 0, 2]);
        void Cooked(long micros, ushort etherType, byte[] sender, byte[] payload)
        {
            var frame = TestFrames.Concat([(byte)(etherType >> 8), (byte)etherType, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6], sender, [0, 0], payload);
            p.Process(LinkTypes.LinuxSll2, frame, frame.Length, new PacketMeta(micros, 1, "any.pcap", 1));
        }

        Cooked(1_000_000, 0x0806, server, arpReply);
        Cooked(2_000_000, 0x0800, client, TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, TestFrames.Udp(40000, 53, "q"u8)));
        Cooked(3_000_000, 0x0800, client, TestFrames.Ipv4("10.0.0.2", "10.0.0.9", 17, TestFrames.Udp(40001, 53, "q"u8)));

        var flows = p.Flows.All.OrderBy(f => f.FirstMicros).ToList();
        Assert.Equal(("24-0A-C4-00-00-21", "02-00-00-00-00-01"), (flows[0].ToServer.SourceMac, flows[0].ToServer.DestinationMac));
        Assert.Equal("02-00-00-00-00-01", flows[0].ToClient.SourceMac);
        Assert.Null(flows[1].ToServer.DestinationMac); // 10.0.0.9 never sent: unknown, as before
    }

    private static void SendUdp(PacketProcessor p, long micros, ushort sourcePort, ushort destinationPort, string text, bool fromA = true)
    {
        var (src, dst) = fromA ? ("10.0.0.2", "10.0.0.1") : ("10.0.0.1", "10.0.0.2");
        var frame = TestFrames.Ethernet(TestFrames.Ipv4(src, dst, 17, TestFrames.Udp(sourcePort, destinationPort, System.Text.Encoding.ASCII.GetBytes(text))));
        p.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, 1, "udp.pcap", 1));
    }
}
