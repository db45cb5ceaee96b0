using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols;

/// <summary>What a protocol probe concluded from the first bytes of a direction.</summary>
internal enum ProbeResult
{
    /// <summary>Not enough bytes yet to say; ask again when more arrive.</summary>
    NeedMoreData,
    /// <summary>These bytes are not this protocol.</summary>
    NotMine,
    /// <summary>These bytes are this protocol.</summary>
    Mine,
}

/// <summary>
/// An application protocol carried over TCP: a probe that recognises it from its first bytes (the port is
/// only a hint, used when no probe recognised a stream, e.g. a capture that starts mid-stream), and a factory for
/// its per-flow session, fed the reassembled bytes. One implementation per folder under Protocols/, listed once in
/// <see cref="ProtocolCatalogue.Shipped"/>.
/// </summary>
internal interface IStreamProtocol : IProtocol
{
    /// <summary>Looks at the bytes a direction has sent so far (from its start). Pure: no state, no allocation.</summary>
    ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction);

    /// <summary>Creates the per-flow session. <paramref name="flow"/> is the to-server context;
    /// <paramref name="midStream"/> is true when the session starts without the stream's beginning
    /// (port-hint fallback), so the parser must resynchronise first.</summary>
    IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream);

    /// <summary>Claims a new flow before any probe sees its bytes, because another flow of this protocol announced it
    /// (an FTP data connection to the endpoint the control channel gave): its session, or null to let the probes
    /// decide. Called once per TCP flow, when its first payload arrives; the default claims nothing.</summary>
    IStreamSession? ClaimAnnounced(FlowContext flow, ProtocolServices services) => null;
}

/// <summary>Per-flow state of one application protocol on a reassembled TCP stream.</summary>
internal interface IStreamSession
{
    /// <summary>In-order bytes of one direction. The span is valid only during the call: copy what you keep.</summary>
    void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta);

    /// <summary><paramref name="length"/> bytes of <paramref name="direction"/> will never arrive; the parser
    /// drops any partial message and resynchronises at the next message it can find.</summary>
    void OnGap(FlowDirection direction, long length, in PacketMeta meta);

    /// <summary>The flow ended (FIN, RST, idle timeout, eviction or end of input). A partial message left in a
    /// buffer is reported as truncated.</summary>
    void OnClose(in PacketMeta meta);

    /// <summary>How long, in microseconds of capture time, the protocol keeps this session open with no traffic, when it
    /// says so and that is longer than the flow table's TCP idle timeout (MQTT: one and a half times the keep alive,
    /// after which the broker closes a silent client); 0 when it does not. The flow is held that long before it is
    /// taken for idle.</summary>
    long IdleHoldMicros => 0;
}

/// <summary>What a session may use: the event sink, diagnostics, options, and the catalogue (a protocol that carries
/// another, as WebSocket carries MQTT, finds the inner one there by name).</summary>
internal sealed class ProtocolServices
{
    /// <summary>Where events go.</summary>
    public required IEventSink Events { get; init; }

    /// <summary>Where malformed input is reported.</summary>
    public required IDiagnosticSink Diagnostics { get; init; }

    /// <summary>Counters.</summary>
    public required CaptureStats Stats { get; init; }

    /// <summary>Keyed hash for secrets seen on the wire (passwords): never the secret, only a tag that tells
    /// two different secrets apart.</summary>
    public required Core.SecretHasher SecretHasher { get; init; }

    /// <summary>Capture options (limits).</summary>
    public required CaptureOptions Options { get; init; }

    /// <summary>The protocols of this run.</summary>
    public ProtocolCatalogue Catalogue { get; init; } = ProtocolCatalogue.Shipped;

    /// <summary>The run's scan detector, for a protocol that sees probes the flow table does not (ARP requests); null
    /// when it is off.</summary>
    public Scans.ScanDetector? Scans { get; init; }

    /// <summary>How many tunnels (HTTP CONNECT, SOCKS) deep the sessions given these services are: 0 on a connection's own
    /// bytes.</summary>
    public int TunnelDepth { get; init; }

    /// <summary>How many tunnels deep a connection is still dissected (a proxy chain is one or two); the bytes of a tunnel
    /// deeper than that are only counted, so that a hostile stream of nested tunnels cannot grow the call depth.</summary>
    public const int MaxTunnelDepth = 4;

    /// <summary>Most bytes a client may send after asking a proxy for a tunnel (HTTP CONNECT, a SOCKS request) and before
    /// the proxy's answer: held, and given to the tunnel if the proxy grants it.</summary>
    public const int MaxEarlyTunnelBytes = 16 * 1024;

    /// <summary>The session for what a proxy relays on <paramref name="flow"/> once it granted a tunnel to
    /// <paramref name="port"/> (0: unknown): the catalogue's stream protocols recognise it by content, the port being the
    /// hint; null when <see cref="MaxTunnelDepth"/> tunnels are open already.</summary>
    public IStreamSession? Tunnel(FlowContext flow, ushort port) =>
        TunnelDepth < MaxTunnelDepth ? new StreamDispatcher(flow, Tunnelled, Catalogue.Stream, port) : null;

    private ProtocolServices? _tunnelled;

    // These services for the sessions inside a tunnel of this depth (TunnelDepth one more), made once.
    private ProtocolServices Tunnelled => _tunnelled ??= new ProtocolServices
    {
        Events = Events,
        Diagnostics = Diagnostics,
        Stats = Stats,
        SecretHasher = SecretHasher,
        Options = Options,
        Catalogue = Catalogue,
        Scans = Scans,
        TunnelDepth = TunnelDepth + 1,
    };
}
