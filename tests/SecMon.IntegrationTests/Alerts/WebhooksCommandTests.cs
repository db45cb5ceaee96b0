using System.Security.Cryptography;
using System.Text.Json;
using SecMon.Alerts.Webhooks;
using SecMon.Core.Findings;
using SecMon.Findings.Spool;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Alerts;

/// <summary><c>secmon webhooks list-dead|replay</c> as a separate process over dead letters the real sink made.</summary>
public sealed class WebhooksCommandTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "secmon-webhooks-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Fact]
    public async Task ListDeadAndReplay_DeadLettersOfARefusedEndpoint_ListedThenMovedBackIntoTheSpool()
    {
        var findings = MakeDeadLetters(3);

        var (code, stdout, stderr) = await Secmon("webhooks", "list-dead", "--json", "--data", _data);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            Assert.Equal("soc", doc.RootElement.GetProperty("endpoint").GetString());
            Assert.Contains("is loopback", doc.RootElement.GetProperty("dead_letter.reason").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(findings.Select(f => f.Id).Order(), lines.Select(l =>
        {
            using var doc = JsonDocument.Parse(l);
            return doc.RootElement.GetProperty("finding").GetProperty("event").GetProperty("id").GetString();
        }).Order());

        (code, stdout, stderr) = await Secmon("webhooks", "list-dead", "--data", _data);
        Assert.True(code == 0, stderr);
        Assert.Contains(findings[0].Id, stdout, StringComparison.Ordinal);
        Assert.Contains("3 dead letters", stdout, StringComparison.Ordinal);

        // One finding back into the spool: it leaves the dead letters, and the spool holds it under its own id.
        (code, stdout, stderr) = await Secmon("webhooks", "replay", "--endpoint", "soc", "--id", findings[1].Id, "--data", _data);
        Assert.True(code == 0, stderr);
        Assert.Contains("1 finding back in", stdout, StringComparison.Ordinal);
        var spoolDir = Path.Combine(_data, "spool", "webhook-soc");
        using (var spool = FindingSpool.Open(spoolDir))
        {
            Assert.Equal([findings[1].Id], spool.Peek(10).Findings.Select(f => f.Id));
        }

        (code, stdout, _) = await Secmon("webhooks", "list-dead", "--json", "--data", _data);
        Assert.Equal(0, code);
        Assert.Equal(2, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain(findings[1].Id, stdout, StringComparison.Ordinal);

        // An id that is not there: said, and exit 66.
        (code, _, stderr) = await Secmon("webhooks", "replay", "--id", "0123456789abcdef0123456789abcdef", "--data", _data);
        Assert.Equal(66, code);
        Assert.Contains("no dead letter with event.id 0123456789abcdef0123456789abcdef", stderr, StringComparison.Ordinal);

        // An unknown endpoint: said, with the known ones.
        (code, _, stderr) = await Secmon("webhooks", "list-dead", "--endpoint", "nope", "--data", _data);
        Assert.Equal(66, code);
        Assert.Contains("known: soc", stderr, StringComparison.Ordinal);
    }

    // The real sink behind the real spool, to a name resolving to loopback that the configuration does not allow: every
    // finding is refused at connect time and dead-lettered with the reason.
    private List<Finding> MakeDeadLetters(int count)
    {
        var findings = Enumerable.Range(0, count).Select(i => new Finding
        {
            Id = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i + 1000)))[..32],
            TimestampMicros = 1_790_000_000_000_000 + i,
            RuleId = "SECMON-MQTT-0001",
            RuleName = "Anonymous MQTT session",
            Severity = Severity.High,
            Message = "Anonymous MQTT session",
        }).ToList();
        Assert.True(WebhookSecret.TryParse("whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), out var secret, out _));
        var options = new WebhookOptions
        {
            Name = "soc", Url = new Uri("http://localhost:9/hook"), Secrets = [secret!], AllowHttpHosts = ["localhost"],
        };
        using var spooled = new SpooledSink(new WebhookSink(options, TimeProvider.System),
            FindingSpool.Open(Path.Combine(_data, "spool", "webhook-soc")), new SpoolDelivery { RetryDelay = TimeSpan.FromMilliseconds(10) });
        Assert.True(spooled.Write(findings, CancellationToken.None).Succeeded);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        spooled.Complete(cts.Token);
        Assert.Equal(count, spooled.DeadLettered);
        return findings;
    }

    private static Task<(int ExitCode, string StdOut, string StdErr)> Secmon(params string[] args) =>
        Tools.RunAsync("dotnet", [RepoPaths.SecMonDll, .. args], TimeSpan.FromSeconds(60));
}
