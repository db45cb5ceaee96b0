using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Mqtt;

// SecMon's custom mqtt.* field set (ECS has none). Every event carries the session's client id, user name and
// protocol level (from the flow's CONNECT) so a rule on any packet can name the client.

/// <summary>Base of every MQTT event: the session fields learned from the flow's CONNECT.</summary>
internal abstract record MqttEvent : ProtocolEvent
{
    private MqttSessionFields _session = MqttSessionFields.None;

    // The client id is also held on the event itself: rules key and group by it on nearly every event, and reading it
    // through the shared session object was a cache miss more per event on the rule thread.
    private string? _clientId;

    /// <summary>The session fields, one object shared by every event of the session until they change (a session
    /// sends hundreds of events: one reference each instead of three fields).</summary>
    public MqttSessionFields Session
    {
        get => _session;
        init
        {
            _session = value ?? MqttSessionFields.None;
            _clientId = _session.ClientId;
        }
    }

    /// <summary>The session fields object: the client id and user name change only with it.</summary>
    public override object? NamesToken => _session;

    /// <summary>Client identifier from the CONNECT (or the 5.0 CONNACK's Assigned Client Identifier after it).</summary>
    public string? ClientId
    {
        get => _clientId;
        init
        {
            _session = _session with { ClientId = value };
            _clientId = value;
        }
    }

    /// <summary>User name from the CONNECT, when its flag was set.</summary>
    public string? Username { get => _session.Username; init => _session = _session with { Username = value }; }

    /// <summary>Protocol level from the CONNECT (3, 4, 5); missing when the capture started after it.</summary>
    public int? ProtocolLevel { get => _session.ProtocolLevel; init => _session = _session with { ProtocolLevel = value }; }

    /// <summary>Builds a schema: the session fields, then the type's own.</summary>
    protected static EventSchema CreateSchema(string type, params EventField[] own) =>
        new EventSchema(type,
        [
            new EventField<MqttEvent>("mqtt.client_id", FieldKind.Text, e => FieldValue.Of(e.ClientId), "Client identifier from the flow's CONNECT."),
            new EventField<MqttEvent>("mqtt.username", FieldKind.Text, e => FieldValue.Of(e.Username), "User name from the flow's CONNECT."),
            new EventField<MqttEvent>("mqtt.protocol_level", FieldKind.Number, e => FieldValue.Of((long?)e.ProtocolLevel), "Protocol level: 3 (3.1), 4 (3.1.1), 5 (5.0)."),
            .. own,
        ]).WithFacts(DeviceFact.Identity("mqtt.client_id"), DeviceFact.Username("mqtt.username"));

    /// <summary>A text field of <typeparamref name="T"/>.</summary>
    protected static EventField Text<T>(string name, Func<T, string?> get, string description) where T : MqttEvent =>
        new EventField<T>(name, FieldKind.Text, e => FieldValue.Of(get(e)), description);

    /// <summary>A number field of <typeparamref name="T"/>.</summary>
    protected static EventField Number<T>(string name, Func<T, long?> get, string description) where T : MqttEvent =>
        new EventField<T>(name, FieldKind.Number, e => FieldValue.Of(get(e)), description);

    /// <summary>A boolean field of <typeparamref name="T"/>.</summary>
    protected static EventField Flag<T>(string name, Func<T, bool?> get, string description) where T : MqttEvent =>
        new EventField<T>(name, FieldKind.Boolean, e => FieldValue.Of(get(e)), description);
}

