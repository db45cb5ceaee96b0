namespace SecMon.Core.Flows;

/// <summary>Which way a packet or event travels relative to the flow's opener.</summary>
public enum FlowDirection
{
    /// <summary>From the side that opened the flow (the client) to the other (the server).</summary>
    ToServer,
    /// <summary>From the server back to the client.</summary>
    ToClient,
}

/// <summary>
/// One direction of a flow as events see it: who sent, who received, and the flow's identity.
/// Created once per flow and direction and shared by every event of that direction, so events
/// carry no per-event copies of addresses.
/// </summary>
public sealed class FlowContext
{
    /// <summary>Deterministic flow id (the same capture gives the same ids): 16 hex digits.</summary>
    public required string FlowId { get; init; }

    /// <summary>The Community ID v1 of the 5-tuple (<c>1:base64</c>), for joining with Zeek/Suricata data.</summary>
    public required string CommunityId { get; init; }

    /// <summary><c>tcp</c> or <c>udp</c> (ECS <c>network.transport</c>).</summary>
    public required string Transport { get; init; }

    /// <summary>Sender address, textual.</summary>
    public required string SourceIp { get; init; }

    /// <summary>Sender port.</summary>
    public required int SourcePort { get; init; }

    /// <summary>Sender MAC (ECS form <c>00-1A-2B-3C-4D-5E</c>) when the link layer carried one.</summary>
    public string? SourceMac { get; init; }

    /// <summary>Receiver address, textual.</summary>
    public required string DestinationIp { get; init; }

    /// <summary>Receiver port.</summary>
    public required int DestinationPort { get; init; }

    /// <summary>Receiver MAC when the link layer carried one.</summary>
    public string? DestinationMac { get; init; }

    /// <summary>The outer 802.1Q VLAN id, when tagged.</summary>
    public int? VlanId { get; init; }

    /// <summary>Direction relative to the opener.</summary>
    public required FlowDirection Direction { get; init; }

    /// <summary>True when the opener was seen (a SYN); false when the capture started mid-stream and the
    /// client side was inferred (port hint or content).</summary>
    public bool OpenerSeen { get; init; }

    /// <summary>Capture time of the flow's first packet, UTC microseconds since the Unix epoch.</summary>
    public required long StartMicros { get; init; }

    /// <summary>The name of the capture source the flow was seen on (file path or interface).</summary>
    public string? Observer { get; init; }

    private FlowSlots _slots;

    /// <summary>
    /// The state a consumer keeps on this flow context under its <see cref="FlowSlot"/> (the rule engine: its session
    /// memory and last groups; the device inventory: the devices of the flow's two ends), so the next event of the flow
    /// finds it without a look-up by key. Each slot is written and read only by the one thread that runs its consumer;
    /// the capture engine never touches them, and a stale or foreign value only costs the consumer its ordinary look-up.
    /// </summary>
    public ref object? Slot(FlowSlot slot) => ref _slots[slot.Index];

    /// <summary>The same flow seen from the other direction; set by the flow table once both exist.</summary>
    public FlowContext? Reverse { get; set; }

    /// <summary><c>to_server</c> or <c>to_client</c>, the form used in JSON.</summary>
    public string DirectionName => Direction == FlowDirection.ToServer ? "to_server" : "to_client";

    /// <summary>Creates the reverse context of this one (addresses swapped, direction flipped) and links both.</summary>
    public FlowContext CreateReverse()
    {
        var r = new FlowContext
        {
            FlowId = FlowId,
            CommunityId = CommunityId,
            Transport = Transport,
            SourceIp = DestinationIp,
            SourcePort = DestinationPort,
            SourceMac = DestinationMac,
            DestinationIp = SourceIp,
            DestinationPort = SourcePort,
            DestinationMac = SourceMac,
            VlanId = VlanId,
            Direction = Direction == FlowDirection.ToServer ? FlowDirection.ToClient : FlowDirection.ToServer,
            OpenerSeen = OpenerSeen,
            StartMicros = StartMicros,
            Observer = Observer,
            Reverse = this,
        };
        Reverse = r;
        return r;
    }
}
