using SecMon.Core.Events;

namespace SecMon.Capture.Protocols;

/// <summary>
/// The protocols a run dissects, stream (TCP), datagram (UDP) and link-layer (ARP) alike. <see cref="Shipped"/> is the one list of
/// protocols SecMon ships: adding a protocol adds a folder under Protocols/ and one line there. Order matters only
/// for probes that could both claim the same bytes: the more specific first. A run may use another catalogue (tests
/// add their own protocols with <see cref="With"/>).
/// </summary>
internal sealed class ProtocolCatalogue
{
    // Well-known service ports of protocols SecMon does not dissect (IANA registrations), so that a flow whose opening
    // was not seen still gets its server side right. The dissected protocols' own port hints are added to these.
    private static readonly int[] OtherServicePorts =
    [
        1433, 1521, 1900, 2049, 2404, 3306, 3389, 4840, 5060, 5061, 5353, 5432, 5671, 5672, 5683, 5684, 5900, 6379, 6443,
        8000, 8080, 8081, 8443, 8888, 9000, 9092, 9200, 11211, 20000, 27017, 44818, 47808, 61613, 61614,
    ];

    // Per port: 2 = a dissected protocol's declared server port (its PortHints), 1 = another service port (below 1024 or
    // OtherServicePorts), 0 = neither. Rank 2 beats 1 so that a client port below a server port (DHCPv6's 546 to 547)
    // does not pass for the server.
    private readonly byte[] _servicePortRank = new byte[65536];

    /// <summary>Creates a catalogue of <paramref name="protocols"/>, each a stream or a datagram protocol (or both).</summary>
    public ProtocolCatalogue(IEnumerable<IProtocol> protocols)
    {
        ArgumentNullException.ThrowIfNull(protocols);
        All = [.. protocols];
        foreach (var p in All)
        {
            if (p is not (IStreamProtocol or IDatagramProtocol or ILinkProtocol))
            {
                throw new ArgumentException($"protocol '{p.Name}' is neither a stream, a datagram nor a link-layer protocol", nameof(protocols));
            }
        }

        Stream = [.. All.OfType<IStreamProtocol>()];
        Datagram = [.. All.OfType<IDatagramProtocol>()];
        Link = [.. All.OfType<ILinkProtocol>()];
        for (var port = 1; port < 1024; port++)
        {
            _servicePortRank[port] = 1;
        }

        foreach (var port in OtherServicePorts)
        {
            _servicePortRank[port] = 1;
        }

        foreach (var port in All.SelectMany(p => p.PortHints))
        {
            if (port is > 0 and < 65536)
            {
                _servicePortRank[port] = 2;
            }
        }
    }

    /// <summary>Every protocol SecMon ships.</summary>
    public static ProtocolCatalogue Shipped { get; } = new(
    [
        new Mqtt.MqttProtocol(),
        new Tls.TlsProtocol(),
        new Http.HttpProtocol(), // before websocket, whose upgrades it hands over (HttpProtocol remarks)
        new WebSocket.WebSocketProtocol(),
        new Dhcp.DhcpProtocol(),
        new Dhcpv6.Dhcpv6Protocol(),
        new Dns.DnsProtocol(),
        new Modbus.ModbusProtocol(),
        new Coap.CoapProtocol(),
        new Dtls.DtlsProtocol(),
        new Quic.QuicProtocol(),
        new Telnet.TelnetProtocol(),
        new Arp.ArpProtocol(),
        new Ftp.FtpProtocol(),
        new Coap.CoapTcpProtocol(),
        new Socks.SocksProtocol(),
    ]);

    /// <summary>Every protocol, in probing order.</summary>
    public IReadOnlyList<IProtocol> All { get; }

    /// <summary>The TCP protocols, in probing order.</summary>
    public IReadOnlyList<IStreamProtocol> Stream { get; }

    /// <summary>The UDP protocols, in probing order.</summary>
    public IReadOnlyList<IDatagramProtocol> Datagram { get; }

    /// <summary>The protocols carried by the link layer beside IP (ARP).</summary>
    public IReadOnlyList<ILinkProtocol> Link { get; }

    /// <summary>Every event schema of every protocol (rule validation, <c>secmon rules fields</c>).</summary>
    /// <remarks>Built when first read (rules, <c>rules fields</c>), not with the catalogue: a run without rules does not
    /// initialise the event types of protocols its capture never carries (each protocol's list is an expression for that
    /// reason). The capture engine's own events (network.scan, ip.host_seen) come with every catalogue: they need no
    /// protocol.</remarks>
    public IReadOnlyList<EventSchema> EventSchemas =>
        _eventSchemas ??= [.. All.SelectMany(p => p.EventSchemas).Append(Scans.ScanEvent.SchemaInstance).Append(Hosts.HostSeenEvent.SchemaInstance).DistinctBy(s => s.Type)];

    private IReadOnlyList<EventSchema>? _eventSchemas;

    /// <summary>This catalogue with <paramref name="more"/> added after its protocols.</summary>
    public ProtocolCatalogue With(params IProtocol[] more) => new([.. All, .. more]);

    /// <summary>The stream protocol named <paramref name="name"/> (WebSocket's subprotocol, e.g. <c>mqtt</c>), or null.</summary>
    public IStreamProtocol? FindStream(string name) =>
        Stream.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>True for ports below 1024, the dissected protocols' port hints and other well-known service ports.</summary>
    public bool IsServicePort(ushort port) => port == 0 || _servicePortRank[port] != 0;

    /// <summary>How strongly <paramref name="port"/> marks a server: 2 for a dissected protocol's declared server port
    /// (<see cref="IProtocol.PortHints"/>), 1 for another service port (below 1024, or a well-known IoT/service port),
    /// 0 otherwise. The flow table takes the side with the higher rank for the server of a flow whose opening it did not
    /// see.</summary>
    public int ServicePortRank(ushort port) => port == 0 ? 1 : _servicePortRank[port];
}
