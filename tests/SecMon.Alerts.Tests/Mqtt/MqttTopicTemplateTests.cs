using SecMon.Alerts.Mqtt;
using SecMon.Core.Findings;

namespace SecMon.Alerts.Tests.Mqtt;

public sealed class MqttTopicTemplateTests
{
    private static MqttTopicTemplate Parse(string text)
    {
        Assert.True(MqttTopicTemplate.TryParse(text, out var template, out var error), error);
        return template!;
    }

    [Fact]
    public void Render_Default_SeverityNameAndRuleId()
    {
        var finding = MqttFindings.Many(2)[1];
        Assert.Equal("secmon/alerts/high/SECMON-MQTT-0002", Parse(MqttTopicTemplate.Default).Render(finding));
    }

    [Fact]
    public void Render_EveryPlaceholder_Substituted()
    {
        var finding = MqttFindings.Many(1)[0];
        Assert.Equal("site/sensor-a/mqtt/02-00-00-00-00-00/medium/SECMON-MQTT-0001",
            Parse("site/{observer.name}/{network.protocol}/{device.id}/{severity}/{rule.id}").Render(finding));
    }

    [Fact]
    public void Render_MissingValue_Unknown()
    {
        var finding = MqttFindings.Many(1)[0] with { DeviceId = null };
        Assert.Equal("d/unknown/x", Parse("d/{device.id}/x").Render(finding));
    }

    [Theory]
    [InlineData("a/b", "a_b")]
    [InlineData("+", "_")]
    [InlineData("#", "_")]
    [InlineData("x\0y", "x_y")]
    [InlineData("line\nbreak\u0085", "line_break_")]
    [InlineData("ok-😀", "ok-😀")]
    public void Render_HostileValue_CannotAddALevelOrAWildcard(string deviceId, string expected)
    {
        var finding = MqttFindings.Many(1)[0] with { DeviceId = deviceId };
        var topic = Parse("d/{device.id}/end").Render(finding);

        Assert.Equal($"d/{expected}/end", topic);
        Assert.Equal(3, topic.Split('/').Length);
    }

    [Fact]
    public void Render_UnpairedSurrogate_Replaced()
    {
        // Built in code: an attribute argument cannot hold a lone surrogate (metadata is UTF-8).
        var finding = MqttFindings.Many(1)[0] with { DeviceId = "bad" + '\uD800' + "pair" + '\uDC00' };
        Assert.Equal("d/bad_pair_", Parse("d/{device.id}").Render(finding));
    }

    [Fact]
    public void Render_LongValue_CutToTheLimit()
    {
        var finding = MqttFindings.Many(1)[0] with { RuleId = new string('r', 1000) };
        Assert.Equal("a/" + new string('r', MqttTopicTemplate.MaxValueLength), Parse("a/{rule.id}").Render(finding));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("secmon/+/x", "wildcard")]
    [InlineData("secmon/#", "wildcard")]
    [InlineData("$SYS/alerts", "'$'")]
    [InlineData("a/{rule}", "unknown placeholder {rule}")]
    [InlineData("a/{severity", "not closed")]
    [InlineData("a/severity}", "closes no placeholder")]
    [InlineData("a/\u0001", "control character")]
    public void TryParse_BadTemplate_Reason(string text, string reason)
    {
        Assert.False(MqttTopicTemplate.TryParse(text, out var template, out var error));
        Assert.Null(template);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
