using System.Security.Cryptography;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>The configuration of one webhook output (<c>webhook-soc</c>) to a receiver on 127.0.0.1: plain http and the
/// loopback address allowed by name, every severity, a fresh <c>whsec_</c> secret.</summary>
internal static class LoopbackWebhook
{
    /// <summary>A secmon.yml with data directory <paramref name="data"/> and the webhook to
    /// <c>http://127.0.0.1:PORT/hook</c>.</summary>
    public static string Config(string data, int port) => $"""
        data: {data}
        outputs:
          webhooks:
            - name: soc
              url: http://127.0.0.1:{port}/hook
              allow_http_hosts: [127.0.0.1]
              allow_addresses: [127.0.0.1]
              min_severity: low
              secret: whsec_{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}
        """;
}
