using System.Net;
using System.Security.Cryptography;
using SecMon.Alerts.Webhooks;
using SecMon.Core.Findings;
using SecMon.Findings.Spool;

namespace SecMon.Alerts.Tests.Webhooks;

/// <summary>Findings, secrets and a spooled webhook sink as the host builds it, for the webhook tests.</summary>
internal static class WebhookTesting
{
    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static WebhookSecret Parse(string text)
    {
        Assert.True(WebhookSecret.TryParse(text, out var secret, out var problem), problem);
        return secret!;
    }

    /// <summary>Options for a receiver on loopback (http and 127.0.0.1 allowed), with a fast retry schedule.</summary>
    public static WebhookOptions Options(Uri url, params string[] secrets) => new()
    {
        Name = "soc",
        Url = url,
        Secrets = [.. secrets.Select(Parse)],
        AllowHttpHosts = ["127.0.0.1"],
        AllowAddresses = [IPNetwork.Parse("127.0.0.1/32")],
        RetrySchedule = [.. new[] { 20, 40, 80, 160, 320, 640 }.Select(ms => TimeSpan.FromMilliseconds(ms))],
        Timeout = TimeSpan.FromSeconds(2),
        CircuitFailures = 5,
        CircuitCoolDown = TimeSpan.FromMilliseconds(200),
    };

    public static List<Finding> MakeFindings(int count, Func<int, Finding, Finding>? shape = null) =>
    [
        .. Enumerable.Range(0, count).Select(i =>
        {
            var f = new Finding
            {
                Id = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)))[..32],
                TimestampMicros = 1_790_000_000_000_000 + (i * 1_000_000L),
                RuleId = "SECMON-MQTT-000" + (i % 3),
                RuleName = "Anonymous MQTT session",
                Severity = (i % 4) switch { 0 => Severity.Low, 1 => Severity.Medium, 2 => Severity.High, _ => Severity.Critical },
                Message = $"Anonymous MQTT session ({i})",
                SourceIp = "10.0.0." + ((i % 200) + 1),
                DestinationIp = "10.0.0.250",
                DeviceId = "dev-" + (i % 5),
            };
            return shape is null ? f : shape(i, f);
        }),
    ];

    /// <summary>The host's arrangement: the webhook sink behind a spool in <paramref name="dir"/>.</summary>
    public static (SpooledSink Spooled, WebhookSink Sink) Spooled(WebhookOptions options, string dir)
    {
        var sink = new WebhookSink(options, TimeProvider.System);
        var spooled = new SpooledSink(sink, FindingSpool.Open(dir), new SpoolDelivery
        {
            BatchSize = 100, RetryDelay = TimeSpan.FromMilliseconds(10), MaxRetryDelay = TimeSpan.FromMilliseconds(50),
        });
        return (spooled, sink);
    }

    /// <summary>Writes <paramref name="findings"/> in batches of 25 and waits (at most a minute) until the spool is empty.</summary>
    public static void Deliver(SpooledSink spooled, IReadOnlyList<Finding> findings)
    {
        for (var i = 0; i < findings.Count; i += 25)
        {
            Assert.True(spooled.Write([.. findings.Skip(i).Take(25)], CancellationToken.None).Succeeded);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        spooled.Complete(cts.Token);
    }

    public static string[] DeadLetters(string dir)
    {
        var path = Path.Combine(dir, "dead-letters.jsonl");
        return File.Exists(path) ? File.ReadAllLines(path) : [];
    }
}
