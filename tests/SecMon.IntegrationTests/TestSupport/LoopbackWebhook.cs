using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>The configuration of one webhook output (<c>webhook-soc</c>) to a receiver on 127.0.0.1: plain http and the
/// loopback address allowed by name, every severity, a fresh <c>whsec_</c> secret; and the receiver itself.</summary>
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

    /// <summary>A receiver (Kestrel) on 127.0.0.1:<paramref name="port"/> that answers each <c>POST /hook</c> with
    /// <paramref name="handle"/>.</summary>
    public static async Task<WebApplication> StartReceiver(int port, Func<HttpContext, Task<IResult>> handle)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.MapPost("/hook", handle);
        await app.StartAsync();
        return app;
    }
}