/// <summary><c>mqtt.connect</c>: a client's CONNECT. Never carries the password: only its presence, length and keyed hash.</summary>
internal sealed record MqttConnectEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.connect</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.connect",
        Text<MqttConnectEvent>("mqtt.protocol_name", e => e.ProtocolName, "MQTT or MQIsdp (3.1)."),
        Flag<MqttConnectEvent>("mqtt.clean_start", e => e.CleanStart, "Clean Session (3.x) / Clean Start (5.0)."),
        Number<MqttConnectEvent>("mqtt.keep_alive", e => e.KeepAlive, "Keep Alive, seconds."),
        Flag<MqttConnectEvent>("mqtt.password.present", e => e.PasswordPresent, "The password flag was set."),
        Number<MqttConnectEvent>("mqtt.password.length", e => e.PasswordLength, "Password length in bytes."),
        Text<MqttConnectEvent>("mqtt.password.hash", e => e.PasswordHash, "Keyed hash of the password (tells passwords apart; not reversible)."),
        Flag<MqttConnectEvent>("mqtt.will.present", e => e.WillPresent, "A will message was set."),
        Text<MqttConnectEvent>("mqtt.will.topic", e => e.WillTopic, "Will topic."),
        Number<MqttConnectEvent>("mqtt.will.qos", e => e.WillQos, "Will QoS."),
        Flag<MqttConnectEvent>("mqtt.will.retain", e => e.WillRetain, "Will retain flag."),
        Number<MqttConnectEvent>("mqtt.will.payload_size", e => e.WillPayloadSize, "Will payload size in bytes."),
        Number<MqttConnectEvent>("mqtt.properties.session_expiry_interval", e => e.SessionExpiryInterval, "5.0 Session Expiry Interval, seconds."),
        Number<MqttConnectEvent>("mqtt.properties.receive_maximum", e => e.ReceiveMaximum, "5.0 Receive Maximum."),
        Number<MqttConnectEvent>("mqtt.properties.maximum_packet_size", e => e.MaximumPacketSize, "5.0 Maximum Packet Size."),
        Number<MqttConnectEvent>("mqtt.properties.topic_alias_maximum", e => e.TopicAliasMaximum, "5.0 Topic Alias Maximum."),
        Text<MqttConnectEvent>("mqtt.properties.authentication_method", e => e.AuthenticationMethod, "5.0 Authentication Method."),
        Number<MqttConnectEvent>("mqtt.properties.user_property_count", e => e.UserPropertyCount, "5.0 number of User Properties."))
        .WithFacts(DeviceFact.Login("mqtt.username", "mqtt.password.present"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary><c>MQTT</c> or <c>MQIsdp</c>.</summary>
    public required string ProtocolName { get; init; }
    /// <summary>Clean Session / Clean Start.</summary>
    public bool CleanStart { get; init; }
    /// <summary>Keep Alive, seconds.</summary>
    public int KeepAlive { get; init; }
    /// <summary>Password flag.</summary>
    public bool PasswordPresent { get; init; }
    /// <summary>Password length.</summary>
    public int? PasswordLength { get; init; }
    /// <summary>Keyed password hash.</summary>
    public string? PasswordHash { get; init; }
    /// <summary>Will flag.</summary>
    public bool WillPresent { get; init; }
    /// <summary>Will topic.</summary>
    public string? WillTopic { get; init; }
    /// <summary>Will QoS.</summary>
    public int? WillQos { get; init; }
    /// <summary>Will retain.</summary>
    public bool? WillRetain { get; init; }
    /// <summary>Will payload size.</summary>
    public int? WillPayloadSize { get; init; }
    /// <summary>5.0 Session Expiry Interval.</summary>
    public long? SessionExpiryInterval { get; init; }
    /// <summary>5.0 Receive Maximum.</summary>
    public int? ReceiveMaximum { get; init; }
    /// <summary>5.0 Maximum Packet Size.</summary>
    public long? MaximumPacketSize { get; init; }
    /// <summary>5.0 Topic Alias Maximum.</summary>
    public int? TopicAliasMaximum { get; init; }
    /// <summary>5.0 Authentication Method.</summary>
    public string? AuthenticationMethod { get; init; }
    /// <summary>5.0 User Property count.</summary>
    public int? UserPropertyCount { get; init; }
}

/// <summary><c>mqtt.connack</c>: the server's answer, joined to the flow's CONNECT (client id, user name, level).</summary>
internal sealed record MqttConnAckEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.connack</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.connack",
        Number<MqttConnAckEvent>("mqtt.connack.return_code", e => e.ReturnCode, "3.x return code or 5.0 reason code."),
        Text<MqttConnAckEvent>("mqtt.connack.reason", e => e.Reason, "Name of the code (accepted, bad_username_or_password, not_authorized...)."),
        Flag<MqttConnAckEvent>("mqtt.connack.accepted", e => e.Accepted, "True when the code is 0."),
        Flag<MqttConnAckEvent>("mqtt.connack.session_present", e => e.SessionPresent, "Session Present (3.1.1, 5.0)."),
        Text<MqttConnAckEvent>("mqtt.properties.assigned_client_identifier", e => e.AssignedClientIdentifier, "5.0 Assigned Client Identifier."),
        Text<MqttConnAckEvent>("mqtt.properties.reason_string", e => e.ReasonString, "5.0 Reason String (first 256 characters)."),
        Number<MqttConnAckEvent>("mqtt.properties.topic_alias_maximum", e => e.TopicAliasMaximum, "5.0 Topic Alias Maximum."))
        .WithFacts(DeviceFact.Accepted("mqtt.connack.accepted", "mqtt.username"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Return or reason code.</summary>
    public int ReturnCode { get; init; }
    /// <summary>Code name.</summary>
    public required string Reason { get; init; }
    /// <summary>Code 0.</summary>
    public bool Accepted => ReturnCode == 0;
    /// <summary>Session Present; null for 3.1.</summary>
    public bool? SessionPresent { get; init; }
    /// <summary>5.0 Assigned Client Identifier.</summary>
    public string? AssignedClientIdentifier { get; init; }
    /// <summary>5.0 Reason String (bounded).</summary>
    public string? ReasonString { get; init; }
    /// <summary>5.0 Topic Alias Maximum.</summary>
    public int? TopicAliasMaximum { get; init; }
}

/// <summary><c>mqtt.publish</c>: an application message's header. The payload is never kept: only its size.</summary>
internal sealed record MqttPublishEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.publish</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.publish",
        Text<MqttPublishEvent>("mqtt.topic", e => e.Topic, "Topic name (a 5.0 topic alias resolved; missing when the alias is unknown)."),
        Number<MqttPublishEvent>("mqtt.qos", e => e.Qos, "QoS 0, 1 or 2."),
        Flag<MqttPublishEvent>("mqtt.retain", e => e.Retain, "RETAIN flag."),
        Flag<MqttPublishEvent>("mqtt.dup", e => e.Dup, "DUP flag."),
        Number<MqttPublishEvent>("mqtt.packet_id", e => e.PacketId, "Packet identifier (QoS 1 and 2)."),
        Number<MqttPublishEvent>("mqtt.payload.size", e => e.PayloadSize, "Payload size in bytes."),
        Number<MqttPublishEvent>("mqtt.properties.topic_alias", e => e.TopicAlias, "5.0 Topic Alias."),
        Number<MqttPublishEvent>("mqtt.properties.message_expiry_interval", e => e.MessageExpiryInterval, "5.0 Message Expiry Interval, seconds."),
        Text<MqttPublishEvent>("mqtt.properties.content_type", e => e.ContentType, "5.0 Content Type."),
        Text<MqttPublishEvent>("mqtt.properties.response_topic", e => e.ResponseTopic, "5.0 Response Topic."))
        .WithFacts(DeviceFact.Values("mqtt.topic", "mqtt.topic", pattern: true), DeviceFact.Count("mqtt.publish"), DeviceFact.SessionActivity());

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Topic name.</summary>
    public string? Topic { get; init; }
    /// <summary>QoS.</summary>
    public int Qos { get => _qos; init => _qos = checked((byte)value); }
    /// <summary>RETAIN.</summary>
    public bool Retain { get; init; }
    /// <summary>DUP.</summary>
    public bool Dup { get; init; }
    /// <summary>Packet identifier.</summary>
    public int? PacketId { get => _hasPacketId ? _packetId : null; init => (_packetId, _hasPacketId) = (value.GetValueOrDefault(), value.HasValue); }
    /// <summary>Payload size.</summary>
    public long PayloadSize { get; init; }
    /// <summary>5.0 Topic Alias.</summary>
    public int? TopicAlias
    {
        get => _properties?.TopicAlias;
        init => _properties = value is null && _properties is null ? null : (_properties ?? MqttPublishProperties.None) with { TopicAlias = value };
    }
    /// <summary>5.0 Message Expiry Interval.</summary>
    public long? MessageExpiryInterval
    {
        get => _properties?.MessageExpiryInterval;
        init => _properties = value is null && _properties is null ? null : (_properties ?? MqttPublishProperties.None) with { MessageExpiryInterval = value };
    }
    /// <summary>5.0 Content Type.</summary>
    public string? ContentType
    {
        get => _properties?.ContentType;
        init => _properties = value is null && _properties is null ? null : (_properties ?? MqttPublishProperties.None) with { ContentType = value };
    }
    /// <summary>5.0 Response Topic.</summary>
    public string? ResponseTopic
    {
        get => _properties?.ResponseTopic;
        init => _properties = value is null && _properties is null ? null : (_properties ?? MqttPublishProperties.None) with { ResponseTopic = value };
    }

    // The 5.0 properties apart from the event: most publishes (every 3.1.1 one) have none.
    private MqttPublishProperties? _properties;

    // QoS (0-2, MQTT 5.0 §3.3.1.2) in a byte and the packet id as an int and a flag, beside Retain and Dup: 8 bytes a
    // publish less than an int and an int? (the runtime packs a class's small fields together, not across its bases).
    private byte _qos;
    private bool _hasPacketId;
    private int _packetId;
}

