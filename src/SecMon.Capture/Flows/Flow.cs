using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
    public Flow(FlowKey key, bool clientIsA, long firstMicros, string clientIp, string serverIp,
                string? clientMac, string? serverMac, bool openerSeen, string? observer)
        : this(key, clientIsA, firstMicros)
    {
        _hot.OpenerSeen = openerSeen;
        _toServer = new FlowContext(this, clientIp, ClientPort, serverIp, ServerPort, FlowDirection.ToServer)
        {
            SourceMac = clientMac,
            DestinationMac = serverMac,
            Observer = observer,
        };
        _toClient = _toServer.CreateReverse();
    }

    /// <summary>Creates a flow whose client is canonical endpoint A when <paramref name="clientIsA"/>, with contexts made
    /// elsewhere (tests: contexts with ids given as text).</summary>
    public Flow(FlowKey key, bool clientIsA, FlowContext toServer, long firstMicros)
        : this(key, clientIsA, firstMicros)
    {
        ArgumentNullException.ThrowIfNull(toServer);
        _toServer = toServer;
        _toClient = toServer.Reverse ?? toServer.CreateReverse();
    }

#pragma warning disable CS8618 // _toServer and _toClient: set by both constructors that chain here.
    private Flow(in FlowKey key, bool clientIsA, long firstMicros)
