using SecMon.Capture.Decoding;
using SecMon.Capture.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Capture.Flows;

/// <summary>Why a flow ended.</summary>
internal enum FlowCloseReason
{
    /// <summary>Still open.</summary>
    None,
    /// <summary>Both sides sent FIN and their streams were delivered.</summary>
    Fin,
    /// <summary>A RST was seen.</summary>
    Rst,
    /// <summary>No packet for the idle timeout (capture time).</summary>
    IdleTimeout,
    /// <summary>The flow table was full and this was the least recently seen flow.</summary>
    Evicted,
    /// <summary>A new connection (a SYN with a new initial sequence number) reused the 5-tuple.</summary>
    Reused,
    /// <summary>The input ended.</summary>
    EndOfInput,
}

/// <summary>
/// One tracked conversation: identity, direction, counters and, for TCP, the two reassembled streams and the
/// protocol session. Created on a flow's first packet; the per-packet path only updates fields. The flow is also the
/// source of its two contexts' ids (<see cref="FlowIds"/>: computed from its client→server tuple and first packet's time
/// when first read), one object where a separate source of ids made two.
/// </summary>
internal sealed class Flow : FlowIds
{
    /// <summary>Creates a flow of the packet path and its two contexts, whose ids it computes when first read.</summary>
    public Flow(FlowKey key, bool clientIsA, long firstMicros, string transport, string clientIp, string serverIp,
                string? clientMac, string? serverMac, bool openerSeen, string? observer)
        : this(key, clientIsA, firstMicros)
    {
        ToServer = new FlowContext(this, transport, clientIp, ClientPort, serverIp, ServerPort, FlowDirection.ToServer, firstMicros)
        {
            SourceMac = clientMac,
            DestinationMac = serverMac,
            VlanId = key.VlanId == 0 ? null : key.VlanId,
            OpenerSeen = openerSeen,
            Observer = observer,
        };
        ToClient = ToServer.CreateReverse();
    }

    /// <summary>Creates a flow whose client is canonical endpoint A when <paramref name="clientIsA"/>, with contexts made
    /// elsewhere (tests: contexts with ids given as text).</summary>
    public Flow(FlowKey key, bool clientIsA, FlowContext toServer, long firstMicros)
        : this(key, clientIsA, firstMicros)
    {
        ArgumentNullException.ThrowIfNull(toServer);
        ToServer = toServer;
        ToClient = toServer.Reverse ?? toServer.CreateReverse();
    }

#pragma warning disable CS8618 // ToServer and ToClient: set by both constructors that chain here.
    private Flow(in FlowKey key, bool clientIsA, long firstMicros)
#pragma warning restore CS8618
    {
        (_aHigh, _aLow, _aV6) = (key.AddressA.High, key.AddressA.Low, key.AddressA.IsV6);
        (_bHigh, _bLow, _bV6) = (key.AddressB.High, key.AddressB.Low, key.AddressB.IsV6);
        (_portA, _portB, _protocol, _vlanId, _link) = (key.PortA, key.PortB, key.Protocol, key.VlanId, key.Link);
        ClientIsA = clientIsA;
        FirstMicros = firstMicros;
        LastMicros = firstMicros;
    }

    private IpAddress AddressA => new(_aHigh, _aLow, _aV6);

    private IpAddress AddressB => new(_bHigh, _bLow, _bV6);

    private ushort ClientPort => ClientIsA ? _portA : _portB;

    private ushort ServerPort => ClientIsA ? _portB : _portA;

    /// <inheritdoc/>
    protected override string ComputeFlowId() => ClientIsA
        ? FlowIdentity.ComputeFlowId(AddressA, _portA, AddressB, _portB, _protocol, _vlanId, FirstMicros)
        : FlowIdentity.ComputeFlowId(AddressB, _portB, AddressA, _portA, _protocol, _vlanId, FirstMicros);

    /// <inheritdoc/>
    protected override string ComputeCommunityId() => ClientIsA
        ? FlowIdentity.ComputeCommunityId(AddressA, _portA, AddressB, _portB, _protocol)
        : FlowIdentity.ComputeCommunityId(AddressB, _portB, AddressA, _portA, _protocol);

    // The canonical key, held as words rather than as a FlowKey: the runtime lays a struct field out after every
    // primitive one, so a key field put the look-up's compare (FlowTable.TryGet) on a cache line of its own, past the
    // counters the packet path touches next. As words they sit beside those counters.
    private readonly ulong _aHigh, _aLow, _bHigh, _bLow, _link;
    private readonly ushort _portA, _portB, _vlanId;
    private readonly byte _protocol;
    private readonly bool _aV6, _bV6;

    /// <summary>The canonical key (built from its words on each read: read it once where several parts are needed).</summary>
    public FlowKey Key => FlowKey.FromParts(AddressA, _portA, AddressB, _portB, _protocol, _vlanId, _link);

    /// <summary>True when this flow's key is <paramref name="key"/> (the flow table's compare, field by field).</summary>
    public bool HasKey(in FlowKey key) =>
        _aLow == key.AddressA.Low && _bLow == key.AddressB.Low && _portA == key.PortA && _portB == key.PortB &&
        _aHigh == key.AddressA.High && _bHigh == key.AddressB.High && _protocol == key.Protocol && _vlanId == key.VlanId &&
        _link == key.Link && _aV6 == key.AddressA.IsV6 && _bV6 == key.AddressB.IsV6;

