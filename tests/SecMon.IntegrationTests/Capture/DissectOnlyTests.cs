using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary><c>secmon analyze --no-detect</c>: the capture engine alone, the same events as a full run, no store.</summary>
public sealed class DissectOnlyTests
{
    [Fact]
    public async Task NoDetect_SameEventsAsFullRun_NoStoreNoFindings()
    {
        using var dir = new TempDirectory();
        var capture = Path.Combine(RepoPaths.Samples, "mqtt-anonymous.pcap");
        var full = dir.File("full.jsonl");
        var dissect = dir.File("dissect.jsonl");

        var (fullExit, _, fullErr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("analyze", capture, "--events", full, "--data", dir.File("data-full")), TimeSpan.FromMinutes(2));
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("analyze", capture, "--no-detect", "--events", dissect, "--data", dir.File("data-dissect")), TimeSpan.FromMinutes(2));

        Assert.True(fullExit == 0, fullErr);
        Assert.True(exit == 0, stderr);
        Assert.Equal("", stdout);
        Assert.Contains("events ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("findings", stderr, StringComparison.Ordinal);
        Assert.NotEmpty(File.ReadAllLines(dissect));
        Assert.Equal(File.ReadAllLines(full), File.ReadAllLines(dissect));
        Assert.False(File.Exists(Path.Combine(dir.File("data-dissect"), "secmon.db")), "--no-detect must not create a store");
    }

    [Theory]
    [InlineData("--json")]
    [InlineData("--rules")]
    public async Task NoDetect_WithDetectionOptions_UsageError(string option)
    {
        using var dir = new TempDirectory();
        var capture = Path.Combine(RepoPaths.Samples, "mqtt-anonymous.pcap");
        string[] extra = option == "--rules" ? [option, RepoPaths.Rules] : [option];

        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command(["analyze", capture, "--no-detect", .. extra, "--data", dir.File("data")]), TimeSpan.FromMinutes(2));

        Assert.Equal(64, exit);
        Assert.Equal("", stdout);
        Assert.Contains("--no-detect", stderr, StringComparison.Ordinal);
    }
}
