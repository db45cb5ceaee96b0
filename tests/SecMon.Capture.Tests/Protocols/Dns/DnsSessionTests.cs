using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dns;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Dns;

/// <summary>The per-flow session: events, the join of answers to queries, unanswered queries, TCP framing, mDNS.</summary>
public sealed class DnsSessionTests
{
    private static byte[] Answer(ushort id, string name, ushort qtype = 1, ushort flags = 0x8180, params byte[][] addresses)
    {
        var w = new DnsWire(id, flags, 1, (ushort)addresses.Length).Question(name, qtype);
        foreach (var a in addresses)
        {
            w.Record(null, a.Length == 4 ? DnsTypes.A : DnsTypes.Aaaa, 300, a);
        }

        return w.ToArray();
    }

    [Fact]
    public void OnDatagram_QueryThenAnswer_JoinedWithEcsFields()
    {
        var h = new DnsHarness();
        h.Send(FlowDirection.ToServer, DnsWire.Query(0x1234, "Sensor-1.Plant.example").ToArray(), 1);
        h.Send(FlowDirection.ToClient, Answer(0x1234, "sensor-1.plant.example", 1, 0x8180, [192, 0, 2, 21], [192, 0, 2, 22]), 2);
        h.Datagrams.OnClose(DnsHarness.Meta(3));

        Assert.Equal(["dns.query", "dns.answer"], h.Events.Events.Select(e => e.Type));
        var q = h.Events.Events[0];
        Mqtt.EventText.AssertFields(q, "network.protocol=dns;dns.id=4660;dns.type=query;dns.op_code=QUERY;dns.header_flags=[RD];dns.question.name=Sensor-1.Plant.example;dns.question.type=A;dns.question.class=IN;dns.question.registered_domain=plant.example;dns.question.subdomain=sensor-1;dns.question.top_level_domain=example;dns.question.label_count=3;dns.question.longest_label=8;flow.direction=to_server");
        var a = h.Events.Events[1];
        Mqtt.EventText.AssertFields(a, "dns.type=answer;dns.response_code=NOERROR;dns.header_flags=[RD, RA];dns.answers_count=2;dns.answer.type=[A, A];dns.answer.ttl=[300, 300];dns.resolved_ip=[192.0.2.21, 192.0.2.22];dns.response_time_us=1000;flow.direction=to_client;source.ip=127.0.0.2");
        Assert.Empty(h.Diagnostics.Diagnostics);
    }

    [Fact]
    public void OnDatagram_ListsSharedAcrossMessages_EarlierEventsKeepTheirValues()
    {
        // Answers decode into one message per thread and share the runs of equal values (["A", "A"], ["IN", "IN"], the
        // owners when every one is the question): later messages must never change what earlier events carry.
        var h = new DnsHarness();
        h.Send(FlowDirection.ToClient, Answer(1, "a.example", 1, 0x8180, [192, 0, 2, 1], [192, 0, 2, 2]), 1);
        var mixed = new DnsWire(2, 0x8180, 1, 3).Question("a.example")
            .Record("b.example", DnsTypes.A, 60, [192, 0, 2, 3])
            .Record(null, DnsTypes.Txt, 300, [2, (byte)'h', (byte)'i'])
            .Record(null, DnsTypes.A, 300, [192, 0, 2, 4], @class: 3)
            .ToArray();
        h.Send(FlowDirection.ToClient, mixed, 2);
        h.Send(FlowDirection.ToClient, Answer(3, "a.example", 1, 0x8180, [198, 51, 100, 1], [198, 51, 100, 2]), 3);
        h.Send(FlowDirection.ToClient, Answer(4, "A.example", 1, 0x8180, [198, 51, 100, 3]), 4);

        var e = h.Events.Events;
        Assert.Equal(4, e.Count);
        Mqtt.EventText.AssertFields(e[0], "dns.answer.name=[a.example, a.example];dns.answer.type=[A, A];dns.answer.class=[IN, IN];dns.answer.ttl=[300, 300];dns.answer.data=[192.0.2.1, 192.0.2.2];dns.resolved_ip=[192.0.2.1, 192.0.2.2]");
        Mqtt.EventText.AssertFields(e[1], "dns.answer.name=[b.example, a.example, a.example];dns.answer.type=[A, TXT, A];dns.answer.class=[IN, IN, CH];dns.answer.ttl=[60, 300, 300];dns.resolved_ip=[192.0.2.3, 192.0.2.4]");
        Mqtt.EventText.AssertFields(e[2], "dns.answer.name=[a.example, a.example];dns.answer.type=[A, A];dns.answer.data=[198.51.100.1, 198.51.100.2];dns.resolved_ip=[198.51.100.1, 198.51.100.2]");
        Mqtt.EventText.AssertFields(e[3], "dns.question.name=A.example;dns.answer.name=[A.example];dns.question.registered_domain=a.example;dns.resolved_ip=[198.51.100.3]");
        Assert.Equal("[a.example, a.example]", DnsHarness.Field(e[0], "dns.answer.name"));
        Assert.Equal("[192.0.2.1, 192.0.2.2]", DnsHarness.Field(e[0], "dns.resolved_ip"));
    }

