using System.Security.Cryptography;
using System.Text.Json;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Alerts;

/// <summary>Findings an output refuses for good are a run's missed findings: said after the summary, exit 73, and listed by
/// <c>secmon outputs status</c>.</summary>
public sealed class DeadLetterSummaryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-deadletters-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Analyze_EndpointRefusedForGood_Exit73NamingTheDeadLettersAndStatusListsThem()
    {
        // localhost is allowed over http but not as an address: every delivery is refused at connect time, for good.
        var config = Path.Combine(_dir, "secmon.yml");
        await File.WriteAllTextAsync(config, $"""
            data: data
            outputs:
              webhooks:
                - name: soc
                  url: http://localhost:9/hook
                  allow_http_hosts: [localhost]
                  secret: whsec_{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}
            """);

        var (code, _, stderr) = await Secmon("analyze", Path.Combine(RepoPaths.Samples, "mqtt-anonymous.pcap"), "--config", config);

        Assert.True(code == 73, $"exit {code}: {stderr}");
        Assert.Contains("refused for good", stderr, StringComparison.Ordinal);
        Assert.Contains(Path.Combine("spool", "webhook-soc", "dead-letters.jsonl"), stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("whsec_", stderr, StringComparison.Ordinal);

        var (statusCode, stdout, statusErr) = await Secmon("outputs", "status", "--config", config, "--json");
        Assert.True(statusCode == 1, $"exit {statusCode}: {statusErr}");
        using var row = JsonDocument.Parse(Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal("webhook-soc", row.RootElement.GetProperty("name").GetString());
        Assert.True(row.RootElement.GetProperty("configured").GetBoolean());
        Assert.True(row.RootElement.GetProperty("dead_letters").GetInt64() > 0);
        Assert.Equal(0, row.RootElement.GetProperty("pending").GetInt64());
    }

    private static Task<(int ExitCode, string StdOut, string StdErr)> Secmon(params string[] args) =>
        Tools.RunAsync("dotnet", [RepoPaths.SecMonDll, .. args], TimeSpan.FromSeconds(120));
}
