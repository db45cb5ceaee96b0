using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Dhcpv6;

// SecMon's custom dhcpv6.* field set: ECS has no DHCP fields. Names follow SecMon's dhcp.* set where the meaning is the
// same (hostname, vendor_class, fingerprint, client_mac, request.message_type).

/// <summary>
/// One DHCPv6 message (RFC 8415): <c>dhcpv6.request</c> for what a client sends (SOLICIT, REQUEST, CONFIRM, RENEW,
/// REBIND, RELEASE, DECLINE, INFORMATION-REQUEST, and the leasequery and reconfigure requests) and <c>dhcpv6.reply</c>
/// for what a server sends (ADVERTISE, REPLY, RECONFIGURE...). Relayed messages are reported as the message they relay.
/// The device is the one the client DUID names (<c>dhcpv6.client_duid</c>) and, for a DUID-LL or DUID-LLT of an
/// Ethernet interface, the MAC inside it (<c>dhcpv6.client_mac</c>). Replies carry the type of the request they
/// answer, joined by transaction id and client DUID (<c>dhcpv6.request.message_type</c>).
/// </summary>
internal sealed record Dhcpv6MessageEvent : ProtocolEvent
{
    /// <summary>The schema of <c>dhcpv6.request</c>.</summary>
    public static EventSchema RequestSchema { get; } = new EventSchema("dhcpv6.request", CommonFields())
        .WithFacts(
            DeviceFact.Mac("dhcpv6.client_mac"),
            DeviceFact.Identity("dhcpv6.client_duid"),
            DeviceFact.Identity("dhcpv6.hostname"),
            DeviceFact.Values("dhcpv6.vendor_class", "dhcpv6.vendor_class"),
            DeviceFact.Values("dhcpv6.fingerprint", "dhcpv6.fingerprint"));

    /// <summary>The schema of <c>dhcpv6.reply</c>.</summary>
    public static EventSchema ReplySchema { get; } = new EventSchema("dhcpv6.reply",
        [
            .. CommonFields(),
            new EventField<Dhcpv6MessageEvent>("dhcpv6.request.message_type", FieldKind.Text, e => FieldValue.Of(e.RequestMessageType), "Type of the request this reply answers (joined by transaction id and client DUID), when it was seen."),
        ])
        .WithFacts(
            DeviceFact.Mac("dhcpv6.client_mac"),
            DeviceFact.Values("dhcpv6.addresses", "dhcpv6.assigned_addresses"));

    /// <summary>True for a message a client sends, false for a server's.</summary>
    public bool IsRequest { get; init; }

    /// <summary>Message type name, lower case as RFC 8415 §7.3 spells it (<c>solicit</c>, <c>information-request</c>).</summary>
    public required string MessageType { get; init; }

    /// <summary>msg-type.</summary>
    public int MessageTypeCode { get; init; }

    /// <summary>transaction-id as <c>0x</c> and 6 hex digits.</summary>
    public required string TransactionId { get; init; }

    /// <summary>Relay messages around the message; null when not relayed.</summary>
    public int? RelayHops { get; init; }

    /// <summary>Option 1 as lower-case hex bytes joined by colons.</summary>
    public string? ClientDuid { get; init; }

    /// <summary>The client DUID's type (1 LLT, 2 EN, 3 LL, 4 UUID).</summary>
    public int? ClientDuidType { get; init; }

    /// <summary>The Ethernet address inside a DUID-LLT or DUID-LL, in ECS MAC form.</summary>
    public string? ClientMac { get; init; }

    /// <summary>Option 2 as lower-case hex bytes joined by colons.</summary>
    public string? ServerDuid { get; init; }

    /// <summary>Option 39's domain name, dotted, without a trailing dot.</summary>
    public string? HostName { get; init; }

    /// <summary>Option 16's vendor-class-data items as text, joined by commas.</summary>
    public string? VendorClass { get; init; }

    /// <summary>Option 16's enterprise number.</summary>
    public long? VendorEnterprise { get; init; }

    /// <summary>Option 6's codes, in the client's order.</summary>
    public IReadOnlyList<long>? OptionRequestList { get; init; }

    /// <summary>Option 6 joined by commas.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>IA Address options of the IA_NA options, at most <see cref="Dhcpv6Options.MaxAddresses"/>.</summary>
    public IReadOnlyList<string>? Addresses { get; init; }

