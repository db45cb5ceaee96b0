using SecMon.Core.Events;

namespace SecMon.Capture.Protocols;

/// <summary>
/// The one list of protocols SecMon dissects. Adding a protocol adds a folder under Protocols/ and one line here.
/// Order matters only for probes that could both claim a stream: the more specific first.
/// </summary>
internal static class ProtocolRegistry
{
    /// <summary>Every TCP stream protocol, probed in this order.</summary>
    public static IReadOnlyList<IStreamProtocol> StreamProtocols { get; } =
    [
        new Mqtt.MqttProtocol(),
        new Tls.TlsProtocol(),
        new WebSocket.WebSocketProtocol(),
    ];

    /// <summary>Every event schema of every protocol (for rule validation and documentation).</summary>
    public static IReadOnlyList<EventSchema> EventSchemas { get; } =
        [.. StreamProtocols.SelectMany(p => p.EventSchemas)];
}
