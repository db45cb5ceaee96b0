using System.Buffers;
using System.Text;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// Per-flow MQTT state (Suricata's <c>mqtt.rs</c>): frames each direction's byte stream into control packets,
/// emits one event per packet, joins the CONNACK to the CONNECT and stamps the CONNECT's client id, user name and
/// protocol level on every later event of the flow.
/// </summary>
/// <remarks>
/// <para>Framing. Each direction has a small buffer for one incomplete packet (at most
/// <see cref="CaptureOptions.MaxMqttMessageBytes"/>) and a "skip N bytes" counter. A packet wholly inside the
/// bytes of one <see cref="OnData"/> call is parsed in place, without copying. A PUBLISH is parsed as soon as its
/// variable header (topic, packet id, properties) is there; its event is emitted then, stamped with the packet
/// that completed the header, and the payload is skipped, never buffered, whatever its size. So the same stream
/// gives the same events whether it arrives in one call or one byte at a time. A non-PUBLISH packet larger than
/// the limit is reported malformed and skipped by its length.</para>
/// <para>Malformed input. A broken fixed header (type 0, reserved flags, bad length varint) means the framing
/// itself is lost: the packet is reported and the parser resynchronises. A packet with a sound fixed header but a
/// broken body is reported and skipped by its remaining length (the framing is intact). Reports go to the
/// diagnostics sink, <see cref="CaptureStats.MalformedMessages"/> and an <c>mqtt.malformed</c> event.</para>
/// <para>Resynchronisation (after a gap, a broken fixed header, or a session started mid-stream). Bytes collect in
/// the buffer (bounded by the same limit) and are scanned for the first offset where a plausible packet starts: a
/// valid fixed header whose length fits the packet type, a body that parses (for a PUBLISH, its variable header),
/// and either the packet ends exactly where the bytes so far end, or another plausible fixed header follows it, or
/// it is a PUBLISH whose payload runs on past the bytes so far. Bytes before it are dropped and counted
/// (<see cref="ResyncSkippedBytes"/>). A gap that falls wholly inside a PUBLISH payload being skipped needs no
/// resynchronisation: the skip simply absorbs it.</para>
/// <para>Protocol level. The CONNECT's level selects the 3.1 / 3.1.1 / 5.0 layout for both directions. Without a
/// CONNECT (mid-stream) the level is guessed: 3.1.1 by default, switching to 5.0 when a packet only parses in the
/// 5.0 layout (a 3-byte CONNACK, a PUBACK with a reason code, an AUTH...). A guessed level is not reported:
/// <c>mqtt.protocol_level</c> stays missing until a CONNECT is seen (<see cref="LevelGuessed"/> tells tests).</para>
/// </remarks>
internal sealed class MqttSession : IStreamSession
{
    private const int MaxAliasesPerDirection = 1024;

    /// <summary>Packets that must parse after a resynchronisation before the framing is trusted again.</summary>
    private const int ProbationPackets = 2;

    /// <summary>The resync window holds a whole candidate packet plus the next fixed header.</summary>
    private const int ResyncSlack = 8;

    /// <summary>
    /// Bytes of candidate validation the resync scan may spend per byte received while resynchronising. Every offset
    /// can start a candidate whose validation reads up to the message limit; hostile bytes could otherwise cost
    /// O(bytes × limit). A candidate the budget cannot pay for is rejected (the scan moves on).
    /// </summary>
    private const int ScanBudgetPerByte = 16;
    private const int MaxAliasCharsPerDirection = 64 * 1024;

    private static readonly string[] LowerTypeNames =
    [
        "reserved", "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp",
        "subscribe", "suback", "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth",
    ];

    private readonly FlowContext _toServer;
    private readonly ProtocolServices _services;
    private readonly int _maxMessage;
    private readonly DirectionState _client = new(FlowDirection.ToServer);
    private readonly DirectionState _server = new(FlowDirection.ToClient);
    private readonly TopicCache _topics = new();
    private MqttVersion _level;
    private MqttVersion _guess = MqttVersion.V311;
    private string? _clientId;
    private string? _username;
    private int? _protocolLevel;
    private bool _closed;