#pragma warning restore CS8618
    {
        (_hot.AHigh, _hot.ALow, _hot.BHigh, _hot.BLow) = (key.AddressA.High, key.AddressA.Low, key.AddressB.High, key.AddressB.Low);
        (_hot.Link, _hot.Rest) = (key.Link, key.Rest);
        _hot.ClientIsA = clientIsA;
        _hot.FirstMicros = firstMicros;
        _hot.LastMicros = firstMicros;
    }

    // The layout, for the packet path: every packet reads the flow's key (the table's compare), its clock, counters, state
    // and streams; the rest is read when the flow starts, ends or emits. The runtime places reference fields first (in
    // the order declared), then primitive fields, then struct fields, so the hot references are declared last and the hot
    // primitives are one struct (sequential: it holds no reference) that follows them: about 150 bytes in a row, three
    // cache lines, where the same fields spread across the object's 280 bytes touched four or five.
    private readonly FlowContext _toServer, _toClient;
    private Flow? _older, _newer;
    private TcpStream? _clientStream, _serverStream;
    private IStreamSession? _session;
    private IDatagramSession? _datagramSession;
    private FlowTable.FlowList? _list;
    private HotState _hot;

    [StructLayout(LayoutKind.Sequential)]
    private struct HotState
    {
        public ulong ALow, BLow, Rest, AHigh, BHigh, Link; // the canonical key (FlowKey's words)
        public long LastMicros, Placed;
        public long PacketsToServer, PacketsToClient, PayloadBytesToServer, PayloadBytesToClient;
        public FlowCloseReason CloseReason;
        public int Hash;
        public bool ClientIsA, SessionRequested, Translated, FinFromClient, FinFromServer, HasClientMac, HasServerMac, OpenerSeen;
        public long FirstMicros;
    }

    private IpAddress AddressA => new(_hot.AHigh, _hot.ALow, FlowKey.RestAIsV6(_hot.Rest));

    private IpAddress AddressB => new(_hot.BHigh, _hot.BLow, FlowKey.RestBIsV6(_hot.Rest));

    private ushort PortA => FlowKey.RestPortA(_hot.Rest);

    private ushort PortB => FlowKey.RestPortB(_hot.Rest);

    private byte Protocol => FlowKey.RestProtocol(_hot.Rest);

    private ushort ClientPort => ClientIsA ? PortA : PortB;

    private ushort ServerPort => ClientIsA ? PortB : PortA;

    // The facts both contexts give, from what the flow keeps anyway (FlowIds: no fields of their own).

    /// <inheritdoc/>
    protected override string Transport => IsTcp ? "tcp" : "udp";

    /// <inheritdoc/>
    protected override long StartMicros => FirstMicros;

    /// <inheritdoc/>
    protected override int? VlanId => FlowKey.RestVlanId(_hot.Rest) is var vlan and not 0 ? vlan : null;

    /// <inheritdoc/>
    protected override bool OpenerSeen => _hot.OpenerSeen;

    /// <inheritdoc/>
    protected override string ComputeFlowId() => ClientIsA
        ? FlowIdentity.ComputeFlowId(AddressA, PortA, AddressB, PortB, Protocol, FlowKey.RestVlanId(_hot.Rest), FirstMicros)
        : FlowIdentity.ComputeFlowId(AddressB, PortB, AddressA, PortA, Protocol, FlowKey.RestVlanId(_hot.Rest), FirstMicros);

    /// <inheritdoc/>
    protected override string ComputeCommunityId() => ClientIsA
        ? FlowIdentity.ComputeCommunityId(AddressA, PortA, AddressB, PortB, Protocol)
        : FlowIdentity.ComputeCommunityId(AddressB, PortB, AddressA, PortA, Protocol);

    /// <summary>The canonical key (built from its words on each read: read it once where several parts are needed).</summary>
    public FlowKey Key => FlowKey.FromWords(_hot.AHigh, _hot.ALow, _hot.BHigh, _hot.BLow, _hot.Rest, _hot.Link);

    /// <summary>True when this flow's key is <paramref name="key"/> (the flow table's compare: six words in a row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool HasKey(in FlowKey key) =>
        _hot.ALow == key.AddressA.Low && _hot.BLow == key.AddressB.Low && _hot.Rest == key.Rest &&
        _hot.AHigh == key.AddressA.High && _hot.BHigh == key.AddressB.High && _hot.Link == key.Link;

    /// <summary>True when canonical endpoint A (<see cref="FlowKey.AddressA"/>) is the client.</summary>
    public bool ClientIsA => _hot.ClientIsA;

    /// <summary>The client→server context (what events of that direction carry).</summary>
    public FlowContext ToServer => _toServer;

    /// <summary>The server→client context.</summary>
    public FlowContext ToClient => _toClient;

    /// <summary>True for TCP.</summary>
    public bool IsTcp => Protocol == Decoding.PacketDecoder.ProtocolTcp;

    /// <summary>Capture time of the first packet.</summary>
    public long FirstMicros => _hot.FirstMicros;

    /// <summary>The run's clock (the latest capture time seen so far, whichever flow it came from) at the flow's
    /// latest packet: never behind the flow's own packet times and never moving backwards, so when a capture's time
    /// stamps go back (files merged out of order, a NIC's queues), the flows seen since are not taken for idle and
    /// the least-recently-seen lists stay in clock order. Equal to the latest packet's time on an ordered capture.</summary>
    public long LastMicros { get => _hot.LastMicros; set => _hot.LastMicros = value; }

    /// <summary>Packets from the client.</summary>
    public long PacketsToServer { get => _hot.PacketsToServer; set => _hot.PacketsToServer = value; }

    /// <summary>Packets from the server.</summary>
    public long PacketsToClient { get => _hot.PacketsToClient; set => _hot.PacketsToClient = value; }

    /// <summary>Transport payload bytes from the client, as the headers announce them (captured or not).</summary>
    public long PayloadBytesToServer { get => _hot.PayloadBytesToServer; set => _hot.PayloadBytesToServer = value; }

    /// <summary>Transport payload bytes from the server.</summary>
    public long PayloadBytesToClient { get => _hot.PayloadBytesToClient; set => _hot.PayloadBytesToClient = value; }

    /// <summary>Why the flow ended; <see cref="FlowCloseReason.None"/> while open.</summary>
    public FlowCloseReason CloseReason { get => _hot.CloseReason; set => _hot.CloseReason = value; }

    /// <summary>True once closed (a closed TCP flow lingers briefly to absorb the last ACKs).</summary>
    public bool IsClosed => CloseReason != FlowCloseReason.None;

    /// <summary>The client's stream (TCP only).</summary>
    public TcpStream? ClientStream { get => _clientStream; set => _clientStream = value; }

    /// <summary>The server's stream (TCP only).</summary>
    public TcpStream? ServerStream { get => _serverStream; set => _serverStream = value; }

    /// <summary>The protocol session (TCP); null until the first payload asked the factory, or when it declined.</summary>
    public IStreamSession? Session { get => _session; set => _session = value; }

    /// <summary>The protocol session (UDP); null until the first datagram asked the factory, or when it declined.</summary>
    public IDatagramSession? DatagramSession { get => _datagramSession; set => _datagramSession = value; }

    /// <summary>True once the session factory was asked (it is asked at most once per flow).</summary>
    public bool SessionRequested { get => _hot.SessionRequested; set => _hot.SessionRequested = value; }

    /// <summary>This flow is another flow's packets sent on again by the capturing host after translating an address
    /// (NAT, <see cref="Decoding.DuplicateFilter.IsTranslatedCopy"/>): tracked so that its packets are recognised, never
    /// dissected, counted as hosts or probes.</summary>
    public bool Translated { get => _hot.Translated; set => _hot.Translated = value; }

    /// <summary>The client sent a FIN.</summary>
    public bool FinFromClient { get => _hot.FinFromClient; set => _hot.FinFromClient = value; }

    /// <summary>The server sent a FIN.</summary>
    public bool FinFromServer { get => _hot.FinFromServer; set => _hot.FinFromServer = value; }

    /// <summary>The client's MAC from the flow's first packet, when <see cref="HasClientMac"/> (its context's text).</summary>
    public Core.Devices.MacAddress ClientMac { get; init; }

    /// <summary>The server's MAC from the flow's first packet, when <see cref="HasServerMac"/>.</summary>
    public Core.Devices.MacAddress ServerMac { get; init; }

    /// <summary>The first packet's link layer carried the client's own MAC (not a router's: <see cref="RoutedAddresses"/>).</summary>
    public bool HasClientMac { get => _hot.HasClientMac; set => _hot.HasClientMac = value; }

    /// <summary>The first packet's link layer carried the server's own MAC.</summary>
    public bool HasServerMac { get => _hot.HasServerMac; set => _hot.HasServerMac = value; }

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
    internal int Hash { get => _hot.Hash; set => _hot.Hash = value; }

    // Intrusive LRU list links, owned by FlowTable, and the run's clock when the flow was last put at its list's newest
    // end (FlowTable.Touch moves a flow only once its LastMicros is a granule past it).
    internal long Placed { get => _hot.Placed; set => _hot.Placed = value; }
    internal Flow? Older { get => _older; set => _older = value; }
    internal Flow? Newer { get => _newer; set => _newer = value; }
    internal FlowTable.FlowList? List { get => _list; set => _list = value; }

    /// <summary>The direction of a packet whose sender is canonical endpoint A when <paramref name="sourceIsA"/>.</summary>
    public FlowDirection DirectionOf(bool sourceIsA) => sourceIsA == ClientIsA ? FlowDirection.ToServer : FlowDirection.ToClient;

    /// <summary>The context of a direction.</summary>
    public FlowContext Context(FlowDirection direction) => direction == FlowDirection.ToServer ? ToServer : ToClient;
}
