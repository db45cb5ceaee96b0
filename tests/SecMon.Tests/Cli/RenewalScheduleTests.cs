using SecMon.Cli;

namespace SecMon.Tests.Cli;

public class RenewalScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0.0, 20.0)] // no jitter: exactly two thirds of 30 days
    [InlineData(0.5, 19.979166666666668)] // half of the 1 h cap
    [InlineData(0.999999, 19.958333375)]
    public void NextRenewal_ThirtyDayCertificate_TwoThirdsLessJitterCappedAtOneHour(double random, double expectedDays)
    {
        var at = RenewalSchedule.NextRenewal(T0, T0.AddDays(30), null, random);

        Assert.Equal(expectedDays, (at - T0).TotalDays, 6);
    }

    [Fact]
    public void NextRenewal_ShortCertificate_JitterIsAtMostFivePercentOfTheLifetime()
    {
        var earliest = RenewalSchedule.NextRenewal(T0, T0.AddSeconds(60), null, 0.999999);
        var latest = RenewalSchedule.NextRenewal(T0, T0.AddSeconds(60), null, 0);

        Assert.Equal(T0.AddSeconds(40), latest);
        Assert.InRange((earliest - T0).TotalSeconds, 37.0, 37.01); // 40 s less up to 3 s (5% of 60 s)
    }

    [Fact]
    public void NextRenewal_BackdatedNotBeforeAndJustObtained_CountsFromWhenObtained()
    {
        // A 20 s certificate backdated 5 minutes: from notBefore two thirds are long past; from its arrival they are not.
        var obtained = T0;
        var notBefore = T0.AddMinutes(-5);
        var notAfter = T0.AddSeconds(20);

        Assert.True(RenewalSchedule.NextRenewal(notBefore, notAfter, null, 0) < obtained);
        var at = RenewalSchedule.NextRenewal(notBefore, notAfter, obtained, 0);
        Assert.Equal(obtained.AddSeconds(20.0 * 2 / 3), at);
        // An "obtained" time before notBefore (a clock that jumped) does not stretch the lifetime.
        Assert.Equal(RenewalSchedule.NextRenewal(notBefore, notAfter, null, 0), RenewalSchedule.NextRenewal(notBefore, notAfter, notBefore.AddMinutes(-1), 0));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(5, 16)]
    [InlineData(10, 512)]
    [InlineData(11, 600)] // capped at 10 minutes
    [InlineData(40, 600)]
    public void RetryDelay_LongCertificate_DoublesFromOneSecondToTenMinutes(int failures, double expectedSeconds)
    {
        var delay = RenewalSchedule.RetryDelay(failures, T0, T0.AddDays(10), null);

        Assert.Equal(expectedSeconds, delay.TotalSeconds);
    }

    [Fact]
    public void RetryDelay_NearExpiry_AtMostAQuarterOfTheTimeLeftAndAtLeastOneSecond()
    {
        Assert.Equal(TimeSpan.FromSeconds(25), RenewalSchedule.RetryDelay(10, T0, T0.AddSeconds(100), null));
        Assert.Equal(TimeSpan.FromSeconds(25), RenewalSchedule.RetryDelay(1, T0, T0.AddSeconds(100), TimeSpan.FromHours(1)));
        Assert.Equal(TimeSpan.FromSeconds(1), RenewalSchedule.RetryDelay(3, T0, T0.AddSeconds(2), null));
        Assert.Equal(TimeSpan.FromSeconds(120), RenewalSchedule.RetryDelay(1, T0, T0.AddDays(1), TimeSpan.FromSeconds(120)));
    }
}
