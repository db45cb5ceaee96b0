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
/// A flow's two ids computed when first read rather than when the flow starts: most flows' ids are read only when one
/// of their events is (the rule engine, an event log), so the capture thread does not hash every new flow. Shared by both
/// directions' contexts; thread-safe (each id is a pure function of what the source was made with: two threads that
/// compute it at once compute the same string, and either may be kept). The source also gives the facts both directions
/// share (transport, start, VLAN, opener seen): a flow of the capture engine reads them from what it keeps anyway (its key
/// and first packet's time), where fields of their own here cost every flow 32 bytes; <see cref="StoredFlowIds"/> keeps
/// them as given.
/// </summary>
public abstract class FlowIds
{
    private string? _flowId;
    private string? _communityId;

    /// <summary>The deterministic flow id (<see cref="FlowContext.FlowId"/>), computed once.</summary>
    public string FlowId => _flowId ??= ComputeFlowId();

    /// <summary>The Community ID (<see cref="FlowContext.CommunityId"/>), computed once.</summary>
    public string CommunityId => _communityId ??= ComputeCommunityId();

    // The capture source's name, the same for both directions: written by FlowContext's init accessor while the contexts
    // are made, read only after.
    internal string? Observer;

    /// <summary><see cref="FlowContext.Transport"/>.</summary>
    protected internal abstract string Transport { get; }

    /// <summary><see cref="FlowContext.StartMicros"/>.</summary>
    protected internal abstract long StartMicros { get; }

    /// <summary><see cref="FlowContext.VlanId"/>.</summary>
    protected internal abstract int? VlanId { get; }

    /// <summary><see cref="FlowContext.OpenerSeen"/>.</summary>
    protected internal abstract bool OpenerSeen { get; }

    /// <summary>Sets the ids given as text (a context made without a source of ids).</summary>
    internal void Give(string? flowId, string? communityId)
    {
        _flowId = flowId ?? _flowId;
        _communityId = communityId ?? _communityId;
    }

    /// <summary>Computes the flow id; called at most once per reading thread.</summary>
    protected abstract string ComputeFlowId();

    /// <summary>Computes the Community ID; called at most once per reading thread.</summary>
    protected abstract string ComputeCommunityId();
}

/// <summary>A source of ids that keeps the flow-wide facts as they are given to its contexts' init accessors (contexts
/// made with the ids as text; tests' sources).</summary>
public abstract class StoredFlowIds : FlowIds
{
    // Written by FlowContext's init accessors while the contexts are made, read only after.
    internal string StoredTransport = "";
    internal long StoredStartMicros;
    internal int? StoredVlanId;
    internal bool StoredOpenerSeen;

    /// <inheritdoc/>
    protected internal override string Transport => StoredTransport;

    /// <inheritdoc/>
    protected internal override long StartMicros => StoredStartMicros;

    /// <inheritdoc/>
    protected internal override int? VlanId => StoredVlanId;

    /// <inheritdoc/>
    protected internal override bool OpenerSeen => StoredOpenerSeen;
}

/// <summary>
/// One direction of a flow as events see it: who sent, who received, and the flow's identity.
/// Created once per flow and direction and shared by every event of that direction, so events
/// carry no per-event copies of addresses.
/// </summary>
public sealed class FlowContext
{
    // The flow's ids and the facts both directions share (transport, VLAN, start, observer, opener seen): the flow
    // table's source of ids, or one of this context's own when it was made with the ids as text.
    private readonly FlowIds _flow;
    private string? _sourceMac;
    private string? _destinationMac;
    private readonly ushort _sourcePort, _destinationPort; // 16 bits as on the wire: a context is 96 bytes with its slots

    /// <summary>Creates a context whose <see cref="FlowId"/> and <see cref="CommunityId"/> are given as text (the init
    /// accessors).</summary>
    public FlowContext()
    {
        _flow = new GivenIds();
    }

    /// <summary>Creates a context whose <see cref="FlowId"/> and <see cref="CommunityId"/> are computed from
    /// <paramref name="ids"/> when first read (the flow table's contexts). The flow-wide facts (<see cref="Transport"/>,
    /// <see cref="StartMicros"/>, <see cref="VlanId"/>, <see cref="OpenerSeen"/>, <see cref="Observer"/>) come from
    /// <paramref name="ids"/>, shared with the reverse context: given by the init accessors only when it is a
    /// <see cref="StoredFlowIds"/>.</summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
#pragma warning disable CS8618 // FlowId, CommunityId, Transport and StartMicros are read from ids: never null.
    public FlowContext(FlowIds ids, string sourceIp, int sourcePort, string destinationIp, int destinationPort, FlowDirection direction)
    {
        ArgumentNullException.ThrowIfNull(ids);
        _flow = ids;
        SourceIp = sourceIp;
        SourcePort = sourcePort;
        DestinationIp = destinationIp;
        DestinationPort = destinationPort;
        Direction = direction;
    }
#pragma warning restore CS8618

