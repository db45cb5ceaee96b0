using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SecMon.Testing;
using static SecMon.Alerts.Tests.Webhooks.WebhookTesting;

namespace SecMon.Alerts.Tests.Webhooks;

/// <summary>
/// The real <c>secmon</c> process with <c>outputs.webhooks</c> in its configuration file, killed with SIGKILL while it
/// delivers, then run again: every finding of the store reaches the receiver, repeats come only under the same
/// webhook-id, and every request verifies with both libraries written by others.
/// </summary>
public sealed class WebhookFaultTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "secmon-webhook-fault-" + Guid.NewGuid().ToString("N"));

    public WebhookFaultTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Analyze_KilledDuringDeliveryThenRunAgain_EveryFindingDeliveredRepeatsOnlyUnderTheSameId()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        receiver.Behaviour = (_, _) =>
        {
            Thread.Sleep(100); // a slow receiver, so that the kill lands in the middle of delivery
            return Reply.Ok;
        };
        var config = Path.Combine(_dir, "secmon.yml");
        await File.WriteAllTextAsync(config, $"""
            outputs:
              webhooks:
                - name: soc
                  url: http://127.0.0.1:{receiver.Port}/hooks
                  secret: ${"{"}SECMON_TEST_WEBHOOK_SECRET{"}"}
                  allow_http_hosts: [127.0.0.1]
                  allow_addresses: [127.0.0.1]
                  max_in_flight: 2
            """);
        var data = Path.Combine(_dir, "data");
        var samples = Directory.GetFiles(RepoPaths.Samples, "*.pcap*").Order(StringComparer.Ordinal).ToArray();
        string[] analyze = ["analyze", .. samples, "--config", config, "--data", data];

        // First run: killed (SIGKILL) once a few deliveries went through.
        using (var first = Start(analyze, secret))
        {
            var deadline = Stopwatch.StartNew();
            while (receiver.Deliveries.Count < 3 && !first.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(20);
            }

            Assert.False(first.HasExited, "secmon finished before it could be killed: " + await first.StandardError.ReadToEndAsync());
            first.Kill();
            await first.WaitForExitAsync();
        }

        var beforeRestart = receiver.Deliveries.Count;
        Assert.InRange(beforeRestart, 3, 1000);

        // Second run: the same findings (deterministic ids) again, and what the spool kept from the first.
        using (var second = Start(analyze, secret))
        {
            var stderr = second.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await second.WaitForExitAsync(cts.Token);
            Assert.True(second.ExitCode is 0 or 65, $"exit {second.ExitCode}: {await stderr}");
        }

        var (code, stdout, stderrSearch) = await Tools.RunAsync("dotnet",
            [RepoPaths.SecMonDll, "findings", "search", "--json", "--limit", "10000", "--data", data], TimeSpan.FromSeconds(60));
        Assert.True(code == 0, stderrSearch);
        var stored = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l =>
        {
            using var doc = JsonDocument.Parse(l);
            return doc.RootElement.GetProperty("event").GetProperty("id").GetString()!;
        }).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(stored);

        var accepted = receiver.Accepted();
        Assert.Equal(stored, accepted.Keys.Order(StringComparer.Ordinal));
        var deliveries = receiver.Deliveries.ToList();
        Assert.All(deliveries, d => Assert.True(d.VerifiedBySecret[0], $"NuGet StandardWebhooks refused {d.Id}"));
        foreach (var repeats in deliveries.GroupBy(d => d.Id).Where(g => g.Count() > 1))
        {
            // A repeat is the same finding under the same webhook-id.
            Assert.Single(repeats.Select(d => Rule(d.Body)).Distinct());
        }

        var (verified, failures) = await receiver.VerifyWithNode(secret);
        Assert.Empty(failures);
        Assert.Equal(deliveries.Count, verified.Count);
    }

    private static string Rule(string body)
    {
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("rule").GetProperty("id").GetString() + " " + doc.RootElement.GetProperty("@timestamp").GetString();
    }

    private static Process Start(string[] args, string secret)
    {
        var start = new ProcessStartInfo("dotnet", [RepoPaths.SecMonDll, .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath(),
        };
        start.Environment["SECMON_TEST_WEBHOOK_SECRET"] = secret;
        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync(); // drained so that the child never blocks on a full pipe
        return process;
    }
}
