using SecMon.Findings.Spool;

namespace SecMon.Alerts.Webhooks;

/// <summary>
/// The dead letters of the webhook endpoints: what the spool of <c>webhook-NAME</c> (<c>DATA/spool/webhook-NAME/</c>)
/// put in <c>dead-letters.jsonl</c> after a refusal or the last try (<see cref="DeadLetters"/>, named by endpoint).
/// </summary>
internal static class WebhookDeadLetters
{
    /// <summary>The spool directory of endpoint <paramref name="name"/>.</summary>
    public static string SpoolOf(string dataDirectory, string name) => Path.Combine(dataDirectory, "spool", "webhook-" + name);

    /// <summary>The endpoints that have a spool in <paramref name="dataDirectory"/>.</summary>
    public static IReadOnlyList<string> Endpoints(string dataDirectory)
    {
        var spool = Path.Combine(dataDirectory, "spool");
        return Directory.Exists(spool)
            ? [.. Directory.GetDirectories(spool, "webhook-*").Select(d => Path.GetFileName(d)["webhook-".Length..]).Order(StringComparer.Ordinal)]
            : [];
    }
}
