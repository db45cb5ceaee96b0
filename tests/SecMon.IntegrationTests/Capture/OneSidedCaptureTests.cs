using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// A mirror port that copies only received (or only sent) frames, or a router on one path of an asymmetric route, sees
/// one direction of each connection. tshark cuts such views out of a recorded capture (samples/mqtt-anonymous.pcap:
/// six sessions against mosquitto). SecMon must read the seen direction as it reads it in the whole capture, invent no
/// anomaly about the unseen one (before, every acknowledgment of an unseen PUBLISH was an <c>mqtt.anomaly</c>), and say
/// in the summary that the capture sees one side (before, nothing told the analyst why no CONNACK and no finding came).
/// </summary>
public sealed class OneSidedCaptureTests
{
    private static readonly string Sample = Path.Combine(RepoPaths.Root, "samples", "mqtt-anonymous.pcap");

    [RequiresToolTheory("tshark")]
    [InlineData("tcp.dstport == 1883", "to_server")]
    [InlineData("tcp.srcport == 1883", "to_client")]
    public async Task Analyze_OneDirectionOnly_ReadAsInTheWholeCaptureAndTheSummarySaysSo(string filter, string direction)
    {
        using var dir = new TempDirectory();
        var view = dir.File("one-way.pcap");
        var (code, _, stderr) = await Tools.RunAsync("tshark", ["-n", "-r", Sample, "-Y", filter, "-w", view]);
        Assert.True(code == 0, stderr);
        (code, var streams, stderr) = await Tools.RunAsync("tshark", ["-n", "-r", view, "-T", "fields", "-e", "tcp.stream"]);
        Assert.True(code == 0, stderr);
        var connections = streams.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct().Count();
        Assert.Equal(6, connections);
        using var wholeDir = new TempDirectory();

        var whole = await SecMonRunner.AnalyzeAsync(Sample, wholeDir);
        var oneWay = await SecMonRunner.AnalyzeAsync(view, dir);

        Assert.True(whole.ExitCode == 0, whole.Describe());
        Assert.True(oneWay.ExitCode == 0, oneWay.Describe());
        Assert.Empty(oneWay.OfPrefix("mqtt.anomaly"));
        Assert.Equal(
            whole.OfPrefix("mqtt.").Where(e => e.Text("flow.direction") == direction).Select(e => e.Type).Order(),
            oneWay.OfPrefix("mqtt.").Select(e => e.Type).Order());
        Assert.Contains($"one-sided   {connections} TCP connection(s) carried data one way with no packet back", oneWay.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("one-sided", whole.StdErr, StringComparison.Ordinal);
    }
}
