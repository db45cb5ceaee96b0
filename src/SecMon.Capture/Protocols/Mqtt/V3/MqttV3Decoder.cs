namespace SecMon.Capture.Protocols.Mqtt.V3;

/// <summary>
/// MQTT 3.1 (level 3, <c>MQIsdp</c>) and 3.1.1 (level 4) packet bodies. The two differ only where 3.1 was looser:
/// DUP on resent PUBREL, SUBSCRIBE and UNSUBSCRIBE (3.1 §2.1), and a reserved byte where 3.1.1 has the CONNACK's
/// Session Present flag.
/// </summary>
internal sealed class MqttV3Decoder : MqttDecoder
{
    private readonly bool _v31;

    private MqttV3Decoder(MqttVersion version)
        : base(version, authAllowed: false, dupOnRequestsAllowed: version == MqttVersion.V310) =>
        _v31 = version == MqttVersion.V310;

    /// <summary>MQTT 3.1.</summary>
    public static MqttV3Decoder V31 { get; } = new(MqttVersion.V310);

    /// <summary>MQTT 3.1.1.</summary>
    public static MqttV3Decoder V311 { get; } = new(MqttVersion.V311);

    /// <inheritdoc />
    public override MqttDecoder Alternate => V5.MqttV5Decoder.Instance;

    /// <inheritdoc />
    public override bool IsPlausibleLength(MqttPacketType type, int remainingLength) => type switch
    {
        MqttPacketType.Connect => remainingLength >= 12,
        MqttPacketType.ConnAck => remainingLength == 2,
        MqttPacketType.Publish => remainingLength >= 3,
        MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp => remainingLength == 2,
        MqttPacketType.Subscribe => remainingLength >= 6,
        MqttPacketType.SubAck => remainingLength >= 3,
        MqttPacketType.Unsubscribe => remainingLength >= 5,
        MqttPacketType.UnsubAck => remainingLength == 2,
        MqttPacketType.PingReq or MqttPacketType.PingResp or MqttPacketType.Disconnect => remainingLength == 0,
        _ => false,
    };

    /// <summary>3.1.1 §3.2.2: acknowledge flags (Session Present; in 3.1 a reserved byte) and a return code.</summary>
    public override bool TryReadConnAck(ReadOnlySpan<byte> body, out MqttConnAck? connAck, out ParseError error)
    {
        connAck = null;
        if (body.Length != 2)
        {
            error = new(MalformedReason.BadLength, null, "CONNACK remaining length must be 2 before MQTT 5.0");
            return false;
        }

        var flags = body[0];
        bool? sessionPresent = null;
        if (!_v31)
        {
            if ((flags & 0xFE) != 0)
            {
                error = new(MalformedReason.BadFlags, "acknowledge flags", "reserved bits 7-1 are set"); // [MQTT-3.2.2-1]
                return false;
            }

            sessionPresent = (flags & 1) != 0;
        }

        error = default;
        connAck = new MqttConnAck { ReturnCode = body[1], V5Layout = false, SessionPresent = sessionPresent };
        return true;
    }

    /// <summary>3.1.1 §3.3.2: topic name, then the packet identifier when QoS &gt; 0.</summary>
    public override bool TryReadPublish(ReadOnlySpan<byte> available, int remainingLength, byte flags, out MqttPublish publish, out ParseError error, out int needed)
    {
        publish = default;
        var r = new SpanReader(available, remainingLength);
        publish.Qos = (flags >> 1) & 3;
        publish.Retain = (flags & 1) != 0;
        publish.Dup = (flags & 8) != 0;
        var ok = TryReadString(ref r, "topic name", out publish.Topic);
        if (ok && publish.Qos > 0)
        {
            ok = r.TryReadUInt16BE(out var packetId, "packet identifier");
            publish.PacketId = packetId;
        }

        if (ok && publish.Topic.IsEmpty)
        {
            ok = r.Fail(MalformedReason.Missing, "topic name", "empty"); // [MQTT-4.7.3-1]
        }

        return EndPublish(ok, r, remainingLength, ref publish, out error, out needed);
    }

