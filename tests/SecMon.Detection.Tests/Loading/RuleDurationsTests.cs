using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Loading;

/// <summary>Rule packs read durations with the command line's grammar (SecMon.Core.Durations), errors keeping
/// their file:line:column.</summary>
public sealed class RuleDurationsTests
{
    [Theory]
    [InlineData("aggregate: {by: [source.ip], within: 1w}", 604_800L * Second)]
    [InlineData("aggregate: {by: [source.ip], within: 2H}", 7_200L * Second)]
    [InlineData("threshold: {count: 5, within: 1w}", 604_800L * Second)]
    [InlineData("threshold: \"count >= 5 within 1w by source.ip\"", 604_800L * Second)]
    [InlineData("threshold: {count: 5, within: 250ms}", 250_000L)]
    public void Load_WindowInTheSharedGrammar_Loads(string body, long expectedMicros)
    {
        var rules = Load(OneRule("mqtt.connack", "    " + body));

        var rule = Assert.Single(rules.Definitions);
        Assert.Equal(expectedMicros, rule.Aggregate?.WindowMicros ?? rule.Threshold!.WindowMicros);
    }

    [Theory]
    [InlineData("aggregate: {by: [source.ip], within: 0s}", 9, 42)]
    [InlineData("aggregate: {by: [source.ip], within: 1.5h}", 9, 42)]
    [InlineData("aggregate: {by: [source.ip], within: 30}", 9, 42)]
    [InlineData("threshold: {count: 5, within: 1y}", 9, 35)]
    public void Load_NotAPositiveDuration_ErrorAtTheValue(string body, int line, int column)
    {
        var errors = Errors(OneRule("mqtt.connack", "    " + body));

        var error = Assert.Single(errors);
        Assert.Contains("positive duration with a unit", error.Message, StringComparison.Ordinal);
        Assert.Contains("1w", error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"test.yaml:{line}:{column}: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ThresholdShorthandWithZeroWindow_ErrorAtTheRule()
    {
        var errors = Errors(OneRule("mqtt.connack", "    threshold: \"count >= 5 within 0m\""));

        var error = Assert.Single(errors);
        Assert.Contains("'0m' is not a positive duration", error.Message, StringComparison.Ordinal);
        Assert.Equal(9, error.Line);
    }
}
