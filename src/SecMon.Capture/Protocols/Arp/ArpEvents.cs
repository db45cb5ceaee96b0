using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Arp;

// SecMon's custom arp.* field set: ECS has no ARP fields. Names follow Wireshark's (arp.opcode, arp.src.hw_mac...) in
// ECS's sender/target shape.

/// <summary>
/// One ARP message: <c>arp.request</c> (who has the target address?) or <c>arp.reply</c> (the sender has it). The
/// device it describes is the one whose hardware address is in the message (<c>arp.sender.mac</c>), claiming
/// <c>arp.sender.ip</c>. The event's flow is the ARP conversation: <c>source.*</c> the sender (its IP from the
/// message, its MAC from the Ethernet header), <c>destination.*</c> the target (its IP from the message, the frame's
/// destination MAC: broadcast for most requests); no ports, no transport, no Community ID.
/// </summary>
internal sealed record ArpEvent : ProtocolEvent
{
    /// <summary>The schema of <c>arp.request</c>.</summary>
    public static EventSchema RequestSchema { get; } = new EventSchema("arp.request", CommonFields())
        .WithFacts(
            DeviceFact.Mac("arp.sender.mac"),
            DeviceFact.Mac("arp.target.mac", DeviceEnd.Server));

    /// <summary>The schema of <c>arp.reply</c>.</summary>
    public static EventSchema ReplySchema { get; } = new EventSchema("arp.reply",
        [
            .. CommonFields(),
            new EventField<ArpEvent>("arp.unsolicited", FieldKind.Boolean, e => FieldValue.Of(e.Unsolicited), "True when no request from the target for the sender's address was seen in the reply window before it (5 s): an announcement, or a reply forced on the target (cache poisoning)."),
        ])
        .WithFacts(
            DeviceFact.Mac("arp.sender.mac"),
            DeviceFact.Mac("arp.target.mac", DeviceEnd.Server));

    /// <summary>ar$op: 1 request, 2 reply.</summary>
    public int Opcode { get; init; }

    /// <summary>ar$sha, ECS form.</summary>
    public required string SenderMac { get; init; }

    /// <summary>ar$spa, dotted quad (0.0.0.0 in a probe).</summary>
    public required string SenderIp { get; init; }

    /// <summary>ar$tha, ECS form (all zeros in most requests).</summary>
    public required string TargetMac { get; init; }

    /// <summary>ar$tpa, dotted quad.</summary>
    public required string TargetIp { get; init; }

    /// <summary>Sender and target address equal (not 0.0.0.0), or an unsolicited reply.</summary>
    public bool Gratuitous { get; init; }

    /// <summary>Replies: no request for it was seen in the window.</summary>
    public bool Unsolicited { get; init; }

    /// <summary>The MAC that claimed <see cref="SenderIp"/> before this message when it was another; null otherwise.</summary>
    public string? PreviousMac { get; init; }

    /// <summary>Sender address 0.0.0.0 (RFC 5227 §2.1.1: a probe before using the target address).</summary>
    public bool Probe { get; init; }

    /// <summary>The Ethernet source differs from ar$sha; null when the link carried no source MAC.</summary>
    public bool? MacMismatch { get; init; }

    /// <inheritdoc />
    public override EventSchema Schema => Opcode == ArpParser.OpRequest ? RequestSchema : ReplySchema;

    private static EventField[] CommonFields() =>
    [
        new EventField<ArpEvent>("arp.opcode", FieldKind.Number, e => FieldValue.Of(e.Opcode), "ar$op: 1 request, 2 reply (RFC 826)."),
        new EventField<ArpEvent>("arp.sender.mac", FieldKind.Text, e => FieldValue.Of(e.SenderMac), "ar$sha, the sender's hardware address as the message gives it, 00-1A-2B-3C-4D-5E: the device claiming arp.sender.ip."),
        new EventField<ArpEvent>("arp.sender.ip", FieldKind.Ip, e => FieldValue.OfIp(e.SenderIp), "ar$spa, the address the sender claims (0.0.0.0 in a probe)."),
        new EventField<ArpEvent>("arp.target.mac", FieldKind.Text, e => FieldValue.Of(e.TargetMac), "ar$tha, the target's hardware address (00-00-00-00-00-00 in a request: not known yet)."),
        new EventField<ArpEvent>("arp.target.ip", FieldKind.Ip, e => FieldValue.OfIp(e.TargetIp), "ar$tpa, the address asked for (request) or answered to (reply)."),
        new EventField<ArpEvent>("arp.sender.previous_mac", FieldKind.Text, e => FieldValue.Of(e.PreviousMac), "The hardware address that claimed arp.sender.ip before this message, when it was another (00-1A-2B-3C-4D-5E): the earlier claimant; missing when the address's claimant did not change (or was not seen, or is a probe)."),
        new EventField<ArpEvent>("arp.gratuitous", FieldKind.Boolean, e => FieldValue.Of(e.Gratuitous), "Gratuitous ARP: sender and target address equal (an announcement, RFC 5227 §3), or an unsolicited reply."),
        new EventField<ArpEvent>("arp.probe", FieldKind.Boolean, e => FieldValue.Of(e.Probe), "Sender address 0.0.0.0: an address-conflict probe (RFC 5227 §2.1.1), which claims nothing."),
        new EventField<ArpEvent>("arp.mac_mismatch", FieldKind.Boolean, e => FieldValue.Of(e.MacMismatch), "The frame's Ethernet source MAC differs from arp.sender.mac (a proxy, a bridge, or a forged message); missing when the link carried no source MAC."),
    ];
}