    /// <summary>True when canonical endpoint A (<see cref="FlowKey.AddressA"/>) is the client.</summary>
    public bool ClientIsA { get; }

    /// <summary>The client→server context (what events of that direction carry).</summary>
    public FlowContext ToServer { get; }

    /// <summary>The server→client context.</summary>
    public FlowContext ToClient { get; }

    /// <summary>True for TCP.</summary>
    public bool IsTcp => _protocol == Decoding.PacketDecoder.ProtocolTcp;

    /// <summary>Capture time of the first packet.</summary>
    public long FirstMicros { get; }

    /// <summary>The run's clock (the latest capture time seen so far, whichever flow it came from) at the flow's
    /// latest packet: never behind the flow's own packet times and never moving backwards, so when a capture's time
    /// stamps go back (files merged out of order, a NIC's queues), the flows seen since are not taken for idle and
    /// the least-recently-seen lists stay in clock order. Equal to the latest packet's time on an ordered capture.</summary>
    public long LastMicros { get; set; }

    /// <summary>Packets from the client.</summary>
    public long PacketsToServer { get; set; }

    /// <summary>Packets from the server.</summary>
    public long PacketsToClient { get; set; }

    /// <summary>Transport payload bytes from the client, as the headers announce them (captured or not).</summary>
    public long PayloadBytesToServer { get; set; }

    /// <summary>Transport payload bytes from the server.</summary>
    public long PayloadBytesToClient { get; set; }

    /// <summary>Why the flow ended; <see cref="FlowCloseReason.None"/> while open.</summary>
    public FlowCloseReason CloseReason { get; set; }

    /// <summary>True once closed (a closed TCP flow lingers briefly to absorb the last ACKs).</summary>
    public bool IsClosed => CloseReason != FlowCloseReason.None;

    /// <summary>The client's stream (TCP only).</summary>
    public TcpStream? ClientStream { get; set; }

    /// <summary>The server's stream (TCP only).</summary>
    public TcpStream? ServerStream { get; set; }

    /// <summary>The protocol session (TCP); null until the first payload asked the factory, or when it declined.</summary>
    public IStreamSession? Session { get; set; }

    /// <summary>The protocol session (UDP); null until the first datagram asked the factory, or when it declined.</summary>
    public IDatagramSession? DatagramSession { get; set; }

    /// <summary>True once the session factory was asked (it is asked at most once per flow).</summary>
    public bool SessionRequested { get; set; }

    /// <summary>This flow is another flow's packets sent on again by the capturing host after translating an address
    /// (NAT, <see cref="Decoding.DuplicateFilter.IsTranslatedCopy"/>): tracked so that its packets are recognised, never
    /// dissected, counted as hosts or probes.</summary>
    public bool Translated { get; set; }

    /// <summary>The client sent a FIN.</summary>
    public bool FinFromClient { get; set; }

    /// <summary>The server sent a FIN.</summary>
    public bool FinFromServer { get; set; }

    /// <summary>The client's MAC from the flow's first packet, when <see cref="HasClientMac"/> (its context's text).</summary>
    public Core.Devices.MacAddress ClientMac { get; init; }

    /// <summary>The server's MAC from the flow's first packet, when <see cref="HasServerMac"/>.</summary>
    public Core.Devices.MacAddress ServerMac { get; init; }

    /// <summary>The first packet's link layer carried the client's own MAC (not a router's: <see cref="RoutedAddresses"/>).</summary>
    public bool HasClientMac { get; set; }

    /// <summary>The first packet's link layer carried the server's own MAC.</summary>
    public bool HasServerMac { get; set; }

    /// <summary>The client's (or server's) MAC turned out to be a router's: forgotten here and on both contexts.</summary>
    public void ForgetMac(bool client)
    {
        if (client)
        {
            HasClientMac = false;
        }
        else
        {
            HasServerMac = false;
        }

        ToServer.ForgetMac(client ? FlowDirection.ToServer : FlowDirection.ToClient);
    }

    /// <summary>The flow table's hash of <see cref="Key"/> (set when added; owned by <see cref="FlowTable"/>).</summary>
    internal int Hash { get; set; }

    // Intrusive LRU list links, owned by FlowTable, and the run's clock when the flow was last put at its list's newest
    // end (FlowTable.Touch moves a flow only once its LastMicros is a granule past it).
    internal long Placed;
    internal Flow? Older { get; set; }
    internal Flow? Newer { get; set; }
    internal FlowTable.FlowList? List { get; set; }

    /// <summary>The direction of a packet whose sender is canonical endpoint A when <paramref name="sourceIsA"/>.</summary>
    public FlowDirection DirectionOf(bool sourceIsA) => sourceIsA == ClientIsA ? FlowDirection.ToServer : FlowDirection.ToClient;

    /// <summary>The context of a direction.</summary>
    public FlowContext Context(FlowDirection direction) => direction == FlowDirection.ToServer ? ToServer : ToClient;
}
