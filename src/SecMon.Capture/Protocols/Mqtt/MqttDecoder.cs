using System.Text;
using System.Text.Unicode;
using SecMon.Capture.Protocols.Mqtt.V3;
using SecMon.Capture.Protocols.Mqtt.V5;
using SecMon.Core;

namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// Decodes the bodies of MQTT control packets in one protocol version's layout (MQTTnet's <c>Formatter/V3</c>,
/// <c>Formatter/V5</c>): <see cref="MqttV3Decoder"/> for 3.1 and 3.1.1, <see cref="MqttV5Decoder"/> for 5.0. The
/// session picks one when the CONNECT names the level, so no read asks which version it is in. Stateless: every
/// method takes a whole packet body (the bytes after the fixed header) except <see cref="TryReadPublish"/>, which
/// takes the arrived prefix so a PUBLISH payload is never buffered. Every method returns false with a
/// <see cref="ParseError"/> on malformed input and never throws.
/// </summary>
internal abstract class MqttDecoder
{
    /// <summary>Reason strings (free text chosen by the peer) are cut to this many characters.</summary>
    public const int MaxReasonStringChars = 256;

    private readonly bool _authAllowed;
    private readonly bool _dupOnRequestsAllowed;

    /// <summary>Creates the decoder of <paramref name="version"/>.</summary>
    protected MqttDecoder(MqttVersion version, bool authAllowed, bool dupOnRequestsAllowed)
    {
        Version = version;
        _authAllowed = authAllowed;
        _dupOnRequestsAllowed = dupOnRequestsAllowed;
    }

    /// <summary>The layout this decoder reads.</summary>
    public MqttVersion Version { get; }

    /// <summary>The decoder of the other layout family (3.1.1 for 5.0 and the reverse): what a session tries
    /// while the level is only guessed (no CONNECT seen).</summary>
    public abstract MqttDecoder Alternate { get; }

    /// <summary>The decoder for a CONNECT's level: 3 → 3.1, 5 → 5.0, anything else the 3.1.1 layout (the best
    /// reading of a level no server accepts).</summary>
    public static MqttDecoder For(MqttVersion version) => version switch
    {
        MqttVersion.V310 => MqttV3Decoder.V31,
        MqttVersion.V500 => MqttV5Decoder.Instance,
        _ => MqttV3Decoder.V311,
    };

    /// <summary>True when the first byte of a fixed header has a type and flags this version allows: the framer's
    /// check on every packet, arithmetic only (no table to fetch); <see cref="CheckFlags"/> says why when it fails.</summary>
    public bool IsValidFirstByte(byte first)
    {
        var flags = first & 0x0F;
        return (MqttPacketType)(first >> 4) switch
        {
            MqttPacketType.Reserved => false,
            MqttPacketType.Publish => (flags & 0x06) != 0x06,
            MqttPacketType.PubRel or MqttPacketType.Subscribe or MqttPacketType.Unsubscribe => flags == 0x2 || (flags == 0xA && _dupOnRequestsAllowed),
            MqttPacketType.Auth => flags == 0 && _authAllowed,
            _ => flags == 0,
        };
    }

    /// <summary>
    /// Checks a fixed header's flags against the per-type table (3.1.1 §2.2.2 Table 2.2, 5.0 §2.1.3 Table 2-2).
    /// Type 15 (AUTH) exists only in 5.0; 3.1 (§2.1) allowed DUP on resent PUBREL, SUBSCRIBE and UNSUBSCRIBE.
    /// </summary>
    public ParseError CheckFlags(MqttPacketType type, byte flags) => type switch
    {
        MqttPacketType.Reserved => new(MalformedReason.UnknownType, null, "reserved packet type 0"),
        MqttPacketType.Auth when !_authAllowed => new(MalformedReason.UnknownType, null, "packet type 15 (AUTH) is reserved before MQTT 5.0"),
        // PUBLISH flags are DUP, QoS (2 bits), RETAIN; QoS 3 is malformed (3.1.1 §3.3.1.2 [MQTT-3.3.1-4], 5.0 §3.3.1.2).
        MqttPacketType.Publish => ((flags >> 1) & 3) == 3 ? new(MalformedReason.BadValue, null, "PUBLISH with QoS 3") : default,
        // PUBREL, SUBSCRIBE, UNSUBSCRIBE: 0010 (3.1.1 [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]).
        MqttPacketType.PubRel or MqttPacketType.Subscribe or MqttPacketType.Unsubscribe =>
            flags == 0x2 || (flags == 0xA && _dupOnRequestsAllowed) ? default : new(MalformedReason.BadFlags, null, "reserved fixed-header flags must be 0010"),
        _ => flags == 0 ? default : new(MalformedReason.BadFlags, null, "reserved fixed-header flags must be 0000"),
    };

