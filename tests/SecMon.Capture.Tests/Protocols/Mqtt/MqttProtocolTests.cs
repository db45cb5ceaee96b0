using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Mqtt;

/// <summary>The probe (content decides, the port is only a hint), the registry entry and the schemas.</summary>
public sealed class MqttProtocolTests
{
    private static readonly MqttProtocol Protocol = new();

    [Theory]
    [InlineData("3.1 MQIsdp", MqttSessionDecodeTests.Connect31)]
    [InlineData("3.1.1", MqttSessionDecodeTests.Connect311)]
    [InlineData("5.0", MqttSessionDecodeTests.Connect5)]
    [InlineData("3.1.1 user+password+will", "101F00044D51545404EE003C00026331 0003772F74 0003627965 000175 00027077")]
    [InlineData("5.0 properties", "102D00044D51545405C2003C17 1100000E10 210014 2700010000 22000A 2600016B000176 00026331 000175 00027077")]
    [InlineData("3.1.1 bridge (level 0x84)", "100E00044D5154548402003C00026331")]
    [InlineData("two-byte remaining length", "10 C801 00044D5154540402003C 00BC")]
    public void Probe_Connect_MineOnlyOnceTheFlagsByteIsThere(string label, string hex)
    {
        var bytes = Hex.Bytes(hex);
        var decidedAt = DecisionLength(bytes);

        Assert.True(ProbeResult.Mine == Protocol.Probe(bytes, FlowDirection.ToServer), label);
        for (var n = 0; n < decidedAt; n++)
        {
            Assert.True(ProbeResult.NeedMoreData == Protocol.Probe(bytes.AsSpan(0, n), FlowDirection.ToServer), $"{label}: prefix {n}");
        }

        Assert.Equal(ProbeResult.Mine, Protocol.Probe(bytes.AsSpan(0, decidedAt), FlowDirection.ToServer));
    }

    [Theory]
    [InlineData("TLS ClientHello", "16030100F4010000F00303")]
    [InlineData("TLS 1.2 record", "160303007A")]
    [InlineData("HTTP", "474554202F20485454502F312E310D0A486F73743A20780D0A0D0A")] // GET / HTTP/1.1
    [InlineData("SSH", "5353482D322E302D4F70656E5353480D0A")]
    [InlineData("PUBLISH first", "30070003612F626869")]
    [InlineData("protocol name MQTX", "100E00044D5154580402003C00026331")]
    [InlineData("MQTT with level 3", "100E00044D5154540302003C00026331")]
    [InlineData("MQIsdp with level 4", "101000064D51497364700402003C00026331")]
    [InlineData("MQTT level 6", "100E00044D5154540602003C00026331")]
    [InlineData("reserved connect flag", "100E00044D5154540403003C00026331")]
    [InlineData("will QoS 3", "100E00044D515454041E003C00026331")]
    [InlineData("remaining length too small", "100A00044D5154540402003C")]
    [InlineData("5-byte length", "10FFFFFFFF7F")]
    [InlineData("overlong length", "10800000044D51545404")]
    [InlineData("name length 5", "100E0005")]
    [InlineData("fixed header flags", "110E00044D5154540402003C00026331")]
    public void Probe_NotMqtt_NotMine(string label, string hex)
    {
        Assert.True(ProbeResult.NotMine == Protocol.Probe(Hex.Bytes(hex), FlowDirection.ToServer), label);
    }

