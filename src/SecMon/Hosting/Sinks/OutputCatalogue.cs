using SecMon.Core.Findings;

namespace SecMon.Hosting.Sinks;

/// <summary>
/// The finding outputs a configuration file can turn on (<c>outputs.KEY</c>), one line each. The embedded SQLite
/// store is not listed: it is always written, first.
/// </summary>
internal static class OutputCatalogue
{
    /// <summary>Every shipped output.</summary>
    public static IReadOnlyList<IFindingOutputFactory> Shipped { get; } =
    [
        new SecMon.Findings.Elasticsearch.ElasticsearchOutputFactory(),
        new SecMon.Alerts.Webhooks.WebhookOutputFactory(),
        new SecMon.Findings.Log.FindingsLogOutputFactory(),
        new SecMon.Alerts.Mqtt.MqttAlertOutputFactory(),
    ];
}
