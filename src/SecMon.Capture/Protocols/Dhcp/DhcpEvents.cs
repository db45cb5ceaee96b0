using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Dhcp;

// SecMon's custom dhcp.* field set: ECS has no DHCP fields. Names follow Suricata's and Zeek's DHCP logs where they
// agree (client_mac, hostname, vendor_class, requested/assigned address, lease_time).

/// <summary>
/// One DHCP message: <c>dhcp.request</c> for a BOOTREQUEST (op 1: DISCOVER, REQUEST, DECLINE, RELEASE, INFORM, sent by
/// a client or a relay) and <c>dhcp.reply</c> for a BOOTREPLY (op 2: OFFER, ACK, NAK, sent by a server). The device
/// the message describes is the one whose hardware address is in chaddr (<c>dhcp.client_mac</c>), not the sender's
/// IP address: a client asks from 0.0.0.0 and is answered at 255.255.255.255 or through a relay. Replies carry the
/// type of the request they answer, joined by transaction id and chaddr (<c>dhcp.request.message_type</c>).
/// </summary>
internal sealed record DhcpMessageEvent : ProtocolEvent
{
    /// <summary>The schema of <c>dhcp.request</c>.</summary>
    public static EventSchema RequestSchema { get; } = new EventSchema("dhcp.request", CommonFields())
        .WithFacts(
            DeviceFact.Mac("dhcp.client_mac"),
            DeviceFact.Identity("dhcp.hostname"),
            DeviceFact.Values("dhcp.vendor_class", "dhcp.vendor_class"),
            DeviceFact.Values("dhcp.fingerprint", "dhcp.fingerprint"));

    /// <summary>The schema of <c>dhcp.reply</c>.</summary>
    public static EventSchema ReplySchema { get; } = new EventSchema("dhcp.reply",
        [
            .. CommonFields(),
            new EventField<DhcpMessageEvent>("dhcp.request.message_type", FieldKind.Text, e => FieldValue.Of(e.RequestMessageType), "Type of the request this reply answers (joined by transaction id and chaddr), when it was seen."),
        ])
        .WithFacts(
            DeviceFact.Mac("dhcp.client_mac"),
            DeviceFact.Values("dhcp.assigned_address", "dhcp.assigned_address"));

    /// <summary>True for a BOOTREQUEST (op 1), false for a BOOTREPLY.</summary>
    public bool IsRequest { get; init; }

    /// <summary>Message type name (option 53, lower case: <c>discover</c>, <c>offer</c>...); <c>bootp</c> without option 53.</summary>
    public required string MessageType { get; init; }

    /// <summary>Option 53's number; missing for plain BOOTP.</summary>
    public int? MessageTypeCode { get; init; }

    /// <summary>xid as <c>0x</c> and 8 hex digits (as tshark shows <c>dhcp.id</c>).</summary>
    public required string TransactionId { get; init; }

    /// <summary>chaddr in ECS MAC form, for Ethernet (htype 1, hlen 6).</summary>
    public string? ClientMac { get; init; }

    /// <summary>ciaddr, when not 0.0.0.0.</summary>
    public string? ClientIp { get; init; }

    /// <summary>yiaddr (the address a reply gives the client), when not 0.0.0.0.</summary>
    public string? AssignedAddress { get; init; }

    /// <summary>giaddr (the relay agent), when not 0.0.0.0.</summary>
    public string? RelayIp { get; init; }

    /// <summary>Option 12, or the first label of option 81's name when option 12 is absent.</summary>
    public string? HostName { get; init; }

    /// <summary>Option 81's name (the client FQDN, RFC 4702).</summary>
    public string? ClientFqdn { get; init; }

    /// <summary>Option 60.</summary>
    public string? VendorClass { get; init; }

    /// <summary>Option 55, in the client's order.</summary>
    public IReadOnlyList<long>? ParameterRequestList { get; init; }

    /// <summary>Option 55 joined by commas (<c>1,3,6,15,119,252</c>), the fingerprint fingerbank knows.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>Option 61 as lower-case hex bytes joined by colons (<c>01:02:00:00:00:00:10</c>).</summary>
    public string? ClientId { get; init; }

    /// <summary>Option 50.</summary>
    public string? RequestedAddress { get; init; }

