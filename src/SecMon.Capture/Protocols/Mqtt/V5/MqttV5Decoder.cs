using System.Text;

namespace SecMon.Capture.Protocols.Mqtt.V5;

/// <summary>
/// MQTT 5.0 (level 5) packet bodies: reason codes and property lists on most packets (§2.2.2), AUTH, topic
/// aliases. A 5.0 server may still answer a CONNECT in the 3.x form (a two-byte CONNACK refusing a level it does
/// not support, §3.1.2.2): that is read too.
/// </summary>
internal sealed class MqttV5Decoder : MqttDecoder
{
    private MqttV5Decoder()
        : base(MqttVersion.V500, authAllowed: true, dupOnRequestsAllowed: false)
    {
    }

    /// <summary>The decoder.</summary>
    public static MqttV5Decoder Instance { get; } = new();

    /// <inheritdoc />
    public override MqttDecoder Alternate => V3.MqttV3Decoder.V311;

    /// <inheritdoc />
    public override bool IsPlausibleLength(MqttPacketType type, int remainingLength) => type switch
    {
        MqttPacketType.Connect => remainingLength >= 12,
        MqttPacketType.ConnAck => remainingLength >= 2,
        MqttPacketType.Publish => remainingLength >= 3,
        MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp => remainingLength >= 2,
        MqttPacketType.Subscribe => remainingLength >= 6,
        MqttPacketType.SubAck => remainingLength >= 3,
        MqttPacketType.Unsubscribe => remainingLength >= 5,
        MqttPacketType.UnsubAck => remainingLength == 2 || remainingLength >= 4,
        MqttPacketType.PingReq or MqttPacketType.PingResp => remainingLength == 0,
        MqttPacketType.Disconnect or MqttPacketType.Auth => true,
        _ => false,
    };

    /// <summary>§3.2.2: acknowledge flags, reason code, properties (two bytes: the 3.x form, see the class).</summary>
    public override bool TryReadConnAck(ReadOnlySpan<byte> body, out MqttConnAck? connAck, out ParseError error)
    {
        connAck = null;
        var r = new SpanReader(body);
        var v5 = body.Length != 2;
        if (!r.TryReadByte(out var flags, "acknowledge flags") || !r.TryReadByte(out var code, "return code"))
        {
            error = r.Error;
            return false;
        }

        if ((flags & 0xFE) != 0)
        {
            error = new(MalformedReason.BadFlags, "acknowledge flags", "reserved bits 7-1 are set"); // §3.2.2.1
            return false;
        }

        var props = default(MqttProperties);
        if (v5 && !MqttV5Properties.TryRead(ref r, out props))
        {
            error = r.Error;
            return false;
        }

        if (!r.AtEnd)
        {
            error = new(MalformedReason.TrailingBytes, null, "trailing bytes after the CONNACK properties");
            return false;
        }

        error = default;
        connAck = new MqttConnAck
        {
            ReturnCode = code,
            V5Layout = v5,
            SessionPresent = (flags & 1) != 0,
            AssignedClientIdentifier = props.HasAssignedClientIdentifier ? Encoding.UTF8.GetString(props.AssignedClientIdentifier) : null,
            ReasonString = props.HasReasonString ? DecodeBounded(props.ReasonString) : null,
            TopicAliasMaximum = props.TopicAliasMaximum,
            ServerKeepAlive = props.ServerKeepAlive,
        };
        return true;
    }

    /// <summary>§3.3.2: topic name (empty only when a Topic Alias stands for it, §3.3.2.3.4), packet identifier
    /// when QoS &gt; 0, properties.</summary>
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

        if (ok)
        {
            ok = MqttV5Properties.TryRead(ref r, out var props);
            if (ok)
            {
                publish.TopicAlias = props.TopicAlias;
                publish.MessageExpiryInterval = props.MessageExpiryInterval;
                publish.ContentType = props.HasContentType ? Encoding.UTF8.GetString(props.ContentType) : null;
                publish.ResponseTopic = props.HasResponseTopic ? Encoding.UTF8.GetString(props.ResponseTopic) : null;
            }
        }

        if (ok && publish.Topic.IsEmpty && publish.TopicAlias is null)
        {
            ok = r.Fail(MalformedReason.Missing, "topic name", "empty without a topic alias");
        }