    /// <summary>IA Address options of the IA_NA options, all counted.</summary>
    public int AddressCount { get; init; }

    /// <summary>The first status code (option 13) of the message or its IA_NA.</summary>
    public int? StatusCode { get; init; }

    /// <summary>The status code's name (RFC 8415 §21.13), lower case.</summary>
    public string? Status { get; init; }

    /// <summary>Option 14 present.</summary>
    public bool RapidCommit { get; init; }

    /// <summary>Replies: the type of the request answered, when seen.</summary>
    public string? RequestMessageType { get; init; }

    /// <inheritdoc />
    public override EventSchema Schema => IsRequest ? RequestSchema : ReplySchema;

    private static EventField[] CommonFields() =>
    [
        new EventField<Dhcpv6MessageEvent>("dhcpv6.message_type", FieldKind.Text, e => FieldValue.Of(e.MessageType), "Message type, lower case as RFC 8415 §7.3 spells it: solicit, advertise, request, confirm, renew, rebind, reply, release, decline, reconfigure, information-request; leasequery and later types by their RFC names."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.message_type_code", FieldKind.Number, e => FieldValue.Of((long)e.MessageTypeCode), "msg-type (1 SOLICIT ... 11 INFORMATION-REQUEST)."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.transaction_id", FieldKind.Text, e => FieldValue.Of(e.TransactionId), "transaction-id: 0x and 6 hex digits; a server's reply repeats its request's."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.relay_hops", FieldKind.Number, e => FieldValue.Of((long?)e.RelayHops), "Relay messages (RELAY-FORW, RELAY-REPL) around the message; missing when it was not relayed."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.client_duid", FieldKind.Text, e => FieldValue.Of(e.ClientDuid), "Option 1, the client's DUID, as lower-case hex bytes joined by colons: the device the message is about."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.client_duid_type", FieldKind.Number, e => FieldValue.Of((long?)e.ClientDuidType), "The client DUID's type: 1 DUID-LLT, 2 DUID-EN, 3 DUID-LL, 4 DUID-UUID (RFC 8415 §11, RFC 6355)."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.client_mac", FieldKind.Text, e => FieldValue.Of(e.ClientMac), "The Ethernet address inside a DUID-LLT or DUID-LL client DUID, 00-1A-2B-3C-4D-5E (the interface the DUID was made from)."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.server_duid", FieldKind.Text, e => FieldValue.Of(e.ServerDuid), "Option 2, the server's DUID, as lower-case hex bytes joined by colons."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.hostname", FieldKind.Text, e => FieldValue.Of(e.HostName), "Option 39 (Client FQDN, RFC 4704), the domain name dotted, without a trailing dot."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.vendor_class", FieldKind.Text, e => FieldValue.Of(e.VendorClass), "Option 16, the vendor class data items as text joined by commas."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.vendor_enterprise", FieldKind.Number, e => FieldValue.Of(e.VendorEnterprise), "Option 16's IANA enterprise number."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.option_request_list", FieldKind.NumberList, e => FieldValue.Of(e.OptionRequestList), "Option 6 (Option Request), the option codes the client asks for, in its order."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.fingerprint", FieldKind.Text, e => FieldValue.Of(e.Fingerprint), "Option 6 joined by commas (23,24,39): a DHCPv6 client fingerprint."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.addresses", FieldKind.StringList, e => FieldValue.Of(e.Addresses), "The IPv6 addresses of the IA Address options in IA_NA options: requested (client) or assigned (server), at most 8 by default."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.address_count", FieldKind.Number, e => FieldValue.Of((long)e.AddressCount), "IA Address options in IA_NA options, all of them."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.status_code", FieldKind.Number, e => FieldValue.Of((long?)e.StatusCode), "The first Status Code (option 13) of the message or of its IA_NA: 0 Success, 2 NoAddrsAvail ..."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.status", FieldKind.Text, e => FieldValue.Of(e.Status), "The status code's name, lower case: success, unspec_fail, no_addrs_avail, no_binding, not_on_link, use_multicast, no_prefix_avail."),
        new EventField<Dhcpv6MessageEvent>("dhcpv6.rapid_commit", FieldKind.Boolean, e => FieldValue.Of(e.RapidCommit), "Option 14 (Rapid Commit) present: a two-message exchange."),
    ];
}