/// <summary>A PUBLISH's 5.0 properties that events carry; equal by value, so the event's equality is unchanged.</summary>
internal sealed record MqttPublishProperties
{
    /// <summary>None.</summary>
    public static MqttPublishProperties None { get; } = new();

    /// <summary>5.0 Topic Alias.</summary>
    public int? TopicAlias { get; init; }
    /// <summary>5.0 Message Expiry Interval.</summary>
    public long? MessageExpiryInterval { get; init; }
    /// <summary>5.0 Content Type.</summary>
    public string? ContentType { get; init; }
    /// <summary>5.0 Response Topic.</summary>
    public string? ResponseTopic { get; init; }
}

/// <summary>The fields every event of an MQTT session carries, learned from its CONNECT (and a 5.0 CONNACK's assigned
/// client id); equal by value.</summary>
internal sealed record MqttSessionFields
{
    /// <summary>Nothing learned yet (the capture started after the CONNECT).</summary>
    public static MqttSessionFields None { get; } = new();

    /// <summary>Client identifier.</summary>
    public string? ClientId { get; init; }
    /// <summary>User name.</summary>
    public string? Username { get; init; }
    /// <summary>Protocol level.</summary>
    public int? ProtocolLevel { get; init; }
}

/// <summary>Base of PUBACK, PUBREC, PUBREL, PUBCOMP events.</summary>
internal abstract record MqttPublishAckEvent : MqttEvent
{
    /// <summary>Packet identifier.</summary>
    public int PacketId { get; init; }
    /// <summary>5.0 reason code when present on the wire.</summary>
    public int? ReasonCode { get; init; }

