using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols;

/// <summary>
/// Sits between a UDP flow and the protocol sessions: each datagram of a flow no protocol has claimed yet is shown to
/// every datagram protocol's probe (content decides); the first that claims one gets a session, which is fed that
/// datagram and every later one of the flow, and is closed with the flow. A datagram no probe claims, on a flow to a
/// port a protocol names as its own (<see cref="IProtocol.PortHints"/>: DNS's 53, DHCP's 67, CoAP's 5683...), goes to
/// that protocol all the same, so that what it cannot read is reported as malformed instead of passing unseen (a
/// damaged or fuzzed query on 53, or other traffic hiding on a DNS port). Any other flow whose first
/// <see cref="MaxProbedDatagrams"/> datagrams no probe claims is left unclassified (its datagrams are only counted).
/// </summary>
internal sealed class DatagramDispatcher : IDatagramSession
{
    /// <summary>Datagrams of a flow shown to the probes before it is left unclassified.</summary>
    public const int MaxProbedDatagrams = 4;

    private readonly FlowContext _flow;
    private readonly ProtocolServices _services;
    private readonly IReadOnlyList<IDatagramProtocol> _protocols;
    private IDatagramSession? _session;
    private int _probed;

    /// <summary>Creates the dispatcher of one UDP flow; <paramref name="flow"/> is its to-server context.</summary>
    public DatagramDispatcher(FlowContext flow, ProtocolServices services, IReadOnlyList<IDatagramProtocol> protocols)
    {
        _flow = flow;
        _services = services;
        _protocols = protocols;
    }

    /// <summary>The protocol that claimed the flow, once one has.</summary>
    public IDatagramProtocol? Protocol { get; private set; }

    /// <summary>The claiming protocol's session, once one has claimed the flow: from then on the dispatcher only passes
    /// every datagram on to it, and the flow may hold it in the dispatcher's place.</summary>
    public IDatagramSession? Claimed => _session;

    /// <inheritdoc />
    public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta)
    {
        if (_session is not null)
        {
            _session.OnDatagram(direction, payload, meta);
            return;
        }

        if (_probed >= MaxProbedDatagrams || payload.IsEmpty)
        {
            return;
        }

        _probed++;
        // By index: a foreach over the interface would allocate an enumerator per probed datagram (one per new UDP flow).
        for (var i = 0; i < _protocols.Count; i++)
        {
            var p = _protocols[i];
            if (p.Probe(payload, direction) == ProbeResult.Mine)
            {
                Claim(p, direction, payload, meta);
                return;
            }
        }

        for (var i = 0; i < _protocols.Count; i++)
        {
            if (_protocols[i].PortHints.Contains(_flow.DestinationPort))
            {
                Claim(_protocols[i], direction, payload, meta);
                return;
            }
        }
    }

    private void Claim(IDatagramProtocol protocol, FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta)
    {
        Protocol = protocol;
        _session = protocol.CreateSession(_flow, _services);
        _session.OnDatagram(direction, payload, meta);
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta) => _session?.OnClose(meta);
}
