using Microsoft.Extensions.Time.Testing;
using SecMon.Pki.Est;

namespace SecMon.Pki.Tests.Est;

public class KeyedRateLimiterTests
{
    [Fact]
    public void TryAcquire_TableFilledWithManyFreshKeys_LimitedKeyStaysLimited()
    {
        var time = new FakeTimeProvider(TestCa.Start);
        var limiter = new KeyedRateLimiter(time, perSecond: 1.0 / 60, burst: 3, maxKeys: 1000);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryAcquire("attacker", out _));
        }

        Assert.False(limiter.TryAcquire("attacker", out _));

        // An attacker rotating addresses: five times the table's size of fresh keys, one request each.
        for (var i = 0; i < 5000; i++)
        {
            Assert.True(limiter.TryAcquire("10.9." + i, out _));
        }

        Assert.Equal(1000, limiter.Count);
        Assert.False(limiter.TryAcquire("attacker", out var wait));
        Assert.True(wait > TimeSpan.Zero);
    }

    [Fact]
    public void TryAcquire_TableFullOfLimitedKeys_EvictsTheIdlestAndStaysBounded()
    {
        var time = new FakeTimeProvider(TestCa.Start);
        var limiter = new KeyedRateLimiter(time, perSecond: 1.0 / 60, burst: 1, maxKeys: 100);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(limiter.TryAcquire("k" + i, out _));
        }

        limiter.TryAcquire("k99", out _); // k99 used again: most recent
        Assert.True(limiter.TryAcquire("new", out _));

        Assert.Equal(100, limiter.Count);
        Assert.False(limiter.TryAcquire("k99", out _));
        Assert.True(limiter.TryAcquire("k0", out _)); // k0 was the least recently used: evicted, so fresh
    }

    [Fact]
    public void HasPermit_DoesNotConsumeOrAddKeys()
    {
        var time = new FakeTimeProvider(TestCa.Start);
        var limiter = new KeyedRateLimiter(time, perSecond: 1, burst: 1);

        Assert.True(limiter.HasPermit("a", out _));
        Assert.Equal(0, limiter.Count);
        Assert.True(limiter.TryAcquire("a", out _));
        Assert.False(limiter.HasPermit("a", out var wait));
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.HasPermit("a", out _));
        Assert.True(limiter.TryAcquire("a", out _));
    }
}
