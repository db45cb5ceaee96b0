using System.Text;
using SecMon.Capture.Protocols.Mqtt.V5;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// Per-flow MQTT state (Suricata's <c>mqtt.rs</c>): one <see cref="MqttFramer"/> per direction cuts the stream into
/// packets, the version's <see cref="MqttDecoder"/> reads them, and the session emits one event per packet, stamps
/// the CONNECT's client id, user name and protocol level on every later event of the flow, and joins requests to
/// their responses (<c>MqttSession.Transactions.cs</c>).
/// </summary>
/// <remarks>
/// <para>Protocol level. The CONNECT's level selects the decoder (3.1 / 3.1.1 / 5.0) for both directions, once.
/// Without a CONNECT (mid-stream) the level is guessed: 3.1.1 by default, switching to 5.0 when a packet only
/// decodes in the 5.0 layout (a 3-byte CONNACK, a PUBACK with a reason code, an AUTH...). A guessed level is not
/// reported: <c>mqtt.protocol_level</c> stays missing until a CONNECT is seen (<see cref="LevelGuessed"/> tells tests).</para>
/// <para>Malformed input goes to the diagnostics sink with its <see cref="MalformedReason"/>, to
/// <see cref="CaptureStats.MalformedByReason"/> (and <see cref="CaptureStats.MalformedMessages"/>), and to an
/// <c>mqtt.malformed</c> event.</para>
/// </remarks>
internal sealed partial class MqttSession : IStreamSession
{
    private const string ProtocolName = "mqtt";

    private static readonly string[] LowerTypeNames =
    [
        "reserved", "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp",
        "subscribe", "suback", "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth",
    ];

    private readonly FlowContext _toServer;
    private readonly ProtocolServices _services;
    private readonly MqttOptions _options;
    private readonly MqttFramer _clientFramer;
    private readonly MqttFramer _serverFramer;
    private readonly TopicCache _topics;
    private ColdState? _cold;
    private MqttDecoder _decoder = MqttDecoder.For(MqttVersion.V311);
    private readonly int _maxInFlight;
    private bool _levelKnown;
    private MqttSessionFields _fields = MqttSessionFields.None; // the client id, user name and level every event carries

    // Beside _fields, which every event reads: the runtime places struct fields together after the plain ones,
    // so the requests in flight share its cache line (see InFlight).
    private InFlight _clientRequests;
    private InFlight _serverRequests;
    private bool _closed;
    private long _idleHoldMicros; // from the CONNECT's keep alive, or the CONNACK's Server Keep Alive (5.0); 0: not known

    /// <summary>Creates the session of one flow; <paramref name="toServer"/> is the client-to-server context.</summary>
    public MqttSession(FlowContext toServer, ProtocolServices services, MqttOptions options, bool midStream)
    {
        ArgumentNullException.ThrowIfNull(toServer);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        _toServer = toServer;
        _services = services;
        _options = options;
        var maxMessage = Math.Max(options.MaxMessageBytes, 64);
        _maxInFlight = Math.Clamp(options.MaxInFlightPerDirection, 0, ushort.MaxValue);
        // Allocated right after the session, in the order a packet reaches them: with thousands of interleaved flows
        // the session and its client framer then share cache lines (and the adjacent-line prefetch).
        _clientFramer = new MqttFramer(this, FlowDirection.ToServer, maxMessage, midStream);
        _serverFramer = new MqttFramer(this, FlowDirection.ToClient, maxMessage, midStream);
        _topics = new TopicCache();
        _clientRequests.Untracked = midStream; // the requests before the capture started are unknown
        _serverRequests.Untracked = midStream;
    }

    /// <summary>Gaps reported by the reassembler on this flow (both directions).</summary>
    internal long Gaps => _cold?.Gaps ?? 0;

    /// <summary>Bytes dropped while looking for the next packet after a gap or a broken fixed header.</summary>
    internal long ResyncSkippedBytes => _clientFramer.ResyncSkippedBytes + _serverFramer.ResyncSkippedBytes;

    /// <summary>Bytes of candidate validation the resync scans have spent (bounded per byte received).</summary>
    internal long ResyncScanWork => _clientFramer.ScanWork + _serverFramer.ScanWork;

    /// <summary>True while no CONNECT has told the protocol level and the layout is a guess.</summary>
    internal bool LevelGuessed => !_levelKnown;

    /// <summary>The layout in use: the CONNECT's level, or the guess.</summary>
    internal MqttVersion Format => _decoder.Version;

    /// <summary>The decoder in use: the CONNECT's level's, or the guess.</summary>
    internal MqttDecoder Decoder => _decoder;

