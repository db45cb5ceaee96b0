namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// Joins responses to their requests (Suricata's <c>mqtt.rs</c> transactions): CONNACK to the CONNECT (the
/// session's client id, user name and level), and by packet identifier PUBACK / PUBREC to a QoS 1 / QoS 2 PUBLISH,
/// PUBCOMP to a PUBREL, SUBACK to a SUBSCRIBE and UNSUBACK to an UNSUBSCRIBE (3.1.1 §2.3.1, 5.0 §2.2.1). What does
/// not fit is an <c>mqtt.anomaly</c> event: a second CONNECT, or an acknowledgment of a packet id the other side
/// never sent (a broker acknowledging messages it was not sent, a forged or replayed acknowledgment).
/// </summary>
/// <remarks>
/// Only a direction seen whole since its beginning is checked: after a mid-stream start, a gap or a malformed
/// packet its requests may have been missed, and after too many unanswered ones
/// (<see cref="MqttOptions.MaxInFlightPerDirection"/>) they are no longer tracked. PUBREL itself is not checked
/// against a PUBREC: a client resends PUBREL for a QoS 2 exchange of an earlier connection (5.0 §4.4).
/// </remarks>
internal sealed partial class MqttSession
{
    /// <summary>What a packet identifier in flight waits for.</summary>
    private enum Pending
    {
        PublishQos1 = 1,
        PublishQos2 = 2,
        PubRel = 3,
        Subscribe = 4,
        Unsubscribe = 5,
    }

    private void Request(Side side, Pending kind, int packetId)
    {
        if (!side.Untracked)
        {
            side.Add(Key(kind, packetId), _options.MaxInFlightPerDirection);
        }
    }

    private void OnPublishAck(Side side, MqttPacketType type, int packetId, in PacketMeta meta)
    {
        switch (type)
        {
            case MqttPacketType.PubAck:
                Acknowledge(side, Pending.PublishQos1, type, packetId, meta);
                break;
            case MqttPacketType.PubRec:
                Acknowledge(side, Pending.PublishQos2, type, packetId, meta);
                break;
            case MqttPacketType.PubRel:
                Request(side, Pending.PubRel, packetId);
                break;
            default:
                Acknowledge(side, Pending.PubRel, type, packetId, meta);
                break;
        }
    }

    /// <summary><paramref name="side"/> acknowledges a request the other side sent.</summary>
    private void Acknowledge(Side side, Pending kind, MqttPacketType type, int packetId, in PacketMeta meta)
    {
        var requester = Opposite(side);
        if (!requester.Remove(Key(kind, packetId)) && !requester.Untracked)
        {
            Anomaly(side, MqttAnomaly.UnknownPacketId, type, packetId, meta);
        }
    }

    private void Anomaly(Side side, MqttAnomaly kind, MqttPacketType type, int? packetId, in PacketMeta meta)
    {
        _services.Events.Emit(new MqttAnomalyEvent
        {
            Flow = FlowOf(side.Framer.Direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            ClientId = _clientId,
            Username = _username,
            ProtocolLevel = _protocolLevel,
            Kind = kind == MqttAnomaly.SecondConnect ? "second_connect" : "unknown_packet_id",
            PacketType = LowerTypeNames[(int)type],
            PacketId = packetId,
        });
    }

    private static int Key(Pending kind, int packetId) => ((int)kind << 16) | packetId;

    /// <summary>What an <c>mqtt.anomaly</c> event reports.</summary>
    private enum MqttAnomaly
    {
        SecondConnect,
        UnknownPacketId,
    }

    /// <summary>One direction: its framer, the topic aliases its sender set, and its requests in flight.</summary>
    private sealed class Side(MqttFramer framer)
    {
        private Dictionary<int, string>? _aliases;
        private int _aliasChars;
        private int[]? _inFlight;
        private int _inFlightCount;

        public MqttFramer Framer { get; } = framer;

        /// <summary>True when this direction's requests are not (or no longer) all known: acknowledgments of
        /// unknown ids are then not anomalies. A mid-stream start counts, as its framer starts resynchronising.</summary>
        public bool Untracked { get; set; } = framer.Resync;

        /// <summary>Maps a topic alias, within per-direction bounds (count and characters).</summary>
        public void SetAlias(int alias, string topic, MqttOptions options)
        {
            _aliases ??= [];
            if (_aliases.Remove(alias, out var old))
            {
                _aliasChars -= old.Length;
            }

            if (_aliases.Count < options.MaxTopicAliasesPerDirection && _aliasChars + topic.Length <= options.MaxTopicAliasCharsPerDirection)
            {
                _aliases[alias] = topic;
                _aliasChars += topic.Length;
            }
        }

        /// <summary>The topic an alias stands for, or null when unknown (never set, or lost to a gap or a bound).</summary>
        public string? GetAlias(int alias) => _aliases is not null && _aliases.TryGetValue(alias, out var t) ? t : null;

        /// <summary>Tracks a request (a resend of one in flight is tracked once). Past <paramref name="max"/> the
        /// direction stops being tracked: the set stays small, so a linear (vectorised) search is cheapest.</summary>
        public void Add(int key, int max)
        {
            var span = _inFlight.AsSpan(0, _inFlightCount);
            if (span.Contains(key))
            {
                return;
            }

            if (_inFlightCount >= max)
            {
                Untracked = true;
                _inFlight = null;
                _inFlightCount = 0;
                return;
            }

            if (_inFlight is null || _inFlightCount == _inFlight.Length)
            {
                var bigger = new int[Math.Min(Math.Max(4, _inFlightCount * 2), Math.Max(max, 1))];
                span.CopyTo(bigger);
                _inFlight = bigger;
            }

            _inFlight[_inFlightCount++] = key;
        }

        /// <summary>Removes a request answered; false when it was not in flight.</summary>
        public bool Remove(int key)
        {
            var i = _inFlight.AsSpan(0, _inFlightCount).IndexOf(key);
            if (i < 0)
            {
                return false;
            }

            _inFlight![i] = _inFlight[--_inFlightCount];
            return true;
        }
    }
}
