namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// MQTT's own limits, per flow. Every bound here is what a hostile peer could otherwise grow; the defaults suit a
/// sensor watching a few thousand devices. Carried for now by <see cref="CaptureOptions.Mqtt"/>.
/// </summary>
internal sealed record MqttOptions
{
    /// <summary>Largest MQTT packet buffered whole (CONNECT, SUBSCRIBE...); a larger one is reported malformed and
    /// skipped by its length. PUBLISH payloads are skipped, never buffered, so they have no limit (only the
    /// PUBLISH variable header must fit). Values below 64 are taken as 64. Default 64 KiB.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024;

    /// <summary>5.0 topic aliases remembered per direction (5.0 §3.3.2.3.4); aliases past it resolve to no topic.
    /// Default 1,024.</summary>
    public int MaxTopicAliasesPerDirection { get; init; } = 1024;

    /// <summary>Characters of topic names those aliases may hold per direction. Default 65,536.</summary>
    public int MaxTopicAliasCharsPerDirection { get; init; } = 64 * 1024;

    /// <summary>Unanswered requests tracked per direction to join acknowledgments to them by packet id (QoS 1 and 2
    /// PUBLISH, PUBREL, SUBSCRIBE, UNSUBSCRIBE). Past it the direction stops being checked for acknowledgments of
    /// unknown ids (no false anomalies), so it is bounded and never quadratic. Default 256.</summary>
    public int MaxInFlightPerDirection { get; init; } = 256;
}