    /// <summary>Where the ids come from when they were not given as text; null when they were.</summary>
    public FlowIds? Ids => _flow is GivenIds ? null : _flow;

    /// <summary>Deterministic flow id (the same capture gives the same ids): 16 hex digits.</summary>
    public required string FlowId { get => _flow.FlowId; init => Given().Give(value, null); }

    /// <summary>The Community ID v1 of the 5-tuple (<c>1:base64</c>), for joining with Zeek/Suricata data.</summary>
    public required string CommunityId { get => _flow.CommunityId; init => Given().Give(null, value); }

    /// <summary><c>tcp</c> or <c>udp</c> (ECS <c>network.transport</c>).</summary>
    public required string Transport { get => _flow.Transport; init => Stored().StoredTransport = value; }

    /// <summary>Sender address, textual.</summary>
    public required string SourceIp { get; init; }

    /// <summary>Sender port.</summary>
    public required int SourcePort { get => _sourcePort; init => _sourcePort = Port(value); }

    /// <summary>Sender MAC (ECS form <c>00-1A-2B-3C-4D-5E</c>) when the link layer carried one (and it is the sender's
    /// own, not a router's: see <see cref="ForgetMac"/>).</summary>
    public string? SourceMac { get => _sourceMac; init => _sourceMac = value; }

    /// <summary>Receiver address, textual.</summary>
    public required string DestinationIp { get; init; }

    /// <summary>Receiver port.</summary>
    public required int DestinationPort { get => _destinationPort; init => _destinationPort = Port(value); }

    /// <summary>Receiver MAC when the link layer carried one.</summary>
    public string? DestinationMac { get => _destinationMac; init => _destinationMac = value; }

    /// <summary>The MAC of the end that sends in <paramref name="sender"/> (relative to this context's flow: ToServer is
    /// the client) turned out to be a router's (the end is off the segment): it is forgotten here and on the reverse
    /// context. Events made from here on carry no MAC for that end.</summary>
    public void ForgetMac(FlowDirection sender)
    {
        var (here, there) = sender == Direction ? (this, Reverse) : (Reverse, this);
        here?._sourceMac = null;
        there?._destinationMac = null;
    }

    /// <summary>The outer 802.1Q VLAN id, when tagged.</summary>
    public int? VlanId { get => _flow.VlanId; init => Stored().StoredVlanId = value; }

    /// <summary>Direction relative to the opener.</summary>
    public required FlowDirection Direction { get; init; }

    /// <summary>True when the opener was seen (a SYN); false when the capture started mid-stream and the
    /// client side was inferred (port hint or content).</summary>
    public bool OpenerSeen { get => _flow.OpenerSeen; init => Stored().StoredOpenerSeen = value; }

    /// <summary>Capture time of the flow's first packet, UTC microseconds since the Unix epoch.</summary>
    public required long StartMicros { get => _flow.StartMicros; init => Stored().StoredStartMicros = value; }

    /// <summary>The name of the capture source the flow was seen on (file path or interface).</summary>
    public string? Observer { get => _flow.Observer; init => _flow.Observer = value; }

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

    // The ids as text can be given only to a context made without a source of ids (its own GivenIds).
    private FlowIds Given() => _flow as GivenIds
        ?? throw new InvalidOperationException("FlowId and CommunityId are computed from the FlowIds this context was made with.");

    // The flow-wide facts can be given only where the source keeps them as given.
    private StoredFlowIds Stored() => _flow as StoredFlowIds
        ?? throw new InvalidOperationException("Transport, StartMicros, VlanId and OpenerSeen come from the FlowIds this context was made with.");

    private static ushort Port(int value) => value is >= 0 and <= ushort.MaxValue
        ? (ushort)value
        : throw new ArgumentOutOfRangeException(nameof(value), value, "A port is 0-65535.");

    /// <summary>Ids given as text: the flow-wide facts of a context made without a source of ids.</summary>
    private sealed class GivenIds : StoredFlowIds
    {
        protected override string ComputeFlowId() => "";

        protected override string ComputeCommunityId() => "";
    }

    /// <summary>Creates the reverse context of this one (addresses swapped, direction flipped) and links both.</summary>
    public FlowContext CreateReverse()
    {
        var direction = Direction == FlowDirection.ToServer ? FlowDirection.ToClient : FlowDirection.ToServer;
        var r = Ids is { } ids
            ? new FlowContext(ids, DestinationIp, DestinationPort, SourceIp, SourcePort, direction)
            {
                SourceMac = DestinationMac,
                DestinationMac = SourceMac,
                Reverse = this, // the flow-wide facts and the observer are the source's, shared already
            }
            : new FlowContext
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
                Direction = direction,
                OpenerSeen = OpenerSeen,
                StartMicros = StartMicros,
                Observer = Observer,
                Reverse = this,
            };
        Reverse = r;
        return r;
    }
}
