using System.IO.Compression;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// A pcapng file whose interfaces have different link types, as dumpcap writes when it captures on several
/// interfaces (here written by Wireshark's mergecap from an Ethernet capture and a Linux "any" capture (SLL2)):
/// libpcap 1.10 stops at the second interface, so SecMon reads on with its own pcapng reader. Every packet is
/// analysed with its own interface's link type: the events are byte for byte those of the two captures analysed
/// together (merged by time stamp), plain and gzip-compressed.
/// </summary>
public sealed class MultiInterfacePcapngTests
{
    [RequiresToolTheory("mergecap", "capinfos")]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Analyze_InterfacesOfDifferentLinkTypes_EveryPacketAnalysed(bool gzip)
    {
        using var dir = new TempDirectory();
        var ethernet = SampleCaptures.PathOf("mqtt-anonymous.pcap");
        var any = SampleCaptures.PathOf("mqtt-any.pcapng");
        var merged = dir.File("two-interfaces.pcapng");
        var (code, _, stderr) = await Tools.RunAsync("mergecap", ["-F", "pcapng", "-w", merged, ethernet, any]);
        Assert.True(code == 0, stderr);
        var (_, info, _) = await Tools.RunAsync("capinfos", [merged]);
        Assert.Contains("Number of interfaces in file: 2", info, StringComparison.Ordinal);
        if (gzip)
        {
            var plain = await File.ReadAllBytesAsync(merged);
            merged += ".gz";
            await using var file = File.Create(merged);
            await using var compressor = new GZipStream(file, CompressionLevel.Fastest);
            await compressor.WriteAsync(plain);
        }

        var separate = dir.File("separate.jsonl");
        var (separateExit, _, separateErr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("analyze", ethernet, any, "--no-detect", "--events", separate, "--data", dir.File("data")), TimeSpan.FromMinutes(2));
        var result = await SecMonRunner.AnalyzeAsync(merged, dir);

        Assert.True(separateExit == 0, separateErr);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("damaged files 0", result.StdErr, StringComparison.Ordinal);
        var expected = (await File.ReadAllLinesAsync(separate)).Where(l => l.Contains("\"mqtt.", StringComparison.Ordinal)).ToList();
        var actual = (await File.ReadAllLinesAsync(dir.File(Path.GetFileName(merged) + ".events.jsonl")))
            .Where(l => l.Contains("\"mqtt.", StringComparison.Ordinal)).ToList();
        Assert.True(expected.Count > 40, $"{expected.Count} MQTT events from the two samples");
        Assert.Equal(expected, actual);
    }
}