    [Fact]
    public void OnClose_QueryNeverAnswered_ReportedUnanswered()
    {
        var h = new DnsHarness();
        h.Send(FlowDirection.ToServer, DnsWire.Query(1, "a.example").ToArray(), 1);
        h.Send(FlowDirection.ToServer, DnsWire.Query(2, "b.example").ToArray(), 2);
        // Same id, other question: not the answer to query 2 (RFC 1035 §7.3), so both stay unanswered... but one for 1.
        h.Send(FlowDirection.ToClient, Answer(2, "c.example"), 3);
        h.Send(FlowDirection.ToClient, Answer(1, "A.EXAMPLE"), 4);
        h.Datagrams.OnClose(DnsHarness.Meta(5));

        var unanswered = Assert.Single(h.Events.Events, e => e.Type == "dns.unanswered");
        Assert.Equal("b.example", DnsHarness.Field(unanswered, "dns.question.name"));
        Assert.Equal(2, unanswered.PacketNumber);
        Assert.Equal("(missing)", DnsHarness.Field(h.Events.Events[2], "dns.response_time_us"));
        Assert.Equal("3000", DnsHarness.Field(h.Events.Events[3], "dns.response_time_us"));
    }

    [Fact]
    public void OnClose_PendingBound_NeverMoreUnansweredThanTheBound()
    {
        var h = new DnsHarness(options: new DnsOptions { MaxPendingQueriesPerFlow = 3 });
        for (var i = 0; i < 10; i++)
        {
            h.Send(FlowDirection.ToServer, DnsWire.Query((ushort)i, $"n{i}.example").ToArray(), i + 1);
        }

        h.Datagrams.OnClose(DnsHarness.Meta(20));
        Assert.Equal(10, h.Events.Events.Count(e => e.Type == "dns.query"));
        Assert.Equal(["n0.example", "n1.example", "n2.example"], h.Events.Events.Where(e => e.Type == "dns.unanswered").Select(e => DnsHarness.Field(e, "dns.question.name")));
    }

    [Fact]
    public void OnDatagram_Malformed_CountedReportedAndAnEvent()
    {
        var h = new DnsHarness();
        h.Send(FlowDirection.ToServer, new DnsWire(5, 0x0100, 1).Pointer(12).U16(1).U16(1).ToArray(), 7);
        var e = Assert.Single(h.Events.Events);
        Assert.Equal("dns.malformed", e.Type);
        Assert.Equal("bad_value", DnsHarness.Field(e, "dns.malformed.reason"));
        Assert.Contains("compression pointer loop", DnsHarness.Field(e, "error.message"), StringComparison.Ordinal);
        Assert.Equal(1, h.Services.Stats.MalformedByReason[("dns", MalformedReason.BadValue)]);
        Assert.Single(h.Diagnostics.Diagnostics);
    }

