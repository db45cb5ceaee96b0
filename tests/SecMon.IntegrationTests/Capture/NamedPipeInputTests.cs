using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon analyze FIFO</c> on a named pipe nobody writes to blocks in open(2); Ctrl+C and SIGTERM must still end
/// it promptly, with a line saying what happened and exit 66 (the input could not be opened).
/// </summary>
public sealed class NamedPipeInputTests
{
    private const int NoInput = 66;

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task Analyze_FifoWithoutWriter_SignalEndsItPromptly(string signal)
    {
        using var dir = new TempDirectory();
        var fifo = dir.File("capture.fifo");
        var (made, _, mkfifoErr) = await Tools.RunAsync("mkfifo", [fifo]);
        Assert.True(made == 0, mkfifoErr);
        // Without the runtime's debugger transport, whose own named pipes would also wait in open(2) for a partner.
        await using var secmon = RunningProcess.Start("env",
            ["DOTNET_EnableDiagnostics=0", "dotnet", .. SecMonRunner.Command("analyze", fifo, "--no-detect", "--data", dir.File("data"))]);

        Assert.True(await WaitUntilBlockedOpeningAsync(secmon.Id, TimeSpan.FromSeconds(60)), $"secmon never waited in open(2); stderr: {secmon.StdErr}");
        var sent = DateTime.UtcNow;
        var (killed, _, killErr) = await Tools.RunAsync("kill", [$"-{signal}", secmon.Id.ToString()]);
        Assert.True(killed == 0, killErr);
        var exit = await secmon.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.True(exit == NoInput, $"exit {exit}; stderr: {secmon.StdErr}");
        Assert.True(DateTime.UtcNow - sent < TimeSpan.FromSeconds(10), $"took {DateTime.UtcNow - sent} to stop");
        Assert.Contains($"{fifo}: interrupted while opening it, nothing was read", secmon.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", secmon.StdErr, StringComparison.Ordinal);
    }

    // A thread of the process sleeps in the kernel waiting for the pipe's writer (wait_for_partner, Linux fifo_open).
    private static async Task<bool> WaitUntilBlockedOpeningAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    var wchan = await File.ReadAllTextAsync(Path.Combine(task, "wchan"));
                    if (wchan.Contains("wait_for_partner", StringComparison.Ordinal) || wchan.Contains("fifo_open", StringComparison.Ordinal))
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
