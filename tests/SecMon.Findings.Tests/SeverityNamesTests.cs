using SecMon.Core.Findings;

namespace SecMon.Findings.Tests;

public sealed class SeverityNamesTests
{
    [Theory]
    [InlineData("low", 21)]
    [InlineData("Medium", 47)]
    [InlineData(" HIGH ", 73)]
    [InlineData("critical", 99)]
    [InlineData("50", 50)]
    [InlineData("0", 0)]
    [InlineData("100", 100)]
    public void TryParse_Valid(string text, int expected)
    {
        Assert.True(SeverityNames.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("severe")]
    [InlineData("101")]
    [InlineData("-1")]
    [InlineData("4 7")]
    public void TryParse_Invalid(string? text)
    {
        Assert.False(SeverityNames.TryParse(text, out _));
    }

    [Theory]
    [InlineData(0, "low")]
    [InlineData(46, "low")]
    [InlineData(47, "medium")]
    [InlineData(72, "medium")]
    [InlineData(73, "high")]
    [InlineData(98, "high")]
    [InlineData(99, "critical")]
    public void Name_Bands(int severity, string expected)
    {
        Assert.Equal(expected, SeverityNames.Name(severity));
        Assert.Equal("high", SeverityNames.Name(Severity.High));
    }
}
