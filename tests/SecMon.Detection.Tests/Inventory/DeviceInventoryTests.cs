using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Detection.Inventory;
using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Inventory;

public sealed class DeviceInventoryTests
{
    private static Device Get(DeviceInventory inv, string id) => Assert.Single(inv.Devices, d => d.Id == id);

    private static void ObserveAll(DeviceInventory inv, params TestEvent[] events)
    {
        foreach (var e in events)
        {
            inv.Observe(e);
        }
    }

    [Fact]
    public void Observe_AnonymousAcceptedSession_ClientAndBrokerAnonymous()
    {
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");

        ObserveAll(inv, Connect(flow, T0, 1, clientId: "sensor-1"), Connack(flow, T0 + 1, 2, accepted: true, code: 0));

        var client = Get(inv, "10.0.0.5");
        Assert.Equal(AuthPosture.Anonymous, client.Auth);
        Assert.Equal(["sensor-1"], client.IdentitiesOf("mqtt.client_id"));
        Assert.Empty(client.Usernames);
        Assert.False(client.IsServer);
        var broker = Get(inv, "10.0.0.1");
        Assert.True(broker.IsServer);
        Assert.Equal(AuthPosture.Anonymous, broker.Auth);
        Assert.Equal([1883], broker.Ports);
        Assert.Equal(["10.0.0.5"], broker.Peers);
    }

    [Fact]
    public void Observe_NamesToken_NamesReadAgainOnlyWhenTheTokenChanges()
    {
        // A dissector promises that events sharing a token carry the same names (MQTT: the session's fields object).
        // The second event breaks the promise on purpose: it shows its names were not read.
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");
        var other = FakeFlows.Create(clientIp: "10.0.0.6", serverIp: "10.0.0.1");
        object first = new(), second = new();

        ObserveAll(inv,
            Publish(flow, T0, 1, "t/a", clientId: "sensor-1", user: "alice") with { Names = first },
            Publish(flow, T0 + 1, 2, "t/a", clientId: "not-read", user: "not-read") with { Names = first },
            Publish(flow, T0 + 2, 3, "t/a", clientId: "sensor-2", user: "bob") with { Names = second },
            Publish(other, T0 + 3, 4, "t/a", clientId: "sensor-6") with { Names = first },
            Publish(flow, T0 + 4, 5, "t/a", clientId: "sensor-3")); // no token: read

        var client = Get(inv, "10.0.0.5");
        Assert.Equal(["sensor-1", "sensor-2", "sensor-3"], client.IdentitiesOf("mqtt.client_id").Order());
        Assert.Equal(["alice", "bob"], client.Usernames.Order());
        Assert.Equal(["sensor-6"], Get(inv, "10.0.0.6").IdentitiesOf("mqtt.client_id")); // a token is per flow
    }

    [Theory]
    [InlineData("read")]
    [InlineData("flow ended")]
    [InlineData("flow table cleared")]
    public void Observe_FirstLastSeenAndCounts_OfEveryEventOfAFlow_HoweverTheFlowsEntryEnds(string end)
    {
        // A flow's events after its first note their times and counts on the flow's cached entry; the devices get
        // them when the inventory is read, when the flow ends, or when the cached entries are dropped (MaxFlows).
        var inv = new DeviceInventory(new InventoryOptions { MaxFlows = 2 });
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");
        ObserveAll(inv, Connect(flow, T0 + 10, 1, clientId: "sensor-1"), Connack(flow, T0 + 11, 2, accepted: true, code: 0),
            Publish(flow, T0 + 20, 3, "t/a"), Publish(flow, T0 + 5, 4, "t/a"), Publish(flow, T0 + 30, 5, "t/a"));
        switch (end)
        {
            case "flow ended":
                inv.FlowEnded(flow);
                break;
            case "flow table cleared":
                // Two more flows: the second fills the cached entries (MaxFlows 2) and they are dropped.
                ObserveAll(inv, Publish(FakeFlows.Create(clientIp: "10.0.0.6", serverIp: "10.0.0.1"), T0 + 40, 6, "t/b"),
                    Publish(FakeFlows.Create(clientIp: "10.0.0.7", serverIp: "10.0.0.1"), T0 + 41, 7, "t/c"));
                break;
        }

        var client = Get(inv, "10.0.0.5");
        Assert.Equal((T0 + 5, T0 + 30), (client.FirstSeenMicros, client.LastSeenMicros));
        Assert.Equal(3, client.CountOf("mqtt.publish"));
        var broker = Get(inv, "10.0.0.1");
        Assert.Equal(T0 + 5, broker.FirstSeenMicros);
        Assert.Equal(end == "flow table cleared" ? T0 + 41 : T0 + 30, broker.LastSeenMicros);
        Assert.Equal(0, broker.CountOf("mqtt.publish"));

        // Read twice: nothing is applied twice.
        Assert.Equal(3, Get(inv, "10.0.0.5").CountOf("mqtt.publish"));
        inv.Observe(Publish(flow, T0 + 50, 8, "t/a"));
        Assert.Equal((4L, T0 + 50), (Get(inv, "10.0.0.5").CountOf("mqtt.publish"), Get(inv, "10.0.0.5").LastSeenMicros));
    }

