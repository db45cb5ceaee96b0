using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// nmap's service and version detection with its default scripts against real services (ServiceProbe/record.sh): the
/// probes are every protocol's odd and wrong input sent to every port. <c>secmon analyze</c> reads it through, counts
/// and lists the malformed messages as the traffic's (exit 0, no DAMAGED line: the capture is intact), and reports
/// what the scripts did as tshark sees it: the anonymous subscription to everything, the anonymous FTP logins (no
/// credential), and no scan (seven ports).
/// </summary>
public sealed class ServiceProbeTests
{
    private static readonly string Sample =
        Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Detection", "ServiceProbe", "service-probe.pcap");

    [RequiresToolFact("tshark")]
    public async Task Analyze_NmapServiceDetection_MalformedProbesAreCountedNotDamageAndTheScriptsAreReported()
    {
        var subscribed = await FieldAsync("mqtt.msgtype == 8", "mqtt.topic");
        var ftpUsers = await FieldAsync("ftp.request.command == \"USER\"", "ftp.request.arg");
        using var dir = new TempDirectory();

        var result = await SecMonRunner.AnalyzeAsync(Sample, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.DoesNotContain("DAMAGED", result.StdErr, StringComparison.Ordinal);
        Assert.Matches(@"  messages    \d+ malformed as sent", result.StdErr);
        Assert.Contains("malformed   by protocol and reason: ", result.StdErr, StringComparison.Ordinal);
        Assert.NotEmpty(result.OfPrefix("http.malformed"));

        var subscribe = Assert.Single(result.OfPrefix("mqtt.subscribe"));
        Assert.Equal(subscribed.Single(), string.Join(",", subscribe.TextList("mqtt.topic_filters")));
        Assert.Equal(ftpUsers, result.OfPrefix("ftp.login").Select(e => e.Text("user.name")));

        using var store = new TempDirectory();
        var findings = await SecMonRunner.FindingsAsync(Sample, store, [0]);
        var rules = findings.Select(f => f.GetProperty("rule").GetProperty("id").GetString()).ToHashSet();
        Assert.Contains("SECMON-MQTT-0006", rules); // '#' and '$SYS/#', anonymously
        Assert.Contains("SECMON-MQTT-0001", rules);
        Assert.DoesNotContain("SECMON-FTP-0001", rules); // anonymous FTP carries no credential
        Assert.DoesNotContain(rules, r => r!.StartsWith("SECMON-SCAN-", StringComparison.Ordinal));
    }

    private static async Task<List<string>> FieldAsync(string filter, string field)
    {
        var (code, stdout, stderr) = await Tools.RunAsync("tshark", ["-n", "-r", Sample, "-Y", filter, "-T", "fields", "-e", field]);
        Assert.True(code == 0, stderr);
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim())];
    }
}
