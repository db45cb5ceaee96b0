namespace SecMon.Core.Events;

/// <summary>The fields every event carries: its flow, in ECS names where ECS has them.</summary>
public static class CommonFields
{
    /// <summary>Every common field, in output order.</summary>
    public static IReadOnlyList<EventField> All { get; } =
    [
        new EventField<ProtocolEvent>("event.sequence", FieldKind.Number, e => FieldValue.Of(e.PacketNumber), "Packet number (frame number for one file) that completed the event."),
        new EventField<ProtocolEvent>("network.protocol", FieldKind.Text, e => FieldValue.Of(e.Schema.Protocol), "Application protocol (mqtt, tls)."),
        // Empty for traffic that is not an IP flow (ARP): missing.
        new EventField<ProtocolEvent>("network.transport", FieldKind.Text, e => FieldValue.Of(NoneIfEmpty(e.Flow.Transport)), "tcp or udp; missing for ARP."),
        new EventField<ProtocolEvent>("network.community_id", FieldKind.Text, e => FieldValue.Of(NoneIfEmpty(e.Flow.CommunityId)), "Community ID v1 of the flow; missing for ARP."),
        new EventField<ProtocolEvent>("network.vlan.id", FieldKind.Number, e => FieldValue.Of((long?)e.Flow.VlanId), "Outer 802.1Q VLAN id."),
        new EventField<ProtocolEvent>("flow.id", FieldKind.Text, e => FieldValue.Of(e.Flow.FlowId), "Deterministic flow id."),
        new EventField<ProtocolEvent>("flow.direction", FieldKind.Text, e => FieldValue.Of(e.Flow.DirectionName), "to_server (from the opener) or to_client."),
        new EventField<ProtocolEvent>("source.ip", FieldKind.Ip, e => FieldValue.OfIp(e.Flow.SourceIp), "Sender address."),
        new EventField<ProtocolEvent>("source.port", FieldKind.Number, e => FieldValue.Of(e.Flow.SourcePort), "Sender port."),
        new EventField<ProtocolEvent>("source.mac", FieldKind.Text, e => FieldValue.Of(e.Flow.SourceMac), "Sender MAC, when the link carried one."),
        new EventField<ProtocolEvent>("destination.ip", FieldKind.Ip, e => FieldValue.OfIp(e.Flow.DestinationIp), "Receiver address."),
        new EventField<ProtocolEvent>("destination.port", FieldKind.Number, e => FieldValue.Of(e.Flow.DestinationPort), "Receiver port."),
        new EventField<ProtocolEvent>("destination.mac", FieldKind.Text, e => FieldValue.Of(e.Flow.DestinationMac), "Receiver MAC, when the link carried one."),
    ];

    private static string? NoneIfEmpty(string text) => text.Length == 0 ? null : text;
}
