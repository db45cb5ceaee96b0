using System.Buffers;
using System.Text;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Elasticsearch;
using SecMon.Findings.Spool;

namespace SecMon.Findings.Tests.Spool;

public sealed class SpoolLineTests
{
    public static TheoryData<string> Samples => new() { "full", "minimal", "many-0", "many-5" };

    private static Finding Sample(string name) => name switch
    {
        "full" => TestFindings.Full(),
        "minimal" => TestFindings.Minimal(),
        _ => TestFindings.Many(6)[int.Parse(name[5..], System.Globalization.CultureInfo.InvariantCulture)],
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void ReadRouting_AStoredDocument_ReadsTheRoutingFieldsAsTheFullReadDoes(string sample)
    {
        var bytes = FindingJson.Utf8(Sample(sample)).ToArray(); // a spool line: a fresh array, as read from the file
        var full = FindingJson.Read(bytes);

        var routed = SpoolLine.ReadRouting(bytes);

        Assert.Equal(full.Id, routed.Id);
        Assert.Equal(full.TimestampMicros, routed.TimestampMicros);
        Assert.Equal(full.RuleId, routed.RuleId);
        Assert.Equal(full.RuleName, routed.RuleName);
        Assert.Equal(full.Severity, routed.Severity);
        Assert.Equal(full.RiskScore, routed.RiskScore);
        Assert.Equal(full.Message, routed.Message);
        Assert.Equal(full.DeviceId, routed.DeviceId);
        Assert.Equal(full.ObserverName, routed.ObserverName);
        Assert.Equal(full.Protocol, routed.Protocol);
        Assert.Same(bytes, FindingJson.Utf8(routed)); // the document sent is the line, not a second encoding
    }

    [Fact]
    public void ReadRouting_FullSample_HasTheValuesWritten()
    {
        var f = TestFindings.Full();
        var routed = SpoolLine.ReadRouting(FindingJson.Utf8(f).ToArray());
        Assert.Equal(("4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a", "SECMON-MQTT-0002", Severity.High, "00-1A-2B-3C-4D-5E", "sensor-a", "mqtt", 73d),
            (routed.Id, routed.RuleId, routed.Severity, routed.DeviceId, routed.ObserverName, routed.Protocol, routed.RiskScore));
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"@timestamp\":\"2026-11-24T08:00:00Z\"")] // Truncated
    [InlineData("{} {}")] // two documents on one line
    [InlineData("{\"@timestamp\":\"not a date\",\"event\":{\"id\":\"a\",\"severity\":2},\"rule\":{\"id\":\"r\",\"name\":\"n\"},\"message\":\"m\"}")]
    [InlineData("{\"@timestamp\":\"2026-11-24T08:00:00Z\",\"event\":{\"severity\":2},\"rule\":{\"id\":\"r\",\"name\":\"n\"},\"message\":\"m\"}")] // no event.id
    [InlineData("{\"@timestamp\":\"2026-11-24T08:00:00Z\",\"event\":{\"id\":\"a\",\"severity\":\"2\"},\"rule\":{\"id\":\"r\",\"name\":\"n\"},\"message\":\"m\"}")] // severity not a number
    [InlineData("{\"@timestamp\":\"2026-11-24T08:00:00Z\",\"event\":{\"id\":\"a\",\"severity\":2},\"rule\":{\"id\":\"r\"},\"message\":\"m\"}")] // no rule.name
    [InlineData("{\"@timestamp\":\"2026-11-24T08:00:00Z\",\"event\":{\"id\":\"a\",\"severity\":2},\"rule\":{\"id\":\"r\",\"name\":\"n\"},\"message\":{\"x\":1}}")] // message not a string
    public void ReadRouting_NotAFindingDocument_ThrowsFormatExceptionAsTheFullReadDoes(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        Assert.Throws<FormatException>(() => FindingJson.Read(bytes));
        Assert.Throws<FormatException>(() => SpoolLine.ReadRouting(bytes));
    }

    [Fact]
    public void ReadRouting_FieldsInAnyOrderAndOfOtherTypes_SkipsWhatItDoesNotRead()
    {
        var line = "{\"x\":[{\"event\":{\"id\":\"wrong\"}}],\"device\":\"not an object\",\"message\":\"m\",\"rule\":{\"name\":\"n\",\"x\":{\"id\":\"wrong\"},\"id\":\"r\"}," +
            "\"event\":{\"severity\":[1],\"id\":\"a\",\"severity\":47},\"@timestamp\":\"2026-11-24T08:00:00.000001Z\",\"observer\":{\"name\":7}}";
        var routed = SpoolLine.ReadRouting(Encoding.UTF8.GetBytes(line));
        Assert.Equal(("a", "r", "n", "m", (Severity)47, null, null), (routed.Id, routed.RuleId, routed.RuleName, routed.Message, routed.Severity, routed.DeviceId, routed.ObserverName));
        Assert.Equal(TestFindings.Base + 1, routed.TimestampMicros);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void IngestedStamp_StoredDocument_SameBytesAsEncodingTheFindingWithTheTime(string sample)
    {
        var f = Sample(sample);
        var at = new DateTimeOffset(2026, 12, 5, 22, 40, 1, 234, TimeSpan.Zero).AddTicks(5670);
        var expected = new ArrayBufferWriter<byte>();
        FindingJson.Write(f, expected, at);

        var spliced = new ArrayBufferWriter<byte>();
        IngestedStamp.Write(spliced, FindingJson.Utf8(f), IngestedStamp.Format(at));

        Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan), Encoding.UTF8.GetString(spliced.WrittenSpan));
        Assert.Contains("\"ingested\":\"2026-12-05T22:40:01.234567Z\"", Encoding.UTF8.GetString(spliced.WrittenSpan), StringComparison.Ordinal);
    }

    [Fact]
    public void IngestedStamp_DocumentWithAnIngestedAlready_ReplacesIt()
    {
        var doc = Encoding.UTF8.GetBytes("{\"event\":{\"kind\":\"alert\",\"module\":\"secmon\",\"x\":1,\"ingested\":\"old\",\"y\":2},\"z\":3}");
        var output = new ArrayBufferWriter<byte>();
        IngestedStamp.Write(output, doc, "NEW"u8);
        Assert.Equal("{\"event\":{\"kind\":\"alert\",\"module\":\"secmon\",\"ingested\":\"NEW\",\"x\":1,\"y\":2},\"z\":3}", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void IngestedStamp_DocumentWithoutEventModule_WrittenAsItIs()
    {
        var doc = Encoding.UTF8.GetBytes("{\"event\":{\"kind\":\"alert\"},\"module\":\"secmon\"}");
        var output = new ArrayBufferWriter<byte>();
        IngestedStamp.Write(output, doc, "NEW"u8);
        Assert.Equal(doc, output.WrittenSpan.ToArray());
    }
}
