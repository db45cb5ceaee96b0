using SecMon.Core;

namespace SecMon.Core.Tests;

/// <summary>The one duration grammar: the command line, the rule packs and configuration accept the same set.</summary>
public sealed class DurationsTests
{
    private const long Second = 1_000_000;

    [Theory]
    [InlineData("500ms", 500_000L)]
    [InlineData("30s", 30 * Second)]
    [InlineData("10m", 600 * Second)]
    [InlineData("2h", 7_200 * Second)]
    [InlineData("1d", 86_400 * Second)]
    [InlineData("1w", 604_800 * Second)]
    [InlineData("2W", 1_209_600 * Second)]           // units in either case (--since 2W worked before)
    [InlineData("5MS", 5_000L)]
    [InlineData(" 90s ", 90 * Second)]               // surrounding blanks, as YAML and shells leave them
    [InlineData("0s", 0L)]                           // zero parses; callers that need a positive span refuse it
    [InlineData("007m", 420 * Second)]
    [InlineData("36525d", Durations.MaxMicros)]      // 100 years, the longest
    public void TryParseMicros_Valid_TheSpan(string text, long expected)
    {
        Assert.True(Durations.TryParseMicros(text, out var micros));
        Assert.Equal(expected, micros);
        Assert.True(Durations.TryParse(text, out var span));
        Assert.Equal(TimeSpan.FromMicroseconds(expected), span);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("s")]                  // Missing number
    [InlineData("30")]                 // Missing unit: seconds or minutes?
    [InlineData("1.5h")]               // Fraction: write 90m
    [InlineData("-5m")]                // Sign
    [InlineData("+5m")]
    [InlineData("5 m")]                // Blank inside
    [InlineData("5y")]                 // Unknown unit
    [InlineData("5min")]
    [InlineData("5us")]
    [InlineData("1h30m")]              // Compound
    [InlineData("36526d")]             // Overlong: beyond 100 years
    [InlineData("5218w")]
    [InlineData("99999999999999999999s")] // Overflow
    [InlineData("１s")]                // A non-ASCII digit
    public void TryParseMicros_Invalid_False(string? text)
    {
        Assert.False(Durations.TryParseMicros(text, out var micros));
        Assert.Equal(0, micros);
        Assert.False(Durations.TryParse(text, out _));
    }

    [Theory]
    [InlineData(500_000L, "500ms")]
    [InlineData(60 * Second, "1m")]
    [InlineData(90 * Second, "90s")]
    [InlineData(7 * 86_400 * Second, "7d")]         // findings name a week's window 7d, as before
    [InlineData(1_500L, "1500us")]
    public void Format_LargestExactUnit_ParsesBack(long micros, string expected)
    {
        var text = Durations.Format(micros);

        Assert.Equal(expected, text);
        if (!text.EndsWith("us", StringComparison.Ordinal))
        {
            Assert.True(Durations.TryParseMicros(text, out var back));
            Assert.Equal(micros, back);
        }
    }
}
