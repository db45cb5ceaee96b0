using SecMon.Core.Devices;

namespace SecMon.Capture.Protocols;

/// <summary>
/// A protocol carried by the link layer itself, beside IP (ARP; LLDP or 802.1X would be others): it names the EtherTypes
/// it reads and creates one session per run, handed every frame of those types (Ethernet and Linux cooked captures,
/// after any 802.1Q/802.1ad tags). Such frames have no flow: the session makes the flow contexts its events carry. The
/// IP path never sees these protocols: the decoder hands a frame here only when it is not IP. One implementation per
/// folder under Protocols/, listed once in <see cref="ProtocolCatalogue.Shipped"/>.
/// </summary>
internal interface ILinkProtocol : IProtocol
{
    /// <summary>The EtherTypes this protocol reads (<c>0x0806</c> for ARP); each at least 0x0600.</summary>
    IReadOnlyList<ushort> EtherTypes { get; }

    /// <summary>Creates the run's session (its state spans every frame of the run).</summary>
    ILinkSession CreateSession(ProtocolServices services);
}

/// <summary>A link-layer protocol's state for one run.</summary>
internal interface ILinkSession
{
    /// <summary>One frame of one of the protocol's EtherTypes; the payload is valid only during the call.</summary>
    void OnFrame(in LinkFrame frame, in PacketMeta meta);
}

/// <summary>A non-IP frame as the link layer gave it: its addresses, VLAN and the bytes after the EtherType.</summary>
internal readonly ref struct LinkFrame
{
    /// <summary>The innermost EtherType (after VLAN tags).</summary>
    public ushort EtherType { get; init; }

    /// <summary>The outer VLAN id, 0 when untagged.</summary>
    public ushort VlanId { get; init; }

    /// <summary>The sender's MAC, when the link carried one (<see cref="HasSourceMac"/>).</summary>
    public MacAddress SourceMac { get; init; }

    /// <summary>True when <see cref="SourceMac"/> is set (Ethernet; a cooked capture of an Ethernet device).</summary>
    public bool HasSourceMac { get; init; }

    /// <summary>The receiver's MAC, when the link carried one (Ethernet only).</summary>
    public MacAddress DestinationMac { get; init; }

    /// <summary>True when <see cref="DestinationMac"/> is set.</summary>
    public bool HasDestinationMac { get; init; }

    /// <summary>The bytes after the EtherType that were captured (Ethernet padding included).</summary>
    public ReadOnlySpan<byte> Payload { get; init; }

    /// <summary>Bytes of the frame the capture did not keep (snap length); 0 normally.</summary>
    public int MissingBytes { get; init; }
}
