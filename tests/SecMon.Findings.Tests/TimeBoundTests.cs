using SecMon.Core;

namespace SecMon.Findings.Tests;

public sealed class TimeBoundTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("2026-11-24T08:00:00Z", "2026-11-24T08:00:00.000000Z")]
    [InlineData("2026-11-24T09:00:00+01:00", "2026-11-24T08:00:00.000000Z")]
    [InlineData("2026-11-24T08:00:00", "2026-11-24T08:00:00.000000Z")]
    [InlineData("2026-11-24T08:00:00.123456Z", "2026-11-24T08:00:00.123456Z")]
    [InlineData("2026-11-24", "2026-11-24T00:00:00.000000Z")]
    [InlineData("now", "2026-11-24T12:00:00.000000Z")]
    [InlineData("90s", "2026-11-24T11:58:30.000000Z")]
    [InlineData("30m", "2026-11-24T11:30:00.000000Z")]
    [InlineData("24h", "2026-11-23T12:00:00.000000Z")]
    [InlineData("7d", "2026-11-17T12:00:00.000000Z")]
    [InlineData("2W", "2026-11-10T12:00:00.000000Z")]
    public void TryParse_Valid(string text, string expected)
    {
        Assert.True(TimeBound.TryParse(text, Now, out var micros, out var error), error);
        Assert.Equal(expected, Time.FormatMicros(micros));
    }

    [Fact]
    public void TryParse_DateAsUpperBound_IsTheEndOfThatDay()
    {
        Assert.True(TimeBound.TryParse("2026-11-24", Now, out var micros, out _, upperBound: true));
        Assert.Equal("2026-11-24T23:59:59.999999Z", Time.FormatMicros(micros));
        Assert.True(TimeBound.TryParse("2026-11-24T10:00:00Z", Now, out var exact, out _, upperBound: true));
        Assert.Equal("2026-11-24T10:00:00.000000Z", Time.FormatMicros(exact));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("yesterday")]
    [InlineData("h")]
    [InlineData("-5h")]
    [InlineData("5y")]
    [InlineData("99999999999999w")]
    public void TryParse_Invalid_ExplainsTheForms(string? text)
    {
        Assert.False(TimeBound.TryParse(text, Now, out _, out var error));
        Assert.NotEmpty(error);
    }
}
