using System.IO.Compression;
using SecMon.IntegrationTests.TestSupport;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon analyze</c> on gzip-compressed captures (tcpdump -z gzip, Wireshark's compressed saves): the recorded
/// samples compressed at test time give the same events as the plain files, by name or by content; a cut or damaged
/// gzip stream is damaged input (65) with the events before the damage kept; a .gz that is not gzip cannot be opened
/// (66). Errors are one line naming the file, never a stack trace.
/// </summary>
public sealed class GzipCaptureTests
{
    private const int InputDamaged = 65;
    private const int NoInput = 66;

    [Theory]
    [InlineData("mqtt-anonymous.pcap", "mqtt-anonymous.pcap.gz")]
    [InlineData("mqtt-any.pcapng", "mqtt-any.pcapng.gz")]
    [InlineData("mqtt-password.pcap", "compressed-capture")] // no .gz in the name: recognised by gzip's magic bytes
    public async Task Analyze_GzipCapture_GivesTheEventsOfThePlainFile(string sample, string compressedName)
    {
        using var dir = new TempDirectory();
        var plain = SampleCaptures.PathOf(sample);
        var compressed = dir.File(compressedName);
        await Compress(await File.ReadAllBytesAsync(plain), compressed);

        var expected = await SecMonRunner.AnalyzeAsync(plain, dir);
        var actual = await SecMonRunner.AnalyzeAsync(compressed, dir);

        Assert.True(expected.ExitCode == 0, expected.Describe());
        Assert.True(actual.ExitCode == 0, actual.Describe());
        Assert.NotEmpty(expected.OfPrefix("mqtt."));
        Assert.Equal(expected.OfPrefix("").Select(CliAssert.MqttKey), actual.OfPrefix("").Select(CliAssert.MqttKey));
    }

    [Fact]
    public async Task Analyze_GzipCutShort_Exits65AndKeepsTheEventsBeforeTheCut()
    {
        using var dir = new TempDirectory();
        var plain = SampleCaptures.PathOf("mqtt-anonymous.pcap");
        var whole = dir.File("whole.pcap.gz");
        await Compress(await File.ReadAllBytesAsync(plain), whole);
        var bytes = await File.ReadAllBytesAsync(whole);
        var cut = dir.File("cut-short.pcap.gz");
        await File.WriteAllBytesAsync(cut, bytes[..(bytes.Length * 2 / 3)]);

        var complete = await SecMonRunner.AnalyzeAsync(whole, dir);
        var result = await SecMonRunner.AnalyzeAsync(cut, dir);

        Assert.True(result.ExitCode == InputDamaged, result.Describe());
        Assert.Contains("cut-short.pcap.gz", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("damaged files 1", result.StdErr, StringComparison.Ordinal);
        CliAssert.NoStackTrace(result.StdErr);
        var before = result.OfPrefix("mqtt.").Select(CliAssert.MqttKey).ToList();
        Assert.NotEmpty(before);
        Assert.True(before.Count < complete.OfPrefix("mqtt.").Count, "the cut file should hold fewer events than the whole");
        Assert.Equal(complete.OfPrefix("mqtt.").Select(CliAssert.MqttKey).Take(before.Count), before);
    }

    [Fact]
    public async Task Analyze_GzipDamagedInside_Exits65AndSaysGzip()
    {
        using var dir = new TempDirectory();
        var whole = dir.File("whole.pcap.gz");
        await Compress(await File.ReadAllBytesAsync(SampleCaptures.PathOf("mqtt-burst.pcap")), whole);
        var bytes = await File.ReadAllBytesAsync(whole);
        // Overwrite a stretch of the deflate data in the middle: the inflater meets an invalid block (the gzip error is
        // named) or inflates it to garbage that libpcap reads as a broken record (named with a hint to gzip -t).
        for (var i = bytes.Length / 2; i < (bytes.Length / 2) + 64; i++)
        {
            bytes[i] = 0xFF;
        }

        var damaged = dir.File("damaged.pcap.gz");
        await File.WriteAllBytesAsync(damaged, bytes);

        var result = await SecMonRunner.AnalyzeAsync(damaged, dir);

        Assert.True(result.ExitCode == InputDamaged, result.Describe());
        Assert.Contains(result.StdErr.Split('\n'), l => l.Contains("damaged.pcap.gz", StringComparison.Ordinal) && l.Contains("gzip", StringComparison.Ordinal));
        CliAssert.NoStackTrace(result.StdErr);
        Assert.NotEmpty(result.OfPrefix("mqtt.")); // the packets before the damage were analysed
    }

    [Fact]
    public async Task Analyze_DotGzThatIsNotGzip_Exits66NamingTheFile()
    {
        using var dir = new TempDirectory();
        var path = dir.File("notes.pcap.gz");
        await File.WriteAllTextAsync(path, "not a capture, not compressed\n");

        var result = await SecMonRunner.AnalyzeAsync(path, dir);

        Assert.True(result.ExitCode == NoInput, result.Describe());
        Assert.Contains(result.StdErr.Split('\n'), l => l.Contains("notes.pcap.gz", StringComparison.Ordinal) && l.Contains("gzip", StringComparison.Ordinal));
        CliAssert.NoStackTrace(result.StdErr);
    }

    private static async Task Compress(byte[] data, string path)
    {
        await using var file = File.Create(path);
        await using var gzip = new GZipStream(file, CompressionLevel.Optimal);
        await gzip.WriteAsync(data);
    }
}
