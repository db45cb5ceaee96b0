using System.Text;
using SecMon.Core;

namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// Stateless span parser for MQTT 3.1 (MQIsdp, level 3), 3.1.1 (level 4) and 5.0 (level 5) control packets.
/// Every method returns <see cref="MqttStatus"/> and, when malformed, a reason; none throws on hostile input.
/// Body parsers take the packet body (the bytes after the fixed header, exactly remaining-length long) except
/// <see cref="TryReadPublish"/>, which accepts a prefix so a PUBLISH payload never has to be buffered.
/// </summary>
internal static class MqttParser
{
    /// <summary>Largest remaining length a 4-byte Variable Byte Integer can carry (3.1.1 §2.2.3, 5.0 §1.5.5).</summary>
    public const int MaxRemainingLength = 268_435_455;

    /// <summary>Longest fixed header: 1 type byte + 4 length bytes.</summary>
    public const int MaxFixedHeaderLength = 5;

    /// <summary>Reason strings (free text chosen by the peer) are cut to this many characters.</summary>
    public const int MaxReasonStringChars = 256;

    private const string VarIntTooLong = "variable byte integer longer than 4 bytes";
    private const string VarIntOverlong = "variable byte integer not minimally encoded";

    /// <summary>
    /// Reads a Variable Byte Integer: 7 bits per byte, least significant first, bit 7 = continuation, at most
    /// 4 bytes (3.1.1 §2.2.3, 5.0 §1.5.5). A non-minimal encoding (a trailing 0x00 continuation byte) is
    /// malformed: 5.0 requires the minimal form [MQTT-1.5.5-1] and 3.1.1's encoding algorithm only produces it,
    /// so accepting another would let two parsers disagree on where a packet ends. Allocation-free (the probe uses it).
    /// </summary>
    public static MqttStatus TryReadVarInt(ReadOnlySpan<byte> data, out int value, out int length, out string? error)
    {
        value = 0;
        length = 0;
        error = null;
        var result = 0;
        var shift = 0;
        for (var i = 0; i < 4; i++)
        {
            if (i >= data.Length)
            {
                return MqttStatus.NeedMoreData;
            }

            var b = data[i];
            result |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (i > 0 && b == 0)
                {
                    error = VarIntOverlong;
                    return MqttStatus.Malformed;
                }

                value = result;
                length = i + 1;
                return MqttStatus.Ok;
            }

            shift += 7;
        }

