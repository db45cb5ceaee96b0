using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Alerts;

/// <summary>
/// The run summary's time is the analysis's: it ends when every finding is stored or in an output's spool. What a network
/// output then takes to deliver is that output's, said on its own line, not folded into the packets per second.
/// </summary>
public sealed partial class DeliveryTimeSummaryTests
{
    private static readonly TimeSpan ReceiverDelay = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Analyze_SlowWebhookReceiver_SummaryTimeEndsAtTheSpoolAndTheOutputSaysItsDeliveryTime()
    {
        using var dir = new TempDirectory();
        var port = MosquittoBroker.FreeTcpPort();
        var received = 0;
        await using var receiver = await StartSlowReceiver(port, () => Interlocked.Increment(ref received));
        var config = dir.File("secmon.yml");
        await File.WriteAllTextAsync(config, LoopbackWebhook.Config(dir.File("data"), port));

        var (code, _, stderr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("analyze", Path.Combine(RepoPaths.Samples, "mqtt-anonymous.pcap"), "--config", config), TimeSpan.FromSeconds(120));

        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.True(received > 0, $"the receiver got nothing: {stderr}");
        var analysed = Seconds(SummaryTime().Match(stderr), stderr);
        var delivering = Seconds(DeliveryTime().Match(stderr), stderr);
        Assert.Matches(@"output      webhook-soc: \d+ findings this run; \d+ delivered; delivering took", stderr);

        // Each request waits ReceiverDelay: delivery takes at least that after the analysis, and the analysis of a
        // 20-packet capture does not include it.
        Assert.True(delivering >= ReceiverDelay.TotalSeconds - 0.2, $"delivering took {delivering} s, the receiver waits {ReceiverDelay.TotalSeconds} s: {stderr}");
        Assert.True(analysed < ReceiverDelay.TotalSeconds - 0.5, $"the summary's {analysed} s include the delivery: {stderr}");
    }

    [Fact]
    public async Task Analyze_ReceiverDown_OutputSaysHowLongItTriedNotThatItDelivered()
    {
        using var dir = new TempDirectory();
        var config = dir.File("secmon.yml");
        await File.WriteAllTextAsync(config, LoopbackWebhook.Config(dir.File("data"), MosquittoBroker.FreeTcpPort())); // nothing listens there

        var (code, _, stderr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("analyze", Path.Combine(RepoPaths.Samples, "mqtt-anonymous.pcap"), "--config", config), TimeSpan.FromSeconds(120));

        // 73: findings wait in the spool for the next run (README, exit codes).
        Assert.True(code == 73, $"exit {code}: {stderr}");
        Assert.Matches(@"output      webhook-soc: \d+ findings this run; 0 delivered, [\d,]+ bytes wait in the spool; tried for \d+\.\d+ s after the analysis", stderr);
        Assert.DoesNotContain("delivering took", stderr, StringComparison.Ordinal);
    }

    private static double Seconds(Match match, string stderr)
    {
        Assert.True(match.Success, $"not in the summary: {stderr}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    // A webhook receiver that answers 204 after ReceiverDelay: a SOC tool far away or busy.
    private static Task<WebApplication> StartSlowReceiver(int port, Action onRequest) =>
        LoopbackWebhook.StartReceiver(port, async ctx =>
        {
            onRequest();
            await Task.Delay(ReceiverDelay, ctx.RequestAborted);
            return Results.NoContent();
        });

    [GeneratedRegex(@"^secmon: .*: [\d,]+ packets, .* in (\d+\.\d+) s \(", RegexOptions.Multiline)]
    private static partial Regex SummaryTime();

    [GeneratedRegex(@"webhook-soc: .*; delivering took (\d+\.\d+) s after the analysis")]
    private static partial Regex DeliveryTime();
}