    /// <summary>Whose fixed-header and length rules frame the stream: the decoder's once the level is known; until
    /// then the most permissive (5.0's: AUTH exists, acknowledgments may carry reason codes).</summary>
    internal MqttDecoder HeaderRules => _levelKnown ? _decoder : MqttV5Decoder.Instance;

    /// <summary>Size of the array a direction holds right now (0 when nothing is pending).</summary>
    internal int HeldBufferBytes(FlowDirection direction) => FramerOf(direction).HeldBufferBytes;

    /// <summary>Most bytes a direction ever held buffered (tests check that payloads are not buffered).</summary>
    internal int MaxBufferedBytes(FlowDirection direction) => FramerOf(direction).MaxBuffered;

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (!_closed)
        {
            FramerOf(direction).Feed(data, meta);
        }
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        if (_closed || length <= 0)
        {
            return;
        }

        var framer = FramerOf(direction);
        Cold.Gaps++;
        var at = framer.Offset;
        var outcome = framer.OnGap(length);
        if (framer.Resync)
        {
            RequestsOf(direction).Untracked = true; // requests may be lost: acknowledgments of unknown ids are no longer anomalies
        }

        _services.Diagnostics.Report(DiagnosticKind.ReassemblyGap, meta,
            $"mqtt: {length} bytes missing from the {framer.DirectionName} stream at offset {at}; {outcome}");
    }

    /// <summary>One and a half times the session's keep alive (3.1.1 §3.1.2.10, 5.0 §3.1.2.10: the server closes a client
    /// silent that long), when it has one: a meter that publishes every 15 minutes with a keep alive of 20 minutes
    /// keeps its one connection, and its later packets stay in the session that named it. A keep alive of 0 turns the
    /// mechanism off (the server never closes the client for silence): such a session is held
    /// <see cref="KeepAliveOffHoldMicros"/>.</summary>
    public long IdleHoldMicros => _idleHoldMicros;

    /// <summary>How long a session without keep alive (0) is held idle: an hour, a device reporting hourly; past it a
    /// silent connection is more likely dead than quiet, and its flow is let go.</summary>
    internal const long KeepAliveOffHoldMicros = 3_600_000_000;

    private static long HoldFor(int keepAliveSeconds) => keepAliveSeconds == 0 ? KeepAliveOffHoldMicros : keepAliveSeconds * 1_500_000L;

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        _clientFramer.OnClose(meta);
        _serverFramer.OnClose(meta);
        _closed = true;
    }

    /// <summary>Decodes a whole non-PUBLISH packet body and emits its event. Returns the error when malformed.</summary>
    internal ParseError Decode(MqttFramer from, MqttFixedHeader h, ReadOnlySpan<byte> body, in PacketMeta meta)
    {
        var error = Decode(_decoder, from, h, body, meta, emit: true);
        if (error.IsError && !_levelKnown && h.Type != MqttPacketType.Connect)
        {
            // No CONNECT yet: the packet may be of the other layout (3.1.1 vs 5.0).
            var other = _decoder.Alternate;
            if (!Decode(other, from, h, body, meta, emit: true).IsError)
            {
                _decoder = other;
                error = default;
            }
        }

        return error;
    }

    /// <summary>Decodes a PUBLISH variable header from the arrived prefix of its body (see
    /// <see cref="MqttDecoder.TryReadPublish"/>); while the level is guessed, in the other layout too.</summary>
    internal bool TryDecodePublish(MqttFixedHeader h, ReadOnlySpan<byte> available, out MqttPublish publish, out ParseError error, out int needed)
    {
        var ok = _decoder.TryReadPublish(available, h.RemainingLength, h.Flags, out publish, out error, out needed);
        if (!ok && error.IsError && !_levelKnown)
        {
            var other = _decoder.Alternate;
            if (other.TryReadPublish(available, h.RemainingLength, h.Flags, out var p2, out var e2, out var n2))
            {
                _decoder = other;
                publish = p2;
                error = default;
                return true;
            }

            if (!e2.IsError)
            {
                error = default;
                needed = n2;
            }
        }

        return ok;
    }

    /// <summary>A resynchronisation candidate's body decodes (without emitting), in the current layout or, while
    /// the level is guessed, the other.</summary>
    internal bool IsPlausibleBody(MqttFixedHeader h, ReadOnlySpan<byte> body) =>
        IsPlausibleBody(_decoder, h, body) || (!_levelKnown && IsPlausibleBody(_decoder.Alternate, h, body));

    /// <summary>Reports a malformed packet: diagnostic (with its reason), counters, and an <c>mqtt.malformed</c> event.</summary>
    internal void ReportMalformed(MqttFramer from, in PacketMeta meta, MqttPacketType type, in ParseError error)
    {
        var known = type != MqttPacketType.Reserved;
        var message = $"mqtt: {error}, in {(known ? MqttDecoder.TypeName(type) : "a packet")} {from.DirectionName} at stream offset {from.Offset}";
        _services.Diagnostics.ReportMalformed(meta, ProtocolName, error.Reason, message);
        _services.Stats.CountMalformed(ProtocolName, error.Reason);
        RequestsOf(from.Direction).Untracked = true; // a request we could not read may be acknowledged
        _services.Events.Emit(new MqttMalformedEvent
        {
            Flow = FlowOf(from.Direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            Session = _fields,
            ErrorMessage = message,
            PacketType = known ? LowerTypeNames[(int)type] : null,
        });
    }

    /// <summary>Emits a PUBLISH's event (its variable header decoded; the payload is being skipped).</summary>
    internal void OnPublish(MqttFramer from, ref MqttPublish p, in PacketMeta meta)
    {
        // Topic aliases are per direction (5.0 §3.3.2.3.4): each sender maps its own.
        string? topic;
        if (!p.Topic.IsEmpty)
        {
            topic = _topics.Get(p.Topic);
            if (p.TopicAlias is { } alias)
            {
                (Cold.AliasesOf(from.Direction) ??= new TopicAliases()).Set(alias, topic, _options);
            }
        }
        else
        {
            topic = p.TopicAlias is { } alias ? _cold?.AliasesOf(from.Direction)?.Get(alias) : null;
        }

        // Stamped with the packet that completed the variable header (the payload may run on for many packets;
        // tshark stamps the packet where the whole PDU ends, the lead's comparisons match counts and values).
        _services.Events.Emit(new MqttPublishEvent
        {
            Flow = FlowOf(from.Direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            Session = _fields,
            Topic = topic,
            Qos = p.Qos,
            Retain = p.Retain,
            Dup = p.Dup,
            PacketId = p.PacketId,
            PayloadSize = p.PayloadSize,
            TopicAlias = p.TopicAlias,
            MessageExpiryInterval = p.MessageExpiryInterval,
            ContentType = p.ContentType,
            ResponseTopic = p.ResponseTopic,
        });

        if (p.PacketId is { } id)
        {
            Request(from.Direction, p.Qos == 1 ? Pending.PublishQos1 : Pending.PublishQos2, id);
        }
    }

    private ColdState Cold => _cold ??= new ColdState();

    private MqttFramer FramerOf(FlowDirection direction) => direction == FlowDirection.ToServer ? _clientFramer : _serverFramer;

    private FlowContext FlowOf(FlowDirection direction) =>
        direction == FlowDirection.ToServer ? _toServer : _toServer.Reverse ?? _toServer.CreateReverse();

    private bool IsPlausibleBody(MqttDecoder decoder, MqttFixedHeader h, ReadOnlySpan<byte> body)
    {
        if (h.Type is MqttPacketType.SubAck or MqttPacketType.UnsubAck)
        {
            // The acknowledgments' bodies are otherwise free-form: every code must be one the specification
            // defines, SUBACK 3.1.1 §3.9.3 (0, 1, 2, 0x80), 5.0 §3.9.3 and UNSUBACK 5.0 §3.11.3.
            if (!decoder.TryReadSubscribeAck(body, h.Type, out var ack, out _))
            {
                return false;
            }

            var v5 = decoder.Version == MqttVersion.V500;
            foreach (var code in ack!.ReasonCodes ?? [])
            {
                var known = h.Type == MqttPacketType.SubAck
                    ? code is 0 or 1 or 2 or 0x80 || (v5 && code is 0x83 or 0x87 or 0x8F or 0x91 or 0x97 or 0x9E or 0xA1 or 0xA2)
                    : code is 0 or 0x11 or 0x80 or 0x83 or 0x87 or 0x8F or 0x91;
                if (!known)
                {
                    return false;
                }
            }

            return true;
        }

        return !Decode(decoder, _clientFramer, h, body, default, emit: false).IsError;
    }

    /// <summary>
    /// Decodes a complete non-PUBLISH packet with <paramref name="decoder"/>; when <paramref name="emit"/> and it
    /// decoded, emits its event and joins it to its request. Returns the error when malformed.
    /// </summary>
    private ParseError Decode(MqttDecoder decoder, MqttFramer from, MqttFixedHeader h, ReadOnlySpan<byte> body, in PacketMeta meta, bool emit)
    {
        ParseError error;
        switch (h.Type)
        {
            case MqttPacketType.Connect:
                if (MqttDecoder.TryReadConnect(body, emit ? _services.SecretHasher : null, out var c, out error) && emit)
                {
                    OnConnect(from, c!, meta);
                }

                return error;
            case MqttPacketType.ConnAck:
                if (decoder.TryReadConnAck(body, out var ca, out error) && emit)
                {
                    OnConnAck(from, ca!, meta);
                }

                return error;
            case MqttPacketType.PubAck:
            case MqttPacketType.PubRec:
            case MqttPacketType.PubRel:
            case MqttPacketType.PubComp:
                if (decoder.TryReadPublishAck(body, out var ack, out error) && emit)
                {
                    var flow = FlowOf(from.Direction);
                    _services.Events.Emit(h.Type switch
                    {
                        MqttPacketType.PubAck => new MqttPubAckEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Session = _fields, PacketId = ack.PacketId, ReasonCode = ack.ReasonCode },
                        MqttPacketType.PubRec => new MqttPubRecEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Session = _fields, PacketId = ack.PacketId, ReasonCode = ack.ReasonCode },
                        MqttPacketType.PubRel => new MqttPubRelEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Session = _fields, PacketId = ack.PacketId, ReasonCode = ack.ReasonCode },
                        _ => new MqttPubCompEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Session = _fields, PacketId = ack.PacketId, ReasonCode = ack.ReasonCode },
                    });
                    OnPublishAck(from, h.Type, ack.PacketId, meta);
                }

                return error;
            case MqttPacketType.Subscribe:
                if (decoder.TryReadSubscribe(body, out var sub, out error) && emit)
                {
                    _services.Events.Emit(new MqttSubscribeEvent
                    {
                        Flow = FlowOf(from.Direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                        Session = _fields,
                        PacketId = sub!.PacketId, TopicFilters = sub.TopicFilters, SubscriptionQos = sub.Qos,
                    });
                    Request(from.Direction, Pending.Subscribe, sub.PacketId);
                }

                return error;
            case MqttPacketType.SubAck:
            case MqttPacketType.UnsubAck:
                if (decoder.TryReadSubscribeAck(body, h.Type, out var sa, out error) && emit)
                {
                    _services.Events.Emit(h.Type == MqttPacketType.SubAck
                        ? new MqttSubAckEvent
                        {
                            Flow = FlowOf(from.Direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                            Session = _fields,
                            PacketId = sa!.PacketId, ReasonCodes = sa.ReasonCodes!,
                        }
                        : new MqttUnsubAckEvent
                        {
                            Flow = FlowOf(from.Direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                            Session = _fields,
                            PacketId = sa!.PacketId, ReasonCodes = sa.ReasonCodes,
                        });
                    Acknowledge(from, h.Type == MqttPacketType.SubAck ? Pending.Subscribe : Pending.Unsubscribe, h.Type, sa.PacketId, meta);
                }

                return error;
            case MqttPacketType.Unsubscribe:
                if (decoder.TryReadUnsubscribe(body, out var unsub, out error) && emit)
                {
                    _services.Events.Emit(new MqttUnsubscribeEvent
                    {
                        Flow = FlowOf(from.Direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                        Session = _fields,
                        PacketId = unsub!.PacketId, TopicFilters = unsub.TopicFilters,
                    });
                    Request(from.Direction, Pending.Unsubscribe, unsub.PacketId);
                }

                return error;
            case MqttPacketType.PingReq:
            case MqttPacketType.PingResp:
                if (MqttDecoder.TryReadEmpty(body, out error) && emit)
                {
                    var flow = FlowOf(from.Direction);
                    _services.Events.Emit(h.Type == MqttPacketType.PingReq
                        ? new MqttPingReqEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Session = _fields }
                        : new MqttPingRespEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Session = _fields });
                }

                return error;
            case MqttPacketType.Disconnect:
                if (decoder.TryReadDisconnect(body, out var d, out error) && emit)
                {
                    _services.Events.Emit(new MqttDisconnectEvent
                    {
                        Flow = FlowOf(from.Direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                        Session = _fields,
                        ReasonCode = d.ReasonCode,
                    });
                }

                return error;
            case MqttPacketType.Auth:
                if (decoder.TryReadAuth(body, out var a, out error) && emit)
                {
                    _services.Events.Emit(new MqttAuthEvent
                    {
                        Flow = FlowOf(from.Direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                        Session = _fields,
                        ReasonCode = a.ReasonCode, AuthenticationMethod = a.AuthenticationMethod,
                    });
                }

                return error;
            default:
                return new ParseError(MalformedReason.UnknownType, null, "reserved packet type"); // unreachable: the fixed header rejects type 0
        }
    }

    private void OnConnect(MqttFramer from, MqttConnect c, in PacketMeta meta)
    {
        // The CONNECT fixes the decoder for both directions and names the client for every later event.
        var again = _fields.ProtocolLevel is not null;
        _decoder = MqttDecoder.For(c.Version);
        _levelKnown = true;
        _fields = new MqttSessionFields { ClientId = c.ClientId, Username = c.Username, ProtocolLevel = c.ProtocolLevel };
        _idleHoldMicros = HoldFor(c.KeepAlive);
        _services.Events.Emit(new MqttConnectEvent
        {
            Flow = FlowOf(from.Direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            Session = _fields,
            ProtocolName = c.ProtocolName,
            CleanStart = c.CleanStart,
            KeepAlive = c.KeepAlive,
            PasswordPresent = c.PasswordPresent,
            PasswordLength = c.PasswordLength,
            PasswordHash = c.PasswordHash,
            WillPresent = c.WillPresent,
            WillTopic = c.WillTopic,
            WillQos = c.WillQos,
            WillRetain = c.WillRetain,
            WillPayloadSize = c.WillPayloadSize,
            SessionExpiryInterval = c.SessionExpiryInterval,
            ReceiveMaximum = c.ReceiveMaximum,
            MaximumPacketSize = c.MaximumPacketSize,
            TopicAliasMaximum = c.TopicAliasMaximum,
            AuthenticationMethod = c.AuthenticationMethod,
            UserPropertyCount = c.UserPropertyCount,
        });

        if (again)
        {
            // A client sends CONNECT once per network connection; a second one is a protocol violation the server
            // must close the connection for (3.1.1 [MQTT-3.1.0-2], 5.0 §3.1).
            Anomaly(from, MqttAnomaly.SecondConnect, MqttPacketType.Connect, null, meta);
        }
    }

    private void OnConnAck(MqttFramer from, MqttConnAck ca, in PacketMeta meta)
    {
        // Joined to the CONNECT: the session's client id, user name and level (the CONNECT's client id, even when
        // the server assigns another; the assigned one names the client on the events after this one).
        _services.Events.Emit(new MqttConnAckEvent
        {
            Flow = FlowOf(from.Direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            Session = _fields,
            ReturnCode = ca.ReturnCode,
            Reason = MqttReasonCodes.ConnAckName(ca.ReturnCode, ca.V5Layout),
            SessionPresent = ca.SessionPresent,
            AssignedClientIdentifier = ca.AssignedClientIdentifier,
            ReasonString = ca.ReasonString,
            TopicAliasMaximum = ca.TopicAliasMaximum,
        });
        if (ca.AssignedClientIdentifier is { } assigned)
        {
            _fields = _fields with { ClientId = assigned }; // 5.0 §3.2.2.3.7
        }

        if (ca.ServerKeepAlive is { } serverKeepAlive)
        {
            _idleHoldMicros = HoldFor(serverKeepAlive); // 5.0 §3.2.2.3.14: the client must use it instead of its own
        }
    }

    /// <summary>
    /// Same topic → same string instance: a PUBLISH to a topic this flow has used allocates no string. A device publishes
    /// to one topic again and again, so the last topic is compared first, byte for character (ASCII: no decoding, no
    /// hashing). Otherwise the topic is decoded into a stack buffer and looked up without allocating (span alternate
    /// lookup); at most <see cref="MaxEntries"/> topics are kept (the set is cleared when full), long topics bypass it.
    /// </summary>
    private sealed class TopicCache
    {
        private const int MaxEntries = 512;
        private const int MaxCachedBytes = 256;
        private HashSet<string>? _topics;
        private string? _last;

        public string Get(ReadOnlySpan<byte> topic)
        {
            if (_last is not null && System.Text.Ascii.Equals(topic, _last))
            {
                return _last;
            }

            if (topic.Length > MaxCachedBytes)
            {
                return Encoding.UTF8.GetString(topic);
            }

            return _last = Lookup(topic);
        }

        private string Lookup(ReadOnlySpan<byte> topic)
        {
            // Valid UTF-8 (checked by the decoder) decodes to at most one UTF-16 unit per byte.
            Span<char> buffer = stackalloc char[MaxCachedBytes];
            var chars = buffer[..Encoding.UTF8.GetChars(topic, buffer)];
            _topics ??= new HashSet<string>(StringComparer.Ordinal);
            if (_topics.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars, out var cached))
            {
                return cached;
            }

            if (_topics.Count >= MaxEntries)
            {
                _topics.Clear();
            }

            var s = new string(chars);
            _topics.Add(s);
            return s;
        }
    }
}
