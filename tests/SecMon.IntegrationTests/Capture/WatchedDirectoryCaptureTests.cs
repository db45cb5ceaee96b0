using System.Globalization;
using System.Text.RegularExpressions;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon capture --watch DIR</c> on the files a real <c>tcpdump -G</c> rotates while real mosquitto clients talk to a
/// real broker: a first run reads the files the writer has finished, a second run (a restart) the rest; every packet is
/// read once (the two runs' counts add up to tshark's count over every file) and every client's CONNECT is seen once.
/// </summary>
public sealed partial class WatchedDirectoryCaptureTests
{
    [RequiresRootFact("tcpdump", "tshark", "mosquitto", "mosquitto_pub", "kill")]
    public async Task Watch_TcpdumpRotatingFiles_EveryPacketReadOnceAcrossARestart()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDirectory();
        var pcaps = dir.File("pcaps");
        Directory.CreateDirectory(pcaps);
        var data = dir.File("data");
        List<string> clients = [];

        // A new file every second (on the first packet after it), as rotating captures are kept; -Z root: tcpdump would
        // otherwise drop to its own user, which may not create files in this root-owned directory.
        await using (var tcpdump = RunningProcess.Start("tcpdump",
            ["-Z", "root", "-i", "lo", "-s", "0", "-U", "-G", "1", "-w", Path.Combine(pcaps, "cap-%s.pcap"), $"tcp port {broker.Port}"]))
        {
            Assert.True(await tcpdump.WaitForStdErrAsync("listening on", TimeSpan.FromSeconds(20)), tcpdump.StdErr);
            await Publish(broker, clients, 3);

            // The first run reads what the writer has finished: every file but the newest (it settles only after 60 s).
            var first = await Watch(pcaps, data, dir.File("first.jsonl"), settle: "60s");
            Assert.True(first.Packets > 0, first.StdErr);

            await Publish(broker, clients, 2);
            await tcpdump.InterruptAsync();
            await tcpdump.WaitForExitAsync(TimeSpan.FromSeconds(20));

            // The restart goes on where the first run stopped; the newest file is read once it has settled (1 s).
            var second = await Watch(pcaps, data, dir.File("second.jsonl"), settle: "1s");
            Assert.True(second.Packets > 0, second.StdErr);

            var files = Directory.GetFiles(pcaps, "cap-*.pcap");
            Assert.True(files.Length >= 3, $"tcpdump wrote {files.Length} file(s)");
            var total = 0;
            foreach (var file in files)
            {
                total += (await Tshark.FieldsAsync(file, "frame", [], ["frame.number"])).Count;
            }

            Assert.True(first.Packets + second.Packets == total,
                $"read {first.Packets} + {second.Packets} packets; tshark counts {total} in {files.Length} files\n{first.StdErr}\n{second.StdErr}");
            var events = SecMonEvent.ParseLines(await File.ReadAllTextAsync(dir.File("first.jsonl")) + await File.ReadAllTextAsync(dir.File("second.jsonl")), "events");
            foreach (var client in clients)
            {
                Assert.Single(events, e => e.Type == "mqtt.connect" && e.Text("mqtt.client_id") == client);
            }
        }
    }

    private static async Task Publish(MosquittoBroker broker, List<string> clients, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var id = $"secmon-watch-{clients.Count}";
            clients.Add(id);
            await broker.PublishAsync(["-i", id, "-t", $"secmon/watch/{clients.Count}", "-m", "hello", "-q", "1"]);
            await Task.Delay(TimeSpan.FromMilliseconds(1300)); // the next client's packets go to the next file
        }
    }

    private static async Task<(long Packets, string StdErr)> Watch(string pcaps, string data, string events, string settle)
    {
        await using var secmon = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "capture", "--watch", pcaps, "--settle", settle, "--events", events, "--data", data, "--duration", "6s"));
        var exit = await secmon.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exit == 0, $"secmon capture --watch: exit {exit}\n{secmon.StdErr}");
        var match = ReadLine().Match(secmon.StdErr);
        Assert.True(match.Success, secmon.StdErr);
        return (long.Parse(match.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture), secmon.StdErr);
    }

    // The run summary's first line: "secmon: 3 file(s) in /path: 270 packets, ...".
    [GeneratedRegex(@"file\(s\) in [^\n]*?: ([\d,]+) packets")]
    private static partial Regex ReadLine();
}
