using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Mqtt;

/// <summary>
/// The session joins acknowledgments to their requests by packet id (PUBACK/PUBREC to a QoS 1/2 PUBLISH, PUBCOMP to a
/// PUBREL, SUBACK/UNSUBACK to SUBSCRIBE/UNSUBSCRIBE) and reports what does not fit as <c>mqtt.anomaly</c>.
/// </summary>
public sealed class MqttSessionTransactionTests
{
    private const string Connect311 = MqttSessionDecodeTests.Connect311;

    [Fact]
    public void OnData_Qos1PublishThenItsPubAck_NoAnomaly()
    {
        var h = Connected();

        h.Client("32090003612F62000A6869"); // PUBLISH QoS 1, id 10
        h.Server("4002000A"); // PUBACK 10

        Assert.Equal(["mqtt.publish", "mqtt.puback"], Types(h));
    }

    [Fact]
    public void OnData_PubAckOfAnIdNeverPublished_AnomalyNamesTheAcknowledgment()
    {
        var h = Connected();

        h.Client("32090003612F62000A6869"); // PUBLISH QoS 1, id 10
        h.Server("4002000B"); // PUBACK 11: never sent

        Assert.Equal(["mqtt.publish", "mqtt.puback", "mqtt.anomaly"], Types(h));
        var anomaly = h.Events[^1];
        EventText.AssertFields(anomaly, "mqtt.anomaly.kind=unknown_packet_id; mqtt.packet_type=puback; mqtt.packet_id=11; mqtt.client_id=c1; flow.direction=to_client");
        Assert.Same(h.Events[^2].Flow, anomaly.Flow); // the acknowledgment's flow context and packet
        Assert.Equal(h.Events[^2].PacketNumber, anomaly.PacketNumber);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OnData_CaptureOfOneDirection_AcknowledgmentsOfUnseenRequestsAreNoAnomaly(bool clientSide)
    {
        // A mirror copying one direction: the broker's PUBLISHes (or the client's) were sent, never captured.
        var h = new MqttHarness();
        if (clientSide)
        {
            h.Client(Connect311);
            h.Client("4002000A"); // PUBACK 10 of a QoS 1 PUBLISH the broker sent
            h.Client("5002000B"); // PUBREC 11
        }
        else
        {
            h.Server("20020000"); // CONNACK
            h.Server("4002000A"); // PUBACK 10 of a PUBLISH the client sent
            h.Server("90030001" + "00"); // SUBACK 1
        }

        Assert.DoesNotContain(h.Events, e => e.Type == "mqtt.anomaly");
        Assert.Equal(3, h.Events.Count);
    }

    [Fact]
    public void OnData_PubAckTwice_SecondIsAnAnomaly()
    {
        var h = Connected();

        h.Client("32090003612F62000A6869");
        h.Server("4002000A");
        h.Server("4002000A");

        Assert.Equal(["mqtt.publish", "mqtt.puback", "mqtt.puback", "mqtt.anomaly"], Types(h));
    }

    [Fact]
    public void OnData_PubAckForAQos2Publish_IsAnAnomaly()
    {
        // QoS 2 is answered by PUBREC (3.1.1 §4.3.3); a PUBACK with its id does not acknowledge it.
        var h = Connected();

        h.Client("34090003612F62000A6869"); // PUBLISH QoS 2, id 10
        h.Server("4002000A");

        Assert.Equal("mqtt.anomaly", h.Events[^1].Type);
    }

    [Fact]
    public void OnData_Qos2ExchangeServerToClient_NoAnomaly()
    {
        var h = Connected();

        h.Server("34090003612F62000B6869"); // PUBLISH QoS 2, id 11, to the client
        h.Client("5002000B"); // PUBREC
        h.Server("6202000B"); // PUBREL
        h.Client("7002000B"); // PUBCOMP

        Assert.Equal(["mqtt.publish", "mqtt.pubrec", "mqtt.pubrel", "mqtt.pubcomp"], Types(h));
    }

    [Fact]
    public void OnData_PubCompWithoutPubRel_IsAnAnomaly()
    {
        var h = Connected();

        h.Client("7002000B");

        Assert.Equal(["mqtt.pubcomp", "mqtt.anomaly"], Types(h));
        EventText.AssertFields(h.Events[^1], "mqtt.packet_type=pubcomp; mqtt.packet_id=11; flow.direction=to_server");
    }

    [Fact]
    public void OnData_PubRelWithoutPubRec_NotAnAnomaly()
    {
        // A client resends PUBREL for a QoS 2 exchange begun on an earlier connection (5.0 §4.4).
        var h = Connected();

        h.Client("6202000B");

        Assert.Equal(["mqtt.pubrel"], Types(h));
    }

    [Theory]
    [InlineData("820C00010003612F2301000162 02", "9004000101 80", false)] // SUBSCRIBE 1, SUBACK 1
    [InlineData("820C00010003612F2301000162 02", "9004000201 80", true)] // SUBACK 2
    [InlineData("A20700030003612F23", "B0020003", false)] // UNSUBSCRIBE 3, UNSUBACK 3
    [InlineData("A20700030003612F23", "B0020004", true)]
    [InlineData("820C00010003612F2301000162 02", "B0020001", true)] // an UNSUBACK does not answer a SUBSCRIBE
    public void OnData_SubscribeAcknowledgments_JoinedById(string request, string response, bool anomaly)
    {
        var h = Connected();

        h.Client(request);
        h.Server(response);

        Assert.Equal(anomaly, h.Events.Any(e => e.Type == "mqtt.anomaly"));
        Assert.Equal(2, h.Events.Count(e => e.Type != "mqtt.anomaly"));
    }

    [Fact]
    public void OnData_SecondConnect_AnomalyAfterItsEvent()
    {
        var h = new MqttHarness();

        h.Client(Connect311);
        h.Server("20020000");
        h.Client(Connect311);

        Assert.Equal(["mqtt.connect", "mqtt.connack", "mqtt.connect", "mqtt.anomaly"], Types(h));
        EventText.AssertFields(h.Events[^1], "mqtt.anomaly.kind=second_connect; mqtt.packet_type=connect; mqtt.packet_id=(missing); flow.direction=to_server");
    }

    [Fact]
    public void OnData_MidStreamSession_UnknownIdsAreNotAnomalies()
    {
        // The requests before the capture started are unknown.
        var h = new MqttHarness(midStream: true);

        h.Client("C000 C000"); // two PINGREQs: framing found
        h.Server("4002000A 4002000B");

        Assert.DoesNotContain(h.Events, e => e.Type == "mqtt.anomaly");
        Assert.Equal(2, h.Events.Count(e => e.Type == "mqtt.puback"));
    }

    [Fact]
    public void OnGap_InTheRequesterDirection_UnknownIdsNoLongerAnomalies()
    {
        var h = Connected();
        h.Client("32090003612F62000A6869");

        h.Gap(FlowDirection.ToServer, 100); // a PUBLISH may be in the hole
        h.Server("4002000A 4002000C");

        Assert.DoesNotContain(h.Events, e => e.Type == "mqtt.anomaly");
    }

    [Fact]
    public void OnData_ManyInFlightAnsweredOutOfOrder_NoAnomaly()
    {
        // More than the 4 kept inline: the overflow array and the swap on removal.
        var h = Connected();
        var ids = Enumerable.Range(1, 9).ToArray();
        foreach (var id in ids)
        {
            h.Send(FlowDirection.ToServer, MqttSessionTests.Publish("t", qos: 1, packetId: id, payloadSize: 1, v5: false));
        }

        foreach (var id in new[] { 5, 1, 9, 2, 8, 3, 7, 4, 6 })
        {
            h.Server($"400200{id:X2}");
        }

        Assert.DoesNotContain(h.Events, e => e.Type == "mqtt.anomaly");
        h.Server("40020005"); // all answered: another is unknown
        Assert.Equal("mqtt.anomaly", h.Events[^1].Type);
    }

    [Fact]
    public void OnData_MoreInFlightThanTheBound_StopsCheckingThatDirection()
    {
        var h = new MqttHarness(maxInFlight: 8);
        h.Client(Connect311);
        for (var id = 1; id <= 9; id++)
        {
            h.Send(FlowDirection.ToServer, MqttSessionTests.Publish("t", qos: 1, packetId: id, payloadSize: 1, v5: false));
        }

        h.Server("40020063"); // 99: never sent, but the 9th request was no longer tracked

        Assert.DoesNotContain(h.Events, e => e.Type == "mqtt.anomaly");
        Assert.Equal(9, h.Events.Count(e => e.Type == "mqtt.publish"));
    }

    [Fact]
    public void OnData_RetransmittedPublishWithDup_TrackedOnce()
    {
        var h = Connected();

        h.Client("32090003612F62000A6869");
        h.Client("3A090003612F62000A6869"); // the same, DUP set
        h.Server("4002000A");
        h.Server("4002000A");

        Assert.Single(h.Events, e => e.Type == "mqtt.anomaly");
    }

    [Fact]
    public void Schemas_AnomalyDeclaredForRules()
    {
        var schema = Assert.Single(ProtocolCatalogue.Shipped.EventSchemas, s => s.Type == "mqtt.anomaly");

        Assert.True(schema.TryGetField("mqtt.anomaly.kind", out _));
        Assert.Equal("mqtt", schema.Protocol);
    }

    private static MqttHarness Connected()
    {
        var h = new MqttHarness();
        h.Client(Connect311);
        h.Server("20020000");
        h.Events.Clear();
        return h;
    }

    private static List<string> Types(MqttHarness h) => [.. h.Events.Select(e => e.Type)];
}