    [Fact]
    public void Observe_EmptyClientId_NoIdentity()
    {
        // mosquitto_pub 2.x sends a zero-length client id and lets the broker assign one: it names nobody.
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");

        ObserveAll(inv, Connect(flow, T0, 1, clientId: ""), Publish(flow, T0 + 1, 2, "t/a", clientId: ""));

        var client = Get(inv, "10.0.0.5");
        Assert.Empty(client.IdentitiesOf("mqtt.client_id"));
        Assert.Equal(AuthPosture.Anonymous, client.Auth);
    }

    [Fact]
    public void Observe_CookedCapture_AnEndWithoutAFrameMacTakesThePayloadsMac_AnArpRequestsUnknownTargetIsNoDevice()
    {
        // tcpdump -i any keeps the sender's MAC only. A DHCP OFFER to the offered address names its client by chaddr;
        // an ARP request's target MAC is all zeros (unknown yet): no device by the address alone for either.
        var inv = new DeviceInventory();
        var offer = FakeFlows.Create(clientIp: "192.0.2.107", serverIp: "192.0.2.53", serverPort: 67, clientPort: 68, serverMac: "02-00-00-00-00-53");
        var request = FakeFlows.Create(clientIp: "192.0.2.21", serverIp: "192.0.2.10", serverPort: 0, clientPort: 0, clientMac: "24-0A-C4-00-00-21");

        ObserveAll(inv,
            new TestEvent
            {
                TestSchema = FakeSchemas.DhcpReply, Flow = offer.Reverse!, TimestampMicros = T0, PacketNumber = 1,
                Values = new Dictionary<string, FieldValue> { ["dhcp.client_mac"] = FieldValue.Of("00-12-12-00-00-99") },
            },
            new TestEvent
            {
                TestSchema = FakeSchemas.ArpRequest, Flow = request, TimestampMicros = T0 + 1, PacketNumber = 2,
                Values = new Dictionary<string, FieldValue> { ["arp.sender.mac"] = FieldValue.Of("24-0A-C4-00-00-21"), ["arp.target.mac"] = FieldValue.Of("00-00-00-00-00-00") },
            });

        Assert.Equal(["00-12-12-00-00-99", "02-00-00-00-00-53", "24-0A-C4-00-00-21"], inv.Devices.Select(d => d.Id).Order());
        Assert.Contains("192.0.2.107", Get(inv, "00-12-12-00-00-99").Ips);
    }

