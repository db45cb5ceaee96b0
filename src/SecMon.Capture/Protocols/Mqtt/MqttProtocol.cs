using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// MQTT 3.1 / 3.1.1 / 5.0 over TCP. Recognised from content: a client opens with a CONNECT (3.1.1 §3.1.0
/// [MQTT-3.1.0-1]), whose first bytes are fixed; the port (1883) is only a hint.
/// </summary>
internal sealed class MqttProtocol(MqttOptions? options = null) : IStreamProtocol
{
    /// <summary>MQTT's own limits (message size, topic aliases, requests in flight); defaults documented there.</summary>
    public MqttOptions Options { get; } = options ?? new MqttOptions();

    /// <inheritdoc />
    public string Name => "mqtt";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [1883];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        MqttConnectEvent.SchemaInstance,
        MqttConnAckEvent.SchemaInstance,
        MqttPublishEvent.SchemaInstance,
        MqttPubAckEvent.SchemaInstance,
        MqttPubRecEvent.SchemaInstance,
        MqttPubRelEvent.SchemaInstance,
        MqttPubCompEvent.SchemaInstance,
        MqttSubscribeEvent.SchemaInstance,
        MqttSubAckEvent.SchemaInstance,
        MqttUnsubscribeEvent.SchemaInstance,
        MqttUnsubAckEvent.SchemaInstance,
        MqttPingReqEvent.SchemaInstance,
        MqttPingRespEvent.SchemaInstance,
        MqttDisconnectEvent.SchemaInstance,
        MqttAuthEvent.SchemaInstance,
        MqttMalformedEvent.SchemaInstance,
        MqttAnomalyEvent.SchemaInstance,
    ];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction) =>
        direction == FlowDirection.ToServer ? ProbeConnect(data) : ProbeConnAck(data);

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new MqttSession(flow, services, Options, midStream);

    /// <summary>
    /// Client side: a CONNECT fixed header (0x10, a valid remaining length of at least 12), protocol name
    /// "MQTT" with level 4 or 5, or "MQIsdp" with level 3 (bit 7 of the level, mosquitto's bridge marker, is
    /// allowed), and connect flags with reserved bit 0 clear and will QoS below 3 (3.1.1 §3.1.2). Decides as soon
    /// as a byte contradicts; NeedMoreData until the flags byte.
    /// </summary>
    internal static ProbeResult ProbeConnect(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return ProbeResult.NeedMoreData;
        }

        if (data[0] != 0x10)
        {
            return ProbeResult.NotMine;
        }

        if (!SpanReader.TryReadVarInt(data[1..], out var remaining, out var varLength, out var reason))
        {
            return reason == MalformedReason.None ? ProbeResult.NeedMoreData : ProbeResult.NotMine;
        }

        if (remaining < 12)
        {
            return ProbeResult.NotMine;
        }

        var rest = data[(1 + varLength)..];
        if (rest.IsEmpty)
        {
            return ProbeResult.NeedMoreData;
        }

        if (rest[0] != 0)
        {
            return ProbeResult.NotMine;
        }

        if (rest.Length < 2)
        {
            return ProbeResult.NeedMoreData;
        }

        var name = rest[1] switch
        {
            4 => "MQTT"u8,
            6 => "MQIsdp"u8,
            _ => default,
        };
        if (name.IsEmpty)
        {
            return ProbeResult.NotMine;
        }

        var have = Math.Min(rest.Length - 2, name.Length);
        if (!rest.Slice(2, have).SequenceEqual(name[..have]))
        {
            return ProbeResult.NotMine;
        }

        var levelAt = 2 + name.Length;
        if (rest.Length <= levelAt)
        {
            return ProbeResult.NeedMoreData;
        }

        var level = rest[levelAt] & 0x7F;
        var levelOk = name.Length == 4 ? level is 4 or 5 : level == 3;
        if (!levelOk)
        {
            return ProbeResult.NotMine;
        }

        if (rest.Length <= levelAt + 1)
        {
            return ProbeResult.NeedMoreData;
        }

        var flags = rest[levelAt + 1];
        return (flags & 0x01) == 0 && ((flags >> 3) & 3) != 3 ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    /// <summary>
    /// Server side: a CONNACK (0x20), remaining length 2 (3.x) or 3+ (5.0), acknowledge flags with bits 7-1
    /// clear, and a return / reason code defined for that layout (3.1.1 §3.2, 5.0 §3.2).
    /// </summary>
    internal static ProbeResult ProbeConnAck(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return ProbeResult.NeedMoreData;
        }

        if (data[0] != 0x20)
        {
            return ProbeResult.NotMine;
        }

        if (!SpanReader.TryReadVarInt(data[1..], out var remaining, out var varLength, out var reason))
        {
            return reason == MalformedReason.None ? ProbeResult.NeedMoreData : ProbeResult.NotMine;
        }

        if (remaining < 2)
        {
            return ProbeResult.NotMine;
        }

        var rest = data[(1 + varLength)..];
        if (rest.IsEmpty)
        {
            return ProbeResult.NeedMoreData;
        }

        if ((rest[0] & 0xFE) != 0)
        {
            return ProbeResult.NotMine;
        }

        if (rest.Length < 2)
        {
            return ProbeResult.NeedMoreData;
        }

        return MqttReasonCodes.IsValidConnAck(rest[1], v5Layout: remaining > 2) ? ProbeResult.Mine : ProbeResult.NotMine;
    }
}
