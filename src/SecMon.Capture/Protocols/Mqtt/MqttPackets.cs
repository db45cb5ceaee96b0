namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>MQTT control packet types: the high nibble of the fixed header's first byte (MQTT 3.1.1 §2.2.1, 5.0 §2.1.2).</summary>
internal enum MqttPacketType : byte
{
    /// <summary>0 is reserved and forbidden.</summary>
    Reserved = 0,
    /// <summary>Client asks to connect.</summary>
    Connect = 1,
    /// <summary>Connect acknowledgment.</summary>
    ConnAck = 2,
    /// <summary>An application message.</summary>
    Publish = 3,
    /// <summary>QoS 1 acknowledgment.</summary>
    PubAck = 4,
    /// <summary>QoS 2 step 1.</summary>
    PubRec = 5,
    /// <summary>QoS 2 step 2.</summary>
    PubRel = 6,
    /// <summary>QoS 2 step 3.</summary>
    PubComp = 7,
    /// <summary>Subscribe request.</summary>
    Subscribe = 8,
    /// <summary>Subscribe acknowledgment.</summary>
    SubAck = 9,
    /// <summary>Unsubscribe request.</summary>
    Unsubscribe = 10,
    /// <summary>Unsubscribe acknowledgment.</summary>
    UnsubAck = 11,
    /// <summary>Ping request.</summary>
    PingReq = 12,
    /// <summary>Ping response.</summary>
    PingResp = 13,
    /// <summary>Disconnect notification (both directions in 5.0).</summary>
    Disconnect = 14,
    /// <summary>Authentication exchange (5.0 only; reserved before).</summary>
    Auth = 15,
}

/// <summary>MQTT protocol levels (the CONNECT "Protocol Level" byte).</summary>
internal enum MqttVersion : byte
{
    /// <summary>Not known yet (no CONNECT seen).</summary>
    Unknown = 0,
    /// <summary>MQTT 3.1, protocol name <c>MQIsdp</c>, level 3.</summary>
    V310 = 3,
    /// <summary>MQTT 3.1.1, protocol name <c>MQTT</c>, level 4.</summary>
    V311 = 4,
    /// <summary>MQTT 5.0, protocol name <c>MQTT</c>, level 5.</summary>
    V500 = 5,
}

/// <summary>A parsed fixed header (MQTT 3.1.1 §2.2, 5.0 §2.1).</summary>
/// <param name="Type">Packet type.</param>
/// <param name="Flags">The low nibble of the first byte.</param>
/// <param name="RemainingLength">Bytes after the fixed header (variable header + payload).</param>
/// <param name="HeaderLength">Bytes of the fixed header itself (2..5).</param>
internal readonly record struct MqttFixedHeader(MqttPacketType Type, byte Flags, int RemainingLength, int HeaderLength)
{
    /// <summary>Fixed header plus remaining length: the whole packet.</summary>
    public int TotalLength => HeaderLength + RemainingLength;
}

/// <summary>A parsed CONNECT (MQTT 3.1 / 3.1.1 §3.1, 5.0 §3.1). Holds no password: only its length and keyed hash.</summary>
internal sealed record MqttConnect
{
    /// <summary><c>MQTT</c> or <c>MQIsdp</c>.</summary>
    public required string ProtocolName { get; init; }
    /// <summary>Protocol level with the bridge bit (0x80) masked off: 3, 4 or 5.</summary>
    public required int ProtocolLevel { get; init; }
    /// <summary>True when the level byte had bit 7 set (mosquitto's "try_private" bridge marker).</summary>
    public required bool Bridge { get; init; }
    /// <summary>The version that selects the format of the rest of the connection.</summary>
    public required MqttVersion Version { get; init; }
    /// <summary>Clean Session (3.x) / Clean Start (5.0).</summary>
    public required bool CleanStart { get; init; }
    /// <summary>Keep Alive, seconds.</summary>
    public required int KeepAlive { get; init; }
    /// <summary>Client identifier (possibly empty).</summary>
    public required string ClientId { get; init; }
    /// <summary>Will flag.</summary>
    public required bool WillPresent { get; init; }
    /// <summary>Will topic when the will flag is set.</summary>
    public string? WillTopic { get; init; }
    /// <summary>Will QoS when the will flag is set.</summary>
    public int? WillQos { get; init; }
    /// <summary>Will retain when the will flag is set.</summary>
    public bool? WillRetain { get; init; }
    /// <summary>Will payload size in bytes (the payload itself is not kept).</summary>
    public int? WillPayloadSize { get; init; }
    /// <summary>User name when the user name flag is set.</summary>
    public string? Username { get; init; }
    /// <summary>Password flag.</summary>
    public required bool PasswordPresent { get; init; }
    /// <summary>Password length in bytes when present.</summary>
    public int? PasswordLength { get; init; }
    /// <summary><see cref="Core.SecretHasher"/> tag of the password when present and a hasher was given.</summary>
    public string? PasswordHash { get; init; }
    /// <summary>5.0 Session Expiry Interval.</summary>
    public long? SessionExpiryInterval { get; init; }
    /// <summary>5.0 Receive Maximum.</summary>
    public int? ReceiveMaximum { get; init; }
    /// <summary>5.0 Maximum Packet Size.</summary>
    public long? MaximumPacketSize { get; init; }
    /// <summary>5.0 Topic Alias Maximum (aliases the server may use towards the client).</summary>
    public int? TopicAliasMaximum { get; init; }
    /// <summary>5.0 Authentication Method.</summary>
    public string? AuthenticationMethod { get; init; }
    /// <summary>5.0 number of User Property pairs in the CONNECT properties.</summary>
    public int? UserPropertyCount { get; init; }
}