    /// <summary>The schema of one of the four acknowledgment types.</summary>
    protected static EventSchema CreateAckSchema(string type) => CreateSchema(type,
        Number<MqttPublishAckEvent>("mqtt.packet_id", e => e.PacketId, "Packet identifier."),
        Number<MqttPublishAckEvent>("mqtt.reason_code", e => e.ReasonCode, "5.0 reason code, when present on the wire."));
}

/// <summary><c>mqtt.puback</c>.</summary>
internal sealed record MqttPubAckEvent : MqttPublishAckEvent
{
    /// <summary>The schema of <c>mqtt.puback</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateAckSchema("mqtt.puback");
    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary><c>mqtt.pubrec</c>.</summary>
internal sealed record MqttPubRecEvent : MqttPublishAckEvent
{
    /// <summary>The schema of <c>mqtt.pubrec</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateAckSchema("mqtt.pubrec");
    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary><c>mqtt.pubrel</c>.</summary>
internal sealed record MqttPubRelEvent : MqttPublishAckEvent
{
    /// <summary>The schema of <c>mqtt.pubrel</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateAckSchema("mqtt.pubrel");
    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary><c>mqtt.pubcomp</c>.</summary>
internal sealed record MqttPubCompEvent : MqttPublishAckEvent
{
    /// <summary>The schema of <c>mqtt.pubcomp</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateAckSchema("mqtt.pubcomp");
    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary><c>mqtt.subscribe</c>: topic filters and their requested QoS, in wire order.</summary>
internal sealed record MqttSubscribeEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.subscribe</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.subscribe",
        Number<MqttSubscribeEvent>("mqtt.packet_id", e => e.PacketId, "Packet identifier."),
        new EventField<MqttSubscribeEvent>("mqtt.topic_filters", FieldKind.StringList, e => FieldValue.Of(e.TopicFilters), "Topic filters, in order."),
        new EventField<MqttSubscribeEvent>("mqtt.subscription_qos", FieldKind.NumberList, e => FieldValue.Of(e.SubscriptionQos), "Requested QoS per filter, same order."))
        .WithFacts(DeviceFact.Values("mqtt.topic_filters", "mqtt.topic"), DeviceFact.SessionActivity());

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Packet identifier.</summary>
    public int PacketId { get; init; }
    /// <summary>Topic filters.</summary>
    public required IReadOnlyList<string> TopicFilters { get; init; }
    /// <summary>Requested QoS per filter.</summary>
    public required IReadOnlyList<long> SubscriptionQos { get; init; }
}

/// <summary><c>mqtt.suback</c>: granted QoS or failure code per filter.</summary>
internal sealed record MqttSubAckEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.suback</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.suback",
        Number<MqttSubAckEvent>("mqtt.packet_id", e => e.PacketId, "Packet identifier."),
        new EventField<MqttSubAckEvent>("mqtt.suback.reason_codes", FieldKind.NumberList, e => FieldValue.Of(e.ReasonCodes), "Granted QoS (0-2) or failure (0x80; 5.0 reason codes) per filter."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Packet identifier.</summary>
    public int PacketId { get; init; }
    /// <summary>Codes per filter.</summary>
    public required IReadOnlyList<long> ReasonCodes { get; init; }
}

/// <summary><c>mqtt.unsubscribe</c>.</summary>
internal sealed record MqttUnsubscribeEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.unsubscribe</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.unsubscribe",
        Number<MqttUnsubscribeEvent>("mqtt.packet_id", e => e.PacketId, "Packet identifier."),
        new EventField<MqttUnsubscribeEvent>("mqtt.topic_filters", FieldKind.StringList, e => FieldValue.Of(e.TopicFilters), "Topic filters, in order."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Packet identifier.</summary>
    public int PacketId { get; init; }
    /// <summary>Topic filters.</summary>
    public required IReadOnlyList<string> TopicFilters { get; init; }
}

/// <summary><c>mqtt.unsuback</c>.</summary>
internal sealed record MqttUnsubAckEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.unsuback</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.unsuback",
        Number<MqttUnsubAckEvent>("mqtt.packet_id", e => e.PacketId, "Packet identifier."),
        new EventField<MqttUnsubAckEvent>("mqtt.unsuback.reason_codes", FieldKind.NumberList, e => FieldValue.Of(e.ReasonCodes), "5.0 reason code per filter."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Packet identifier.</summary>
    public int PacketId { get; init; }
    /// <summary>5.0 reason codes.</summary>
    public IReadOnlyList<long>? ReasonCodes { get; init; }
}

/// <summary><c>mqtt.pingreq</c>.</summary>
internal sealed record MqttPingReqEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.pingreq</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.pingreq");
    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary><c>mqtt.pingresp</c>.</summary>
internal sealed record MqttPingRespEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.pingresp</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.pingresp");
    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary><c>mqtt.disconnect</c>.</summary>
internal sealed record MqttDisconnectEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.disconnect</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.disconnect",
        Number<MqttDisconnectEvent>("mqtt.reason_code", e => e.ReasonCode, "5.0 reason code, when present on the wire."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>5.0 reason code.</summary>
    public int? ReasonCode { get; init; }
}

/// <summary><c>mqtt.auth</c> (5.0 enhanced authentication).</summary>
internal sealed record MqttAuthEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.auth</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.auth",
        Number<MqttAuthEvent>("mqtt.reason_code", e => e.ReasonCode, "Reason code, when present on the wire."),
        Text<MqttAuthEvent>("mqtt.properties.authentication_method", e => e.AuthenticationMethod, "Authentication Method."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Reason code.</summary>
    public int? ReasonCode { get; init; }
    /// <summary>Authentication Method.</summary>
    public string? AuthenticationMethod { get; init; }
}

/// <summary><c>mqtt.malformed</c>: a packet that violates the specification (also reported as a diagnostic).</summary>
internal sealed record MqttMalformedEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.malformed</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.malformed",
        new EventField<MqttMalformedEvent>("error.message", FieldKind.Text, e => FieldValue.Of(e.ErrorMessage), "What was wrong and where."),
        Text<MqttMalformedEvent>("mqtt.packet_type", e => e.PacketType, "Packet type name (connect, publish...), when known."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>What was wrong and where.</summary>
    public required string ErrorMessage { get; init; }
    /// <summary>Packet type name.</summary>
    public string? PacketType { get; init; }
}

/// <summary>
/// <c>mqtt.anomaly</c>: well-formed packets that do not fit the session (Suricata's MQTT anomaly events): a second
/// CONNECT on one connection, or an acknowledgment (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK) of a packet id the
/// other side never sent.
/// </summary>
internal sealed record MqttAnomalyEvent : MqttEvent
{
    /// <summary>The schema of <c>mqtt.anomaly</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("mqtt.anomaly",
        Text<MqttAnomalyEvent>("mqtt.anomaly.kind", e => e.Kind, "second_connect (3.1.1 [MQTT-3.1.0-2]) or unknown_packet_id (an acknowledgment of a packet id the other side never sent)."),
        Text<MqttAnomalyEvent>("mqtt.packet_type", e => e.PacketType, "Type of the packet that does not fit (connect, puback, suback...)."),
        Number<MqttAnomalyEvent>("mqtt.packet_id", e => e.PacketId, "Its packet identifier, when it has one."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>What does not fit.</summary>
    public required string Kind { get; init; }
    /// <summary>Packet type name.</summary>
    public required string PacketType { get; init; }
    /// <summary>Packet identifier.</summary>
    public int? PacketId { get; init; }
}
