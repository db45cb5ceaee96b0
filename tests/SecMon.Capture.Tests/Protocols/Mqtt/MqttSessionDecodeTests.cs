using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Mqtt;

/// <summary>
/// One packet per row through a session, checking the event type and its fields by their dotted names (as rules
/// read them). The hex vectors are the ones tshark decodes identically (MqttTsharkComparisonTests).
/// </summary>
public sealed class MqttSessionDecodeTests
{
    internal const string Connect31 = "101000064D51497364700302003C00026331";
    internal const string Connect311 = "100E00044D5154540402003C00026331";
    internal const string Connect5 = "100F00044D5154540502003C0000026331";

    [Theory]
    // CONNECT
    [InlineData("connect 3.1.1 user+password+will", "", 'c', "101F00044D51545404EE003C00026331 0003772F74 0003627965 000175 00027077", "mqtt.connect",
        "mqtt.client_id=c1; mqtt.username=u; mqtt.protocol_name=MQTT; mqtt.protocol_level=4; mqtt.clean_start=true; mqtt.keep_alive=60; mqtt.password.present=true; mqtt.password.length=2; mqtt.will.present=true; mqtt.will.topic=w/t; mqtt.will.qos=1; mqtt.will.retain=true; mqtt.will.payload_size=3; mqtt.properties.user_property_count=(missing); flow.direction=to_server")]
    [InlineData("connect 3.1", "", 'c', Connect31, "mqtt.connect",
        "mqtt.client_id=c1; mqtt.username=(missing); mqtt.protocol_name=MQIsdp; mqtt.protocol_level=3; mqtt.password.present=false; mqtt.password.length=(missing); mqtt.password.hash=(missing); mqtt.will.present=false; mqtt.will.topic=(missing); mqtt.will.qos=(missing)")]
    [InlineData("connect 5.0 properties", "", 'c', "102D00044D51545405C2003C17 1100000E10 210014 2700010000 22000A 2600016B000176 00026331 000175 00027077", "mqtt.connect",
        "mqtt.client_id=c1; mqtt.username=u; mqtt.protocol_level=5; mqtt.properties.session_expiry_interval=3600; mqtt.properties.receive_maximum=20; mqtt.properties.maximum_packet_size=65536; mqtt.properties.topic_alias_maximum=10; mqtt.properties.user_property_count=1; mqtt.properties.authentication_method=(missing)")]
    [InlineData("connect 5.0 password without user name", "", 'c', "101300044D5154540542003C0000026331 00027077", "mqtt.connect",
        "mqtt.username=(missing); mqtt.password.present=true; mqtt.password.length=2; mqtt.properties.user_property_count=0")]
    [InlineData("connect 5.0 will properties", "", 'c', "101B00044D5154540506003C0000026331 05 1800000005 000177 000178", "mqtt.connect",
        "mqtt.will.present=true; mqtt.will.topic=w; mqtt.will.qos=0; mqtt.will.retain=false; mqtt.will.payload_size=1")]
    [InlineData("connect 5.0 authentication method", "", 'c', "101700044D5154540502003C08 1500055343524 14D 00026331", "mqtt.connect",
        "mqtt.properties.authentication_method=SCRAM")]
    // CONNACK, joined to the CONNECT
    [InlineData("connack 3.1.1 session present", Connect311, 's', "20020100", "mqtt.connack",
        "mqtt.connack.return_code=0; mqtt.connack.reason=accepted; mqtt.connack.accepted=true; mqtt.connack.session_present=true; mqtt.client_id=c1; mqtt.protocol_level=4; flow.direction=to_client; source.port=1883")]
    [InlineData("connack 3.1.1 not authorized", Connect311, 's', "20020005", "mqtt.connack",
        "mqtt.connack.return_code=5; mqtt.connack.reason=not_authorized; mqtt.connack.accepted=false; mqtt.connack.session_present=false")]
    [InlineData("connack 3.1.1 bad user name or password", Connect311, 's', "20020004", "mqtt.connack",
        "mqtt.connack.return_code=4; mqtt.connack.reason=bad_username_or_password")]
    [InlineData("connack 3.1.1 identifier rejected", Connect311, 's', "20020002", "mqtt.connack", "mqtt.connack.reason=identifier_rejected")]
    [InlineData("connack 3.1", Connect31, 's', "20020000", "mqtt.connack",
        "mqtt.connack.reason=accepted; mqtt.connack.session_present=(missing); mqtt.protocol_level=3")]
    [InlineData("connack 5.0 properties", Connect5, 's', "2012 0000 0F 1200046175746F 220005 1F00026F6B", "mqtt.connack",
        "mqtt.connack.return_code=0; mqtt.connack.reason=success; mqtt.properties.assigned_client_identifier=auto; mqtt.properties.reason_string=ok; mqtt.properties.topic_alias_maximum=5; mqtt.client_id=c1")]
    [InlineData("connack 5.0 bad user name", Connect5, 's', "2003008600", "mqtt.connack",
        "mqtt.connack.return_code=134; mqtt.connack.reason=bad_user_name_or_password; mqtt.connack.accepted=false")]
    [InlineData("connack 5.0 answered in 3.1.1 form", Connect5, 's', "20020001", "mqtt.connack",
        "mqtt.connack.return_code=1; mqtt.connack.reason=unacceptable_protocol_version")]
    // PUBLISH
    [InlineData("publish 3.1.1 qos0", Connect311, 'c', "30070003612F626869", "mqtt.publish",
        "mqtt.topic=a/b; mqtt.qos=0; mqtt.retain=false; mqtt.dup=false; mqtt.packet_id=(missing); mqtt.payload.size=2; mqtt.client_id=c1; mqtt.properties.topic_alias=(missing)")]
    [InlineData("publish 3.1.1 qos1 dup retain", Connect311, 'c', "3B090003612F62000A6869", "mqtt.publish",
        "mqtt.topic=a/b; mqtt.qos=1; mqtt.retain=true; mqtt.dup=true; mqtt.packet_id=10; mqtt.payload.size=2")]
    [InlineData("publish 3.1.1 qos2 to client", Connect311, 's', "34090003612F62000B6869", "mqtt.publish",
        "mqtt.qos=2; mqtt.packet_id=11; flow.direction=to_client; mqtt.client_id=c1")]
    [InlineData("publish 3.1", Connect31, 'c', "30070003612F626869", "mqtt.publish", "mqtt.topic=a/b; mqtt.protocol_level=3")]
    [InlineData("publish 5.0 properties", Connect5, 'c', "3224 0003612F62 0001 1A 230001 020000003C 0300046A736F6E 08000172 2600016B000176 6869", "mqtt.publish",
        "mqtt.topic=a/b; mqtt.qos=1; mqtt.packet_id=1; mqtt.payload.size=2; mqtt.properties.topic_alias=1; mqtt.properties.message_expiry_interval=60; mqtt.properties.content_type=json; mqtt.properties.response_topic=r")]
    [InlineData("publish 5.0 no properties", Connect5, 'c', "30080003612F62006869", "mqtt.publish", "mqtt.topic=a/b; mqtt.payload.size=2")]
    [InlineData("publish 5.0 empty payload", Connect5, 'c', "30060003612F6200", "mqtt.publish", "mqtt.payload.size=0")]
    // PUBACK / PUBREC / PUBREL / PUBCOMP
    [InlineData("puback 3.1.1", Connect311, 's', "4002000A", "mqtt.puback", "mqtt.packet_id=10; mqtt.reason_code=(missing); mqtt.client_id=c1")]
    [InlineData("pubrec 3.1.1", Connect311, 's', "5002000B", "mqtt.pubrec", "mqtt.packet_id=11")]
    [InlineData("pubrel 3.1.1", Connect311, 'c', "6202000B", "mqtt.pubrel", "mqtt.packet_id=11")]
    [InlineData("pubcomp 3.1.1", Connect311, 's', "7002000B", "mqtt.pubcomp", "mqtt.packet_id=11")]
    [InlineData("puback 5.0 reason", Connect5, 's', "4003000110", "mqtt.puback", "mqtt.packet_id=1; mqtt.reason_code=16")]
    [InlineData("puback 5.0 reason+properties", Connect5, 's', "4008000A80041F000178", "mqtt.puback", "mqtt.packet_id=10; mqtt.reason_code=128")]
    [InlineData("puback 5.0 short form", Connect5, 's', "4002000A", "mqtt.puback", "mqtt.packet_id=10; mqtt.reason_code=(missing)")]
    [InlineData("pubrel 5.0 reason", Connect5, 'c', "6203000B92", "mqtt.pubrel", "mqtt.packet_id=11; mqtt.reason_code=146")]
    // SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK
    [InlineData("subscribe 3.1.1", Connect311, 'c', "820C00010003612F2301000162 02", "mqtt.subscribe",
        "mqtt.packet_id=1; mqtt.topic_filters=[a/#, b]; mqtt.subscription_qos=[1, 2]")]
    [InlineData("subscribe 3.1 with DUP", Connect31, 'c', "8A0C00010003612F2301000162 02", "mqtt.subscribe", "mqtt.topic_filters=[a/#, b]")]
    [InlineData("subscribe 5.0 options", Connect5, 'c', "820B0002020B050003612F2B2D", "mqtt.subscribe",
        "mqtt.packet_id=2; mqtt.topic_filters=[a/+]; mqtt.subscription_qos=[1]")]
    [InlineData("suback 3.1.1", Connect311, 's', "9004000101 80", "mqtt.suback", "mqtt.packet_id=1; mqtt.suback.reason_codes=[1, 128]")]
    [InlineData("suback 5.0", Connect5, 's', "90050002000187", "mqtt.suback", "mqtt.packet_id=2; mqtt.suback.reason_codes=[1, 135]")]
    [InlineData("unsubscribe 3.1.1", Connect311, 'c', "A20700030003612F23", "mqtt.unsubscribe", "mqtt.packet_id=3; mqtt.topic_filters=[a/#]")]
    [InlineData("unsubscribe 5.0", Connect5, 'c', "A208000300 0003612F23", "mqtt.unsubscribe", "mqtt.packet_id=3; mqtt.topic_filters=[a/#]")]
    [InlineData("unsuback 3.1.1", Connect311, 's', "B0020003", "mqtt.unsuback", "mqtt.packet_id=3; mqtt.unsuback.reason_codes=(missing)")]
    [InlineData("unsuback 5.0", Connect5, 's', "B0050003000011", "mqtt.unsuback", "mqtt.packet_id=3; mqtt.unsuback.reason_codes=[0, 17]")]
    // PING, DISCONNECT, AUTH
    [InlineData("pingreq", Connect311, 'c', "C000", "mqtt.pingreq", "mqtt.client_id=c1; mqtt.protocol_level=4")]
    [InlineData("pingresp", Connect311, 's', "D000", "mqtt.pingresp", "mqtt.client_id=c1")]
    [InlineData("disconnect 3.1.1", Connect311, 'c', "E000", "mqtt.disconnect", "mqtt.reason_code=(missing)")]
    [InlineData("disconnect 5.0 with will", Connect5, 'c', "E00104", "mqtt.disconnect", "mqtt.reason_code=4")]
    [InlineData("disconnect 5.0 from server", Connect5, 's', "E0078B051100000000", "mqtt.disconnect", "mqtt.reason_code=139; flow.direction=to_client")]
    [InlineData("auth 5.0", Connect5, 'c', "F00F180D15000553435241 4D1600020102", "mqtt.auth", "mqtt.reason_code=24; mqtt.properties.authentication_method=SCRAM")]
    [InlineData("auth 5.0 short form", Connect5, 's', "F000", "mqtt.auth", "mqtt.reason_code=(missing); mqtt.properties.authentication_method=(missing)")]
    public void OnData_OnePacket_EmitsEventWithFields(string label, string connect, char direction, string packet, string type, string fields)
    {
        var h = new MqttHarness();
        if (connect.Length > 0)
        {
            h.Client(connect);
            h.Events.Clear();
        }

        h.Send(direction == 'c' ? FlowDirection.ToServer : FlowDirection.ToClient, Hex.Bytes(packet));

        // An acknowledgment sent here without its request is also an mqtt.anomaly (MqttSessionTransactionTests).
        var e = Assert.Single(h.Events, x => x.Type != "mqtt.anomaly");
        Assert.True(type == e.Type, $"{label}: {EventText.Describe(e)}");
        EventText.AssertFields(e, fields);
        Assert.Same(direction == 'c' ? h.Flow : h.Flow.Reverse, e.Flow);
        Assert.Empty(h.Diagnostics.Reports);
        Assert.Equal(0, h.Stats.MalformedMessages);
    }
}