    [Fact]
    public void OnDatagram_MulticastGroup_IsMdnsWithIdentityFacts()
    {
        var h = new DnsHarness("224.0.0.251", 5353);
        var w = new DnsWire(0, 0x8400, 0, 1).Name("sensor-7.local").U16(DnsTypes.A).U16(0x8001).U32(120).U16(4).Bytes(10, 0, 0, 7);
        h.Send(FlowDirection.ToServer, w.ToArray(), 1);
        h.Send(FlowDirection.ToServer, DnsWire.Query(0, "_mqtt._tcp.local", 12).ToArray(), 2);
        h.Datagrams.OnClose(DnsHarness.Meta(3));

        Assert.Equal(["mdns.answer", "mdns.query"], h.Events.Events.Select(e => e.Type));
        Mqtt.EventText.AssertFields(h.Events.Events[0], "network.protocol=mdns;dns.answer.class=[IN];dns.mdns.hostnames=[sensor-7.local];dns.resolved_ip=[10.0.0.7]");
        Assert.Contains(h.Events.Events[0].Schema.Facts, f => f.Kind == Core.Devices.DeviceFactKind.Identity && f.Field == "dns.mdns.hostnames");
    }

    [Fact]
    public void OnDatagram_UnicastOnPort5353_IsPlainDns()
    {
        var h = new DnsHarness("127.0.0.78", 5353);
        h.Send(FlowDirection.ToServer, DnsWire.Query(3, "a.example").ToArray(), 1);
        Assert.Equal("dns.query", Assert.Single(h.Events.Events).Type);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void OnData_TcpMessagesInAnySegmentation_SameEvents(int chunk)
    {
        var h = new DnsHarness(serverPort: 53, transport: "tcp");
        var queries = DnsHarness.Framed(DnsWire.Query(1, "a.example").ToArray()).Concat(DnsHarness.Framed(DnsWire.Query(2, "b.example", 16).ToArray())).ToArray();
        for (var i = 0; i < queries.Length; i += chunk)
        {
            h.Stream.OnData(FlowDirection.ToServer, queries.AsSpan(i, Math.Min(chunk, queries.Length - i)), DnsHarness.Meta(1));
        }

        var answer = DnsHarness.Framed(Answer(2, "b.example", 16));
        h.Stream.OnData(FlowDirection.ToClient, answer, DnsHarness.Meta(2));
        h.Stream.OnClose(DnsHarness.Meta(3));
        Assert.Equal(["dns.query", "dns.query", "dns.answer", "dns.unanswered"], h.Events.Events.Select(e => e.Type));
        Assert.Equal("TXT", DnsHarness.Field(h.Events.Events[1], "dns.question.type"));
        Assert.Equal("a.example", DnsHarness.Field(h.Events.Events[3], "dns.question.name"));
        Assert.Empty(h.Diagnostics.Diagnostics);
    }

    [Fact]
    public void OnData_TcpLengthAboveTheBound_SkippedNotBuffered()
    {
        var h = new DnsHarness(serverPort: 53, transport: "tcp", options: new DnsOptions { MaxTcpMessageBytes = 512 });
        var big = new byte[2 + 1000];
        big[0] = 0x03;
        big[1] = 0xE8;
        var next = DnsHarness.Framed(DnsWire.Query(9, "after.example").ToArray());
        h.Stream.OnData(FlowDirection.ToServer, big.Concat(next).ToArray(), DnsHarness.Meta(1));
        Assert.Equal(1, h.Services.Stats.MalformedByReason[("dns", MalformedReason.TooLarge)]);
        Assert.Equal("after.example", DnsHarness.Field(Assert.Single(h.Events.Events), "dns.question.name"));
    }

    [Fact]
    public void OnClose_TcpMessageCutShort_ReportedTruncated()
    {
        var h = new DnsHarness(serverPort: 53, transport: "tcp");
        var framed = DnsHarness.Framed(DnsWire.Query(1, "a.example").ToArray());
        h.Stream.OnData(FlowDirection.ToServer, framed.AsSpan(0, 9), DnsHarness.Meta(1));
        h.Stream.OnClose(DnsHarness.Meta(2));
        Assert.Empty(h.Events.Events);
        Assert.Equal(1, h.Services.Stats.MalformedByReason[("dns", MalformedReason.Truncated)]);
    }

    [Theory]
    [InlineData("224.0.0.252", 5355, 0)] // LLMNR (RFC 4795 §2.1.1: the answer comes unicast from the responder, another flow)
    [InlineData("ff02::1:3", 5355, 0)]
    [InlineData("FF05::1:3", 53, 0)]
    [InlineData("239.255.255.250", 53, 0)]
    [InlineData("255.255.255.255", 53, 0)]
    [InlineData("192.0.2.53", 53, 1)]
    [InlineData("fe80::1", 5355, 1)]
    [InlineData("2001:db8::ff:1", 53, 1)]
    [InlineData("223.255.255.1", 53, 1)]
    [InlineData("240.0.0.1", 53, 1)]
    public void OnClose_QueryToGroupOrBroadcast_NotUnanswered(string serverIp, int port, int unanswered)
    {
        // Wireshark's logistics_multicast.pcapng: 24 LLMNR queries for wpad, isatap and a host name to 224.0.0.252 and
        // ff02::1:3 were each reported dns.unanswered, though no answer to a group query can come back on its flow.
        var h = new DnsHarness(serverIp, port);
        h.Send(FlowDirection.ToServer, DnsWire.Query(0x2a, "wpad").ToArray(), 1);
        h.Datagrams.OnClose(DnsHarness.Meta(2));

        Assert.Equal("dns.query", h.Events.Events[0].Type);
        Assert.Equal(unanswered, h.Events.Events.Count(e => e.Type == "dns.unanswered"));
    }

    [Fact]
    public void Probe_DnsAndNotDns()
    {
        var p = new DnsProtocol();
        IStreamProtocol stream = p;
        var query = DnsWire.Query(1, "a.example").ToArray();
        Assert.Equal(ProbeResult.Mine, p.Probe(query, FlowDirection.ToServer));
        Assert.Equal(ProbeResult.Mine, stream.Probe(DnsHarness.Framed(query), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NeedMoreData, stream.Probe(DnsHarness.Framed(query).AsSpan(0, 10), FlowDirection.ToServer));
        // Not DNS: a CoAP GET, an MQTT CONNECT, a DHCP-sized zero block, a query with the Z bit, a query with rcode 3.
        Assert.Equal(ProbeResult.NotMine, p.Probe(Convert.FromHexString("4001047bb474656d70"), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, stream.Probe(Convert.FromHexString("101000044d5154540402003c0004746573"), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, p.Probe(new byte[300], FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, p.Probe(new DnsWire(1, 0x0140, 1).Question("a").ToArray(), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, p.Probe(new DnsWire(1, 0x0103, 1).Question("a").ToArray(), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, p.Probe(query.Concat(new byte[] { 1 }).ToArray(), FlowDirection.ToServer));
    }

    [Fact]
    public void Probe_NotDnsOnRealCaptures()
    {
        IStreamProtocol stream = new DnsProtocol();
        var p = new DnsProtocol();
        // The client's first 31 bytes of a DTN TCPCL v4 session (Wireshark's test capture
        // dtn_tcpclv4_bpv7_transfer.pcapng, port 4556): the contact header "dtn!" 04 00, then SESS_INIT. Read as DNS
        // over TCP it is a 25,716-byte query with AA set, 1,792 questions, the first of class 0xFFFF.
        var dtn = Convert.FromHexString("64746e2104000700000000000000000064ffffffffffffffff000000000000");
        Assert.Equal(ProbeResult.NotMine, stream.Probe(dtn, FlowDirection.ToServer));
        // Each check alone: a query with AA set; a question of an unknown class (whole message, then partial).
        Assert.Equal(ProbeResult.NotMine, p.Probe(new DnsWire(1, 0x0500, 1).Question("a").ToArray(), FlowDirection.ToServer));
        var badClass = new DnsWire(1, 0x0100, 1).Question("a", 1, 0x7FFF).ToArray();
        Assert.Equal(ProbeResult.NotMine, p.Probe(badClass, FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, stream.Probe([0x01, 0x00, .. badClass], FlowDirection.ToServer));
        // Still DNS: an mDNS query asking for a unicast answer (class IN with the top bit), with TC (known answers follow).
        Assert.Equal(ProbeResult.Mine, p.Probe(new DnsWire(0, 0x0200, 1).Question("_coap._udp.local", 12, 0x8001).ToArray(), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.Mine, stream.Probe(DnsHarness.Framed(DnsWire.Query(7, "a.example").ToArray()), FlowDirection.ToServer));
    }

    [Fact]
    public void Probe_NetBiosNameService_NotMine()
    {
        var p = new DnsProtocol();
        IStreamProtocol stream = p;
        // A broadcast name query for AREBEITSGRUPPE<1C> as tcpdump's eapon1.pcap carries it on UDP 137 (RFC 1002
        // §4.2.12): flags 0x0110 (RD, B), the name in RFC 1001 §14.1's first-level encoding, type NB, class IN.
        const string Encoded = "EBFCECEFEJFEFDEHFCFFFAFAEFCACABM";
        var query = new DnsWire(0x8921, 0x0110, 1).Question(Encoded, 0x20).ToArray();
        Assert.Equal(ProbeResult.NotMine, p.Probe(query, FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, stream.Probe(DnsHarness.Framed(query), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, stream.Probe(DnsHarness.Framed(query).AsSpan(0, 2 + 12 + 1 + 32 + 1 + 4), FlowDirection.ToServer));
        // A name registration (opcode 5, DNS's UPDATE; §4.2.2) with its NB record, and a positive name query
        // response (no question, §4.2.13); NBSTAT (0x21) with a scope label.
        var registration = new DnsWire(0x8922, 0x2910, 1, ar: 1).Question(Encoded, 0x20)
            .Record(null, 0x20, 300000, [0x60, 0x00, 192, 168, 1, 10]).ToArray();
        Assert.Equal(ProbeResult.NotMine, p.Probe(registration, FlowDirection.ToServer));
        var response = new DnsWire(0x8923, 0x8500, 0, an: 1).Record(Encoded, 0x20, 300000, [0x60, 0x00, 192, 168, 1, 10]).ToArray();
        Assert.Equal(ProbeResult.NotMine, p.Probe(response, FlowDirection.ToClient));
        Assert.Equal(ProbeResult.NotMine, p.Probe(new DnsWire(0x8924, 0x0000, 1).Question(Encoded + ".corp", 0x21).ToArray(), FlowDirection.ToServer));
        // Still DNS: the same label asked as an A record, a 31-byte label of type NB (NIMLOC), a label with a 'Q'.
        Assert.Equal(ProbeResult.Mine, p.Probe(new DnsWire(1, 0x0100, 1).Question(Encoded, 1).ToArray(), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.Mine, p.Probe(new DnsWire(1, 0x0100, 1).Question(Encoded[1..], 0x20).ToArray(), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.Mine, p.Probe(new DnsWire(1, 0x0100, 1).Question("Q" + Encoded[1..], 0x20).ToArray(), FlowDirection.ToServer));
    }

    [Fact]
    public void Probe_AllocatesNothing()
    {
        var p = new DnsProtocol();
        var answer = Answer(2, "b.example", 1, 0x8180, [1, 2, 3, 4], [5, 6, 7, 8]);
        p.Probe(answer, FlowDirection.ToClient);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var mine = 0;
        for (var i = 0; i < 1000; i++)
        {
            mine += p.Probe(answer, FlowDirection.ToClient) == ProbeResult.Mine ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, mine);
        Assert.Equal(0, allocated);
    }
}
