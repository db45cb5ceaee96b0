using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols;

/// <summary>
/// An application protocol carried over UDP (CoAP, DNS, DHCP...): a probe that recognises one datagram as its own
/// (the port is only a hint), and a factory for its per-flow session, fed every datagram of the flow in both
/// directions and told when the flow ends (idle timeout, eviction, end of input). One implementation per folder under
/// Protocols/, listed once in <see cref="ProtocolCatalogue.Shipped"/>.
/// </summary>
internal interface IDatagramProtocol : IProtocol
{
    /// <summary>Looks at one datagram of a flow no protocol has claimed yet. Pure: no state, no allocation.
    /// <see cref="ProbeResult.NeedMoreData"/> means "not sure from this one": the next datagram is probed too.</summary>
    ProbeResult Probe(ReadOnlySpan<byte> datagram, FlowDirection direction);

    /// <summary>Creates the per-flow session; <paramref name="flow"/> is the to-server context.</summary>
    IDatagramSession CreateSession(FlowContext flow, ProtocolServices services);
}

/// <summary>Per-flow state of one protocol on a UDP flow.</summary>
internal interface IDatagramSession
{
    /// <summary>One datagram's payload in <paramref name="direction"/>; the span is valid only during the call.</summary>
    void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta);

    /// <summary>The flow ended (idle timeout, eviction or end of input): report what is left (a request never answered).</summary>
    void OnClose(in PacketMeta meta);
}
