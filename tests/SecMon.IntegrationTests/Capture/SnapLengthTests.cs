using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// A capture taken with a short snap length (<c>tcpdump -s 96</c>) keeps only the start of each frame: the summary
/// says how many frames were cut and how to record whole ones, so an analyst knows why protocol events are missing.
/// The cut capture is made by editcap (Wireshark's own tool) from the real curl recording.
/// </summary>
public sealed class SnapLengthTests
{
    private static readonly string Sample =
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Http", "Samples", "http-curl.pcap");

    [RequiresToolFact("editcap", "tshark")]
    public async Task Analyze_CutBySnapLength_SummaryCountsTheCutFramesAsTsharkDoesAndExits0()
    {
        using var dir = new TempDirectory();
        var cut = dir.File("cut.pcap");
        var (exit, _, stderr) = await Tools.RunAsync("editcap", ["-s", "96", Sample, cut], TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, stderr);
        // tshark's count of frames longer than the snap length (frame.len on the wire, frame.cap_len kept).
        var (tsharkExit, rows, tsharkErr) = await Tools.RunAsync("tshark", ["-r", cut, "-Y", "frame.len > frame.cap_len", "-T", "fields", "-e", "frame.number"], TimeSpan.FromMinutes(1));
        Assert.True(tsharkExit == 0, tsharkErr);
        var expected = rows.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.True(expected > 10, $"editcap cut {expected} frames");

        var result = await SecMonRunner.AnalyzeAsync(cut, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        var line = Assert.Single(result.StdErr.Split('\n'), l => l.StartsWith("  snap length ", StringComparison.Ordinal));
        Assert.StartsWith($"  snap length {expected} frames were cut short by the capture (", line, StringComparison.Ordinal);
        Assert.Contains("tcpdump without -s, or -s 0", line, StringComparison.Ordinal);
        Assert.DoesNotContain("DAMAGED", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_WholeFrames_NoSnapLengthLine()
    {
        using var dir = new TempDirectory();

        var result = await SecMonRunner.AnalyzeAsync(Sample, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.DoesNotContain("snap length", result.StdErr, StringComparison.Ordinal);
    }
}
