using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon analyze -</c> reads a capture from standard input (<c>tcpdump -w - | secmon analyze -</c>, <c>zstd -dc
/// capture.pcap.zst | secmon analyze -</c>) as it reads the same file; what is not a capture on stdin, a capture
/// compressed with a tool SecMon does not read, and a signal while nothing has arrived each end with one line that says
/// what to do, exit 66.
/// </summary>
public sealed class StandardInputTests
{
    private const int NoInput = 66;

    [Fact]
    public async Task Analyze_CapturePipedToStdin_SameEventsAsTheFile()
    {
        var sample = SampleCaptures.PathOf("mqtt-guessing.pcap");
        using var dir = new TempDirectory();
        var fromFile = await SecMonRunner.AnalyzeAsync(sample, dir);
        var events = dir.File("stdin.events.jsonl");

        var (exit, _, stderr) = await Tools.RunAsync("bash",
            ["-c", $"cat \"$0\" | \"$@\"", sample, "dotnet", .. SecMonRunner.Command("analyze", "-", "--events", events, "--data", dir.File("data-stdin"))],
            TimeSpan.FromMinutes(2));

        Assert.True(exit == fromFile.ExitCode, $"exit {exit}; stderr:\n{stderr}");
        Assert.StartsWith("secmon: -: ", stderr.Split('\n').First(l => l.Contains(" packets, ", StringComparison.Ordinal)), StringComparison.Ordinal);
        var fromStdin = SecMonEvent.ParseLines(await File.ReadAllTextAsync(events), events);
        Assert.True(fromFile.Events.Count > 20, $"{fromFile.Events.Count} events from the file");
        Assert.Equal(fromFile.Events.Select(Key), fromStdin.Select(Key));
    }

    [Fact]
    public async Task Analyze_TextOnStdin_SaysWhatToPipeAndExits66()
    {
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("analyze", "-", "--no-detect"), stdin: "hello\n");

        Assert.True(exit == NoInput, $"exit {exit}; stderr:\n{stderr}");
        Assert.Empty(stdout);
        Assert.Contains("-: standard input is not a pcap/pcapng capture", stderr, StringComparison.Ordinal);
        Assert.Contains("| secmon analyze -", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zstd", new byte[] { 0x28, 0xB5, 0x2F, 0xFD, 0x24, 0x10 })]
    [InlineData("xz", new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00 })]
    [InlineData("bzip2", new byte[] { 0x42, 0x5A, 0x68, 0x39, 0x31, 0x41 })]
    public async Task Analyze_FileCompressedWithAnotherTool_NamesTheToolAndTheCommand(string tool, byte[] magic)
    {
        using var dir = new TempDirectory();
        var path = dir.File("capture.pcap.cmp");
        await File.WriteAllBytesAsync(path, [.. magic, .. new byte[200]]);

        var (exit, _, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("analyze", path, "--no-detect"));

        Assert.True(exit == NoInput, $"exit {exit}; stderr:\n{stderr}");
        Assert.Contains($"{path}: compressed with {tool}, which SecMon does not read (only gzip)", stderr, StringComparison.Ordinal);
        Assert.Contains($"{tool} -dc {path} | secmon analyze -", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_SignalWhileStdinIsSilent_EndsPromptly()
    {
        using var dir = new TempDirectory();
        // The test holds secmon's stdin open and writes nothing: a tcpdump -w - that has not started yet.
        await using var secmon = RunningProcess.Start("env",
            ["DOTNET_EnableDiagnostics=0", "dotnet", .. SecMonRunner.Command("analyze", "-", "--no-detect", "--data", dir.File("data"))]);
        Assert.True(await WaitUntilReadingAsync(secmon.Id, TimeSpan.FromSeconds(60)), $"secmon never read its stdin; stderr: {secmon.StdErr}");

        var sent = DateTime.UtcNow;
        var (killed, _, killErr) = await Tools.RunAsync("kill", ["-TERM", secmon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(killed == 0, killErr);
        var exit = await secmon.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.True(exit == NoInput, $"exit {exit}; stderr: {secmon.StdErr}");
        Assert.True(DateTime.UtcNow - sent < TimeSpan.FromSeconds(10), $"took {DateTime.UtcNow - sent} to stop");
        Assert.Contains("-: interrupted while waiting for a capture on standard input, nothing was read", secmon.StdErr, StringComparison.Ordinal);
    }

    private static string Key(SecMonEvent e) => $"{e.Type} {e.Number("event.sequence")} {e.Text("flow.id")} {e.Text("@timestamp")}";

    // A thread of the process sleeps in the kernel reading an empty pipe (pipe_read).
    private static async Task<bool> WaitUntilReadingAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    if ((await File.ReadAllTextAsync(Path.Combine(task, "wchan"))).Contains("pipe_read", StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A thread ended while listed, or the process is gone.
            }

            await Task.Delay(100);
        }

        return false;
    }
}
