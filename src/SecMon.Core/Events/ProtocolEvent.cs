using SecMon.Core.Flows;

namespace SecMon.Core.Events;

/// <summary>
/// A protocol event: something a dissector saw on a flow (an MQTT CONNECT, a TLS ClientHello).
/// Immutable; carries its flow, capture time and the packet that completed it. Each concrete type
/// exposes its fields through a static <see cref="EventSchema"/> returned by <see cref="Schema"/>.
/// </summary>
public abstract record ProtocolEvent
{
    /// <summary>The flow direction the event travelled in.</summary>
    public required FlowContext Flow { get; init; }

    /// <summary>Capture time, UTC microseconds since the Unix epoch.</summary>
    public required long TimestampMicros { get; init; }

    /// <summary>1-based number of the packet (in this run's merged input order) that completed the event;
    /// for a single file it equals Wireshark's frame number. JSON: <c>event.sequence</c>.</summary>
    public required long PacketNumber { get; init; }

    /// <summary>The event type's schema (type name and fields).</summary>
    public abstract EventSchema Schema { get; }

    /// <summary>The event type name, e.g. <c>mqtt.connect</c>.</summary>
    public string Type => Schema.Type;

    /// <summary>Capture time as a <see cref="DateTimeOffset"/>.</summary>
    public DateTimeOffset Timestamp => Time.FromUnixMicros(TimestampMicros);

    /// <summary>An immutable object that the events of a session share while the identity and user name facts they
    /// declare (<see cref="Devices.DeviceFactKind.Identity"/>, <see cref="Devices.DeviceFactKind.Username"/>) stay the
    /// same, or null (the default: no such object). A consumer that remembers a flow's last one (the device inventory)
    /// need not read those fields again while it does not change: they live in that shared object, a cache miss on a
    /// busy sensor.</summary>
    public virtual object? NamesToken => null;
}
