using System.Buffers;
using SecMon.Capture.Sources;

namespace SecMon.Capture.Tests.Live;

/// <summary>The capture channel's bound in bytes: what waiting packets hold, whatever their sizes.</summary>
public sealed class QueuedBytesTests
{
    [Fact]
    public void TryTake_UpToTheLimit_TakesThenRefusesWithoutCountingTheRefused()
    {
        var queued = new QueuedBytes(10_000);
        var taken = 0;
        while (queued.TryTake(2048))
        {
            taken++;
        }

        Assert.Equal(4, taken); // 4 x 2 KiB = 8,192 bytes; a fifth would be 10,240
        Assert.Equal(8192, queued.Bytes);
        Assert.False(queued.TryTake(2048));
        Assert.Equal(8192, queued.Bytes);
        Assert.True(queued.TryTake(1808)); // exactly to the limit
        Assert.Equal(10_000, queued.Bytes);
    }

    [Fact]
    public void Release_GivesTheRoomBack()
    {
        var queued = new QueuedBytes(4096);
        Assert.True(queued.TryTake(4096));
        Assert.False(queued.TryTake(128));
        queued.Release(4096);
        Assert.Equal(0, queued.Bytes);
        Assert.True(queued.TryTake(128));
        Assert.Equal(128, queued.Bytes);
    }

    [Fact]
    public void TryTake_OnePacketLargerThanTheLimit_TakenOnlyWhenNothingWaits()
    {
        var queued = new QueuedBytes(64 << 10);
        Assert.True(queued.TryTake(256 << 10)); // an offloaded segment alone: the analysis still sees it
        Assert.False(queued.TryTake(128));
        queued.Release(256 << 10);
        Assert.True(queued.TryTake(128));
        Assert.False(queued.TryTake(256 << 10)); // something waits: the large one is dropped
        Assert.Equal(128, queued.Bytes);
    }

    [Fact]
    public void TryTake_PooledFullFramesAtTheDefault_HoldsFarFewerThanThePacketBound()
    {
        // What a full channel of 1,514-byte frames holds: each rented buffer is 2 KiB, so the default 32 MiB bound takes
        // 16,384 of them where the packet bound (65,536) alone allowed 128 MiB.
        var queued = new QueuedBytes(LiveCapture.DefaultChannelBytes);
        var rented = new List<byte[]>();
        while (rented.Count < LiveCapture.DefaultChannelCapacity)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(1514);
            if (!queued.TryTake(buffer.Length))
            {
                ArrayPool<byte>.Shared.Return(buffer);
                break;
            }

            rented.Add(buffer);
        }

        Assert.Equal(16_384, rented.Count);
        Assert.Equal(32L << 20, queued.Bytes);
        rented.ForEach(b => { queued.Release(b.Length); ArrayPool<byte>.Shared.Return(b); });
        Assert.Equal(0, queued.Bytes);
    }

    [Fact]
    public async Task TryTakeAndRelease_FromSeveralThreads_WhatIsHeldNeverPassesTheLimit()
    {
        // Four capture threads each take until refused, then the analysis gives it all back; `held` counts only what
        // was granted (added after a grant, removed before the release), so it may never pass the limit.
        const long limit = 256 << 10;
        var queued = new QueuedBytes(limit);
        long held = 0, highest = 0, refused = 0;
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var mine = new List<int>();
            for (var round = 0; round < 2_000; round++)
            {
                for (var i = 0; ; i++)
                {
                    var size = 64 << ((i + w) % 6);
                    if (!queued.TryTake(size))
                    {
                        Interlocked.Increment(ref refused);
                        break;
                    }

                    mine.Add(size);
                    InterlockedMax(ref highest, Interlocked.Add(ref held, size));
                }

                foreach (var size in mine)
                {
                    Interlocked.Add(ref held, -size);
                    queued.Release(size);
                }

                mine.Clear();
            }
        })).ToArray();
        await Task.WhenAll(writers);

        Assert.Equal(0, queued.Bytes);
        Assert.Equal(0, held);
        Assert.Equal(8_000, refused);
        Assert.InRange(highest, limit / 2, limit);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var seen = Interlocked.Read(ref target);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref target, value, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }
}
