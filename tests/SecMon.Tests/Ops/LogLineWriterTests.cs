using System.Text.Json;
using Microsoft.Extensions.Logging;
using SecMon.Ops;

namespace SecMon.Tests.Ops;

public sealed class LogLineWriterTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    // 12:30 at UTC+2 is 10:30 UTC: the log says UTC whatever the clock's offset.
    private static readonly FixedTime At = new(new DateTimeOffset(2026, 12, 5, 12, 30, 15, 123, TimeSpan.FromHours(2)));

    [Fact]
    public void Write_TextPiecesAndLineBreaks_OneStampedLineEach()
    {
        var inner = new StringWriter();
        using var log = new LogLineWriter(inner, LogFormat.Text, At);

        log.Write("secmon: first\r\nsecmon: sec");
        log.Write('o');
        log.WriteLine("nd");
        log.WriteRecord("SecMon.Est", LogLevel.Warning, new EventId(3002), "refused\nforged line", null);

        Assert.Equal(
            "2026-12-05T10:30:15.123Z secmon: first\n" +
            "2026-12-05T10:30:15.123Z secmon: second\n" +
            "2026-12-05T10:30:15.123Z warn: SecMon.Est[3002] refused forged line\n", inner.ToString());
    }

    [Fact]
    public void Write_Json_OneObjectPerLineWithTheFormattersFields()
    {
        var inner = new StringWriter();
        using var log = new LogLineWriter(inner, LogFormat.Json, At);

        log.WriteLine("secmon: finding high \"SECMON-MQTT-0003\"");
        log.WriteRecord("SecMon.Est", LogLevel.Information, new EventId(3001), "EST issued 0a to dev-1\nfor 10.0.0.2", new InvalidOperationException("boom"));

        var lines = inner.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal("2026-12-05T10:30:15.123Z", first.RootElement.GetProperty("Timestamp").GetString());
        Assert.Equal("Information", first.RootElement.GetProperty("LogLevel").GetString());
        Assert.Equal("secmon: finding high \"SECMON-MQTT-0003\"", first.RootElement.GetProperty("Message").GetString());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(3001, second.RootElement.GetProperty("EventId").GetInt32());
        Assert.Equal("SecMon.Est", second.RootElement.GetProperty("Category").GetString());
        Assert.Equal("EST issued 0a to dev-1\nfor 10.0.0.2", second.RootElement.GetProperty("Message").GetString());
        Assert.Contains("boom", second.RootElement.GetProperty("Exception").GetString(), StringComparison.Ordinal);
    }
}
