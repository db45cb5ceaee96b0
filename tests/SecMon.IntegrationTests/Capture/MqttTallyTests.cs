using SecMon.IntegrationTests.TestSupport;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// The comparison's own reading of both sides, checked on hand-written input: SecMon events in the documented
/// events format, and tshark JSON with two MQTT packets in one frame. Without these, a comparison that reads a
/// wrong field name on both sides would agree on nothing and pass.
/// </summary>
public sealed class MqttTallyTests
{
    [Fact]
    public void FromSecMon_EventsInTheContractFormat_TalliesEveryAspect()
    {
        const string lines = """
            {"type":"mqtt.connect","@timestamp":"2026-11-24T08:00:00.123456Z","network.protocol":"mqtt","destination.port":1883,"mqtt.client_id":"dev-1","mqtt.protocol_name":"MQTT","mqtt.protocol_level":4,"mqtt.clean_start":true,"mqtt.keep_alive":60,"mqtt.username":"alice","mqtt.password.present":true,"mqtt.password.length":6,"mqtt.will.present":true,"mqtt.will.topic":"dev/1/status"}
            {"type":"mqtt.connack","mqtt.connack.return_code":0,"mqtt.connack.accepted":true,"mqtt.client_id":"dev-1","mqtt.username":"alice"}
            {"type":"mqtt.publish","mqtt.topic":"dev/1/temp","mqtt.qos":1,"mqtt.retain":true,"mqtt.dup":false,"mqtt.packet_id":7,"mqtt.payload.size":4}
            {"type":"mqtt.puback","mqtt.packet_id":7}
            {"type":"mqtt.subscribe","mqtt.packet_id":8,"mqtt.topic_filters":["a/#","$SYS/#"],"mqtt.subscription_qos":[1,0]}
            {"type":"mqtt.suback","mqtt.suback.reason_codes":[1,128]}
            {"type":"mqtt.unsubscribe","mqtt.topic_filters":["a/#"]}
            {"type":"mqtt.malformed","mqtt.reason":"bad length"}
            {"type":"tls.client_hello","tls.version":"1.3"}
            """;

        var t = MqttTally.FromSecMon(SecMonEvent.ParseLines(lines, "inline"));

        Assert.Equal(["connack=1", "connect=1", "puback=1", "publish=1", "suback=1", "subscribe=1", "unsubscribe=1"], t.Aspects().First().Items);
        Assert.Equal(["MQTT 4 clean=1 keepalive=60"], t.Connects);
        Assert.Equal(["dev-1"], t.ClientIds); // the CONNACK's joined client id is not a second CONNECT
        Assert.Equal(["alice"], t.Usernames);
        Assert.Equal([6], t.PasswordLengths);
        Assert.Equal(["dev/1/status"], t.WillTopics);
        Assert.Equal([0], t.ConnackCodes);
        Assert.Equal(["dev/1/temp qos=1 retain=1 dup=0 size=4"], t.Publishes);
        Assert.Equal(["puback 7", "publish 7"], t.PacketIds);
        Assert.Equal(["$SYS/# qos=0", "a/# qos=1"], t.SubscribeFilters);
        Assert.Equal(["a/#"], t.UnsubscribeFilters);
        Assert.Equal([1, 128], t.SubackCodes);
    }

    [Fact]
    public void FromTshark_TwoPacketsInOneFrame_TalliesBoth()
    {
        // Shape of `tshark -T json --no-duplicate-keys -J "frame mqtt"` (Wireshark 4.0) for one frame holding a
        // 5.0 SUBSCRIBE with two filters and a QoS 1 PUBLISH; abridged to the fields the tally reads.
        const string json = """
            [{"_source":{"layers":{
              "frame":{"frame.number":"12"},
              "mqtt":[
                {"mqtt.hdrflags_tree":{"mqtt.msgtype":"8","mqtt.hdr_reserved":"2"},"mqtt.msgid":"1",
                 "mqtt.properties":{"mqtt.property_len":"0"},
                 "mqtt.topic":["a/#","b/+"],
                 "mqtt.subscription_options_tree":[{"mqtt.subscription_options_qos":"1"},{"mqtt.subscription_options_qos":"2"}]},
                {"mqtt.hdrflags_tree":{"mqtt.msgtype":"3","mqtt.dupflag":"0","mqtt.qos":"1","mqtt.retain":"1"},
                 "mqtt.topic_len":"3","mqtt.topic":"a/b","mqtt.msgid":"9","mqtt.msg":"6f:6e:6c:69:6e:65"}
              ]}}}]
            """;

        var packets = Tshark.ParseMqttJson(json);
        var t = MqttTally.FromTshark(packets);

        Assert.Equal([12, 12], packets.Select(p => p.FrameNumber));
        Assert.Equal(["a/# qos=1", "b/+ qos=2"], t.SubscribeFilters);
        Assert.Equal(["a/b qos=1 retain=1 dup=0 size=6"], t.Publishes);
        Assert.Equal(["publish 9"], t.PacketIds);
    }

    [Fact]
    public void Difference_SameItemsOtherOrder_IsNull()
    {
        Assert.Null(Multiset.Difference(["a", "b", "a"], ["a", "a", "b"], "tshark", "secmon"));
    }

    [Fact]
    public void Difference_MissingDuplicate_NamesTheSideAndCount()
    {
        var d = Multiset.Difference(["a", "a", "a", "b"], ["a", "c"], "tshark", "secmon");

        Assert.Equal("only in tshark: \"a\" x2, \"b\"; only in secmon: \"c\"", d);
    }
}