/// <summary>A parsed CONNACK (3.1.1 §3.2, 5.0 §3.2).</summary>
internal sealed record MqttConnAck
{
    /// <summary>3.x return code or 5.0 reason code.</summary>
    public required int ReturnCode { get; init; }
    /// <summary>True when the packet had the 5.0 layout (reason code + properties).</summary>
    public required bool V5Layout { get; init; }
    /// <summary>Session Present (3.1.1, 5.0); null for 3.1 where the byte is reserved.</summary>
    public bool? SessionPresent { get; init; }
    /// <summary>5.0 Assigned Client Identifier.</summary>
    public string? AssignedClientIdentifier { get; init; }
    /// <summary>5.0 Reason String, cut to <see cref="MqttDecoder.MaxReasonStringChars"/> characters.</summary>
    public string? ReasonString { get; init; }
    /// <summary>5.0 Topic Alias Maximum (aliases the client may use towards the server).</summary>
    public int? TopicAliasMaximum { get; init; }
    /// <summary>5.0 Server Keep Alive, seconds: the keep alive the server holds the client to (§3.2.2.3.14).</summary>
    public int? ServerKeepAlive { get; init; }
}

/// <summary>A parsed PUBLISH variable header (3.1.1 §3.3, 5.0 §3.3); the payload is only measured.</summary>
internal ref struct MqttPublish
{
    /// <summary>Topic name bytes (valid UTF-8, no U+0000); empty in 5.0 when a topic alias stands for it.</summary>
    public ReadOnlySpan<byte> Topic;
    /// <summary>QoS 0..2.</summary>
    public int Qos;
    /// <summary>RETAIN flag.</summary>
    public bool Retain;
    /// <summary>DUP flag.</summary>
    public bool Dup;
    /// <summary>Packet identifier (QoS 1 and 2).</summary>
    public int? PacketId;
    /// <summary>Bytes of payload after the variable header.</summary>
    public int PayloadSize;
    /// <summary>Bytes of the variable header (topic, packet id, properties).</summary>
    public int VariableHeaderLength;
    /// <summary>5.0 Topic Alias.</summary>
    public int? TopicAlias;
    /// <summary>5.0 Message Expiry Interval.</summary>
    public long? MessageExpiryInterval;
    /// <summary>5.0 Content Type.</summary>
    public string? ContentType;
    /// <summary>5.0 Response Topic.</summary>
    public string? ResponseTopic;
}

/// <summary>PUBACK, PUBREC, PUBREL or PUBCOMP (3.1.1 §3.4-3.7, 5.0 §3.4-3.7).</summary>
/// <param name="PacketId">Packet identifier.</param>
/// <param name="ReasonCode">5.0 reason code when present on the wire.</param>
internal readonly record struct MqttPublishAck(int PacketId, int? ReasonCode);

/// <summary>SUBSCRIBE (3.1.1 §3.8, 5.0 §3.8): filters and their requested QoS in wire order.</summary>
internal sealed record MqttSubscribe(int PacketId, IReadOnlyList<string> TopicFilters, IReadOnlyList<long> Qos);

/// <summary>SUBACK or UNSUBACK: packet identifier and per-filter codes (none for a 3.x UNSUBACK).</summary>
internal sealed record MqttSubscribeAck(int PacketId, IReadOnlyList<long>? ReasonCodes);

/// <summary>UNSUBSCRIBE (3.1.1 §3.10, 5.0 §3.10).</summary>
internal sealed record MqttUnsubscribe(int PacketId, IReadOnlyList<string> TopicFilters);

/// <summary>DISCONNECT or AUTH (5.0 §3.14, §3.15): reason code when present, AUTH's method.</summary>
/// <param name="ReasonCode">Reason code when present on the wire.</param>
/// <param name="AuthenticationMethod">AUTH's Authentication Method property.</param>
internal readonly record struct MqttReasonPacket(int? ReasonCode, string? AuthenticationMethod);