    /// <summary>Remaining lengths each packet type can have in this layout: a cheap filter on resynchronisation
    /// candidates before their bodies are parsed.</summary>
    public abstract bool IsPlausibleLength(MqttPacketType type, int remainingLength);

    /// <summary>Reads a CONNACK body (3.1.1 §3.2, 5.0 §3.2).</summary>
    public abstract bool TryReadConnAck(ReadOnlySpan<byte> body, out MqttConnAck? connAck, out ParseError error);

    /// <summary>
    /// Reads a PUBLISH variable header (3.1.1 §3.3.2, 5.0 §3.3.2) from the arrived prefix of its body. The payload
    /// is only measured (remaining length minus the variable header), never read. False with no error and
    /// <paramref name="needed"/> = body bytes required when the prefix ends inside the variable header.
    /// </summary>
    public abstract bool TryReadPublish(ReadOnlySpan<byte> available, int remainingLength, byte flags, out MqttPublish publish, out ParseError error, out int needed);

    /// <summary>The end every version's <see cref="TryReadPublish"/> shares: the reader's failure or need, or the variable
    /// header's length and the payload's size (the rest of the remaining length).</summary>
    protected static bool EndPublish(bool ok, in SpanReader r, int remainingLength, ref MqttPublish publish, out ParseError error, out int needed)
    {
        if (!ok)
        {
            error = r.Error;
            needed = error.IsError ? 0 : r.Needed;
            return false;
        }

        error = default;
        needed = 0;
        publish.VariableHeaderLength = r.Position;
        publish.PayloadSize = remainingLength - r.Position;
        return true;
    }

    /// <summary>Reads PUBACK, PUBREC, PUBREL or PUBCOMP (3.1.1 §3.4-3.7, 5.0 §3.4-3.7).</summary>
    public abstract bool TryReadPublishAck(ReadOnlySpan<byte> body, out MqttPublishAck ack, out ParseError error);

    /// <summary>Reads a SUBSCRIBE body (3.1.1 §3.8, 5.0 §3.8).</summary>
    public abstract bool TryReadSubscribe(ReadOnlySpan<byte> body, out MqttSubscribe? subscribe, out ParseError error);

    /// <summary>Reads an UNSUBSCRIBE body (3.1.1 §3.10, 5.0 §3.10).</summary>
    public abstract bool TryReadUnsubscribe(ReadOnlySpan<byte> body, out MqttUnsubscribe? unsubscribe, out ParseError error);

    /// <summary>Reads a SUBACK (3.1.1 §3.9, 5.0 §3.9) or UNSUBACK (3.1.1 §3.11, 5.0 §3.11). Codes are reported as sent.</summary>
    public abstract bool TryReadSubscribeAck(ReadOnlySpan<byte> body, MqttPacketType type, out MqttSubscribeAck? ack, out ParseError error);

    /// <summary>Reads a DISCONNECT (3.x §3.14, 5.0 §3.14).</summary>
    public abstract bool TryReadDisconnect(ReadOnlySpan<byte> body, out MqttReasonPacket disconnect, out ParseError error);

    /// <summary>Reads an AUTH (5.0 §3.15; no such packet before 5.0).</summary>
    public abstract bool TryReadAuth(ReadOnlySpan<byte> body, out MqttReasonPacket auth, out ParseError error);

