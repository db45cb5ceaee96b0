using System.Text.RegularExpressions;
using SecMon.IntegrationTests.TestSupport;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon analyze</c> on hostile files made at test time: a real capture cut mid-record, a text file, a
/// missing file, and a pcap of an unknown link type. Exit codes are the CLI contract (src/SecMon/Cli/ExitCodes.cs:
/// 65 input damaged, 66 input cannot be opened); errors are one clear line naming the file, never a stack trace.
/// </summary>
public sealed class DamagedInputTests
{
    private const int InputDamaged = 65;
    private const int NoInput = 66;

    [Theory]
    [InlineData("inside-packet-data")]
    [InlineData("inside-record-header")]
    public async Task Analyze_TruncatedPcap_Exits65AndKeepsTheEventsBeforeTheDamage(string cut)
    {
        using var dir = new TempDirectory();
        var original = await File.ReadAllBytesAsync(SampleCaptures.PathOf("mqtt-anonymous.pcap"));
        var records = ClassicPcap.Records(original);
        // The damaged record: the first from the middle on that carries TCP payload (66 bytes is a bare ACK
        // with timestamps on loopback), so MQTT sessions are open on both sides of the cut.
        var damagedIndex = Enumerable.Range(records.Count / 2, records.Count - (records.Count / 2)).First(i => records[i].CapturedLength > 66);
        var (offset, length) = records[damagedIndex];
        var cutAt = cut == "inside-packet-data" ? offset + ClassicPcap.RecordHeaderLength + (length / 2) : offset + 8;
        var truncated = dir.File("cut-short.pcap");
        var prefix = dir.File("intact-prefix.pcap");
        await File.WriteAllBytesAsync(truncated, original[..cutAt]);
        await File.WriteAllBytesAsync(prefix, original[..offset]);

        var damaged = await SecMonRunner.AnalyzeAsync(truncated, dir);
        var intact = await SecMonRunner.AnalyzeAsync(prefix, dir);

        Assert.True(damaged.ExitCode == InputDamaged, $"truncated capture: {damaged.Describe()}");
        Assert.True(intact.ExitCode == 0, $"intact prefix: {intact.Describe()}");
        Assert.Contains("cut-short.pcap", damaged.StdErr, StringComparison.Ordinal);
        var packetNumber = damagedIndex + 1;
        Assert.True(Regex.IsMatch(damaged.StdErr, $@"\b{packetNumber}\b"), $"stderr should name packet {packetNumber}:\n{damaged.StdErr}");
        CliAssert.NoStackTrace(damaged.StdErr);
        var expected = intact.OfPrefix("mqtt.").Select(CliAssert.MqttKey).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, damaged.OfPrefix("mqtt.").Select(CliAssert.MqttKey).ToList());
    }

    [Fact]
    public async Task Analyze_TextFile_FailsWithALineNamingTheFile()
    {
        using var dir = new TempDirectory();
        var path = dir.File("notes.txt");
        await File.WriteAllTextAsync(path, "These are notes about the plant network.\nThey are not a packet capture.\n");

        var result = await SecMonRunner.AnalyzeAsync(path, dir);

        Assert.True(result.ExitCode is InputDamaged or NoInput, $"text file: {result.Describe()}");
        Assert.Contains(StdErrLines(result), l => l.Contains("notes.txt", StringComparison.Ordinal));
        CliAssert.NoStackTrace(result.StdErr);
        Assert.Empty(result.OfPrefix("mqtt."));
    }

    [Fact]
    public async Task Analyze_MissingFile_Exits66AndSaysWhatIsWrong()
    {
        using var dir = new TempDirectory();
        var path = dir.File("no-such-capture.pcap");

        var result = await SecMonRunner.AnalyzeAsync(path, dir);

        Assert.True(result.ExitCode == NoInput, $"missing file: {result.Describe()}");
        var line = Assert.Single(StdErrLines(result), l => l.Contains("no-such-capture.pcap", StringComparison.Ordinal));
        Assert.Matches(new Regex("not found|does not exist|no such file|cannot open|can't open|could not open|unable to open", RegexOptions.IgnoreCase), line);
        CliAssert.NoStackTrace(result.StdErr);
    }

    [Fact]
    public async Task Analyze_UnknownLinkType_Exits65AndNamesTheLinkType()
    {
        using var dir = new TempDirectory();
        var path = dir.File("user0-link.pcap");
        // LINKTYPE_USER0 (147): reserved for private use, no decoder can know it. Three 60-byte packets.
        var bytes = new List<byte>(ClassicPcap.FileHeader(147));
        for (var i = 0; i < 3; i++)
        {
            var data = Enumerable.Range(0, 60).Select(b => (byte)(b * 7 + i)).ToArray();
            bytes.AddRange(ClassicPcap.Record(1_795_000_000u + (uint)i, 0, data));
        }

        await File.WriteAllBytesAsync(path, bytes.ToArray());

        var result = await SecMonRunner.AnalyzeAsync(path, dir);

        Assert.True(result.ExitCode == InputDamaged, $"unknown link type: {result.Describe()}");
        Assert.Contains("user0-link.pcap", result.StdErr, StringComparison.Ordinal);
        Assert.True(Regex.IsMatch(result.StdErr, @"\b147\b"), $"stderr should name link type 147:\n{result.StdErr}");
        // The file is not damaged: SecMon does not decode that link type, and the summary says so.
        Assert.Contains("input       UNSUPPORTED (unknown link type 3)", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("DAMAGED", result.StdErr, StringComparison.Ordinal);
        CliAssert.NoStackTrace(result.StdErr);
        Assert.Empty(result.OfPrefix("mqtt."));
    }


    private static List<string> StdErrLines(AnalyzeResult result) =>
        result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