    /// <summary>Option 54.</summary>
    public string? ServerId { get; init; }

    /// <summary>Option 51, seconds.</summary>
    public long? LeaseTime { get; init; }

    /// <summary>Replies: the type of the request answered, when seen.</summary>
    public string? RequestMessageType { get; init; }

    /// <inheritdoc />
    public override EventSchema Schema => IsRequest ? RequestSchema : ReplySchema;

    private static EventField[] CommonFields() =>
    [
        new EventField<DhcpMessageEvent>("dhcp.message_type", FieldKind.Text, e => FieldValue.Of(e.MessageType), "Message type (option 53), lower case: discover, offer, request, decline, ack, nak, release, inform (RFC 2132 §9.6), leasequery types (RFC 4388, 6926), or bootp without option 53."),
        new EventField<DhcpMessageEvent>("dhcp.message_type_code", FieldKind.Number, e => FieldValue.Of((long?)e.MessageTypeCode), "Option 53's number (1 DISCOVER ... 8 INFORM)."),
        new EventField<DhcpMessageEvent>("dhcp.transaction_id", FieldKind.Text, e => FieldValue.Of(e.TransactionId), "xid: 0x and 8 hex digits; a reply repeats its request's."),
        new EventField<DhcpMessageEvent>("dhcp.client_mac", FieldKind.Text, e => FieldValue.Of(e.ClientMac), "chaddr, the client's hardware address (Ethernet only), 00-1A-2B-3C-4D-5E: the device the message is about."),
        new EventField<DhcpMessageEvent>("dhcp.client_ip", FieldKind.Ip, e => FieldValue.OfIp(e.ClientIp), "ciaddr: the address the client already has (renewing, INFORM); missing when 0.0.0.0."),
        new EventField<DhcpMessageEvent>("dhcp.assigned_address", FieldKind.Ip, e => FieldValue.OfIp(e.AssignedAddress), "yiaddr: the address the server offers or assigns; missing when 0.0.0.0."),
        new EventField<DhcpMessageEvent>("dhcp.relay_ip", FieldKind.Ip, e => FieldValue.OfIp(e.RelayIp), "giaddr: the relay agent; missing when 0.0.0.0."),
        new EventField<DhcpMessageEvent>("dhcp.hostname", FieldKind.Text, e => FieldValue.Of(e.HostName), "Option 12, the client's host name; when absent, the first label of option 81's name (as DHCP servers take it)."),
        new EventField<DhcpMessageEvent>("dhcp.client_fqdn", FieldKind.Text, e => FieldValue.Of(e.ClientFqdn), "Option 81 (RFC 4702), the client's fully qualified (or partial) domain name: Windows sends it beside option 12, some clients instead of it."),
        new EventField<DhcpMessageEvent>("dhcp.vendor_class", FieldKind.Text, e => FieldValue.Of(e.VendorClass), "Option 60, the vendor class identifier (udhcp 1.36.1, MSFT 5.0, android-dhcp-13)."),
        new EventField<DhcpMessageEvent>("dhcp.parameter_request_list", FieldKind.NumberList, e => FieldValue.Of(e.ParameterRequestList), "Option 55, the option codes the client asks for, in its order."),
        new EventField<DhcpMessageEvent>("dhcp.fingerprint", FieldKind.Text, e => FieldValue.Of(e.Fingerprint), "Option 55 joined by commas (1,3,6,15,119,252): the DHCP fingerprint of fingerbank."),
        new EventField<DhcpMessageEvent>("dhcp.client_id", FieldKind.Text, e => FieldValue.Of(e.ClientId), "Option 61, the client identifier, as lower-case hex bytes joined by colons."),
        new EventField<DhcpMessageEvent>("dhcp.requested_address", FieldKind.Ip, e => FieldValue.OfIp(e.RequestedAddress), "Option 50, the address the client asks for."),
        new EventField<DhcpMessageEvent>("dhcp.server_id", FieldKind.Ip, e => FieldValue.OfIp(e.ServerId), "Option 54, the server identifier."),
        new EventField<DhcpMessageEvent>("dhcp.lease_time", FieldKind.Number, e => FieldValue.Of(e.LeaseTime), "Option 51, the lease time in seconds."),
    ];
}