    [Fact]
    public void Observe_ArpReply_TheHostThatAnsweredIsNoServer()
    {
        // Every host answers ARP for its own address; "(server)" is for a service on a port.
        var inv = new DeviceInventory();
        var arp = FakeFlows.Create(clientIp: "192.0.2.10", serverIp: "192.0.2.21", serverPort: 0, clientPort: 0,
                                   clientMac: "B8-27-EB-00-00-10", serverMac: "24-0A-C4-00-00-21");
        var mqtt = FakeFlows.Create(clientIp: "192.0.2.21", serverIp: "192.0.2.10", clientMac: "24-0A-C4-00-00-21",
                                    serverMac: "B8-27-EB-00-00-10");

        ObserveAll(inv,
            new TestEvent { TestSchema = FakeSchemas.ArpReply, Flow = arp.Reverse ?? arp.CreateReverse(), TimestampMicros = T0, PacketNumber = 1 },
            Connect(mqtt, T0 + 1, 2, clientId: "sensor-01"));

        Assert.False(Get(inv, "24-0A-C4-00-00-21").IsServer);
        Assert.True(Get(inv, "B8-27-EB-00-00-10").IsServer);
    }

    [Fact]
    public void Observe_MoreFlowsThanBound_EarlierFlowsStillCountedAfterTheFlowMemoryIsCleared()
    {
        // Room for two flows: the third clears the inventory's flow memory, so the flow contexts of the first two hold
        // entries of an older generation, which must not be trusted (nor must another inventory's).
        var inv = new DeviceInventory(new InventoryOptions { MaxFlows = 2 });
        var other = new DeviceInventory();
        var flows = Enumerable.Range(0, 3).Select(i => FakeFlows.Create(clientIp: $"10.0.0.{i + 5}")).ToArray();

        foreach (var (flow, i) in flows.Select((f, i) => (f, i)))
        {
            inv.Observe(Publish(flow, T0 + i, i + 1, "t/a", clientId: $"c{i}"));
            other.Observe(Publish(flow, T0 + i, i + 1, "t/a", clientId: $"c{i}"));
        }

        inv.Observe(Publish(flows[0], T0 + 100, 10, "t/b", clientId: "c0-again"));

        var first = Get(inv, "10.0.0.5");
        Assert.Equal(T0 + 100, first.LastSeenMicros);
        Assert.Equal(2, first.CountOf("mqtt.publish"));
        Assert.Equal(["c0", "c0-again"], first.IdentitiesOf("mqtt.client_id"));
        Assert.Equal(["t/a", "t/b"], first.ValuesOf("mqtt.topic"));
        Assert.Equal(1, Get(other, "10.0.0.5").CountOf("mqtt.publish"));
    }

    [Fact]
    public void Devices_ListsSortedOrdinally_EachValueOnce()
    {
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5");
        string[] topics = ["b/x", "B/x", "a/x", "b/x", "a/x"];

        ObserveAll(inv, [.. topics.Select((t, i) => Publish(flow, T0 + i, i + 1, t, clientId: i % 2 == 0 ? "z" : "Z"))]);

        var client = Get(inv, "10.0.0.5");
        Assert.Equal(["B/x", "a/x", "b/x"], client.ValuesOf("mqtt.topic"));
        Assert.Equal(["Z", "z"], client.IdentitiesOf("mqtt.client_id"));
        Assert.Equal(5, client.CountOf("mqtt.publish"));
    }

    [Fact]
    public void Snapshots_SameAsDevices_OrderedById()
    {
        var inv = new DeviceInventory();
        var flows = new[] { "10.0.0.9", "10.0.0.10", "10.0.0.5" }.Select(ip => FakeFlows.Create(clientIp: ip, serverIp: "10.0.0.1")).ToArray();
        foreach (var (flow, i) in flows.Select((f, i) => (f, i)))
        {
            ObserveAll(inv, Connect(flow, T0 + i, 1, clientId: $"c{i}"), Connack(flow, T0 + i + 1, 2, accepted: true, code: 0),
                Publish(flow, T0 + i + 2, 3, $"t/{i}", clientId: $"c{i}"));
        }

        var listed = inv.Devices;
        var enumerated = inv.Snapshots();

        Assert.Equal(["10.0.0.1", "10.0.0.10", "10.0.0.5", "10.0.0.9"], enumerated.Select(d => d.Id));
        Assert.Equal(listed.Select(Json), enumerated.Select(Json));
    }

    private static string Json(Device d) => System.Text.Json.JsonSerializer.Serialize(d);

