using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// FTP recorded live from real peers (vsftpd with its own configuration file, run in the foreground and killed by its
/// PID, and curl, both installed by CI) with tcpdump on loopback, then read by <c>secmon analyze</c> as a user would:
/// the committed samples (tests/SecMon.Capture.Tests/Protocols/Ftp/Samples) stay honest against the vsftpd and curl of
/// the day.
/// </summary>
public sealed class FtpLiveRecordingTests
{
    private const string Host = "127.0.0.1";

    [RequiresRootFact("tcpdump", "vsftpd", "curl")]
    public async Task Analyze_LiveVsftpdSessions_LoginsCommandsAndThePassiveDataConnection()
    {
        using var dir = new TempDirectory();
        var anon = Directory.CreateDirectory(dir.File("anon")).FullName;
        await File.WriteAllTextAsync(Path.Combine(anon, "readme.txt"), "sensor firmware notes\n");
        var port = 20000 + Random.Shared.Next(10000);
        var pasv = 40000 + Random.Shared.Next(10000);
        var conf = dir.File("vsftpd.conf");
        await File.WriteAllLinesAsync(conf,
        [
            "listen=YES", "listen_ipv6=NO", "background=NO", $"listen_address={Host}", $"listen_port={port}",
            "anonymous_enable=YES", $"anon_root={anon}", "local_enable=YES", "write_enable=NO", "pasv_enable=YES",
            $"pasv_min_port={pasv}", $"pasv_max_port={pasv + 20}", "connect_from_port_20=NO", "seccomp_sandbox=NO",
            "xferlog_enable=NO", "secure_chroot_dir=/var/run/vsftpd/empty", "ftpd_banner=live test",
        ]);
        Directory.CreateDirectory("/var/run/vsftpd/empty");
        var pcap = dir.File("ftp-live.pcap");
        await using (var tcpdump = RunningProcess.Start("tcpdump", ["-i", "lo", "-s", "0", "-U", "--immediate-mode", "-w", pcap, $"tcp and host {Host} and (port {port} or portrange {pasv}-{pasv + 20})"]))
        {
            Assert.True(await tcpdump.WaitForStdErrAsync("listening on", TimeSpan.FromSeconds(20)), tcpdump.StdErr);
            await using (var vsftpd = RunningProcess.Start("vsftpd", [conf]))
            {
                await Task.Delay(1000);
                Assert.False(vsftpd.HasExited, vsftpd.StdErr);
                var url = $"ftp://{Host}:{port}";
                var (get, body, getErr) = await Tools.RunAsync("curl", ["-s", "--user", "anonymous:guest@example.com", "--disable-epsv", $"{url}/readme.txt"]);
                Assert.True(get == 0, getErr);
                Assert.Equal("sensor firmware notes\n", body);
                var (refused, _, _) = await Tools.RunAsync("curl", ["-s", "--user", "admin:S3cret-pass", $"{url}/"]);
                Assert.NotEqual(0, refused);
            }

            await Task.Delay(1500); // the last segments reach the file
            await tcpdump.InterruptAsync();
            await tcpdump.WaitForExitAsync(TimeSpan.FromSeconds(20));
        }

        var result = await SecMonRunner.AnalyzeAsync(pcap, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Empty(result.OfPrefix("ftp.malformed"));
        Assert.Equal(["anonymous success 230", "admin failure 530"],
            result.OfPrefix("ftp.login").Select(l => $"{l.Text("user.name")} {l.Text("ftp.login.outcome")} {l.Number("ftp.response.code")}"));
        var failed = result.OfPrefix("ftp.login")[1];
        Assert.True(failed.Flag("ftp.password.present"));
        Assert.DoesNotContain("S3cret", failed.Raw, StringComparison.Ordinal);
        Assert.Contains(result.OfPrefix("ftp.command"), c => c.Text("ftp.request.command") == "PASV" && c.Number("ftp.response.code") == 227);
        var data = Assert.Single(result.OfPrefix("ftp.data"));
        Assert.Equal("PASV RETR readme.txt 22", $"{data.Text("ftp.data.announced_by")} {data.Text("ftp.request.command")} {data.Text("ftp.request.arg")} {data.Number("ftp.data.bytes_to_client")}");
        var control = result.OfPrefix("ftp.command").First(c => c.Text("ftp.request.command") == "PASV");
        Assert.Equal(control.Text("flow.id"), data.Text("ftp.control.flow_id"));
        Assert.Equal("live test", result.OfPrefix("ftp.reply")[0].Text("ftp.banner"));
    }
}
