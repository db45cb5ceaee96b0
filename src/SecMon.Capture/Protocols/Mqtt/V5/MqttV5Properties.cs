namespace SecMon.Capture.Protocols.Mqtt.V5;

/// <summary>
/// The MQTT 5.0 properties SecMon reports (§2.2.2.2), as spans into the parsed buffer. Every other
/// known property is validated (type and encoding) and skipped; an unknown identifier is malformed.
/// </summary>
internal ref struct MqttProperties
{
    /// <summary>0x11 Session Expiry Interval.</summary>
    public long? SessionExpiryInterval;
    /// <summary>0x21 Receive Maximum.</summary>
    public int? ReceiveMaximum;
    /// <summary>0x27 Maximum Packet Size.</summary>
    public long? MaximumPacketSize;
    /// <summary>0x22 Topic Alias Maximum.</summary>
    public int? TopicAliasMaximum;
    /// <summary>0x13 Server Keep Alive (CONNACK): the keep alive the server uses instead of the client's.</summary>
    public int? ServerKeepAlive;
    /// <summary>0x23 Topic Alias.</summary>
    public int? TopicAlias;
    /// <summary>0x02 Message Expiry Interval.</summary>
    public long? MessageExpiryInterval;
    /// <summary>0x15 Authentication Method (valid UTF-8) when <see cref="HasAuthenticationMethod"/>.</summary>
    public ReadOnlySpan<byte> AuthenticationMethod;
    /// <summary>True when 0x15 was present.</summary>
    public bool HasAuthenticationMethod;
    /// <summary>0x12 Assigned Client Identifier when <see cref="HasAssignedClientIdentifier"/>.</summary>
    public ReadOnlySpan<byte> AssignedClientIdentifier;
    /// <summary>True when 0x12 was present.</summary>
    public bool HasAssignedClientIdentifier;
    /// <summary>0x1F Reason String when <see cref="HasReasonString"/>.</summary>
    public ReadOnlySpan<byte> ReasonString;
    /// <summary>True when 0x1F was present.</summary>
    public bool HasReasonString;
    /// <summary>0x03 Content Type when <see cref="HasContentType"/>.</summary>
    public ReadOnlySpan<byte> ContentType;
    /// <summary>True when 0x03 was present.</summary>
    public bool HasContentType;
    /// <summary>0x08 Response Topic when <see cref="HasResponseTopic"/>.</summary>
    public ReadOnlySpan<byte> ResponseTopic;
    /// <summary>True when 0x08 was present.</summary>
    public bool HasResponseTopic;
    /// <summary>Number of 0x26 User Property pairs.</summary>
    public int UserPropertyCount;
}

/// <summary>Reads a 5.0 property list (§2.2.2).</summary>
internal static class MqttV5Properties
{
    /// <summary>
    /// Reads a property list: a Variable Byte Integer length, then identifier/value pairs, each value of its
    /// identifier's type (§2.2.2.2). Strings are validated; an unknown identifier is malformed (there is no way to
    /// know its length). The whole list must have arrived (false with <see cref="SpanReader.Needed"/> otherwise).
    /// </summary>
    public static bool TryRead(scoped ref SpanReader reader, out MqttProperties properties)
    {
        properties = default;
        if (!reader.TryReadVarInt(out var length, "property length") || !reader.TryReadBytes(length, out var block, "properties"))
        {
            return false;
        }

        var r = new SpanReader(block);
        var found = default(MqttProperties);
        while (!r.AtEnd)
        {
            if (!r.TryReadVarInt(out var id, "property identifier") || !ReadProperty(ref r, id, ref found))
            {
                // The block is complete, so an incomplete read cannot happen inside it.
                return r.Error.IsError
                    ? reader.Fail(r.Error)
                    : reader.Fail(MalformedReason.Truncated, "properties", "runs past the end of the property list");
            }
        }

        properties = found;
        return true;
    }

    private static bool ReadProperty(scoped ref SpanReader r, int id, ref MqttProperties p)
    {
        bool ok;
        switch (id)
        {
            case 0x01: // Payload Format Indicator
            case 0x17: // Request Problem Information
            case 0x19: // Request Response Information
            case 0x24: // Maximum QoS
            case 0x25: // Retain Available
            case 0x28: // Wildcard Subscription Available
            case 0x29: // Subscription Identifier Available
            case 0x2A: // Shared Subscription Available
                return r.TryReadByte(out _, "property");
            case 0x02: // Message Expiry Interval
                ok = r.TryReadUInt32BE(out var expiry, "message expiry interval");
                p.MessageExpiryInterval = expiry;
                return ok;
            case 0x11: // Session Expiry Interval
                ok = r.TryReadUInt32BE(out var session, "session expiry interval");
                p.SessionExpiryInterval = session;
                return ok;
            case 0x18: // Will Delay Interval
                return r.TryReadUInt32BE(out _, "will delay interval");
            case 0x27: // Maximum Packet Size
                ok = r.TryReadUInt32BE(out var maxPacket, "maximum packet size");
                p.MaximumPacketSize = maxPacket;
                return ok;
            case 0x13: // Server Keep Alive
                ok = r.TryReadUInt16BE(out var serverKeepAlive, "server keep alive");
                p.ServerKeepAlive = serverKeepAlive;
                return ok;
            case 0x21: // Receive Maximum
                ok = r.TryReadUInt16BE(out var receiveMax, "receive maximum");
                p.ReceiveMaximum = receiveMax;
                return ok;
            case 0x22: // Topic Alias Maximum
                ok = r.TryReadUInt16BE(out var aliasMax, "topic alias maximum");
                p.TopicAliasMaximum = aliasMax;
                return ok;
            case 0x23: // Topic Alias
                ok = r.TryReadUInt16BE(out var alias, "topic alias");
                p.TopicAlias = alias;
                return ok;
            case 0x0B: // Subscription Identifier
                return r.TryReadVarInt(out _, "subscription identifier");
            case 0x03: // Content Type
                return p.HasContentType = MqttDecoder.TryReadString(ref r, "content type", out p.ContentType);
            case 0x08: // Response Topic
                return p.HasResponseTopic = MqttDecoder.TryReadString(ref r, "response topic", out p.ResponseTopic);
            case 0x12: // Assigned Client Identifier
                return p.HasAssignedClientIdentifier = MqttDecoder.TryReadString(ref r, "assigned client identifier", out p.AssignedClientIdentifier);
            case 0x15: // Authentication Method
                return p.HasAuthenticationMethod = MqttDecoder.TryReadString(ref r, "authentication method", out p.AuthenticationMethod);
            case 0x1F: // Reason String
                return p.HasReasonString = MqttDecoder.TryReadString(ref r, "reason string", out p.ReasonString);
            case 0x1A: // Response Information
            case 0x1C: // Server Reference
                return MqttDecoder.TryReadString(ref r, "property", out _);
            case 0x09: // Correlation Data
            case 0x16: // Authentication Data
                return r.TryReadVector16(out _, "property");
            case 0x26: // User Property: a UTF-8 string pair (§1.5.7)
                ok = MqttDecoder.TryReadString(ref r, "user property name", out _) && MqttDecoder.TryReadString(ref r, "user property value", out _);
                if (ok)
                {
                    p.UserPropertyCount++;
                }

                return ok;
            default:
                return r.Fail(MalformedReason.UnknownProperty, null, $"unknown property identifier 0x{id:X2}");
        }
    }
}