        if (ok && publish.TopicAlias == 0)
        {
            ok = r.Fail(MalformedReason.BadValue, "topic alias", "0 is not allowed"); // [MQTT-3.3.2-8]
        }

        return EndPublish(ok, r, remainingLength, ref publish, out error, out needed);
    }

    /// <summary>§3.4.2: packet identifier, then a reason code when the remaining length exceeds 2, then properties
    /// when it exceeds 3.</summary>
    public override bool TryReadPublishAck(ReadOnlySpan<byte> body, out MqttPublishAck ack, out ParseError error)
    {
        ack = default;
        var r = new SpanReader(body);
        if (!r.TryReadUInt16BE(out var packetId, "packet identifier"))
        {
            error = r.Error;
            return false;
        }

        int? reason = null;
        if (!r.AtEnd)
        {
            r.TryReadByte(out var code);
            reason = code;
            if (!r.AtEnd && !MqttV5Properties.TryRead(ref r, out _))
            {
                error = r.Error;
                return false;
            }
        }

        if (!r.AtEnd)
        {
            error = new(MalformedReason.TrailingBytes, null, "trailing bytes after the properties");
            return false;
        }

        error = default;
        ack = new MqttPublishAck(packetId, reason);
        return true;
    }

    /// <summary>§3.8: packet identifier, properties, then (topic filter, options) pairs. Options §3.8.3.1: QoS,
    /// No Local, Retain As Published, Retain Handling (3 is malformed), bits 7-6 reserved.</summary>
    public override bool TryReadSubscribe(ReadOnlySpan<byte> body, out MqttSubscribe? subscribe, out ParseError error)
    {
        subscribe = null;
        var r = new SpanReader(body);
        if (!TryReadIdAndProperties(ref r, out var packetId))
        {
            error = r.Error;
            return false;
        }

        if (r.AtEnd)
        {
            error = new(MalformedReason.Missing, null, "SUBSCRIBE without a topic filter"); // [MQTT-3.8.3-2]
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
                : (options & 0xC0) != 0 ? new(MalformedReason.BadFlags, "subscription options", "reserved bits 7-6 are set")
                : ((options >> 4) & 3) == 3 ? new(MalformedReason.BadValue, "subscription options", "retain handling 3")
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

    /// <summary>§3.9 and §3.11: packet identifier, properties, one reason code per filter.</summary>
    public override bool TryReadSubscribeAck(ReadOnlySpan<byte> body, MqttPacketType type, out MqttSubscribeAck? ack, out ParseError error) =>
        ReadAckCodes(body, type, out ack, out error);

    /// <summary>§3.14.2: an optional reason code, then optional properties.</summary>
    public override bool TryReadDisconnect(ReadOnlySpan<byte> body, out MqttReasonPacket disconnect, out ParseError error) =>
        ReadReasonPacket(body, out disconnect, out error);

    /// <summary>§3.15.2: the shape of DISCONNECT; the Authentication Method is reported.</summary>
    public override bool TryReadAuth(ReadOnlySpan<byte> body, out MqttReasonPacket auth, out ParseError error) =>
        ReadReasonPacket(body, out auth, out error);

    /// <inheritdoc />
    protected override bool TryReadIdAndProperties(scoped ref SpanReader r, out int packetId)
    {
        var ok = r.TryReadUInt16BE(out var id, "packet identifier") && MqttV5Properties.TryRead(ref r, out _);
        packetId = id;
        return ok;
    }

    private static bool ReadReasonPacket(ReadOnlySpan<byte> body, out MqttReasonPacket packet, out ParseError error)
    {
        packet = default;
        error = default;
        if (body.IsEmpty)
        {
            return true;
        }

        var r = new SpanReader(body);
        r.TryReadByte(out var code);
        var props = default(MqttProperties);
        if (!r.AtEnd && (!MqttV5Properties.TryRead(ref r, out props) || !r.AtEnd))
        {
            error = r.Error.IsError ? r.Error : new(MalformedReason.TrailingBytes, null, "trailing bytes after the properties");
            return false;
        }

        packet = new MqttReasonPacket(code, props.HasAuthenticationMethod ? Encoding.UTF8.GetString(props.AuthenticationMethod) : null);
        return true;
    }
}
