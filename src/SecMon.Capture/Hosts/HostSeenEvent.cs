using SecMon.Core.Events;

namespace SecMon.Capture.Hosts;

/// <summary>
/// <c>ip.host_seen</c>: a hardware (MAC) address sent IP traffic from an address it had not been seen with in this run,
/// whatever the traffic (SSH on 22, a port no dissector reads): written by the flow table on the first packet of a
/// direction of a flow, never per packet (<see cref="HostTracker"/>). <c>source.*</c> is the host (its MAC and
/// address), <c>destination.*</c> what it first talked to; <c>flow.direction</c> says whether it opened the flow
/// (<c>to_server</c>) or answered (<c>to_client</c>). The device inventory and SECMON-BASE-0005 (a new device) learn
/// hosts from it that no protocol event names.
/// </summary>
internal sealed record HostSeenEvent : ProtocolEvent
{
    /// <summary>The schema of <c>ip.host_seen</c>: the common flow fields only.</summary>
    public static EventSchema SchemaInstance { get; } = new("ip.host_seen",
    [
        new EventField<HostSeenEvent>("ip.host.new_mac", FieldKind.Boolean, e => FieldValue.Of(e.NewMac), "True when the MAC itself was first seen in IP traffic (false: a known MAC with another address)."),
    ]);

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>The MAC had not been seen in IP traffic before (not only this address of it).</summary>
    public bool NewMac { get; init; }
}
