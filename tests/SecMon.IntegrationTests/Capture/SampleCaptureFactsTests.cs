using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// tshark confirms that each sample holds what samples/record.sh made its clients do (the facts are known from
/// the script, not from any dissector). This keeps the samples honest and checks the tshark reading that the
/// SecMon-versus-tshark comparison relies on.
/// </summary>
public sealed class SampleCaptureFactsTests
{
    [RequiresToolFact("tshark")]
    public async Task Tshark_AnonymousSample_SeesTheScriptedSessions()
    {
        var t = MqttTally.FromTshark(await Tshark.ReadMqttAsync(SampleCaptures.PathOf("mqtt-anonymous.pcap")));

        Assert.Equal(["anon-pub-q0", "anon-pub-q1", "anon-pub-q2", "anon-pub-retain", "anon-sub-311", "anon-sub-v5"], t.ClientIds);
        Assert.Empty(t.Usernames);
        Assert.Equal([0, 0, 0, 0, 0, 0], t.ConnackCodes);
        Assert.Equal(9, t.CountOf("publish")); // 4 published + 5 delivered (4 to anon-sub-311, the retained one to anon-sub-v5)
        Assert.Contains(MqttTally.PublishText("sensors/status", 1, retain: true, dup: false, size: 6), t.Publishes);
        Assert.Contains(MqttTally.PublishText("sensors/pressure", 2, retain: false, dup: false, size: 4), t.Publishes);
        Assert.Equal([MqttTally.FilterText("sensors/#", 2), MqttTally.FilterText("sensors/status", 1)], t.SubscribeFilters);
        Assert.Equal(["sensors/old"], t.UnsubscribeFilters);
        Assert.Equal(1, t.CountOf("pingreq"));
        Assert.Equal(1, t.CountOf("pingresp"));
        Assert.Equal(6, t.CountOf("disconnect"));
        Assert.Equal(2, t.CountOf("pubrec")); // QoS 2: client to broker and broker to subscriber
        Assert.Equal(2, t.CountOf("pubcomp"));
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_PasswordSample_SeesTwoUsersLoggedIn()
    {
        var packets = await Tshark.ReadMqttAsync(SampleCaptures.PathOf("mqtt-password.pcap"), SampleCaptures.PasswordBrokerPort);
        var t = MqttTally.FromTshark(packets);

        Assert.Equal(["alice-pub", "alice-sub", "bob-pub", "bob-pub-311"], t.ClientIds);
        Assert.Equal(["alice", "alice", "bob", "bob"], t.Usernames);
        // "Wonderland-42" (13 bytes) for alice, "Builder-7" (9) for bob.
        Assert.Equal([9, 9, 13, 13], t.PasswordLengths);
        Assert.Equal([0, 0, 0, 0], t.ConnackCodes);
        Assert.Equal(6, t.CountOf("publish"));
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_PasswordSample_WithoutDecodeAs_SeesNoMqtt()
    {
        // 18831 is not an MQTT port for tshark: only a content-based detector (like SecMon's) finds these sessions.
        var packets = await Tshark.ReadMqttAsync(SampleCaptures.PathOf("mqtt-password.pcap"));

        Assert.Empty(packets);
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_GuessingSample_SeesTwelveRefusalsThenSuccess()
    {
        var packets = await Tshark.ReadMqttAsync(SampleCaptures.PathOf("mqtt-guessing.pcap"), SampleCaptures.PasswordBrokerPort);
        var t = MqttTally.FromTshark(packets);

        Assert.Equal(Enumerable.Repeat("guesser", 13), t.ClientIds);
        Assert.Equal(Enumerable.Repeat("admin", 13), t.Usernames);
        // 3.1.1: 5 = not authorized (8 times); 5.0: 0x87 = 135 not authorized (4 times); then 0 accepted.
        Assert.Equal([0, 5, 5, 5, 5, 5, 5, 5, 5, 135, 135, 135, 135], t.ConnackCodes);
        var connacks = packets.Where(p => p.MessageType == 2).ToList();
        Assert.Equal(0, connacks[^1].Int("mqtt.conack.val")); // the accepted login is the last one
        Assert.Equal([MqttTally.PublishText("admin/test", 1, retain: false, dup: false, size: 5)], t.Publishes);
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_WildcardSample_SeesWildcardSubscriptionsAndDeliveries()
    {
        var t = MqttTally.FromTshark(await Tshark.ReadMqttAsync(SampleCaptures.PathOf("mqtt-wildcard.pcap")));

        Assert.Equal([MqttTally.FilterText("#", 1), MqttTally.FilterText("$SYS/#", 0), MqttTally.FilterText("+/#", 0)], t.SubscribeFilters);
        Assert.Equal(8, t.CountOf("connect"));
        // Each client publish also reaches "#" and "+/#": three copies of every topic.
        foreach (var topic in new[] { "devices/d1/temp", "devices/d2/temp", "factory/line1/state", "alarms", "a/b/c/d" })
        {
            Assert.Equal(3, t.Publishes.Count(p => p.StartsWith(topic + " ", StringComparison.Ordinal)));
        }

        Assert.True(t.Publishes.Count(p => p.StartsWith("$SYS/", StringComparison.Ordinal)) >= 10, "the $SYS/# subscriber received the $SYS tree");
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_BurstSample_SeesFiveHundredPublishesAndOneLargeOne()
    {
        var packets = await Tshark.ReadMqttAsync(SampleCaptures.PathOf("mqtt-burst.pcap"));
        var t = MqttTally.FromTshark(packets);

        Assert.Equal(["big-pub", "burst-pub"], t.ClientIds);
        Assert.Equal(500, t.Publishes.Count(p => p.StartsWith("burst/seq qos=0 ", StringComparison.Ordinal)));
        Assert.Equal([MqttTally.PublishText("firmware/blob", 1, retain: false, dup: false, size: 204800)], t.Publishes.Where(p => p.StartsWith("firmware/", StringComparison.Ordinal)));
        // Many MQTT packets share a TCP segment, which is what this sample is for.
        Assert.True(packets.GroupBy(p => p.FrameNumber).Max(g => g.Count()) > 100);
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_Mqtt5PropertiesSample_SeesTopicAliasesWillsAndReasonCodes()
    {
        var packets = await Tshark.ReadMqttAsync(SampleCaptures.PathOf("mqtt5-properties.pcap"));
        var t = MqttTally.FromTshark(packets);

        Assert.Equal(["MQTT 5 clean=1 keepalive=30", "MQTT 5 clean=1 keepalive=60", "MQTT 5 clean=1 keepalive=60"], t.Connects);
        Assert.Equal(["devices/dev-5/status", "devices/dev-6/status"], t.WillTopics);
        // The node client publishes twice with an empty topic and topic alias 1 (MQTT 5.0 §3.3.2.3.4).
        var aliasOnly = packets.Where(p => p.MessageType == 3 && p.Int("mqtt.topic_len") == 0).ToList();
        Assert.Equal(2, aliasOnly.Count);
        Assert.All(aliasOnly, p => Assert.Equal(1, p.Int("mqtt.property.topic_alias")));
        // Its DISCONNECT carries reason 0x04 "disconnect with will message", and the broker delivers the will.
        Assert.Contains(packets, p => p.MessageType == 14 && p.Int("mqtt.disconnect.reason_code") == 4);
        Assert.Contains(MqttTally.PublishText("devices/dev-6/status", 1, retain: false, dup: false, size: 7), t.Publishes);
        Assert.Equal(9, t.CountOf("publish"));
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_Mqtt31Sample_SeesMqIsdpLevel3()
    {
        var t = MqttTally.FromTshark(await Tshark.ReadMqttAsync(SampleCaptures.PathOf("mqtt31.pcap")));

        Assert.Equal(Enumerable.Repeat("MQIsdp 3 clean=1 keepalive=60", 3), t.Connects);
        Assert.Equal(["m31-pub", "m31-pub-q1", "m31-sub"], t.ClientIds);
        Assert.Equal(4, t.CountOf("publish"));
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_AnyPcapngSample_IsLinuxCookedV2AndHoldsMqtt()
    {
        var path = SampleCaptures.PathOf("mqtt-any.pcapng");
        var rows = await Tshark.FieldsAsync(path, "frame", [], ["frame.encap_type", "frame.protocols"]);
        var t = MqttTally.FromTshark(await Tshark.ReadMqttAsync(path));

        // Wireshark encapsulation 210 = WTAP_ENCAP_SLL2 (pcap LINKTYPE_LINUX_SLL2, 276).
        Assert.All(rows, r => Assert.Equal("210", r[0]));
        Assert.All(rows, r => Assert.StartsWith("sll:", r[1], StringComparison.Ordinal));
        Assert.Equal(["any-pub-1", "any-pub-2", "any-sub"], t.ClientIds);
        Assert.Equal(4, t.CountOf("publish"));
        Assert.Equal([0x0a, 0x0d, 0x0d, 0x0a], (await File.ReadAllBytesAsync(path))[..4]); // pcapng section header block
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_TlsMutualSample_SeesTwoHandshakesAndNoMqtt()
    {
        var path = SampleCaptures.PathOf("mqtt-tls-mutual.pcap");
        var hellos = await Tshark.FieldsAsync(path, "tls.handshake.type == 1", [], ["frame.number"]);
        // The TLS 1.2 session: Certificate (11) from the server and from the client, in clear. (8883 is MQTT over
        // TLS for tshark: it would show MQTT if it could read any.)
        var certificates = await Tshark.FieldsAsync(path, "tls.handshake.type == 11", [], ["frame.number"]);

        Assert.Equal(2, hellos.Count);
        Assert.Equal(2, certificates.Count);
        Assert.Empty(await Tshark.ReadMqttAsync(path));

        // The TLS 1.3 session's client flight, as tshark sees it: after the compatibility ChangeCipherSpec, the first
        // encrypted record is far larger than a Finished alone (what SecMon infers the client certificate from).
        var clientRecords = await Tshark.FieldsAsync(path, "tls && tcp.dstport == 8883 && tcp.stream == 0", [], ["tls.record.content_type", "tls.record.length"]);
        var afterCcs = clientRecords.SkipWhile(r => !r[0].Contains("20", StringComparison.Ordinal)).First();
        var lengths = afterCcs[1].Split(',').Select(int.Parse).ToList();
        Assert.Equal(1, lengths[0]); // the ChangeCipherSpec
        Assert.True(lengths[1] >= 200, $"first encrypted client record {lengths[1]} bytes");
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_WebSocketSample_SeesTwoUpgradesToMqttWithoutCompression()
    {
        // Two WebSocket sessions (MQTT.js over ws://): the client offers permessage-deflate, mosquitto does not take
        // it, so the frames are not compressed. (tshark does not follow MQTT packets that span WebSocket frames, as
        // MQTT.js writes them, so the MQTT facts are checked against the script in ShippedRulesOnSamplesTests.)
        var rows = await Tshark.FieldsAsync(SampleCaptures.PathOf("mqtt-websocket.pcap"), "http", ["tcp.port==9001,http"],
            ["tcp.stream", "http.request.method", "http.response.code", "http.upgrade", "http.sec_websocket_protocol", "http.sec_websocket_extensions"]);

        Assert.Equal(["0 GET websocket mqtt", "0 101 WebSocket mqtt", "1 GET websocket mqtt", "1 101 WebSocket mqtt"],
            rows.Select(r => string.Join(' ', r[..5].Where(v => v.Length > 0))));
        Assert.All(rows.Where(r => r[2] == "101"), r => Assert.Equal("", r[5]));
    }

    [RequiresToolFact("tshark")]
    public async Task Tshark_TlsPasswordSample_SeesOneHandshakeOn8884()
    {
        var path = SampleCaptures.PathOf("mqtt-tls-password.pcap");
        var hellos = await Tshark.FieldsAsync(path, "tls.handshake.type == 1", ["tcp.port==8884,tls"], ["frame.number"]);

        Assert.Single(hellos);
    }
}
