using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// Joins responses to their requests (Suricata's <c>mqtt.rs</c> transactions): CONNACK to the CONNECT (the
/// session's client id, user name and level), and by packet identifier PUBACK / PUBREC to a QoS 1 / QoS 2 PUBLISH,
/// PUBCOMP to a PUBREL, SUBACK to a SUBSCRIBE and UNSUBACK to an UNSUBSCRIBE (3.1.1 §2.3.1, 5.0 §2.2.1). What does
/// not fit is an <c>mqtt.anomaly</c> event: a second CONNECT, or an acknowledgment of a packet id the other side
/// never sent (a broker acknowledging messages it was not sent, a forged or replayed acknowledgment).
/// </summary>
/// <remarks>
/// Only a direction seen whole since its beginning is checked (and seen at all: a capture of one direction shows
/// acknowledgments of requests it never saw): after a mid-stream start, a gap or a malformed
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

    private void Request(FlowDirection sender, Pending kind, int packetId)
    {
        ref var requests = ref RequestsOf(sender);
        if (requests.Untracked)
        {
            return;
        }

        // The overflow array (in the cold state) is needed only past the inline slots.
        int[]? none = null;
        ref var overflow = ref requests.Count < InFlight.InlineSlots ? ref none : ref Cold.OverflowOf(sender);
        requests.Add(Key(kind, packetId), _maxInFlight, ref overflow);
    }

    private void OnPublishAck(MqttFramer from, MqttPacketType type, int packetId, in PacketMeta meta)
    {
        switch (type)
        {
            case MqttPacketType.PubAck:
                Acknowledge(from, Pending.PublishQos1, type, packetId, meta);
                break;
            case MqttPacketType.PubRec:
                Acknowledge(from, Pending.PublishQos2, type, packetId, meta);
                break;
            case MqttPacketType.PubRel:
                Request(from.Direction, Pending.PubRel, packetId);
                break;
            default:
                Acknowledge(from, Pending.PubRel, type, packetId, meta);
                break;
        }
    }

    /// <summary><paramref name="from"/>'s sender acknowledges a request the other side sent.</summary>
    private void Acknowledge(MqttFramer from, Pending kind, MqttPacketType type, int packetId, in PacketMeta meta)
    {
        var sender = from.Direction == FlowDirection.ToServer ? FlowDirection.ToClient : FlowDirection.ToServer;
        ref var requester = ref RequestsOf(sender);
        var overflow = requester.Count > InFlight.InlineSlots ? Cold.OverflowOf(sender) : null;
        // A requester direction the capture never saw a byte of (a one-way mirror, asymmetric routing) sent its requests
        // unseen: its acknowledgments are not anomalies.
        if (!requester.Remove(Key(kind, packetId), overflow) && !requester.Untracked && FramerOf(sender).Offset > 0)
        {
            Anomaly(from, MqttAnomaly.UnknownPacketId, type, packetId, meta);
        }
    }

    private void Anomaly(MqttFramer from, MqttAnomaly kind, MqttPacketType type, int? packetId, in PacketMeta meta)
    {
        _services.Events.Emit(new MqttAnomalyEvent
        {
            Flow = FlowOf(from.Direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            Session = _fields,
            Kind = kind == MqttAnomaly.SecondConnect ? "second_connect" : "unknown_packet_id",
            PacketType = LowerTypeNames[(int)type],
            PacketId = packetId,
        });
    }

    private static int Key(Pending kind, int packetId) => ((int)kind << 16) | packetId;

    private ref InFlight RequestsOf(FlowDirection sender)
    {
        if (sender == FlowDirection.ToServer)
        {
            return ref _clientRequests;
        }

        return ref _serverRequests;
    }


    /// <summary>What most flows never need, kept out of the session object so that it stays small (see
    /// <see cref="InFlight"/>): topic aliases, requests in flight past the inline slots, the gap count.</summary>
    private sealed class ColdState
    {
        public TopicAliases? ClientAliases;
        public TopicAliases? ServerAliases;
        public int[]? ClientOverflow;
        public int[]? ServerOverflow;
        public long Gaps;

        public ref int[]? OverflowOf(FlowDirection sender) => ref sender == FlowDirection.ToServer ? ref ClientOverflow : ref ServerOverflow;

        public ref TopicAliases? AliasesOf(FlowDirection sender) => ref sender == FlowDirection.ToServer ? ref ClientAliases : ref ServerAliases;
    }

    /// <summary>The topic aliases one sender set (5.0 §3.3.2.3.4), within per-direction bounds (count and characters).</summary>
    private sealed class TopicAliases
    {
        private readonly Dictionary<int, string> _aliases = [];
        private int _chars;

        /// <summary>Maps a topic alias.</summary>
        public void Set(int alias, string topic, MqttOptions options)
        {
            if (_aliases.Remove(alias, out var old))
            {
                _chars -= old.Length;
            }

            if (_aliases.Count < options.MaxTopicAliasesPerDirection && _chars + topic.Length <= options.MaxTopicAliasCharsPerDirection)
            {
                _aliases[alias] = topic;
                _chars += topic.Length;
            }
        }

        /// <summary>The topic an alias stands for, or null when unknown (never set, or lost to a bound).</summary>
        public string? Get(int alias) => _aliases.TryGetValue(alias, out var t) ? t : null;
    }

    /// <summary>What an <c>mqtt.anomaly</c> event reports.</summary>
    private enum MqttAnomaly
    {
        SecondConnect,
        UnknownPacketId,
    }

    /// <summary>
    /// One direction's requests in flight. A struct of integers only, held inline in the session, where the runtime
    /// lays it out beside _fields, which every event reads: with thousands of interleaved flows each further
    /// per-flow object or cache line is a miss per packet (in-flight arrays of their own cost roughly 40-60 ns per
    /// packet at 10,000 flows in the bench capture, noisy), so the first <see cref="InlineSlots"/> requests live here
    /// and only more spill to an array in the session's cold state.
    /// </summary>
    private struct InFlight
    {
        /// <summary>Requests kept inside the struct (a client usually waits for one or two).</summary>
        public const int InlineSlots = 2;

        private InFlightSlots _inline;
        private ushort _count;

        /// <summary>True when this direction's requests are not (or no longer) all known: acknowledgments of
        /// unknown ids are then not anomalies (a mid-stream start, a gap, a malformed packet, too many in flight).</summary>
        public bool Untracked;

        /// <summary>Requests in flight.</summary>
        public readonly int Count => _count;

        /// <summary>Tracks a request (a resend of one in flight is tracked once). Past <paramref name="max"/> the
        /// direction stops being tracked, so the set stays small and a linear search is cheapest.</summary>
        public void Add(int key, int max, ref int[]? overflow)
        {
            if (IndexOf(key, overflow) >= 0)
            {
                return;
            }

            if (_count >= max)
            {
                Untracked = true;
                overflow = null;
                _count = 0;
                return;
            }

            if (_count < InlineSlots)
            {
                _inline[_count++] = key;
                return;
            }

            var at = _count - InlineSlots;
            if (overflow is null || at == overflow.Length)
            {
                var bigger = new int[Math.Max(4, at * 2)];
                overflow.AsSpan(0, at).CopyTo(bigger);
                overflow = bigger;
            }

            overflow[at] = key;
            _count++;
        }

        /// <summary>Removes a request answered; false when it was not in flight.</summary>
        public bool Remove(int key, int[]? overflow)
        {
            var i = IndexOf(key, overflow);
            if (i < 0)
            {
                return false;
            }

            // Swap the last one into the hole.
            var last = --_count;
            var moved = last < InlineSlots ? _inline[last] : overflow![last - InlineSlots];
            if (i < InlineSlots)
            {
                _inline[i] = moved;
            }
            else
            {
                overflow![i - InlineSlots] = moved;
            }

            return true;
        }

        private readonly int IndexOf(int key, int[]? overflow)
        {
            var inline = Math.Min((int)_count, InlineSlots);
            for (var i = 0; i < inline; i++)
            {
                if (_inline[i] == key)
                {
                    return i;
                }
            }

            for (var i = 0; i < _count - InlineSlots; i++)
            {
                if (overflow![i] == key)
                {
                    return InlineSlots + i;
                }
            }

            return -1;
        }
    }

    /// <summary>Room for the usual few requests in flight, inside <see cref="InFlight"/>.</summary>
    [System.Runtime.CompilerServices.InlineArray(InFlight.InlineSlots)]
    private struct InFlightSlots
    {
        private int _element;
    }
}