    [Fact]
    public void Observe_AnonymousRefused_NotAnonymous()
    {
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5");

        ObserveAll(inv, Connect(flow, T0, 1), Connack(flow, T0 + 1, 2, accepted: false, code: 5));

        Assert.Equal(AuthPosture.Unknown, Get(inv, "10.0.0.5").Auth);
    }

    [Fact]
    public void Observe_PasswordInCleartext_ExposedEvenIfRefused_UserKeptPasswordNot()
    {
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5");

        ObserveAll(inv, Connect(flow, T0, 1, user: "meter", passwordHash: "h"), Connack(flow, T0 + 1, 2, accepted: false, code: 4));

        var d = Get(inv, "10.0.0.5");
        Assert.Equal(AuthPosture.PasswordCleartext, d.Auth);
        Assert.Equal(["meter"], d.Usernames);
    }

    [Fact]
    public void Observe_TlsSessionOnMqttPort_TlsNeverAnonymous()
    {
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverPort: 8883);

        inv.Observe(TestEvent.Of(FakeSchemas.TlsClientHello, flow, T0, 1, ("tls.version", "1.3")));
        inv.Observe(TestEvent.Of(FakeSchemas.TlsServerHello, flow.Reverse!, T0 + 1, 2, ("tls.version", "1.3")));
        Assert.Equal(AuthPosture.Unknown, Get(inv, "10.0.0.5").Auth); // the server may still refuse it
        inv.Observe(Handshake(flow, T0 + 2, 3, established: true, certificate: false));

