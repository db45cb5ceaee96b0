using SecMon.Core.Events;

namespace SecMon.Capture.Protocols;

/// <summary>
/// What every protocol declares, whatever carries it: its name, the ports where it is usual, and the schemas of the
/// events it emits (which also declare the device facts those events carry). A protocol is one folder under
/// Protocols/ and one line in <see cref="ProtocolCatalogue.Shipped"/>; it implements <see cref="IStreamProtocol"/>
/// (over TCP) or <see cref="IDatagramProtocol"/> (over UDP), and takes its limits from its own options type, given to
/// its constructor (<c>new MqttProtocol(new MqttOptions { ... })</c>) and handed by it to its sessions: the shared
/// <see cref="CaptureOptions"/> names no protocol.
/// </summary>
internal interface IProtocol
{
    /// <summary>Short name, as in <c>network.protocol</c> (<c>mqtt</c>, <c>tls</c>, <c>coap</c>).</summary>
    string Name { get; }

    /// <summary>Server ports where this protocol is usual. A hint only: content decides. The flow table also uses them to
    /// tell the server side of a flow whose opening it did not see, ahead of any other well-known port, so a client's
    /// well-known port (DHCP's 68, DHCPv6's 546) does not belong here.</summary>
    IReadOnlyList<int> PortHints { get; }

    /// <summary>The schemas of every event type this protocol emits: an expression (<c>=> [...]</c>), read only when the
    /// catalogue's schemas are first needed (rules, <c>secmon rules fields</c>), so that building the catalogue does not
    /// initialise every event type.</summary>
    IReadOnlyList<EventSchema> EventSchemas { get; }
}