    /// <summary>3.1.1 §3.4-3.7: exactly a packet identifier.</summary>
    public override bool TryReadPublishAck(ReadOnlySpan<byte> body, out MqttPublishAck ack, out ParseError error)
    {
        ack = default;
        var r = new SpanReader(body);
        if (!r.TryReadUInt16BE(out var packetId, "packet identifier"))
        {
            error = r.Error;
            return false;
        }

        if (!r.AtEnd)
        {
            error = new(MalformedReason.BadLength, null, "remaining length must be 2 before MQTT 5.0");
            return false;
        }

        error = default;
        ack = new MqttPublishAck(packetId, null);
        return true;
    }

    /// <summary>3.1.1 §3.8: packet identifier, then (topic filter, requested QoS) pairs; bits 7-2 of each QoS
    /// byte are reserved [MQTT-3-8.3-4].</summary>
    public override bool TryReadSubscribe(ReadOnlySpan<byte> body, out MqttSubscribe? subscribe, out ParseError error)
    {
        subscribe = null;
        var r = new SpanReader(body);
        if (!r.TryReadUInt16BE(out var packetId, "packet identifier"))
        {
            error = r.Error;
            return false;
        }

        if (r.AtEnd)
        {
            error = new(MalformedReason.Missing, null, "SUBSCRIBE without a topic filter"); // [MQTT-3.8.3-3]
            return false;
        }

        var filters = new List<string>();
        var qos = new List<long>();
        while (!r.AtEnd)
        {
            if (!TryReadFilter(ref r, out var filter) || !r.TryReadByte(out var options, "subscription options"))
            {
                error = r.Error;
                return false;
            }

            error = (options & 3) == 3 ? new(MalformedReason.BadValue, "subscription options", "QoS 3")
                : (options & 0xFC) != 0 ? new(MalformedReason.BadFlags, "subscription options", "reserved bits 7-2 are set")
                : default;
            if (error.IsError)
            {
                return false;
            }

            filters.Add(filter);
            qos.Add(options & 3);
        }

        error = default;
        subscribe = new MqttSubscribe(packetId, filters, qos);
        return true;
    }

    /// <inheritdoc />
    public override bool TryReadUnsubscribe(ReadOnlySpan<byte> body, out MqttUnsubscribe? unsubscribe, out ParseError error) =>
        ReadUnsubscribe(body, out unsubscribe, out error);

    /// <summary>SUBACK (3.1.1 §3.9: packet identifier, a return code per filter) or UNSUBACK (§3.11: packet
    /// identifier only).</summary>
    public override bool TryReadSubscribeAck(ReadOnlySpan<byte> body, MqttPacketType type, out MqttSubscribeAck? ack, out ParseError error)
    {
        if (type == MqttPacketType.SubAck)
        {
            return ReadAckCodes(body, type, out ack, out error);
        }

        ack = null;
        var r = new SpanReader(body);
        if (!r.TryReadUInt16BE(out var id, "packet identifier") || !r.AtEnd)
        {
            error = r.Error.IsError ? r.Error : new(MalformedReason.BadLength, null, "remaining length must be 2 before MQTT 5.0");
            return false;
        }

        error = default;
        ack = new MqttSubscribeAck(id, null);
        return true;
    }

    /// <summary>3.1.1 §3.14: no variable header, no payload.</summary>
    public override bool TryReadDisconnect(ReadOnlySpan<byte> body, out MqttReasonPacket disconnect, out ParseError error)
    {
        disconnect = default;
        if (!body.IsEmpty)
        {
            error = new(MalformedReason.BadLength, null, "remaining length must be 0 before MQTT 5.0");
            return false;
        }

        error = default;
        return true;
    }

    /// <summary>There is no AUTH before 5.0 (the fixed header already refuses type 15 once the level is known;
    /// this answers while a session only guesses it).</summary>
    public override bool TryReadAuth(ReadOnlySpan<byte> body, out MqttReasonPacket auth, out ParseError error)
    {
        auth = default;
        error = new(MalformedReason.UnknownType, null, "AUTH before MQTT 5.0");
        return false;
    }

    /// <inheritdoc />
    protected override bool TryReadIdAndProperties(scoped ref SpanReader r, out int packetId)
    {
        var ok = r.TryReadUInt16BE(out var id, "packet identifier");
        packetId = id;
        return ok;
    }
}