        Assert.Equal(AuthPosture.Tls, Get(inv, "10.0.0.5").Auth);
        Assert.Equal(["tls"], Get(inv, "10.0.0.5").Protocols);
    }

    private static TestEvent Handshake(SecMon.Core.Flows.FlowContext flow, long t, long packet, bool established, bool certificate) =>
        TestEvent.Of(FakeSchemas.TlsHandshake, flow, t, packet, ("tls.established", established), ("tls.client.certificate_presented", certificate));

    [Fact]
    public void Observe_EstablishedSessionWithAClientCertificate_MutualTls()
    {
        var inv = new DeviceInventory();
        var a = FakeFlows.Create(clientIp: "10.0.0.5", serverPort: 8883);
        var b = FakeFlows.Create(clientIp: "10.0.0.6", serverPort: 8884);

        ObserveAll(inv,
            TestEvent.Of(FakeSchemas.TlsClientHello, a, T0, 1),
            TestEvent.Of(FakeSchemas.TlsCertificateRequest, a.Reverse!, T0 + 1, 2),
            TestEvent.Of(FakeSchemas.TlsClientCertificate, a, T0 + 2, 3),
            Handshake(a, T0 + 3, 4, established: true, certificate: true),
            Handshake(b, T0 + 4, 5, established: true, certificate: true));

        Assert.Equal(AuthPosture.MutualTls, Get(inv, "10.0.0.5").Auth);
        Assert.Equal(AuthPosture.MutualTls, Get(inv, "10.0.0.6").Auth);
    }

    [Fact]
    public void Observe_ResumedTlsSession_WhetherACertificateWasSentUnknown_NoEvidence()
    {
        // A mutual-TLS client resuming its session (TLS 1.2 abbreviated handshake, TLS 1.3 PSK): no certificate is
        // exchanged, so the session is neither mutual nor "TLS without a certificate".
        var inv = new DeviceInventory();
        var first = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1", serverPort: 8884);
        var resumed = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1", serverPort: 8884);

        ObserveAll(inv,
            Handshake(first, T0, 1, established: true, certificate: true),
            TestEvent.Of(FakeSchemas.TlsHandshake, resumed, T0 + 10, 2, ("tls.established", true), ("tls.resumed", true)));

        Assert.Equal(AuthPosture.MutualTls, Get(inv, "10.0.0.5").Auth);
        Assert.Equal("requires client certificates on 8884", Assert.Single(Get(inv, "10.0.0.1").Listeners).Describe());
    }

    [Fact]
    public void Observe_RefusedTlsSession_NoPostureAndNoListenerSession()
    {
        // Recorded (Detection/Site6): a broker that requires client certificates answered a client without one with an
        // alert and closed. The session says nothing of what the broker accepts, nor of how the client logs in.
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.66", serverIp: "10.0.0.1", serverPort: 8883);

        ObserveAll(inv,
            TestEvent.Of(FakeSchemas.TlsClientHello, flow, T0, 1),
            TestEvent.Of(FakeSchemas.TlsServerHello, flow.Reverse!, T0 + 1, 2),
            Handshake(flow, T0 + 2, 3, established: false, certificate: false));

        Assert.Equal(AuthPosture.Unknown, Get(inv, "10.0.0.66").Auth);
        Assert.All(Get(inv, "10.0.0.1").Listeners, l => Assert.Equal(0, l.Tls));
    }

    [Fact]
    public void Observe_TlsOnOtherPort_DoesNotSetPosture()
    {
        var inv = new DeviceInventory();

        var web = FakeFlows.Create(clientIp: "10.0.0.5", serverPort: 443);
        ObserveAll(inv, TestEvent.Of(FakeSchemas.TlsClientHello, web, T0, 1), Handshake(web, T0 + 1, 2, established: true, certificate: false));

        Assert.Equal(AuthPosture.Unknown, Get(inv, "10.0.0.5").Auth);
    }

    [Fact]
    public void Observe_SeveralSessions_PostureIsTheWeakest()
    {
        var inv = new DeviceInventory();
        var mtls = FakeFlows.Create(clientIp: "10.0.0.5", serverPort: 8883);
        var plain = FakeFlows.Create(clientIp: "10.0.0.5", serverPort: 1883);

        ObserveAll(inv,
            TestEvent.Of(FakeSchemas.TlsClientHello, mtls, T0, 1),
            TestEvent.Of(FakeSchemas.TlsClientCertificate, mtls, T0 + 1, 2),
            Handshake(mtls, T0 + 1, 2, established: true, certificate: true));
        Assert.Equal(AuthPosture.MutualTls, Get(inv, "10.0.0.5").Auth);

        ObserveAll(inv, Connect(plain, T0 + 2, 3, user: "u", passwordHash: "h"));
        Assert.Equal(AuthPosture.PasswordCleartext, Get(inv, "10.0.0.5").Auth);

        var anon = FakeFlows.Create(clientIp: "10.0.0.5");
        ObserveAll(inv, Connect(anon, T0 + 3, 4), Connack(anon, T0 + 4, 5, accepted: true, code: 0));
        Assert.Equal(AuthPosture.Anonymous, Get(inv, "10.0.0.5").Auth);
    }

    [Fact]
    public void Observe_PublishWithoutConnack_ImpliesAcceptance()
    {
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5");

        ObserveAll(inv, Connect(flow, T0, 1), Publish(flow, T0 + 1, 2, "meters/4711/power"));

        var d = Get(inv, "10.0.0.5");
        Assert.Equal(AuthPosture.Anonymous, d.Auth);
        Assert.Equal(1, d.CountOf("mqtt.publish"));
        Assert.Equal(["meters/+/power"], d.ValuesOf("mqtt.topic"));
    }

    [Fact]
    public void Observe_MacSeen_DeviceKeyedByMacWithItsIps()
    {
        var inv = new DeviceInventory();

        ObserveAll(inv,
            Connect(FakeFlows.Create(clientIp: "10.0.0.5", clientMac: "02:00:00:00:00:05", serverMac: "02-00-00-00-00-01"), T0, 1),
            Connect(FakeFlows.Create(clientIp: "10.0.0.50", clientMac: "02-00-00-00-00-05", serverMac: "02-00-00-00-00-01"), T0 + 5, 2));

        var d = Get(inv, "02-00-00-00-00-05");
        Assert.Equal("02-00-00-00-00-05", d.Mac);
        Assert.Equal(["10.0.0.5", "10.0.0.50"], d.Ips);
        Assert.Equal(T0, d.FirstSeenMicros);
        Assert.Equal(T0 + 5, d.LastSeenMicros);
        Assert.Equal(2, inv.Count);
    }

    [Fact]
    public void Observe_ZeroMac_DeviceKeyedByIp()
    {
        var inv = new DeviceInventory();

        ObserveAll(inv,
            Connect(FakeFlows.Create(clientIp: "127.0.0.2", serverIp: "127.0.0.1", clientMac: "00-00-00-00-00-00", serverMac: "00-00-00-00-00-00"), T0, 1));

        Assert.Equal(["127.0.0.1", "127.0.0.2"], inv.Devices.Select(d => d.Id));
        Assert.All(inv.Devices, d => Assert.Null(d.Mac));
    }

    [Fact]
    public void Observe_SubscribeFilters_RecordedAsTopics()
    {
        var inv = new DeviceInventory();

        inv.Observe(Subscribe(FakeFlows.Create(clientIp: "10.0.0.5"), T0, 1, "plant/#", "$SYS/#"));

        Assert.Equal(["$SYS/#", "plant/#"], Get(inv, "10.0.0.5").ValuesOf("mqtt.topic"));
    }

    [Fact]
    public void Observe_MaxDevices_StopsAddingAndCounts()
    {
        var inv = new DeviceInventory(new InventoryOptions { MaxDevices = 3 });

        for (var i = 0; i < 5; i++)
        {
            inv.Observe(Connect(FakeFlows.Create(clientIp: $"10.0.0.{i + 10}", serverIp: "10.0.0.1"), T0 + i, i));
        }

        Assert.Equal(3, inv.Count);
        Assert.Equal(3, inv.DevicesDropped);
    }

    [Fact]
    public void Observe_ConnackWithoutTheConnect_ItsJoinedSessionFieldsStandInForTheLogin()
    {
        var inv = new DeviceInventory();
        var withUser = FakeFlows.Create(clientIp: "10.0.0.5");
        var anonymous = FakeFlows.Create(clientIp: "10.0.0.6");
        var unjoined = FakeFlows.Create(clientIp: "10.0.0.7");

        ObserveAll(inv,
            Connack(withUser, T0, 1, accepted: true, code: 0, user: "meter"),
            Connack(anonymous, T0 + 1, 2, accepted: true, code: 0),
            Connack(unjoined, T0 + 2, 3, accepted: true, code: 0, clientId: null));

        Assert.Equal(AuthPosture.PasswordCleartext, Get(inv, "10.0.0.5").Auth);
        Assert.Equal(AuthPosture.Anonymous, Get(inv, "10.0.0.6").Auth);
        Assert.Equal(AuthPosture.Unknown, Get(inv, "10.0.0.7").Auth); // nothing says how it logged in
        Assert.Equal(["sensor-1"], Get(inv, "10.0.0.6").IdentitiesOf("mqtt.client_id"));
    }

    [Fact]
    public void Observe_EventTypeDeclaringNoFacts_OnlyWhatTheFlowShows()
    {
        var inv = new DeviceInventory();
        var schema = FakeSchemas.Define("zproto.hello", ("zproto.node", SecMon.Core.Events.FieldKind.Text), ("zproto.user", SecMon.Core.Events.FieldKind.Text));

        inv.Observe(TestEvent.Of(schema, FakeFlows.Create(clientIp: "10.0.0.5", serverPort: 5999), T0, 1, ("zproto.node", "n1"), ("zproto.user", "u")));

        var d = Get(inv, "10.0.0.5");
        Assert.Equal(["zproto"], d.Protocols);
        Assert.Equal([5999], d.Ports);
        Assert.Empty(d.Identities);
        Assert.Empty(d.Usernames);
        Assert.Equal(AuthPosture.Unknown, d.Auth);
    }

    [Fact]
    public void Observe_PublishesFromTheBroker_NotCountedForTheClient()
    {
        // Values and counts describe what their device sent: a message the broker delivers is not the client's publish.
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");

        ObserveAll(inv, Publish(flow, T0, 1, "a/b"), Publish(flow.Reverse!, T0 + 1, 2, "c/d"));

        Assert.Equal(1, Get(inv, "10.0.0.5").CountOf("mqtt.publish"));
        Assert.Equal(["a/b"], Get(inv, "10.0.0.5").ValuesOf("mqtt.topic"));
        Assert.Equal(0, Get(inv, "10.0.0.1").CountOf("mqtt.publish"));
    }
}
