using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

public sealed class RowKeyTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(-1L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    [InlineData(3_630_000_000_000_000L)]
    public void Cursor_RoundTrips(long key)
    {
        var cursor = RowKey.ToCursor(key);

        Assert.Equal(11, cursor.Length);
        Assert.DoesNotContain('+', cursor);
        Assert.DoesNotContain('/', cursor);
        Assert.True(RowKey.TryParseCursor(cursor, out var back));
        Assert.Equal(key, back);
    }

    [Theory]
    [InlineData("")]
    [InlineData("AAAAAAAAAA")]
    [InlineData("AAAAAAAAAAAA")]
    [InlineData("!!!!!!!!!!!")]
    public void TryParseCursor_Malformed_False(string cursor)
    {
        Assert.False(RowKey.TryParseCursor(cursor, out _));
    }

    [Fact]
    public void Keys_OrderLikeTimestamps()
    {
        var t = 1_795_000_000_000_000L; // 2026
        Assert.True(RowKey.Highest(t) < RowKey.Lowest(t + 1));
        Assert.True(RowKey.Lowest(t) <= RowKey.Of(t, "any-id") && RowKey.Of(t, "any-id") <= RowKey.Highest(t));
        Assert.Equal(RowKey.Of(t, "same"), RowKey.Of(t, "same"));
        // Every pcap timestamp (32-bit seconds, until 2106) keeps its place.
        Assert.True(RowKey.MaxMicros >= (long)uint.MaxValue * 1_000_000);
        Assert.Equal(RowKey.Lowest(RowKey.MaxMicros), RowKey.Lowest(long.MaxValue));
        Assert.Equal(0, RowKey.Lowest(-5));
    }
}
