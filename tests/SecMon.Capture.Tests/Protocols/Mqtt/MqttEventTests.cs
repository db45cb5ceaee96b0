using SecMon.Capture.Protocols.Mqtt;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Mqtt;

public sealed class MqttEventTests
{
    [Fact]
    public void ClientId_HeldOnTheEvent_AgreesWithTheSessionFieldsHoweverSet()
    {
        // The event keeps its own copy of the client id (the rules read it on nearly every event); every way of
        // setting the session fields must keep the two in step.
        var flow = FakeFlows.Create();
        var session = new MqttSessionFields { ClientId = "sensor-1", Username = "alice", ProtocolLevel = 4 };

        var fromSession = new MqttPingReqEvent { Flow = flow, TimestampMicros = 1, PacketNumber = 1, Session = session };
        var set = new MqttPingReqEvent { Flow = flow, TimestampMicros = 1, PacketNumber = 1, ClientId = "sensor-2", Username = "bob" };
        var replaced = fromSession with { Session = new MqttSessionFields { ClientId = "sensor-3" } };
        var renamed = fromSession with { ClientId = "sensor-4" };
        var none = new MqttPingReqEvent { Flow = flow, TimestampMicros = 1, PacketNumber = 1, Session = null! };

        Assert.Equal(("sensor-1", "sensor-1", "alice"), (fromSession.ClientId, fromSession.Session.ClientId, fromSession.Username));
        Assert.Equal(("sensor-2", "sensor-2", "bob"), (set.ClientId, set.Session.ClientId, set.Username));
        Assert.Equal(("sensor-3", "sensor-3", null), (replaced.ClientId, replaced.Session.ClientId, replaced.Username));
        Assert.Equal(("sensor-4", "sensor-4", "alice"), (renamed.ClientId, renamed.Session.ClientId, renamed.Username));
        Assert.Null(none.ClientId);
        Assert.Same(MqttSessionFields.None, none.Session);
        Assert.Equal("sensor-4", MqttPingReqEvent.SchemaInstance.Fields.Single(f => f.Name == "mqtt.client_id").Read(renamed).Text);
    }
}