        error = VarIntTooLong;
        return MqttStatus.Malformed;
    }

    /// <summary>
    /// Reads the fixed header (3.1.1 §2.2, 5.0 §2.1.1): type, flags checked against the per-type table
    /// (3.1.1 §2.2.2 Table 2.2, 5.0 §2.1.3 Table 2-2), remaining length. <paramref name="version"/> is the level
    /// known from CONNECT (or <see cref="MqttVersion.Unknown"/>): it decides whether type 15 (AUTH, 5.0 only) is
    /// allowed and whether PUBREL/SUBSCRIBE/UNSUBSCRIBE may carry DUP (3.1 §2.1 allowed it on resends).
    /// </summary>
    public static MqttStatus TryReadFixedHeader(ReadOnlySpan<byte> data, MqttVersion version, out MqttFixedHeader header, out string? error)
    {
        header = default;
        error = null;
        if (data.IsEmpty)
        {
            return MqttStatus.NeedMoreData;
        }

        var type = (MqttPacketType)(data[0] >> 4);
        var flags = (byte)(data[0] & 0x0F);
        error = CheckFlags(type, flags, version);
        if (error is not null)
        {
            return MqttStatus.Malformed;
        }

        var s = TryReadVarInt(data[1..], out var remaining, out var length, out error);
        if (s != MqttStatus.Ok)
        {
            if (s == MqttStatus.Malformed)
            {
                error = "remaining length: " + error;
            }

            return s;
        }

        header = new MqttFixedHeader(type, flags, remaining, 1 + length);
        return MqttStatus.Ok;
    }

    /// <summary>Null when the flags are valid for the type, else why not (allocation-free).</summary>
    public static string? CheckFlags(MqttPacketType type, byte flags, MqttVersion version) => type switch
    {
        MqttPacketType.Reserved => "reserved packet type 0",
        MqttPacketType.Auth when version is MqttVersion.V310 or MqttVersion.V311 => "packet type 15 (AUTH) is reserved before MQTT 5.0",
        // PUBLISH flags are DUP, QoS (2 bits), RETAIN; QoS 3 is malformed (3.1.1 §3.3.1.2 [MQTT-3.3.1-4], 5.0 §3.3.1.2).
        MqttPacketType.Publish => ((flags >> 1) & 3) == 3 ? "PUBLISH with QoS 3" : null,
        // PUBREL, SUBSCRIBE, UNSUBSCRIBE: 0010 (3.1.1 [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]).
        MqttPacketType.PubRel or MqttPacketType.Subscribe or MqttPacketType.Unsubscribe =>
            flags == 0x2 || (flags == 0xA && version == MqttVersion.V310) ? null : "reserved fixed-header flags must be 0010",
        _ => flags == 0 ? null : "reserved fixed-header flags must be 0000",
    };

    /// <summary>Upper-case packet type name, as in the specifications (CONNECT, PUBLISH...).</summary>
    public static string TypeName(MqttPacketType type) => type switch
    {
        MqttPacketType.Connect => "CONNECT",
        MqttPacketType.ConnAck => "CONNACK",
        MqttPacketType.Publish => "PUBLISH",
        MqttPacketType.PubAck => "PUBACK",
        MqttPacketType.PubRec => "PUBREC",
        MqttPacketType.PubRel => "PUBREL",
        MqttPacketType.PubComp => "PUBCOMP",
        MqttPacketType.Subscribe => "SUBSCRIBE",
        MqttPacketType.SubAck => "SUBACK",
        MqttPacketType.Unsubscribe => "UNSUBSCRIBE",
        MqttPacketType.UnsubAck => "UNSUBACK",
        MqttPacketType.PingReq => "PINGREQ",
        MqttPacketType.PingResp => "PINGRESP",
        MqttPacketType.Disconnect => "DISCONNECT",
        MqttPacketType.Auth => "AUTH",
        _ => "RESERVED",
    };

    /// <summary>
    /// Reads a 5.0 property list (§2.2.2): a Variable Byte Integer length, then identifier/value pairs, each value
    /// of its identifier's type (§2.2.2.2). Strings are validated; an unknown identifier is malformed (there is no
    /// way to know its length). The whole list must be available (NeedMoreData otherwise).
    /// </summary>
    public static MqttStatus TryReadProperties(scoped ref MqttReader reader, out MqttProperties properties)
    {
        properties = default;
        var s = reader.ReadVarInt("property length", out var length);
        if (s != MqttStatus.Ok)
        {
            return s;
        }

        s = reader.Ensure(length, "properties");
        if (s != MqttStatus.Ok)
        {
            return s;
        }

        var block = reader.Take(length);
        var r = new MqttReader(block);
        var found = default(MqttProperties);
        while (!r.AtEnd)
        {
            s = r.ReadVarInt("property identifier", out var id);
            if (s == MqttStatus.Ok)
            {
                s = ReadProperty(ref r, id, ref found);
            }

            if (s != MqttStatus.Ok)
            {
                // The block is complete, so NeedMoreData cannot happen inside it.
                return reader.Fail(r.Error ?? "properties: runs past the end of the property list");
            }
        }

        properties = found;
        return MqttStatus.Ok;
    }

    private static MqttStatus ReadProperty(scoped ref MqttReader r, int id, ref MqttProperties p)
    {
        MqttStatus s;
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
                return r.ReadByte("property", out _);
            case 0x02: // Message Expiry Interval
                s = r.ReadUInt32("message expiry interval", out var expiry);
                p.MessageExpiryInterval = expiry;
                return s;
            case 0x11: // Session Expiry Interval
                s = r.ReadUInt32("session expiry interval", out var session);
                p.SessionExpiryInterval = session;
                return s;
            case 0x18: // Will Delay Interval
                return r.ReadUInt32("will delay interval", out _);
            case 0x27: // Maximum Packet Size
                s = r.ReadUInt32("maximum packet size", out var maxPacket);
                p.MaximumPacketSize = maxPacket;
                return s;
            case 0x13: // Server Keep Alive
                return r.ReadUInt16("server keep alive", out _);
            case 0x21: // Receive Maximum
                s = r.ReadUInt16("receive maximum", out var receiveMax);
                p.ReceiveMaximum = receiveMax;
                return s;
            case 0x22: // Topic Alias Maximum
                s = r.ReadUInt16("topic alias maximum", out var aliasMax);
                p.TopicAliasMaximum = aliasMax;
                return s;
            case 0x23: // Topic Alias
                s = r.ReadUInt16("topic alias", out var alias);
                p.TopicAlias = alias;
                return s;
            case 0x0B: // Subscription Identifier
                return r.ReadVarInt("subscription identifier", out _);
            case 0x03: // Content Type
                s = r.ReadString("content type", out p.ContentType);
                p.HasContentType = s == MqttStatus.Ok;
                return s;
            case 0x08: // Response Topic
                s = r.ReadString("response topic", out p.ResponseTopic);
                p.HasResponseTopic = s == MqttStatus.Ok;
                return s;
            case 0x12: // Assigned Client Identifier
                s = r.ReadString("assigned client identifier", out p.AssignedClientIdentifier);
                p.HasAssignedClientIdentifier = s == MqttStatus.Ok;
                return s;
            case 0x15: // Authentication Method
                s = r.ReadString("authentication method", out p.AuthenticationMethod);
                p.HasAuthenticationMethod = s == MqttStatus.Ok;
                return s;
            case 0x1F: // Reason String
                s = r.ReadString("reason string", out p.ReasonString);
                p.HasReasonString = s == MqttStatus.Ok;
                return s;
            case 0x1A: // Response Information
            case 0x1C: // Server Reference
                return r.ReadString("property", out _);
            case 0x09: // Correlation Data
            case 0x16: // Authentication Data
                return r.ReadBinary("property", out _);
            case 0x26: // User Property: a UTF-8 string pair (§1.5.7)
                s = r.ReadString("user property name", out _);
                if (s == MqttStatus.Ok)
                {
                    s = r.ReadString("user property value", out _);
                }

                if (s == MqttStatus.Ok)
                {
                    p.UserPropertyCount++;
                }

                return s;
            default:
                return r.Fail($"unknown property identifier 0x{id:X2}");
        }
    }

    /// <summary>
    /// Reads a CONNECT body (3.1 §3.1, 3.1.1 §3.1, 5.0 §3.1). The password is never kept: only its length and,
    /// when <paramref name="hasher"/> is given, its keyed hash.
    /// </summary>
    public static MqttStatus TryReadConnect(ReadOnlySpan<byte> body, SecretHasher? hasher, out MqttConnect? connect, out string? error)
    {
        connect = null;
        var r = new MqttReader(body);
        var s = ReadConnect(ref r, hasher, out connect);
        error = s == MqttStatus.Ok ? null : r.Error;
        return s;
    }

    private static MqttStatus ReadConnect(scoped ref MqttReader r, SecretHasher? hasher, out MqttConnect? connect)
    {
        connect = null;
        var s = r.ReadString("protocol name", out var name);
        if (s != MqttStatus.Ok)
        {
            return s;
        }

        string protocolName;
        if (name.SequenceEqual("MQTT"u8))
        {
            protocolName = "MQTT";
        }
        else if (name.SequenceEqual("MQIsdp"u8))
        {
            protocolName = "MQIsdp";
        }
        else
        {
            return r.Fail("protocol name: neither MQTT nor MQIsdp");
        }

        if ((s = r.ReadByte("protocol level", out var levelByte)) != MqttStatus.Ok
            || (s = r.ReadByte("connect flags", out var flags)) != MqttStatus.Ok
            || (s = r.ReadUInt16("keep alive", out var keepAlive)) != MqttStatus.Ok)
        {
            return s;
        }

        // Bit 7 of the level is mosquitto's bridge marker ("try_private"); the level is the low 7 bits.
        var level = levelByte & 0x7F;
        var version = level switch
        {
            3 => MqttVersion.V310,
            5 => MqttVersion.V500,
            _ => MqttVersion.V311, // 4, or a level no server accepts: the 3.1.1 layout is the best reading.
        };

        // Connect flags (3.1.1 §3.1.2.3, 5.0 §3.1.2.3).
        if ((flags & 0x01) != 0)
        {
            return r.Fail("connect flags: reserved bit 0 is set"); // [MQTT-3.1.2-3]
        }

        var willFlag = (flags & 0x04) != 0;
        var willQos = (flags >> 3) & 3;
        var willRetain = (flags & 0x20) != 0;
        var passwordFlag = (flags & 0x40) != 0;
        var usernameFlag = (flags & 0x80) != 0;
        if (willQos == 3)
        {
            return r.Fail("connect flags: will QoS 3"); // [MQTT-3.1.2-14]
        }

        if (!willFlag && (willQos != 0 || willRetain))
        {
            return r.Fail("connect flags: will QoS or will retain set without the will flag"); // [MQTT-3.1.2-13], [MQTT-3.1.2-15]
        }

        if (version == MqttVersion.V311 && passwordFlag && !usernameFlag)
        {
            return r.Fail("connect flags: password flag without user name flag"); // 3.1.1 [MQTT-3.1.2-22]; 5.0 allows it
        }

        var props = default(MqttProperties);
        if (version == MqttVersion.V500 && (s = TryReadProperties(ref r, out props)) != MqttStatus.Ok)
        {
            return s;
        }

        if ((s = r.ReadString("client identifier", out var clientId)) != MqttStatus.Ok)
        {
            return s;
        }

        string? willTopic = null;
        int? willPayloadSize = null;
        if (willFlag)
        {
            if (version == MqttVersion.V500 && (s = TryReadProperties(ref r, out _)) != MqttStatus.Ok)
            {
                return s;
            }

            if ((s = r.ReadString("will topic", out var topic)) != MqttStatus.Ok
                || (s = r.ReadBinary("will payload", out var willPayload)) != MqttStatus.Ok)
            {
                return s;
            }

            willTopic = Encoding.UTF8.GetString(topic);
            willPayloadSize = willPayload.Length;
        }

        string? username = null;
        if (usernameFlag)
        {
            if ((s = r.ReadString("user name", out var user)) != MqttStatus.Ok)
            {
                return s;
            }

            username = Encoding.UTF8.GetString(user);
        }

        int? passwordLength = null;
        string? passwordHash = null;
        if (passwordFlag)
        {
            // Binary Data (3.1.1 §3.1.3.5): not decoded, not kept; only its length and keyed hash leave this method.
            if ((s = r.ReadBinary("password", out var password)) != MqttStatus.Ok)
            {
                return s;
            }

            passwordLength = password.Length;
            passwordHash = hasher?.Hash(password);
        }

        if (!r.AtEnd)
        {
            return r.Fail("trailing bytes after the CONNECT payload");
        }

        connect = new MqttConnect
        {
            ProtocolName = protocolName,
            ProtocolLevel = level,
            Bridge = (levelByte & 0x80) != 0,
            Version = version,
            CleanStart = (flags & 0x02) != 0,
            KeepAlive = keepAlive,
            ClientId = clientId.IsEmpty ? "" : Encoding.UTF8.GetString(clientId),
            WillPresent = willFlag,
            WillTopic = willTopic,
            WillQos = willFlag ? willQos : null,
            WillRetain = willFlag ? willRetain : null,
            WillPayloadSize = willPayloadSize,
            Username = username,
            PasswordPresent = passwordFlag,
            PasswordLength = passwordLength,
            PasswordHash = passwordHash,
            SessionExpiryInterval = props.SessionExpiryInterval,
            ReceiveMaximum = props.ReceiveMaximum,
            MaximumPacketSize = props.MaximumPacketSize,
            TopicAliasMaximum = props.TopicAliasMaximum,
            AuthenticationMethod = props.HasAuthenticationMethod ? Encoding.UTF8.GetString(props.AuthenticationMethod) : null,
            UserPropertyCount = version == MqttVersion.V500 ? props.UserPropertyCount : null,
        };
        return MqttStatus.Ok;
    }

    /// <summary>
    /// Reads a CONNACK body. Two bytes is the 3.x layout (3.1.1 §3.2.2; a 5.0 server also answers a CONNECT of a
    /// level it does not support that way, 5.0 §3.1.2.2); three or more is the 5.0 layout (flags, reason code,
    /// properties, §3.2.2), valid only when <paramref name="version"/> is 5.0.
    /// </summary>
    public static MqttStatus TryReadConnAck(ReadOnlySpan<byte> body, MqttVersion version, out MqttConnAck? connAck, out string? error)
    {
        connAck = null;
        error = null;
        var r = new MqttReader(body);
        var v5 = body.Length != 2;
        if (v5 && version != MqttVersion.V500)
        {
            error = "CONNACK remaining length must be 2 before MQTT 5.0";
            return MqttStatus.Malformed;
        }

        if (r.ReadByte("acknowledge flags", out var flags) != MqttStatus.Ok || r.ReadByte("return code", out var code) != MqttStatus.Ok)
        {
            error = r.Error;
            return MqttStatus.Malformed;
        }

        // 3.1 had a reserved byte here; 3.1.1 and 5.0 keep bits 7-1 reserved (3.1.1 [MQTT-3.2.2-1], 5.0 §3.2.2.1).
        bool? sessionPresent = null;
        if (version != MqttVersion.V310)
        {
            if ((flags & 0xFE) != 0)
            {
                error = "acknowledge flags: reserved bits 7-1 are set";
                return MqttStatus.Malformed;
            }

            sessionPresent = (flags & 1) != 0;
        }

        var props = default(MqttProperties);
        if (v5 && (TryReadProperties(ref r, out props) != MqttStatus.Ok || !r.AtEnd))
        {
            error = r.Error ?? "trailing bytes after the CONNACK properties";
            return MqttStatus.Malformed;
        }

        connAck = new MqttConnAck
        {
            ReturnCode = code,
            V5Layout = v5,
            SessionPresent = sessionPresent,
            AssignedClientIdentifier = props.HasAssignedClientIdentifier ? Encoding.UTF8.GetString(props.AssignedClientIdentifier) : null,
            ReasonString = props.HasReasonString ? DecodeBounded(props.ReasonString) : null,
            TopicAliasMaximum = props.TopicAliasMaximum,
        };
        return MqttStatus.Ok;
    }

    /// <summary>
    /// Reads a PUBLISH variable header (3.1.1 §3.3.2, 5.0 §3.3.2) from the available prefix of its body:
    /// topic name, packet identifier when QoS &gt; 0, 5.0 properties. The payload is only measured
    /// (remaining length minus the variable header) and never read. Returns NeedMoreData with
    /// <paramref name="needed"/> = body bytes required when the prefix ends inside the variable header.
    /// </summary>
    public static MqttStatus TryReadPublish(ReadOnlySpan<byte> body, int remainingLength, byte flags, MqttVersion version,
        out MqttPublish publish, out string? error, out int needed)
    {
        publish = default;
        error = null;
        needed = 0;
        var r = new MqttReader(body, remainingLength);
        var s = r.ReadString("topic name", out publish.Topic);
        publish.Qos = (flags >> 1) & 3;
        publish.Retain = (flags & 1) != 0;
        publish.Dup = (flags & 8) != 0;
        if (s == MqttStatus.Ok && publish.Qos > 0)
        {
            s = r.ReadUInt16("packet identifier", out var packetId);
            publish.PacketId = packetId;
        }

        if (s == MqttStatus.Ok && version == MqttVersion.V500)
        {
            s = TryReadProperties(ref r, out var props);
            if (s == MqttStatus.Ok)
            {
                publish.TopicAlias = props.TopicAlias;
                publish.MessageExpiryInterval = props.MessageExpiryInterval;
                publish.ContentType = props.HasContentType ? Encoding.UTF8.GetString(props.ContentType) : null;
                publish.ResponseTopic = props.HasResponseTopic ? Encoding.UTF8.GetString(props.ResponseTopic) : null;
            }
        }

        if (s == MqttStatus.NeedMoreData)
        {
            needed = r.Needed;
            return s;
        }

        if (s == MqttStatus.Ok && publish.Topic.IsEmpty)
        {
            // Topic names are at least one character (3.1.1 [MQTT-4.7.3-1]); 5.0 allows an empty one only when a
            // Topic Alias stands for it (§3.3.2.3.4).
            if (version != MqttVersion.V500)
            {
                s = r.Fail("topic name: empty");
            }
            else if (publish.TopicAlias is null)
            {
                s = r.Fail("topic name: empty without a topic alias");
            }
        }

        if (s == MqttStatus.Ok && publish.TopicAlias == 0)
        {
            s = r.Fail("topic alias: 0 is not allowed"); // 5.0 [MQTT-3.3.2-8]
        }

        if (s != MqttStatus.Ok)
        {
            error = r.Error;
            return s;
        }

        publish.VariableHeaderLength = r.Position;
        publish.PayloadSize = remainingLength - r.Position;
        return MqttStatus.Ok;
    }

    /// <summary>
    /// Reads PUBACK, PUBREC, PUBREL or PUBCOMP (3.1.1 §3.4-3.7: exactly a packet identifier; 5.0 §3.4.2: packet
    /// identifier, then a reason code when the remaining length exceeds 2, then properties when it exceeds 3).
    /// </summary>
    public static MqttStatus TryReadPublishAck(ReadOnlySpan<byte> body, MqttVersion version, out MqttPublishAck ack, out string? error)
    {
        ack = default;
        error = null;
        var r = new MqttReader(body);
        if (r.ReadUInt16("packet identifier", out var packetId) != MqttStatus.Ok)
        {
            error = r.Error;
            return MqttStatus.Malformed;
        }

        int? reason = null;
        if (version == MqttVersion.V500 && !r.AtEnd)
        {
            r.ReadByte("reason code", out var code);
            reason = code;
            if (!r.AtEnd && TryReadProperties(ref r, out _) != MqttStatus.Ok)
            {
                error = r.Error;
                return MqttStatus.Malformed;
            }
        }

        if (!r.AtEnd)
        {
            error = version == MqttVersion.V500 ? "trailing bytes after the properties" : "remaining length must be 2 before MQTT 5.0";
            return MqttStatus.Malformed;
        }

        ack = new MqttPublishAck(packetId, reason);
        return MqttStatus.Ok;
    }

    /// <summary>
    /// Reads a SUBSCRIBE body (3.1.1 §3.8, 5.0 §3.8): packet identifier, 5.0 properties, then one or more
    /// (topic filter, options) pairs. Options: 3.x QoS with bits 7-2 reserved [MQTT-3-8.3-4]; 5.0 §3.8.3.1
    /// QoS, No Local, Retain As Published, Retain Handling (3 is malformed), bits 7-6 reserved.
    /// </summary>
    public static MqttStatus TryReadSubscribe(ReadOnlySpan<byte> body, MqttVersion version, out MqttSubscribe? subscribe, out string? error)
    {
        subscribe = null;
        error = null;
        var r = new MqttReader(body);
        if (!TryReadIdAndProperties(ref r, version, out var packetId, out error))
        {
            return MqttStatus.Malformed;
        }

        if (r.AtEnd)
        {
            error = "SUBSCRIBE without a topic filter"; // [MQTT-3.8.3-3]
            return MqttStatus.Malformed;
        }

        var filters = new List<string>();
        var qos = new List<long>();
        while (!r.AtEnd)
        {
            if (!TryReadFilter(ref r, out var filter) || r.ReadByte("subscription options", out var options) != MqttStatus.Ok)
            {
                error = r.Error;
                return MqttStatus.Malformed;
            }

            error = (options & 3) == 3 ? "subscription options: QoS 3"
                : version != MqttVersion.V500 && (options & 0xFC) != 0 ? "subscription options: reserved bits 7-2 are set"
                : version == MqttVersion.V500 && (options & 0xC0) != 0 ? "subscription options: reserved bits 7-6 are set"
                : version == MqttVersion.V500 && ((options >> 4) & 3) == 3 ? "subscription options: retain handling 3"
                : null;
            if (error is not null)
            {
                return MqttStatus.Malformed;
            }

            filters.Add(filter);
            qos.Add(options & 3);
        }

        subscribe = new MqttSubscribe(packetId, filters, qos);
        return MqttStatus.Ok;
    }

    /// <summary>Reads an UNSUBSCRIBE body (3.1.1 §3.10, 5.0 §3.10): packet identifier, 5.0 properties, one or more topic filters.</summary>
    public static MqttStatus TryReadUnsubscribe(ReadOnlySpan<byte> body, MqttVersion version, out MqttUnsubscribe? unsubscribe, out string? error)
    {
        unsubscribe = null;
        var r = new MqttReader(body);
        if (!TryReadIdAndProperties(ref r, version, out var packetId, out error))
        {
            return MqttStatus.Malformed;
        }

        if (r.AtEnd)
        {
            error = "UNSUBSCRIBE without a topic filter"; // [MQTT-3.10.3-2]
            return MqttStatus.Malformed;
        }

        var filters = new List<string>();
        while (!r.AtEnd)
        {
            if (!TryReadFilter(ref r, out var filter))
            {
                error = r.Error;
                return MqttStatus.Malformed;
            }

            filters.Add(filter);
        }

        unsubscribe = new MqttUnsubscribe(packetId, filters);
        return MqttStatus.Ok;
    }

    /// <summary>
    /// Reads a SUBACK (3.1.1 §3.9, 5.0 §3.9) or UNSUBACK (3.1.1 §3.11: packet identifier only; 5.0 §3.11: packet
    /// identifier, properties, one reason code per filter). Codes are reported as sent.
    /// </summary>
    public static MqttStatus TryReadSubscribeAck(ReadOnlySpan<byte> body, MqttPacketType type, MqttVersion version, out MqttSubscribeAck? ack, out string? error)
    {
        ack = null;
        var r = new MqttReader(body);
        if (type == MqttPacketType.UnsubAck && version != MqttVersion.V500)
        {
            if (r.ReadUInt16("packet identifier", out var id) != MqttStatus.Ok || !r.AtEnd)
            {
                error = r.Error ?? "remaining length must be 2 before MQTT 5.0";
                return MqttStatus.Malformed;
            }

            error = null;
            ack = new MqttSubscribeAck(id, null);
            return MqttStatus.Ok;
        }

        if (!TryReadIdAndProperties(ref r, version, out var packetId, out error))
        {
            return MqttStatus.Malformed;
        }

        if (r.AtEnd)
        {
            error = type == MqttPacketType.SubAck ? "SUBACK without a return code" : "UNSUBACK without a reason code";
            return MqttStatus.Malformed;
        }

        var codes = new long[r.Remaining];
        var bytes = r.Take(r.Remaining);
        for (var i = 0; i < bytes.Length; i++)
        {
            codes[i] = bytes[i];
        }

        ack = new MqttSubscribeAck(packetId, codes);
        return MqttStatus.Ok;
    }

    /// <summary>
    /// Reads a DISCONNECT (3.x §3.14: empty; 5.0 §3.14.2: optional reason code, then optional properties) or an
    /// AUTH (5.0 §3.15.2: same shape; the Authentication Method is reported).
    /// </summary>
    public static MqttStatus TryReadReasonPacket(ReadOnlySpan<byte> body, MqttVersion version, out MqttReasonPacket packet, out string? error)
    {
        packet = default;
        error = null;
        if (version != MqttVersion.V500)
        {
            if (!body.IsEmpty)
            {
                error = "remaining length must be 0 before MQTT 5.0";
                return MqttStatus.Malformed;
            }

            return MqttStatus.Ok;
        }

        if (body.IsEmpty)
        {
            return MqttStatus.Ok;
        }

        var r = new MqttReader(body);
        r.ReadByte("reason code", out var code);
        var props = default(MqttProperties);
        if (!r.AtEnd && (TryReadProperties(ref r, out props) != MqttStatus.Ok || !r.AtEnd))
        {
            error = r.Error ?? "trailing bytes after the properties";
            return MqttStatus.Malformed;
        }

        packet = new MqttReasonPacket(code, props.HasAuthenticationMethod ? Encoding.UTF8.GetString(props.AuthenticationMethod) : null);
        return MqttStatus.Ok;
    }

    /// <summary>PINGREQ / PINGRESP have no variable header and no payload (3.1.1 §3.12-3.13, 5.0 §3.12-3.13).</summary>
    public static MqttStatus TryReadEmpty(ReadOnlySpan<byte> body, out string? error)
    {
        error = body.IsEmpty ? null : "remaining length must be 0";
        return error is null ? MqttStatus.Ok : MqttStatus.Malformed;
    }

    private static bool TryReadIdAndProperties(scoped ref MqttReader r, MqttVersion version, out int packetId, out string? error)
    {
        error = null;
        if (r.ReadUInt16("packet identifier", out packetId) != MqttStatus.Ok
            || (version == MqttVersion.V500 && TryReadProperties(ref r, out _) != MqttStatus.Ok))
        {
            error = r.Error;
            return false;
        }

        return true;
    }

    private static bool TryReadFilter(scoped ref MqttReader r, out string filter)
    {
        filter = "";
        if (r.ReadString("topic filter", out var bytes) != MqttStatus.Ok)
        {
            return false;
        }

        if (bytes.IsEmpty)
        {
            r.Fail("topic filter: empty"); // [MQTT-4.7.3-1]
            return false;
        }

        filter = Encoding.UTF8.GetString(bytes);
        return true;
    }

    private static string DecodeBounded(ReadOnlySpan<byte> utf8)
    {
        var s = Encoding.UTF8.GetString(utf8.Length > MaxReasonStringChars * 4 ? utf8[..(MaxReasonStringChars * 4)] : utf8);
        if (s.Length <= MaxReasonStringChars)
        {
            return s;
        }

        // Do not cut a surrogate pair in half.
        var cut = char.IsHighSurrogate(s[MaxReasonStringChars - 1]) ? MaxReasonStringChars - 1 : MaxReasonStringChars;
        return s[..cut];
    }
}