    /// <summary>Creates the session of one flow; <paramref name="toServer"/> is the client-to-server context.</summary>
    public MqttSession(FlowContext toServer, ProtocolServices services, bool midStream)
    {
        ArgumentNullException.ThrowIfNull(toServer);
        ArgumentNullException.ThrowIfNull(services);
        _toServer = toServer;
        _services = services;
        _maxMessage = Math.Max(services.Options.MaxMqttMessageBytes, 64);
        _client.Resync = midStream;
        _server.Resync = midStream;
    }

    /// <summary>Gaps reported by the reassembler on this flow (both directions).</summary>
    internal long Gaps { get; private set; }

    /// <summary>Bytes dropped while looking for the next packet after a gap or a broken fixed header.</summary>
    internal long ResyncSkippedBytes { get; private set; }

    /// <summary>Bytes of candidate validation the resync scans have spent (bounded per byte received).</summary>
    internal long ResyncScanWork => _client.ScanWork + _server.ScanWork;

    /// <summary>True while no CONNECT has told the protocol level and the layout is a guess.</summary>
    internal bool LevelGuessed => _level == MqttVersion.Unknown;

    /// <summary>The layout in use: the CONNECT's level, or the guess.</summary>
    internal MqttVersion Format => _level != MqttVersion.Unknown ? _level : _guess;

    /// <summary>Size of the array a direction holds right now (0 when nothing is pending).</summary>
    internal int HeldBufferBytes(FlowDirection direction) => State(direction).Buffer.Length;

    /// <summary>Most bytes a direction ever held buffered (tests check that payloads are not buffered).</summary>
    internal int MaxBufferedBytes(FlowDirection direction) => State(direction).MaxBuffered;

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        var st = State(direction);
        while (!data.IsEmpty)
        {
            if (st.Skip > 0)
            {
                var n = (int)Math.Min(st.Skip, data.Length);
                st.Skip -= n;
                st.Offset += n;
                data = data[n..];
                continue;
            }

            if (!st.Resync && st.Length == 0)
            {
                // Fast path: parse in place. On NeedMoreData the rest of data is a prefix of one packet that
                // Step has bounded by the message limit: keep it.
                var consumed = Step(st, data, meta);
                if (consumed == 0)
                {
                    Append(st, data);
                    return;
                }

                st.Offset += consumed;
                data = data[consumed..];
                continue;
            }

            // Buffered path: add only what the pending packet (or the resync window) still needs, so the buffer
            // never holds bytes of the packet after it (except while resynchronising, where Drain handles them).
            var want = st.Resync ? _maxMessage + ResyncSlack - st.Length : st.Needed - st.Length;
            var take = Math.Max(1, Math.Min(want, data.Length));
            if (st.Resync)
            {
                st.ScanBudget = Math.Min(st.ScanBudget + ((long)take * ScanBudgetPerByte), (long)ScanBudgetPerByte * (_maxMessage + ResyncSlack));
            }

            Append(st, data[..take]);
            data = data[take..];
            Drain(st, meta);
        }
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        if (_closed || length <= 0)
        {
            return;
        }

        var st = State(direction);
        Gaps++;
        var at = st.Offset + st.Length;
        string outcome;
        if (!st.Resync && st.Length == 0 && st.Skip >= length)
        {
            // The hole is inside a PUBLISH payload we were skipping anyway: framing is intact.
            st.Skip -= length;
            st.Offset += length;
            outcome = "inside a PUBLISH payload, framing kept";
        }
        else
        {
            outcome = st.Resync ? "already resynchronising, restarted"
                : st.Length > 0 ? $"dropped a partial {MqttParser.TypeName(PeekType(st))} of {st.Length} bytes, resynchronising"
                : st.Skip > 0 ? "lost the end of a PUBLISH payload, resynchronising"
                : "resynchronising";
            st.Offset += st.Length + length;
            st.Release();
            st.Skip = 0;
            st.SkipIsPayload = false;
            st.Resync = true;
            st.Probation = 0;
        }

        _services.Diagnostics.Report(DiagnosticKind.ReassemblyGap, meta,
            $"mqtt: {length} bytes missing from the {DirectionName(st)} stream at offset {at}; {outcome}");
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        foreach (var st in (ReadOnlySpan<DirectionState>)[_client, _server])
        {
            if (st.Resync)
            {
                continue; // bytes being scanned are not a packet we know of
            }

            if (st.Length > 0)
            {
                ReportMalformed(st, meta, PeekType(st), $"truncated: the flow ended {st.Length} bytes into the packet");
            }
            else if (st.Skip > 0 && st.SkipIsPayload)
            {
                ReportMalformed(st, meta, MqttPacketType.Publish, $"truncated: the flow ended {st.Skip} bytes before the end of the payload");
            }
        }

