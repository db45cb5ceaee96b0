using System.Text.Json;
using SecMon.Core.Findings;

namespace SecMon.Alerts.Tests;

public sealed class AlertJsonTests
{
    [Fact]
    public void Utf8_Finding_IsItsEcsDocument()
    {
        var finding = new Finding
        {
            Id = "abc123", TimestampMicros = 1_700_000_000_000_000, RuleId = "SECMON-MQTT-0001", RuleName = "Anonymous MQTT session",
            Severity = Severity.High, Message = "device X connected anonymously",
        };

        using var doc = JsonDocument.Parse(AlertJson.Utf8(finding));
        Assert.Equal("abc123", doc.RootElement.GetProperty("event").GetProperty("id").GetString());
        Assert.Equal("SECMON-MQTT-0001", doc.RootElement.GetProperty("rule").GetProperty("id").GetString());
    }
}
