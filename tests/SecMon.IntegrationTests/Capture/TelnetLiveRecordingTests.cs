using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// Telnet recorded live from the real peers of the committed samples (inetutils-telnetd run by inetutils-inetd with
/// its own configuration, the inetutils telnet client scripted by Samples/client.exp; CI installs them) with tcpdump
/// on loopback, then read by <c>secmon analyze</c> as a user would: the samples stay honest against the telnetd of
/// the day.
/// </summary>
public sealed class TelnetLiveRecordingTests
{
    private const string Server = "127.85.0.2";
    private const string Client = "127.85.0.1";

    private static string Samples => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Telnet", "Samples");

    [RequiresRootFact("tcpdump", "inetutils-inetd", "telnetd", "telnet", "expect")]
    public async Task Analyze_LiveTelnetdLogins_FailureThenSuccessWithTheHashOnly()
    {
        using var dir = new TempDirectory();
        var pcap = dir.File("telnet-live.pcap");
        var port = 20000 + Random.Shared.Next(20000);
        var conf = dir.File("inetd.conf");
        await File.WriteAllTextAsync(conf, $"{Server}:{port} stream tcp nowait root {Tools.Find("telnetd")} telnetd -h -E {Path.Combine(Samples, "login.sh")}\n");
        await using (var tcpdump = RunningProcess.Start("tcpdump", ["-i", "lo", "-s", "0", "-U", "--immediate-mode", "-w", pcap, $"tcp port {port} and host {Server}"]))
        {
            Assert.True(await tcpdump.WaitForStdErrAsync("listening on", TimeSpan.FromSeconds(20)), tcpdump.StdErr);
            await using (var inetd = RunningProcess.Start("inetutils-inetd", ["-d", "-p", dir.File("inetd.pid"), conf]))
            {
                Assert.True(await inetd.WaitForStdErrAsync("registered", TimeSpan.FromSeconds(20)), inetd.StdErr);
                var (exit, stdout, stderr) = await Tools.RunAsync("expect", [Path.Combine(Samples, "client.exp"), Client, Server, $"{port}", "admin:wrong1", "admin:S3cret-telnet"], TimeSpan.FromSeconds(60));
                Assert.True(exit == 0, $"expect: {exit}\n{stdout}\n{stderr}");
            }

            await Task.Delay(1500); // the last segments reach the file
            await tcpdump.InterruptAsync();
            await tcpdump.WaitForExitAsync(TimeSpan.FromSeconds(20));
        }

        var result = await SecMonRunner.AnalyzeAsync(pcap, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        var logins = result.OfPrefix("telnet.login");
        Assert.Equal(["admin failure", "admin success"], logins.Select(e => $"{e.Text("telnet.username")} {e.Text("telnet.login.outcome")}"));
        Assert.All(logins, e => Assert.Equal(Client, e.Text("source.ip")));
        Assert.All(logins, e => Assert.Matches("^[0-9a-f]{16}$", e.Text("telnet.password.hash")!));
        Assert.NotEqual(logins[0].Text("telnet.password.hash"), logins[1].Text("telnet.password.hash"));
        var session = Assert.Single(result.OfPrefix("telnet.session"));
        Assert.Equal("XTERM", session.Text("telnet.terminal_type"));
        Assert.All(result.Events, e => Assert.DoesNotContain("S3cret-telnet", e.Raw, StringComparison.Ordinal));
    }
}