        _client.Release();
        _server.Release();
        _closed = true;
    }

    private DirectionState State(FlowDirection direction) => direction == FlowDirection.ToServer ? _client : _server;

    private static string DirectionName(DirectionState st) => st.Direction == FlowDirection.ToServer ? "to_server" : "to_client";

    private static MqttPacketType PeekType(DirectionState st) => (MqttPacketType)(st.Buffer[st.Start] >> 4);

    private FlowContext FlowOf(DirectionState st) =>
        st.Direction == FlowDirection.ToServer ? _toServer : _toServer.Reverse ?? _toServer.CreateReverse();

    /// <summary>Processes buffered bytes: skips, resync scans, and packets, until more input is needed.</summary>
    private void Drain(DirectionState st, in PacketMeta meta)
    {
        while (st.Length > 0)
        {
            if (st.Skip > 0)
            {
                var n = (int)Math.Min(st.Skip, st.Length);
                st.Skip -= n;
                Consume(st, n);
                continue;
            }

            var window = st.Buffer.AsSpan(st.Start, st.Length);
            if (st.Resync)
            {
                var at = Scan(st, window, out var found);
                ResyncSkippedBytes += at;
                Consume(st, at);
                if (!found)
                {
                    return;
                }

                st.Resync = false;
                st.Probation = ProbationPackets;
                continue;
            }

            var consumed = Step(st, window, meta);
            if (consumed == 0)
            {
                return;
            }

            Consume(st, consumed);
        }
    }

    private static void Consume(DirectionState st, int n)
    {
        st.Start += n;
        st.Length -= n;
        st.Offset += n;
        if (st.Length == 0)
        {
            st.Release(); // an idle flow holds no buffer
        }
    }

    private void Append(DirectionState st, ReadOnlySpan<byte> data)
    {
        var required = st.Length + data.Length;
        if (st.Start + required > st.Buffer.Length)
        {
            if (required <= st.Buffer.Length)
            {
                st.Buffer.AsSpan(st.Start, st.Length).CopyTo(st.Buffer);
            }
            else
            {
                // Bounded: callers never ask for more than the message limit (plus the resync slack).
                var size = Math.Max(required, Math.Min(Math.Max(st.Buffer.Length * 2, 256), _maxMessage + ResyncSlack));
                var bigger = ArrayPool<byte>.Shared.Rent(size);
                st.Buffer.AsSpan(st.Start, st.Length).CopyTo(bigger);
                st.ReturnBuffer();
                st.Buffer = bigger;
            }

            st.Start = 0;
        }

        data.CopyTo(st.Buffer.AsSpan(st.Start + st.Length));
        st.Length = required;
        st.MaxBuffered = Math.Max(st.MaxBuffered, required);
    }

    /// <summary>
    /// Handles the packet at the start of <paramref name="span"/> (which starts at a packet boundary, at
    /// <c>st.Offset</c>). Returns the bytes consumed, or 0 when more are needed (then <c>st.Needed</c> is the
    /// packet-relative byte count to wait for, never more than the message limit).
    /// </summary>
    private int Step(DirectionState st, ReadOnlySpan<byte> span, in PacketMeta meta)
    {
        var hs = MqttParser.TryReadFixedHeader(span, _level, out var h, out var error);
        if (hs == MqttStatus.NeedMoreData)
        {
            st.Needed = span.Length + 1;
            return 0;
        }

        if (hs == MqttStatus.Malformed)
        {
            if (st.Probation == 0)
            {
                ReportMalformed(st, meta, (MqttPacketType)(span[0] >> 4), error!);
            }

            return Resynchronise(st);
        }

        if (h.Type == MqttPacketType.Publish)
        {
            return StepPublish(st, span, h, meta);
        }

        if (h.TotalLength > _maxMessage)
        {
            if (st.Probation > 0)
            {
                return Resynchronise(st);
            }

            ReportMalformed(st, meta, h.Type, $"{h.TotalLength}-byte packet exceeds the {_maxMessage}-byte message limit, skipped");
            return SkipPacket(st, span, h, payload: false);
        }

        if (span.Length < h.TotalLength)
        {
            st.Needed = h.TotalLength;
            return 0;
        }

        var body = span.Slice(h.HeaderLength, h.RemainingLength);
        var bodyError = Parse(st, h, body, Format, meta, emit: true);
        if (bodyError is not null && _level == MqttVersion.Unknown && h.Type != MqttPacketType.Connect)
        {
            // No CONNECT yet: the packet may be of the other layout (3.1.1 vs 5.0).
            var other = Other(Format);
            if (Parse(st, h, body, other, meta, emit: true) is null)
            {
                _guess = other;
                bodyError = null;
            }
        }

        if (bodyError is not null)
        {
            if (st.Probation > 0)
            {
                return Resynchronise(st);
            }

            ReportMalformed(st, meta, h.Type, bodyError);
        }
        else if (st.Probation > 0)
        {
            st.Probation--;
        }

        return h.TotalLength;
    }

    /// <summary>
    /// The framing is lost at this byte: scan for the next packet from the byte after it. While on probation
    /// (just after a resynchronisation) the "packet" was probably a false start inside other data, so it is not
    /// reported; its bytes count as skipped.
    /// </summary>
    private int Resynchronise(DirectionState st)
    {
        if (st.Probation > 0)
        {
            ResyncSkippedBytes++;
            st.Probation = 0;
        }

        st.Resync = true;
        return 1;
    }

    private static MqttVersion Other(MqttVersion v) => v == MqttVersion.V500 ? MqttVersion.V311 : MqttVersion.V500;

    private int StepPublish(DirectionState st, ReadOnlySpan<byte> span, MqttFixedHeader h, in PacketMeta meta)
    {
        var body = span[h.HeaderLength..];
        var s = MqttParser.TryReadPublish(body, h.RemainingLength, h.Flags, Format, out var p, out var error, out var needed);
        if (s == MqttStatus.Malformed && _level == MqttVersion.Unknown)
        {
            var other = Other(Format);
            var s2 = MqttParser.TryReadPublish(body, h.RemainingLength, h.Flags, other, out var p2, out _, out var needed2);
            if (s2 != MqttStatus.Malformed)
            {
                if (s2 == MqttStatus.Ok)
                {
                    _guess = other;
                }

                s = s2;
                p = p2;
                needed = needed2;
            }
        }

        if (s == MqttStatus.NeedMoreData)
        {
            if (h.HeaderLength + needed <= _maxMessage)
            {
                st.Needed = h.HeaderLength + needed;
                return 0;
            }

            s = MqttStatus.Malformed;
            error = $"variable header exceeds the {_maxMessage}-byte message limit, skipped";
        }
        else if (s == MqttStatus.Ok && h.HeaderLength + p.VariableHeaderLength > _maxMessage)
        {
            // Same verdict whether the header arrived whole or in pieces.
            s = MqttStatus.Malformed;
            error = $"variable header exceeds the {_maxMessage}-byte message limit, skipped";
        }

        if (s == MqttStatus.Malformed)
        {
            if (st.Probation > 0)
            {
                return Resynchronise(st);
            }

            ReportMalformed(st, meta, MqttPacketType.Publish, error!);
            return SkipPacket(st, span, h, payload: false);
        }

        if (st.Probation > 0)
        {
            st.Probation--;
        }

        EmitPublish(st, ref p, meta);
        return SkipPacket(st, span, h, payload: true);
    }

    private static int SkipPacket(DirectionState st, ReadOnlySpan<byte> span, MqttFixedHeader h, bool payload)
    {
        var consumed = Math.Min(span.Length, h.TotalLength);
        st.Skip = h.TotalLength - consumed;
        st.SkipIsPayload = payload && st.Skip > 0;
        return consumed;
    }

    private void EmitPublish(DirectionState st, ref MqttPublish p, in PacketMeta meta)
    {
        // Topic aliases are per direction (5.0 §3.3.2.3.4): each sender maps its own.
        string? topic;
        if (!p.Topic.IsEmpty)
        {
            topic = _topics.Get(p.Topic);
            if (p.TopicAlias is { } alias)
            {
                st.SetAlias(alias, topic);
            }
        }
        else
        {
            topic = p.TopicAlias is { } alias ? st.GetAlias(alias) : null;
        }

        // Stamped with the packet that completed the variable header (the payload may run on for many packets;
        // tshark stamps the packet where the whole PDU ends, the lead's comparisons match counts and values).
        _services.Events.Emit(new MqttPublishEvent
        {
            Flow = FlowOf(st),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            ClientId = _clientId,
            Username = _username,
            ProtocolLevel = _protocolLevel,
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
    }

    /// <summary>
    /// Parses a complete non-PUBLISH packet in the <paramref name="version"/> layout; emits its event when
    /// <paramref name="emit"/> and it parsed. Returns null, or why it is malformed.
    /// </summary>
    private string? Parse(DirectionState st, MqttFixedHeader h, ReadOnlySpan<byte> body, MqttVersion version, in PacketMeta meta, bool emit)
    {
        string? error;
        switch (h.Type)
        {
            case MqttPacketType.Connect:
                if (MqttParser.TryReadConnect(body, emit ? _services.SecretHasher : null, out var c, out error) == MqttStatus.Ok && emit)
                {
                    OnConnect(st, c!, meta);
                }

                return error;
            case MqttPacketType.ConnAck:
                if (MqttParser.TryReadConnAck(body, version, out var ca, out error) == MqttStatus.Ok && emit)
                {
                    OnConnAck(st, ca!, meta);
                }

                return error;
            case MqttPacketType.PubAck:
            case MqttPacketType.PubRec:
            case MqttPacketType.PubRel:
            case MqttPacketType.PubComp:
                if (MqttParser.TryReadPublishAck(body, version, out var ack, out error) == MqttStatus.Ok && emit)
                {
                    var flow = FlowOf(st);
                    _services.Events.Emit(h.Type switch
                    {
                        MqttPacketType.PubAck => new MqttPubAckEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel, PacketId = ack.PacketId, ReasonCode = ack.ReasonCode },
                        MqttPacketType.PubRec => new MqttPubRecEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel, PacketId = ack.PacketId, ReasonCode = ack.ReasonCode },
                        MqttPacketType.PubRel => new MqttPubRelEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel, PacketId = ack.PacketId, ReasonCode = ack.ReasonCode },
                        _ => new MqttPubCompEvent { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel, PacketId = ack.PacketId, ReasonCode = ack.ReasonCode },
                    });
                }

                return error;
            case MqttPacketType.Subscribe:
                if (MqttParser.TryReadSubscribe(body, version, out var sub, out error) == MqttStatus.Ok && emit)
                {
                    _services.Events.Emit(new MqttSubscribeEvent
                    {
                        Flow = FlowOf(st), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                        ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel,
                        PacketId = sub!.PacketId, TopicFilters = sub.TopicFilters, SubscriptionQos = sub.Qos,
                    });
                }

                return error;
            case MqttPacketType.SubAck:
            case MqttPacketType.UnsubAck:
                if (MqttParser.TryReadSubscribeAck(body, h.Type, version, out var sa, out error) == MqttStatus.Ok && emit)
                {
                    _services.Events.Emit(h.Type == MqttPacketType.SubAck
                        ? new MqttSubAckEvent
                        {
                            Flow = FlowOf(st), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                            ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel,
                            PacketId = sa!.PacketId, ReasonCodes = sa.ReasonCodes!,
                        }
                        : new MqttUnsubAckEvent
                        {
                            Flow = FlowOf(st), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                            ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel,
                            PacketId = sa!.PacketId, ReasonCodes = sa.ReasonCodes,
                        });
                }

                return error;
            case MqttPacketType.Unsubscribe:
                if (MqttParser.TryReadUnsubscribe(body, version, out var unsub, out error) == MqttStatus.Ok && emit)
                {
                    _services.Events.Emit(new MqttUnsubscribeEvent
                    {
                        Flow = FlowOf(st), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                        ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel,
                        PacketId = unsub!.PacketId, TopicFilters = unsub.TopicFilters,
                    });
                }

                return error;
            case MqttPacketType.PingReq:
            case MqttPacketType.PingResp:
                if (MqttParser.TryReadEmpty(body, out error) == MqttStatus.Ok && emit)
                {
                    _services.Events.Emit(h.Type == MqttPacketType.PingReq
                        ? new MqttPingReqEvent { Flow = FlowOf(st), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel }
                        : new MqttPingRespEvent { Flow = FlowOf(st), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel });
                }

                return error;
            case MqttPacketType.Disconnect:
                if (MqttParser.TryReadReasonPacket(body, version, out var d, out error) == MqttStatus.Ok && emit)
                {
                    _services.Events.Emit(new MqttDisconnectEvent
                    {
                        Flow = FlowOf(st), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                        ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel,
                        ReasonCode = d.ReasonCode,
                    });
                }

                return error;
            case MqttPacketType.Auth:
                if (version != MqttVersion.V500)
                {
                    return "AUTH before MQTT 5.0";
                }

                if (MqttParser.TryReadReasonPacket(body, version, out var a, out error) == MqttStatus.Ok && emit)
                {
                    _services.Events.Emit(new MqttAuthEvent
                    {
                        Flow = FlowOf(st), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                        ClientId = _clientId, Username = _username, ProtocolLevel = _protocolLevel,
                        ReasonCode = a.ReasonCode, AuthenticationMethod = a.AuthenticationMethod,
                    });
                }

                return error;
            default:
                return "reserved packet type"; // unreachable: the fixed header rejects type 0
        }
    }

    private void OnConnect(DirectionState st, MqttConnect c, in PacketMeta meta)
    {
        // The CONNECT fixes the layout for both directions and names the client for every later event.
        _level = c.Version;
        _protocolLevel = c.ProtocolLevel;
        _clientId = c.ClientId;
        _username = c.Username;
        _services.Events.Emit(new MqttConnectEvent
        {
            Flow = FlowOf(st),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            ClientId = _clientId,
            Username = _username,
            ProtocolLevel = _protocolLevel,
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
    }

    private void OnConnAck(DirectionState st, MqttConnAck ca, in PacketMeta meta)
    {
        // Joined to the CONNECT: the session's client id, user name and level (the CONNECT's client id, even when
        // the server assigns another; the assigned one names the client on the events after this one).
        _services.Events.Emit(new MqttConnAckEvent
        {
            Flow = FlowOf(st),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            ClientId = _clientId,
            Username = _username,
            ProtocolLevel = _protocolLevel,
            ReturnCode = ca.ReturnCode,
            Reason = MqttReasonCodes.ConnAckName(ca.ReturnCode, ca.V5Layout),
            SessionPresent = ca.SessionPresent,
            AssignedClientIdentifier = ca.AssignedClientIdentifier,
            ReasonString = ca.ReasonString,
            TopicAliasMaximum = ca.TopicAliasMaximum,
        });
        if (ca.AssignedClientIdentifier is { } assigned)
        {
            _clientId = assigned; // 5.0 §3.2.2.3.7
        }
    }

    private void ReportMalformed(DirectionState st, in PacketMeta meta, MqttPacketType type, string what)
    {
        var known = type != MqttPacketType.Reserved;
        var message = $"mqtt: {what}, in {(known ? MqttParser.TypeName(type) : "a packet")} {DirectionName(st)} at stream offset {st.Offset}";
        _services.Diagnostics.Report(DiagnosticKind.MalformedProtocol, meta, message);
        _services.Stats.MalformedMessages++;
        _services.Events.Emit(new MqttMalformedEvent
        {
            Flow = FlowOf(st),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            ClientId = _clientId,
            Username = _username,
            ProtocolLevel = _protocolLevel,
            ErrorMessage = message,
            PacketType = known ? LowerTypeNames[(int)type] : null,
        });
    }

    /// <summary>
    /// Finds the first offset in <paramref name="window"/> where a plausible packet starts. Returns the bytes
    /// before it (to drop) and whether it was found; when not, the returned offset is where a candidate that
    /// needs more bytes starts (or the window's end).
    /// </summary>
    private int Scan(DirectionState st, ReadOnlySpan<byte> window, out bool found)
    {
        for (var i = 0; i < window.Length; i++)
        {
            var verdict = Evaluate(st, window[i..]);
            if (verdict == Candidate.Accept)
            {
                found = true;
                return i;
            }

            // A candidate that cannot be decided within the window's bound is given up.
            if (verdict == Candidate.Wait && window.Length - i < _maxMessage + ResyncSlack)
            {
                found = false;
                return i;
            }
        }

        found = false;
        return window.Length;
    }

    private enum Candidate
    {
        Reject,
        Accept,
        Wait,
    }

    private Candidate Evaluate(DirectionState st, ReadOnlySpan<byte> w)
    {
        var hs = MqttParser.TryReadFixedHeader(w, _level, out var h, out _);
        if (hs != MqttStatus.Ok)
        {
            return hs == MqttStatus.NeedMoreData ? Candidate.Wait : Candidate.Reject;
        }

        if (!ShapePlausible(h))
        {
            return Candidate.Reject;
        }

        // Validation reads at most the candidate's bytes that are here: charge them to the scan budget.
        var cost = Math.Min(w.Length, h.TotalLength);
        if (h.Type == MqttPacketType.Publish)
        {
            if (!st.TryCharge(cost))
            {
                return Candidate.Reject;
            }

            var s = MqttParser.TryReadPublish(w[h.HeaderLength..], h.RemainingLength, h.Flags, Format, out _, out _, out var needed);
            if (s == MqttStatus.Malformed)
            {
                return Candidate.Reject;
            }

            if (s == MqttStatus.NeedMoreData)
            {
                return h.HeaderLength + needed > _maxMessage ? Candidate.Reject : Candidate.Wait;
            }

            if (h.TotalLength > w.Length)
            {
                // Wait to see what follows a PUBLISH that fits the window; a larger one is accepted on its header
                // alone, so its payload is never buffered.
                return h.TotalLength <= _maxMessage ? Candidate.Wait : Candidate.Accept;
            }
        }
        else
        {
            if (h.TotalLength > _maxMessage)
            {
                return Candidate.Reject;
            }

            if (h.TotalLength > w.Length)
            {
                return Candidate.Wait;
            }

            if (!st.TryCharge(cost))
            {
                return Candidate.Reject;
            }

            var body = w.Slice(h.HeaderLength, h.RemainingLength);
            if (!PlausibleBody(h, body, Format) && !(_level == MqttVersion.Unknown && PlausibleBody(h, body, Other(Format))))
            {
                return Candidate.Reject;
            }
        }

        if (h.TotalLength == w.Length)
        {
            return Candidate.Accept;
        }

        var ns = MqttParser.TryReadFixedHeader(w[h.TotalLength..], _level, out var next, out _);
        return ns switch
        {
            MqttStatus.Ok => ShapePlausible(next) ? Candidate.Accept : Candidate.Reject,
            MqttStatus.NeedMoreData => Candidate.Wait,
            _ => Candidate.Reject,
        };
    }

    /// <summary>
    /// A candidate body parses, and (for the acknowledgments whose bodies are otherwise free-form) every code is one
    /// the specification defines: SUBACK 3.1.1 §3.9.3 (0, 1, 2, 0x80), 5.0 §3.9.3 and UNSUBACK 5.0 §3.11.3.
    /// </summary>
    private bool PlausibleBody(MqttFixedHeader h, ReadOnlySpan<byte> body, MqttVersion version)
    {
        if (h.Type is MqttPacketType.SubAck or MqttPacketType.UnsubAck)
        {
            if (MqttParser.TryReadSubscribeAck(body, h.Type, version, out var ack, out _) != MqttStatus.Ok)
            {
                return false;
            }

            foreach (var code in ack!.ReasonCodes ?? [])
            {
                var known = h.Type == MqttPacketType.SubAck
                    ? code is 0 or 1 or 2 or 0x80 || (version == MqttVersion.V500 && code is 0x83 or 0x87 or 0x8F or 0x91 or 0x97 or 0x9E or 0xA1 or 0xA2)
                    : code is 0 or 0x11 or 0x80 or 0x83 or 0x87 or 0x8F or 0x91;
                if (!known)
                {
                    return false;
                }
            }

            return true;
        }

        return Parse(_client, h, body, version, default, emit: false) is null;
    }

    /// <summary>Remaining lengths each packet type can have (a cheap filter before parsing a candidate).</summary>
    private bool ShapePlausible(MqttFixedHeader h)
    {
        var v5 = _level is MqttVersion.V500 or MqttVersion.Unknown;
        var rem = h.RemainingLength;
        return h.Type switch
        {
            MqttPacketType.Connect => rem >= 12,
            MqttPacketType.ConnAck => rem == 2 || (v5 && rem >= 3),
            MqttPacketType.Publish => rem >= 3,
            MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp => rem == 2 || (v5 && rem >= 3),
            MqttPacketType.Subscribe => rem >= 6,
            MqttPacketType.SubAck => rem >= 3,
            MqttPacketType.Unsubscribe => rem >= 5,
            MqttPacketType.UnsubAck => rem == 2 || (v5 && rem >= 4),
            MqttPacketType.PingReq or MqttPacketType.PingResp => rem == 0,
            MqttPacketType.Disconnect => rem == 0 || v5,
            MqttPacketType.Auth => v5,
            _ => false,
        };
    }

    /// <summary>One direction's framing state.</summary>
    private sealed class DirectionState(FlowDirection direction)
    {
        public FlowDirection Direction { get; } = direction;

        /// <summary>Incomplete packet (or resync window) bytes: Buffer[Start..Start+Length]. Rented from the shared
        /// pool while bytes are pending, returned as soon as none are.</summary>
        public byte[] Buffer { get; set; } = [];
        public int Start { get; set; }
        public int Length { get; set; }

        /// <summary>Most bytes ever buffered at once.</summary>
        public int MaxBuffered { get; set; }

        /// <summary>Drops any buffered bytes and gives the buffer back to the pool.</summary>
        public void Release()
        {
            Start = 0;
            Length = 0;
            ReturnBuffer();
        }

        /// <summary>Returns the current array to the pool (callers replace or clear it).</summary>
        public void ReturnBuffer()
        {
            if (Buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(Buffer);
                Buffer = [];
            }
        }

        /// <summary>Packet-relative bytes to wait for before parsing the buffered packet again.</summary>
        public int Needed { get; set; }

        /// <summary>Bytes still to skip (a PUBLISH payload, or a packet skipped as too large or malformed).</summary>
        public long Skip { get; set; }

        /// <summary>True when <see cref="Skip"/> is a good PUBLISH's payload (a flow ending inside it is truncation).</summary>
        public bool SkipIsPayload { get; set; }

        /// <summary>Looking for the next packet boundary.</summary>
        public bool Resync { get; set; }

        /// <summary>Packets still to parse cleanly after a resynchronisation before errors are trusted as real.</summary>
        public int Probation { get; set; }

        /// <summary>Validation bytes the resync scan may still spend (see <see cref="ScanBudgetPerByte"/>).</summary>
        public long ScanBudget { get; set; }

        /// <summary>Validation bytes the resync scan has spent in all.</summary>
        public long ScanWork { get; private set; }

        /// <summary>Spends <paramref name="cost"/> of the scan budget, or returns false when it cannot.</summary>
        public bool TryCharge(int cost)
        {
            if (cost > ScanBudget)
            {
                return false;
            }

            ScanBudget -= cost;
            ScanWork += cost;
            return true;
        }

        /// <summary>Stream offset of the first byte not yet consumed (the buffer's first byte when buffered).</summary>
        public long Offset { get; set; }

        private Dictionary<int, string>? _aliases;
        private int _aliasChars;

        /// <summary>Maps a topic alias, within per-direction bounds (count and characters).</summary>
        public void SetAlias(int alias, string topic)
        {
            _aliases ??= [];
            if (_aliases.Remove(alias, out var old))
            {
                _aliasChars -= old.Length;
            }

            if (_aliases.Count < MaxAliasesPerDirection && _aliasChars + topic.Length <= MaxAliasCharsPerDirection)
            {
                _aliases[alias] = topic;
                _aliasChars += topic.Length;
            }
        }

        /// <summary>The topic an alias stands for, or null when unknown (never set, or lost to a gap or a bound).</summary>
        public string? GetAlias(int alias) => _aliases is not null && _aliases.TryGetValue(alias, out var t) ? t : null;
    }

    /// <summary>
    /// Same topic → same string instance: a PUBLISH to a topic this flow has used allocates no string. The topic is
    /// decoded into a stack buffer and looked up without allocating (span alternate lookup); at most
    /// <see cref="MaxEntries"/> topics are kept (the set is cleared when full), long topics bypass it.
    /// </summary>
    private sealed class TopicCache
    {
        private const int MaxEntries = 512;
        private const int MaxCachedBytes = 256;
        private HashSet<string>? _topics;

        public string Get(ReadOnlySpan<byte> topic)
        {
            if (topic.Length > MaxCachedBytes)
            {
                return Encoding.UTF8.GetString(topic);
            }

            // Valid UTF-8 (checked by the parser) decodes to at most one UTF-16 unit per byte.
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