    [Fact]
    public void Probe_HttpText_NotMineFromFirstByte()
    {
        Assert.Equal(ProbeResult.NotMine, Protocol.Probe("G"u8, FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, Protocol.Probe(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n"), FlowDirection.ToServer));
    }

    [Theory]
    [InlineData("20020000", "Mine")]
    [InlineData("20020100", "Mine")]
    [InlineData("20020005", "Mine")]
    [InlineData("2003008600", "Mine")]
    [InlineData("2012 0000 0F 1200046175746F 220005 1F00026F6B", "Mine")]
    [InlineData("20", "NeedMoreData")]
    [InlineData("2002", "NeedMoreData")]
    [InlineData("200200", "NeedMoreData")]
    [InlineData("20020006", "NotMine")] // 3.x return codes stop at 5
    [InlineData("2003000100", "NotMine")] // 0x01 is not a 5.0 CONNACK reason code
    [InlineData("20020200", "NotMine")] // reserved acknowledge flag bits
    [InlineData("20010000", "NotMine")]
    [InlineData("160303", "NotMine")]
    [InlineData("485454502F312E31", "NotMine")] // HTTP/1.1 response
    public void Probe_ServerSide_OnlyPlausibleConnAck(string hex, string expected)
    {
        Assert.Equal(expected, Protocol.Probe(Hex.Bytes(hex), FlowDirection.ToClient).ToString());
    }

    [Fact]
    public void Probe_DoesNotAllocate()
    {
        var connect = Hex.Bytes(MqttSessionDecodeTests.Connect5);
        var tls = Hex.Bytes("16030100F4010000F00303");
        var bad = Hex.Bytes("10FFFFFFFF7F");
        Protocol.Probe(connect, FlowDirection.ToServer);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Protocol.Probe(connect, FlowDirection.ToServer);
            Protocol.Probe(tls, FlowDirection.ToServer);
            Protocol.Probe(bad, FlowDirection.ToServer);
            Protocol.Probe(connect, FlowDirection.ToClient);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Registry_ListsMqttWithItsSchemas()
    {
        var mqtt = Assert.Single(ProtocolCatalogue.Shipped.Stream, p => p.Name == "mqtt");

        Assert.Equal([1883], mqtt.PortHints);
        Assert.Equal(mqtt.EventSchemas.Count, mqtt.EventSchemas.Select(s => s.Type).Distinct().Count());
        Assert.All(mqtt.EventSchemas, s => Assert.Contains(s, ProtocolCatalogue.Shipped.EventSchemas));
    }

    /// <summary>The event types and field names rules and the tshark comparisons rely on (the contract in the brief).</summary>
    [Theory]
    [InlineData("mqtt.connect", "mqtt.client_id mqtt.protocol_name mqtt.protocol_level mqtt.clean_start mqtt.keep_alive mqtt.username mqtt.password.present mqtt.password.length mqtt.password.hash mqtt.will.present mqtt.will.topic mqtt.will.qos mqtt.will.retain mqtt.will.payload_size mqtt.properties.session_expiry_interval mqtt.properties.receive_maximum mqtt.properties.maximum_packet_size mqtt.properties.topic_alias_maximum mqtt.properties.authentication_method mqtt.properties.user_property_count")]
    [InlineData("mqtt.connack", "mqtt.connack.return_code mqtt.connack.reason mqtt.connack.accepted mqtt.connack.session_present mqtt.client_id mqtt.username mqtt.protocol_level mqtt.properties.assigned_client_identifier mqtt.properties.reason_string mqtt.properties.topic_alias_maximum")]
    [InlineData("mqtt.publish", "mqtt.topic mqtt.qos mqtt.retain mqtt.dup mqtt.packet_id mqtt.payload.size mqtt.properties.topic_alias mqtt.properties.message_expiry_interval mqtt.properties.content_type mqtt.properties.response_topic")]
    [InlineData("mqtt.puback", "mqtt.packet_id mqtt.reason_code")]
    [InlineData("mqtt.pubrec", "mqtt.packet_id mqtt.reason_code")]
    [InlineData("mqtt.pubrel", "mqtt.packet_id mqtt.reason_code")]
    [InlineData("mqtt.pubcomp", "mqtt.packet_id mqtt.reason_code")]
    [InlineData("mqtt.subscribe", "mqtt.packet_id mqtt.topic_filters mqtt.subscription_qos")]
    [InlineData("mqtt.suback", "mqtt.packet_id mqtt.suback.reason_codes")]
    [InlineData("mqtt.unsubscribe", "mqtt.packet_id mqtt.topic_filters")]
    [InlineData("mqtt.unsuback", "mqtt.packet_id mqtt.unsuback.reason_codes")]
    [InlineData("mqtt.pingreq", "")]
    [InlineData("mqtt.pingresp", "")]
    [InlineData("mqtt.disconnect", "mqtt.reason_code")]
    [InlineData("mqtt.auth", "mqtt.reason_code mqtt.properties.authentication_method")]
    [InlineData("mqtt.malformed", "error.message mqtt.packet_type")]
    [InlineData("mqtt.anomaly", "mqtt.anomaly.kind mqtt.packet_type mqtt.packet_id")]
    public void EventSchemas_CarryContractFields(string type, string fields)
    {
        var schema = Assert.Single(Protocol.EventSchemas, s => s.Type == type);

        foreach (var name in fields.Split(' ', StringSplitOptions.RemoveEmptyEntries).Concat(["mqtt.client_id", "mqtt.username", "mqtt.protocol_level", "source.ip", "flow.id"]))
        {
            Assert.True(schema.TryGetField(name, out _), $"{type} lacks {name}");
        }

        Assert.Equal("mqtt", schema.Protocol);
    }

    /// <summary>Where the probe can decide: the byte after the connect flags.</summary>
    private static int DecisionLength(byte[] connect)
    {
        Assert.True(SpanReader.TryReadVarInt(connect.AsSpan(1), out _, out var varLength, out _));
        var nameLength = connect[1 + varLength + 1];
        return 1 + varLength + 2 + nameLength + 2;
    }
}
