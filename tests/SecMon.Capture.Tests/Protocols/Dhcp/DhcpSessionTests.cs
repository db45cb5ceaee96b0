using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dhcp;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using static SecMon.Capture.Tests.Protocols.Dhcp.DhcpMessages;

namespace SecMon.Capture.Tests.Protocols.Dhcp;

public sealed class DhcpSessionTests
{
    private readonly RecordingEventSink _events = new();
    private readonly RecordingDiagnosticSink _diagnostics = new();
    private readonly ProtocolServices _services;
    private readonly DhcpProtocol _protocol = new();

    public DhcpSessionTests() => _services = TestFlows.Services(_events, _diagnostics);

    private static string? Field(ProtocolEvent e, string name) =>
        e.Schema.TryGetField(name, out var f) && f.Read(e) is { IsMissing: false } v ? v.ToString() : null;

    [Fact]
    public void OnDatagram_Discover_RequestEventWithEveryField()
    {
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);

        session.OnDatagram(FlowDirection.ToServer, Discover(), TestFlows.Meta(1));

        var e = Assert.Single(_events.Events);
        Assert.Equal("dhcp.request", e.Type);
        Assert.Equal("discover", Field(e, "dhcp.message_type"));
        Assert.Equal("1", Field(e, "dhcp.message_type_code"));
        Assert.Equal("0x5f23b068", Field(e, "dhcp.transaction_id"));
        Assert.Equal("02-53-4D-00-00-10", Field(e, "dhcp.client_mac"));
        Assert.Equal("thermostat-1", Field(e, "dhcp.hostname"));
        Assert.Equal("acme-thermo 2.1", Field(e, "dhcp.vendor_class"));
        Assert.Equal("1,3,6,12,15,28,42", Field(e, "dhcp.fingerprint"));
        Assert.Equal([1L, 3, 6, 12, 15, 28, 42], ((DhcpMessageEvent)e).ParameterRequestList);
        Assert.Equal("01:02:53:4d:00:00:10", Field(e, "dhcp.client_id"));
        Assert.Null(Field(e, "dhcp.client_ip"));
        Assert.Null(Field(e, "dhcp.assigned_address"));
        Assert.Equal("dhcp", e.Schema.Protocol);
    }

    [Fact]
    public void OnDatagram_ReplyOnAnotherFlow_JoinedToTheRequestByXidAndChaddr()
    {
        // The DISCOVER goes 0.0.0.0 -> 255.255.255.255, the ACK 192.0.2.1 -> the offered address: two flows, one run.
        var requests = _protocol.CreateSession(TestFlows.Flow(67), _services);
        var replies = _protocol.CreateSession(TestFlows.Flow(67), _services);
        var otherRun = _protocol.CreateSession(TestFlows.Flow(67), TestFlows.Services(new RecordingEventSink()));

        requests.OnDatagram(FlowDirection.ToServer, Build(1, 42, [Type(3), Ip(50, 192, 0, 2, 82), Ip(54, 192, 0, 2, 1)]), TestFlows.Meta(1));
        replies.OnDatagram(FlowDirection.ToClient, Ack(42), TestFlows.Meta(2));
        replies.OnDatagram(FlowDirection.ToClient, Ack(43), TestFlows.Meta(3));
        otherRun.OnDatagram(FlowDirection.ToClient, Ack(42), TestFlows.Meta(4));

        var request = _events.Events[0];
        Assert.Equal("192.0.2.82", Field(request, "dhcp.requested_address"));
        Assert.Equal("192.0.2.1", Field(request, "dhcp.server_id"));
        var ack = _events.Events[1];
        Assert.Equal("dhcp.reply", ack.Type);
        Assert.Equal("ack", Field(ack, "dhcp.message_type"));
        Assert.Equal("request", Field(ack, "dhcp.request.message_type"));
        Assert.Equal("192.0.2.82", Field(ack, "dhcp.assigned_address"));
        Assert.Equal("3600", Field(ack, "dhcp.lease_time"));
        Assert.Equal(FlowDirection.ToClient, ack.Flow.Direction);
        Assert.Null(Field(_events.Events[2], "dhcp.request.message_type")); // another xid
        Assert.Equal(3, _events.Events.Count); // the other run's reply went to its own sink
    }

    [Fact]
    public void OnDatagram_MoreRequestsThanTheBound_OldestForgotten()
    {
        var protocol = new DhcpProtocol(new DhcpOptions { MaxTransactions = 16 });
        var session = protocol.CreateSession(TestFlows.Flow(67), _services);
        for (uint xid = 0; xid < 20; xid++)
        {
            session.OnDatagram(FlowDirection.ToServer, Build(1, xid, [Type(1)]), TestFlows.Meta(xid + 1));
        }

        _events.Events.Clear();
        session.OnDatagram(FlowDirection.ToClient, Build(2, 3, [Type(2)]), TestFlows.Meta(30));
        session.OnDatagram(FlowDirection.ToClient, Build(2, 4, [Type(2)]), TestFlows.Meta(31));

        Assert.Null(Field(_events.Events[0], "dhcp.request.message_type"));
        Assert.Equal("discover", Field(_events.Events[1], "dhcp.request.message_type"));
    }

    [Fact]
    public void OnDatagram_Malformed_CountedWithReasonAndReportedWithTheField_NoEvent()
    {
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);

        session.OnDatagram(FlowDirection.ToServer, [.. Build(1, 1, [Type(1)], end: false), 12, 10, (byte)'a'], TestFlows.Meta(1));

        Assert.Empty(_events.Events);
        Assert.Equal(1, _services.Stats.MalformedByReason[("dhcp", MalformedReason.Truncated)]);
        var report = Assert.Single(_diagnostics.Diagnostics);
        Assert.Equal("dhcp: options: option 12 of 10 bytes runs past the end", report.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x01, 0, 0, 0x63, 0x61, 0x6d, 0x2d, 0x39, 0x2e, 0x73, 0x69, 0x74, 0x65 }, "cam-9.site", "cam-9")] // ASCII (udhcpc -F)
    [InlineData(new byte[] { 0x05, 0, 0, 5, 0x63, 0x61, 0x6d, 0x2d, 0x39, 4, 0x73, 0x69, 0x74, 0x65, 0 }, "cam-9.site", "cam-9")] // wire format, full name
    [InlineData(new byte[] { 0x05, 0, 0, 5, 0x63, 0x61, 0x6d, 0x2d, 0x39 }, "cam-9", "cam-9")] // wire format, partial name
    [InlineData(new byte[] { 0x05, 0, 0, 9, 0x63, 0x61, 0x6d }, null, null)] // a label past the option: no name
    [InlineData(new byte[] { 0x01, 0, 0 }, null, null)] // no name at all
    public void OnDatagram_ClientFqdnWithoutOption12_NamesTheClient(byte[] option81, string? fqdn, string? hostName)
    {
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);

        session.OnDatagram(FlowDirection.ToServer, Build(1, 1, [Type(3), (81, option81)]), TestFlows.Meta(1));

        var e = Assert.Single(_events.Events);
        Assert.Equal(fqdn, Field(e, "dhcp.client_fqdn"));
        Assert.Equal(hostName, Field(e, "dhcp.hostname"));
    }

    [Fact]
    public void OnDatagram_Option12AndOption81_Option12IsTheHostName()
    {
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);

        session.OnDatagram(FlowDirection.ToServer, Build(1, 1, [Type(3), Text(12, "DESKTOP-7"), (81, [0x05, 0, 0, 4, 0x64, 0x65, 0x73, 0x6b, 0])]), TestFlows.Meta(1));

        var e = Assert.Single(_events.Events);
        Assert.Equal("DESKTOP-7", Field(e, "dhcp.hostname"));
        Assert.Equal("desk", Field(e, "dhcp.client_fqdn"));
    }

    [Fact]
    public void OnDatagram_Option81ShorterThanItsFlags_Malformed()
    {
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);

        session.OnDatagram(FlowDirection.ToServer, Build(1, 1, [Type(3), (81, [0x01, 0])]), TestFlows.Meta(1));

        Assert.Empty(_events.Events);
        Assert.Equal(1, _services.Stats.MalformedMessages);
    }

    [Fact]
    public void OnDatagram_HostNameWithTrailingNulAndNonAscii_KeptAsText()
    {
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);

        session.OnDatagram(FlowDirection.ToServer, Build(1, 1, [Type(8), (12, [0x6b, 0xc3, 0xbc, 0x63, 0x68, 0x65, 0, 0]), (60, [0xff, 0x41]), (55, [])]), TestFlows.Meta(1));

        var e = Assert.Single(_events.Events);
        Assert.Equal("inform", Field(e, "dhcp.message_type"));
        Assert.Equal("küche", Field(e, "dhcp.hostname"));
        Assert.Equal("\uFFFDA", Field(e, "dhcp.vendor_class"));
        Assert.Equal("", ((DhcpMessageEvent)e).Fingerprint);
    }

    [Fact]
    public void OnDatagram_ManyDistinctValues_EachEventHasItsOwnText()
    {
        // More values than the run's text cache has slots: every event still carries its own message's text.
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);
        for (var i = 0; i < 3 * DhcpTextCache.Slots; i++)
        {
            session.OnDatagram(FlowDirection.ToServer, Build(1, (uint)i, [Type(1), Text(12, $"host-{i}"), Text(60, $"v{i % 3}"), (55, [1, (byte)(i % 7)]), Ip(50, 10, 0, (byte)(i >> 8), (byte)i)]), TestFlows.Meta(i + 1));
        }

        for (var i = 0; i < _events.Events.Count; i++)
        {
            var e = _events.Events[i];
            Assert.Equal($"host-{i}", Field(e, "dhcp.hostname"));
            Assert.Equal($"v{i % 3}", Field(e, "dhcp.vendor_class"));
            Assert.Equal($"1,{i % 7}", Field(e, "dhcp.fingerprint"));
            Assert.Equal([1L, i % 7], ((DhcpMessageEvent)e).ParameterRequestList);
            Assert.Equal($"10.0.{(i >> 8) & 0xFF}.{i & 0xFF}", Field(e, "dhcp.requested_address"));
        }

        Assert.Equal(3 * DhcpTextCache.Slots, _events.Events.Count);
    }

    [Fact]
    public void OnDatagram_TransactionIdsSharingACacheSlot_EachEventHasItsOwn()
    {
        // 0x00000001, 0x00000100 and 0x01000000 fold to the same slot of the run's text cache: alternating them, each
        // event still carries its own xid.
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);
        uint[] xids = [1, 0x100, 1, 0x100, 0x01000000, 1];
        for (var i = 0; i < xids.Length; i++)
        {
            session.OnDatagram(FlowDirection.ToServer, Build(1, xids[i], [Type(1)]), TestFlows.Meta(i + 1));
        }

        Assert.Equal(["0x00000001", "0x00000100", "0x00000001", "0x00000100", "0x01000000", "0x00000001"],
            _events.Events.Select(e => Field(e, "dhcp.transaction_id")));
    }

    [Fact]
    public void OnDatagram_OneTransaction_ItsMessagesShareOneXidText()
    {
        var requests = _protocol.CreateSession(TestFlows.Flow(67), _services);

        requests.OnDatagram(FlowDirection.ToServer, Discover(7), TestFlows.Meta(1));
        requests.OnDatagram(FlowDirection.ToClient, Ack(7), TestFlows.Meta(2));

        Assert.Same(((DhcpMessageEvent)_events.Events[0]).TransactionId, ((DhcpMessageEvent)_events.Events[1]).TransactionId);
        Assert.Equal("0x00000007", ((DhcpMessageEvent)_events.Events[1]).TransactionId);
    }

    [Fact]
    public void OnDatagram_NonEthernetChaddr_NoClientMac()
    {
        var msg = Discover();
        msg[1] = 6; // IEEE 802 networks: not Ethernet
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);

        session.OnDatagram(FlowDirection.ToServer, msg, TestFlows.Meta(1));

        Assert.Null(Field(Assert.Single(_events.Events), "dhcp.client_mac"));
    }

    [Fact]
    public void Probe_DhcpOnAnyPort_OthersNot()
    {
        Assert.Equal(ProbeResult.Mine, _protocol.Probe(Discover(), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.Mine, _protocol.Probe(Ack(), FlowDirection.ToClient));
        Assert.Equal(ProbeResult.NotMine, _protocol.Probe(new byte[] { 0x40, 0x01, 0x00, 0x01 }, FlowDirection.ToServer)); // CoAP
        Assert.Equal(ProbeResult.NotMine, _protocol.Probe(new byte[512], FlowDirection.ToServer));
    }

    /// <summary>
    /// Mutations of real messages (udhcpc's DISCOVER, dnsmasq's ACK, an overloaded message): truncation at every
    /// length, every single bit flipped, each option length at 0 and 255. Every datagram ends as exactly one event or
    /// one counted malformed message; nothing throws.
    /// </summary>
    [Fact]
    public void OnDatagram_FuzzedRealMessages_OneOutcomeEach_NoException()
    {
        var overloaded = Build(1, 9, [Type(1), (52, [3])], sname: Area(64, Text(12, "s")), file: Area(128, Text(60, "f")));
        var session = _protocol.CreateSession(TestFlows.Flow(67), _services);
        long fed = 0;
        foreach (var original in new[] { Discover(), Ack(), overloaded })
        {
            foreach (var mutant in Mutants(original))
            {
                if (!DhcpParser.LooksLikeDhcp(mutant))
                {
                    continue; // the probe would not have claimed it; the session still must not throw on it
                }

                session.OnDatagram(FlowDirection.ToServer, mutant, TestFlows.Meta(++fed));
            }
        }

        Assert.True(fed > 5000, $"only {fed} mutants");
        Assert.Equal(fed, _events.Events.Count + _services.Stats.MalformedMessages);
        Assert.True(_services.Stats.MalformedMessages > 0);
        Assert.True(_events.Events.Count > 0);
        Assert.All(_events.Events, e => Assert.True(((DhcpMessageEvent)e).HostName is null or { Length: <= DhcpSession.MaxTextBytes }));

        // Datagrams the probe would refuse: still one outcome, no exception.
        session.OnDatagram(FlowDirection.ToServer, [], TestFlows.Meta(++fed));
        session.OnDatagram(FlowDirection.ToServer, new byte[1500], TestFlows.Meta(++fed));
        Assert.Equal(fed, _events.Events.Count + _services.Stats.MalformedMessages);
    }

    private static IEnumerable<byte[]> Mutants(byte[] original)
    {
        for (var n = 0; n < original.Length; n++)
        {
            yield return original[..n];
        }

        for (var bit = 0; bit < original.Length * 8; bit++)
        {
            var m = (byte[])original.Clone();
            m[bit / 8] ^= (byte)(1 << (bit % 8));
            yield return m;
        }

        // Each option's length byte at 0 and 255 (walking the options of the original).
        for (var i = 240; i + 1 < original.Length && original[i] != 255;)
        {
            if (original[i] == 0)
            {
                i++;
                continue;
            }

            foreach (var length in new byte[] { 0, 255 })
            {
                var m = (byte[])original.Clone();
                m[i + 1] = length;
                yield return m;
            }

            i += 2 + original[i + 1];
        }
    }
}
