using SecMon.Capture.Sources;

namespace SecMon.Capture.Tests.Live;

/// <summary>
/// A live capture of several interfaces gets each interface's packets a libpcap block at a time, so a router's uplink
/// copy of a LAN exchange can arrive before the LAN packets: held <see cref="LiveCapture.OrderHoldMicros"/> past their
/// capture time, they go on in capture-time order.
/// </summary>
public sealed class TimeOrderTests
{
    private const long T = 1_800_000_000_000_000;

    [Fact]
    public void TryTake_UplinkBlockArrivedBeforeTheLanBlock_HandedOverInCaptureTimeOrderOnceDue()
    {
        var order = new TimeOrder<string>(LiveCapture.OrderHoldMicros, maxHeld: 100);
        // The uplink's block (its copies, each 40 µs after the LAN original) is read first.
        order.Add("wan SYN", T + 40);
        order.Add("wan CONNECT", T + 2_040);
        order.Add("lan SYN", T);
        order.Add("lan CONNECT", T + 2_000);

        Assert.False(order.TryTake(T + 100_000, force: false, out _)); // not due: the other blocks may still come
        Assert.Equal(200, order.MillisecondsUntilDue(T + 100_000));

        var now = T + LiveCapture.OrderHoldMicros + 2_040;
        var taken = new List<string>();
        while (order.TryTake(now, force: false, out var p))
        {
            taken.Add(p);
        }

        Assert.Equal(["lan SYN", "wan SYN", "lan CONNECT", "wan CONNECT"], taken);
        Assert.Equal(-1, order.MillisecondsUntilDue(now));
    }

    [Fact]
    public void TryTake_SameCaptureTime_ArrivalOrderKept()
    {
        var order = new TimeOrder<int>(LiveCapture.OrderHoldMicros, maxHeld: 100);
        for (var i = 0; i < 5; i++)
        {
            order.Add(i, T);
        }

        var taken = new List<int>();
        while (order.TryTake(T, force: true, out var p))
        {
            taken.Add(p);
        }

        Assert.Equal([0, 1, 2, 3, 4], taken);
    }

    [Fact]
    public void TryTake_PastTheBoundOrForced_OldestGoesAtOnce()
    {
        var order = new TimeOrder<int>(LiveCapture.OrderHoldMicros, maxHeld: 2);
        order.Add(2, T + 2);
        order.Add(1, T + 1);
        Assert.False(order.TryTake(T, force: false, out _));

        order.Add(3, T + 3);

        Assert.True(order.TryTake(T, force: false, out var oldest)); // three held, two allowed
        Assert.Equal(1, oldest);
        Assert.False(order.TryTake(T, force: false, out _));
        Assert.True(order.TryTake(T, force: true, out var forced)); // the end of the capture
        Assert.Equal(2, forced);
        Assert.Equal(1, order.Count);
    }
}