    /// <summary>PINGREQ / PINGRESP have no variable header and no payload (3.1.1 §3.12-3.13, 5.0 §3.12-3.13).</summary>
    public static bool TryReadEmpty(ReadOnlySpan<byte> body, out ParseError error)
    {
        error = body.IsEmpty ? default : new(MalformedReason.BadLength, null, "remaining length must be 0");
        return body.IsEmpty;
    }

    /// <summary>
    /// Reads a CONNECT body (3.1 §3.1, 3.1.1 §3.1, 5.0 §3.1). Not a method of one version's decoder: the CONNECT is
    /// what names the version, and its level byte selects the layout of the rest of it. The password is never kept:
    /// only its length and, when <paramref name="hasher"/> is given, its keyed hash.
    /// </summary>
    public static bool TryReadConnect(ReadOnlySpan<byte> body, SecretHasher? hasher, out MqttConnect? connect, out ParseError error)
    {
        var r = new SpanReader(body);
        var ok = ReadConnect(ref r, hasher, out connect);
        error = ok ? default : r.Error;
        return ok;
    }

    private static bool ReadConnect(scoped ref SpanReader r, SecretHasher? hasher, out MqttConnect? connect)
    {
        connect = null;
        if (!TryReadString(ref r, "protocol name", out var name))
        {
            return false;
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
            return r.Fail(MalformedReason.BadValue, "protocol name", "neither MQTT nor MQIsdp");
        }

        if (!r.TryReadByte(out var levelByte, "protocol level")
            || !r.TryReadByte(out var flags, "connect flags")
            || !r.TryReadUInt16BE(out var keepAlive, "keep alive"))
        {
            return false;
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
            return r.Fail(MalformedReason.BadFlags, "connect flags", "reserved bit 0 is set"); // [MQTT-3.1.2-3]
        }

        var willFlag = (flags & 0x04) != 0;
        var willQos = (flags >> 3) & 3;
        var willRetain = (flags & 0x20) != 0;
        var passwordFlag = (flags & 0x40) != 0;
        var usernameFlag = (flags & 0x80) != 0;
        if (willQos == 3)
        {
            return r.Fail(MalformedReason.BadValue, "connect flags", "will QoS 3"); // [MQTT-3.1.2-14]
        }

        if (!willFlag && (willQos != 0 || willRetain))
        {
            return r.Fail(MalformedReason.BadFlags, "connect flags", "will QoS or will retain set without the will flag"); // [MQTT-3.1.2-13], [MQTT-3.1.2-15]
        }

        if (version == MqttVersion.V311 && passwordFlag && !usernameFlag)
        {
            return r.Fail(MalformedReason.BadFlags, "connect flags", "password flag without user name flag"); // 3.1.1 [MQTT-3.1.2-22]; 5.0 allows it
        }

        var props = default(MqttProperties);
        if (version == MqttVersion.V500 && !MqttV5Properties.TryRead(ref r, out props))
        {
            return false;
        }

        if (!TryReadString(ref r, "client identifier", out var clientId))
        {
            return false;
        }

        string? willTopic = null;
        int? willPayloadSize = null;
        if (willFlag)
        {
            if (version == MqttVersion.V500 && !MqttV5Properties.TryRead(ref r, out _))
            {
                return false;
            }

            if (!TryReadString(ref r, "will topic", out var topic) || !r.TryReadVector16(out var willPayload, "will payload"))
            {
                return false;
            }

            willTopic = Encoding.UTF8.GetString(topic);
            willPayloadSize = willPayload.Length;
        }

        string? username = null;
        if (usernameFlag)
        {
            if (!TryReadString(ref r, "user name", out var user))
            {
                return false;
            }

            username = Encoding.UTF8.GetString(user);
        }

        int? passwordLength = null;
        string? passwordHash = null;
        if (passwordFlag)
        {
            // Binary Data (3.1.1 §3.1.3.5): not decoded, not kept; only its length and keyed hash leave this method.
            if (!r.TryReadVector16(out var password, "password"))
            {
                return false;
            }

            passwordLength = password.Length;
            passwordHash = hasher?.Hash(password);
        }

        if (!r.AtEnd)
        {
            return r.Fail(MalformedReason.TrailingBytes, null, "trailing bytes after the CONNECT payload");
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
        return true;
    }

    /// <summary>
    /// Reads a UTF-8 Encoded String (3.1.1 §1.5.3, 5.0 §1.5.4): two-byte length, then well-formed UTF-8 with no
    /// U+0000 and no surrogate code points [MQTT-1.5.3-1], [MQTT-1.5.3-2]; anything else is malformed.
    /// </summary>
    public static bool TryReadString(scoped ref SpanReader r, string field, out ReadOnlySpan<byte> value)
    {
        if (!r.TryReadVector16(out value, field))
        {
            return false;
        }

        if (!Utf8.IsValid(value))
        {
            return r.Fail(MalformedReason.BadUtf8, field);
        }

        if (value.Contains((byte)0))
        {
            return r.Fail(MalformedReason.BadUtf8, field, "contains U+0000");
        }

        return true;
    }

    /// <summary>Reads the packet identifier of a SUBSCRIBE, UNSUBSCRIBE or their acknowledgments, and in 5.0 the
    /// properties after it.</summary>
    protected abstract bool TryReadIdAndProperties(scoped ref SpanReader r, out int packetId);

    /// <summary>Reads a topic filter: a non-empty string [MQTT-4.7.3-1].</summary>
    protected static bool TryReadFilter(scoped ref SpanReader r, out string filter)
    {
        filter = "";
        if (!TryReadString(ref r, "topic filter", out var bytes))
        {
            return false;
        }

        if (bytes.IsEmpty)
        {
            return r.Fail(MalformedReason.Missing, "topic filter", "empty");
        }

        filter = Encoding.UTF8.GetString(bytes);
        return true;
    }

    /// <summary>Reads the topic filters of an UNSUBSCRIBE (one at least, [MQTT-3.10.3-2]).</summary>
    protected bool ReadUnsubscribe(ReadOnlySpan<byte> body, out MqttUnsubscribe? unsubscribe, out ParseError error)
    {
        unsubscribe = null;
        var r = new SpanReader(body);
        if (!TryReadIdAndProperties(ref r, out var packetId))
        {
            error = r.Error;
            return false;
        }

        if (r.AtEnd)
        {
            error = new(MalformedReason.Missing, null, "UNSUBSCRIBE without a topic filter");
            return false;
        }

        var filters = new List<string>();
        while (!r.AtEnd)
        {
            if (!TryReadFilter(ref r, out var filter))
            {
                error = r.Error;
                return false;
            }

            filters.Add(filter);
        }

        error = default;
        unsubscribe = new MqttUnsubscribe(packetId, filters);
        return true;
    }

    /// <summary>Reads the per-filter codes of a SUBACK or a 5.0 UNSUBACK, after the packet identifier.</summary>
    protected bool ReadAckCodes(ReadOnlySpan<byte> body, MqttPacketType type, out MqttSubscribeAck? ack, out ParseError error)
    {
        ack = null;
        var r = new SpanReader(body);
        if (!TryReadIdAndProperties(ref r, out var packetId))
        {
            error = r.Error;
            return false;
        }

        if (r.AtEnd)
        {
            error = new(MalformedReason.Missing, null, type == MqttPacketType.SubAck ? "SUBACK without a return code" : "UNSUBACK without a reason code");
            return false;
        }

        // One code per byte that is here (bounded by the message limit), not a count read from the wire.
        r.TryReadBytes(r.Remaining, out var bytes);
        var codes = new long[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            codes[i] = bytes[i];
        }

        error = default;
        ack = new MqttSubscribeAck(packetId, codes);
        return true;
    }

    /// <summary>Decodes a peer's free text, cut to <see cref="MaxReasonStringChars"/> characters.</summary>
    protected static string DecodeBounded(ReadOnlySpan<byte> utf8)
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
}
