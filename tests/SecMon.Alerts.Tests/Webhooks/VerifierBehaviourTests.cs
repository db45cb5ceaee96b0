using System.Globalization;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;

namespace SecMon.Alerts.Tests.Webhooks;

/// <summary>What the verifiers written by others do, pinned so that an upgrade that changes it is noticed.</summary>
public sealed class VerifierBehaviourTests
{
    [Fact]
    public void NuGetStandardWebhooks_TwoSignatures_ChecksOnlyTheFirst()
    {
        // The spec (webhook headers) says a receiver tries every signature of the space-separated list. NuGet
        // StandardWebhooks 1.1.2 matches only the first one: during a key rotation, receivers that use it verify with
        // the secret SecMon lists first (outputs.webhooks[].secret, the current one), not with previous_secrets.
        var first = WebhookTesting.NewSecret();
        var second = WebhookTesting.NewSecret();
        var now = DateTimeOffset.UtcNow;
        var header = new StandardWebhook(first).Sign("id1", now, "{}") + " " + new StandardWebhook(second).Sign("id1", now, "{}");
        var headers = new HeaderDictionary
        {
            ["webhook-id"] = "id1",
            ["webhook-timestamp"] = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["webhook-signature"] = header,
        };

        new StandardWebhook(first).Verify("{}", headers);
        Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() => new StandardWebhook(second).Verify("{}", headers));
    }
}
