using SecMon.Capture.Decoding;

namespace SecMon.Capture.Tests.Decoding;

public sealed class IpDefragmenterTests
{
    private static readonly IpAddress Source = IpAddress.Parse("10.0.0.2");
    private static readonly IpAddress Destination = IpAddress.Parse("10.0.0.1");
    private static readonly IpAddress Source6 = IpAddress.Parse("2001:db8::2");
    private static readonly IpAddress Destination6 = IpAddress.Parse("2001:db8::1");
    private static readonly byte[] Datagram = [.. Enumerable.Range(0, 40).Select(i => (byte)(i + 1))];

    private readonly CaptureStats _stats = new();

    private IpDefragmenter Create(int maxBytes = 4 * 1024 * 1024, long timeoutMicros = 30_000_000) =>
        new(new CaptureOptions { MaxFragmentBytes = maxBytes, FragmentTimeoutMicros = timeoutMicros }, _stats);

    private static (FragmentOutcome Outcome, byte[]? Data, string? Error) Add(IpDefragmenter d, int offset, int length,
        bool more, ushort id = 1, long now = 0, byte[]? source = null)
    {
        var bytes = (source ?? Datagram).AsSpan(offset, length);
        var outcome = d.Add(Source, Destination, id, 17, offset, more, bytes, now, out var datagram, out _, out var error);
        return (outcome, outcome == FragmentOutcome.Completed ? datagram.ToArray() : null, error);
    }

    [Fact]
    public void Add_FragmentsInOrder_RebuildsTheDatagram()
    {
        var d = Create();

        Assert.Equal(FragmentOutcome.Pending, Add(d, 0, 16, more: true).Outcome);
        Assert.Equal(FragmentOutcome.Pending, Add(d, 16, 16, more: true).Outcome);
        var last = Add(d, 32, 8, more: false);

        Assert.Equal(FragmentOutcome.Completed, last.Outcome);
        Assert.Equal(Datagram, last.Data);
        Assert.Equal(3, _stats.IpFragments);
        Assert.Equal(1, _stats.IpReassembled);
        Assert.Equal(0, _stats.IpFragmentDrops);
        Assert.Equal(0, d.PendingDatagrams);
        Assert.Equal(0, d.BufferedBytes);
    }

    [Fact]
    public void Add_Ipv6SourcesThatDifferOnlyInTheirHighBits_AreKeptApart()
    {
        var d = Create();
        var a = IpAddress.Parse("2001:db8:1::5");
        var b = IpAddress.Parse("2001:db8:2::5");
        var other = Datagram.Select(x => (byte)~x).ToArray();

        Assert.Equal(FragmentOutcome.Pending, d.Add(a, Destination6, 9, 17, 0, true, Datagram.AsSpan(0, 16), 0, out _, out _, out _));
        Assert.Equal(FragmentOutcome.Pending, d.Add(b, Destination6, 9, 17, 0, true, other.AsSpan(0, 16), 0, out _, out _, out _));
        Assert.Equal(FragmentOutcome.Completed, d.Add(a, Destination6, 9, 17, 16, false, Datagram.AsSpan(16), 0, out var first, out _, out _));
        Assert.Equal(Datagram, first.ToArray());
        Assert.Equal(FragmentOutcome.Completed, d.Add(b, Destination6, 9, 17, 16, false, other.AsSpan(16), 0, out var second, out _, out _));
        Assert.Equal(other, second.ToArray());
    }

    [Fact]
    public void Add_Ipv6_TheFirstFragmentsNextHeaderIsTheDatagrams()
    {
        var d = Create();

        Assert.Equal(FragmentOutcome.Pending, d.Add(Source6, Destination6, 4, 17, 16, false, Datagram.AsSpan(16), 0, out _, out _, out _));
        var outcome = d.Add(Source6, Destination6, 4, 60, 0, true, Datagram.AsSpan(0, 16), 0, out var datagram, out var next, out _);

        Assert.Equal(FragmentOutcome.Completed, outcome);
        Assert.Equal(60, next);
        Assert.Equal(Datagram, datagram.ToArray());
    }

    [Fact]
    public void Add_Ipv6FragmentPastTheLargestPayload_IsDroppedNamingTheFamily()
    {
        var d = Create();

        var outcome = d.Add(Source6, Destination6, 4, 17, IpDefragmenter.MaxIpv6FragmentablePart - 8, false, Datagram.AsSpan(0, 16), 0,
            out _, out _, out var error);

        Assert.Equal(FragmentOutcome.DroppedMalformed, outcome);
        Assert.StartsWith("IPv6 fragment (id 4) ends at byte 65535", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Add_RandomHostileFragments_NeverThrowAndStayWithinTheBound(bool v6)
    {
        // Random ids, offsets up to past the largest datagram, lengths, M flags and two sources: overlaps, duplicates,
        // two last fragments, odd lengths, tiny fragments at high offsets. The buffer bound must hold after every call.
        const int Bound = 64 * 1024;
        var d = Create(maxBytes: Bound, timeoutMicros: 1_000_000);
        var random = new Random(v6 ? 6 : 4);
        IpAddress[] sources = v6 ? [Source6, IpAddress.Parse("2001:db8:9::2")] : [Source, IpAddress.Parse("10.0.9.2")];
        var data = new byte[3000];
        random.NextBytes(data);
        var outcomes = new Dictionary<FragmentOutcome, int>();
        for (var i = 0; i < 20_000; i++)
        {
            var offset = random.Next(4) == 0 ? random.Next(0, 70_000) & ~7 : random.Next(0, 8) * 512;
            var length = random.Next(4) == 0 ? random.Next(0, 3000) : 512;
            var outcome = d.Add(sources[random.Next(2)], v6 ? Destination6 : Destination, (uint)random.Next(0, 16), 17, offset,
                random.Next(3) != 0, data.AsSpan(0, length), i * 100L, out var datagram, out _, out _);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            Assert.InRange(d.BufferedBytes, 0, Bound);
            if (outcome == FragmentOutcome.Completed)
            {
                Assert.InRange(datagram.Length, 0, IpDefragmenter.MaxIpv6FragmentablePart);
            }
        }

        d.Clear();
        Assert.Equal(0, d.BufferedBytes);
        Assert.Equal(0, d.PendingDatagrams);
        Assert.True(outcomes.GetValueOrDefault(FragmentOutcome.Completed) > 0 && outcomes.GetValueOrDefault(FragmentOutcome.DroppedMalformed) > 0,
            string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}")));
    }

    [Fact]
    public void Add_EachFragmentSeenTwice_LikeTcpdumpOnARouter_OneDatagramNoDrop()
    {
        // tcpdump -i any on a router: each fragment on the way in, then on the way out.
        var d = Create();

        Assert.Equal(FragmentOutcome.Pending, Add(d, 0, 16, more: true, now: 0).Outcome);
        Assert.Equal(FragmentOutcome.Duplicate, Add(d, 0, 16, more: true, now: 40).Outcome);
        Assert.Equal(FragmentOutcome.Pending, Add(d, 16, 16, more: true, now: 80).Outcome);
        Assert.Equal(FragmentOutcome.Duplicate, Add(d, 16, 16, more: true, now: 120).Outcome);
        Assert.Equal(FragmentOutcome.Completed, Add(d, 32, 8, more: false, now: 160).Outcome);
        Assert.Equal(FragmentOutcome.Duplicate, Add(d, 32, 8, more: false, now: 200).Outcome);
        d.Clear();

        Assert.Equal(1, _stats.IpReassembled);
        Assert.Equal(0, _stats.IpFragmentDrops);
    }

    [Fact]
    public void Add_SameIdLongAfterItsDatagramWasRebuilt_IsANewDatagram()
    {
        var d = Create();
        Add(d, 0, 16, more: true, now: 0);
        Assert.Equal(FragmentOutcome.Completed, Add(d, 16, 24, more: false, now: 10).Outcome);

        var later = IpDefragmenter.CopyWindowMicros + 100;
        Assert.Equal(FragmentOutcome.Pending, Add(d, 0, 16, more: true, now: later).Outcome);
        Assert.Equal(FragmentOutcome.Completed, Add(d, 16, 24, more: false, now: later + 10).Outcome);
        Assert.Equal(2, _stats.IpReassembled);
    }

    [Fact]
    public void Add_FragmentsReversed_RebuildsTheDatagram()
    {
        var d = Create();

        Assert.Equal(FragmentOutcome.Pending, Add(d, 32, 8, more: false).Outcome);
        Assert.Equal(FragmentOutcome.Pending, Add(d, 16, 16, more: true).Outcome);
        var first = Add(d, 0, 16, more: true);

        Assert.Equal(FragmentOutcome.Completed, first.Outcome);
        Assert.Equal(Datagram, first.Data);
    }

    [Fact]
    public void Add_InterleavedDatagrams_KeepTheirIdsApart()
    {
        var d = Create();
        var other = Datagram.Select(b => (byte)~b).ToArray();

        Add(d, 0, 16, more: true, id: 1);
        Add(d, 0, 16, more: true, id: 2, source: other);
        Assert.Equal(other, Add(d, 16, 24, more: false, id: 2, source: other).Data);
        var one = Add(d, 16, 24, more: false, id: 1);

        Assert.Equal(Datagram, one.Data);
        Assert.Equal(2, _stats.IpReassembled);
    }

    [Fact]
    public void Add_OverlappingFragment_DropsTheDatagram()
    {
        var d = Create();

        Add(d, 0, 16, more: true);
        var overlap = Add(d, 8, 16, more: true); // teardrop-style: bytes 8-24 over 0-16

        Assert.Equal(FragmentOutcome.DroppedMalformed, overlap.Outcome);
        Assert.Contains("bytes 8-24 overlap bytes 0-16", overlap.Error, StringComparison.Ordinal);
        Assert.Equal(1, _stats.IpFragmentDrops);
        Assert.Equal(0, d.PendingDatagrams);
        Assert.Equal(0, d.BufferedBytes);
        // The rest of the dropped datagram cannot complete it.
        Assert.Equal(FragmentOutcome.Pending, Add(d, 24, 16, more: false).Outcome);
        Assert.Equal(0, _stats.IpReassembled);
    }

    [Fact]
    public void Add_ExactDuplicateFragment_IsIgnoredAndTheDatagramCompletes()
    {
        var d = Create();

        Add(d, 0, 16, more: true);
        Assert.Equal(FragmentOutcome.Duplicate, Add(d, 0, 16, more: true).Outcome);
        Add(d, 16, 16, more: true);
        Assert.Equal(FragmentOutcome.Duplicate, Add(d, 8, 16, more: true).Outcome); // inside what is held, same bytes
        var last = Add(d, 32, 8, more: false);

        Assert.Equal(Datagram, last.Data);
        Assert.Equal(0, _stats.IpFragmentDrops);
    }

    [Fact]
    public void Add_DuplicateWithDifferentBytes_DropsTheDatagram()
    {
        var d = Create();
        var forged = (byte[])Datagram.Clone();
        forged[3] ^= 0xFF;

        Add(d, 0, 16, more: true);
        var conflict = Add(d, 0, 16, more: true, source: forged);

        Assert.Equal(FragmentOutcome.DroppedMalformed, conflict.Outcome);
        Assert.Equal(1, _stats.IpFragmentDrops);
    }

    [Fact]
    public void Add_AfterTimeout_DropsTheStaleDatagramAndStartsAgain()
    {
        var d = Create(timeoutMicros: 1_000_000);

        Add(d, 0, 16, more: true, now: 0);
        Add(d, 16, 16, more: true, now: 500_000);
        var late = Add(d, 32, 8, more: false, now: 1_000_001);

        Assert.Equal(FragmentOutcome.Pending, late.Outcome);
        Assert.Equal(1, _stats.IpFragmentDrops);
        Assert.Equal(1, d.PendingDatagrams);
    }

    [Fact]
    public void Expire_PastTimeout_DropsIncompleteDatagrams()
    {
        var d = Create(timeoutMicros: 1_000_000);
        Add(d, 0, 16, more: true, id: 1, now: 0);
        Add(d, 0, 16, more: true, id: 2, now: 800_000);

        d.Expire(1_500_000);

        Assert.Equal(1, _stats.IpFragmentDrops);
        Assert.Equal(1, d.PendingDatagrams);
        d.Expire(2_000_000);
        Assert.Equal(2, _stats.IpFragmentDrops);
        Assert.Equal(0, d.BufferedBytes);
    }

    [Fact]
    public void Add_BufferBoundHit_DropsTheOldestIncompleteDatagramFirst()
    {
        // Each datagram is charged a 2048-byte pooled buffer plus 128 bytes: two fit in 5000, three do not.
        var d = Create(maxBytes: 5000);

        Add(d, 0, 16, more: true, id: 1);
        Add(d, 0, 16, more: true, id: 2);
        Assert.Equal(FragmentOutcome.Pending, Add(d, 0, 16, more: true, id: 3).Outcome);

        Assert.Equal(1, _stats.IpFragmentDrops);
        Assert.Equal(1, d.LastEvicted);
        Assert.Equal(2, d.PendingDatagrams);
        Assert.True(d.BufferedBytes <= 5000);
        Assert.Equal(FragmentOutcome.Pending, Add(d, 16, 24, more: false, id: 1).Outcome); // id 1 is gone
        Assert.Equal(FragmentOutcome.Completed, Add(d, 16, 24, more: false, id: 3).Outcome);
    }

    [Fact]
    public void Add_DatagramLargerThanTheBound_IsDroppedWithAResourceLimit()
    {
        var d = Create(maxBytes: 1000);

        var r = Add(d, 0, 16, more: true);

        Assert.Equal(FragmentOutcome.DroppedLimit, r.Outcome);
        Assert.Contains("MaxFragmentBytes", r.Error, StringComparison.Ordinal);
        Assert.Equal(1, _stats.IpFragmentDrops);
        Assert.Equal(0, d.BufferedBytes);
    }

    [Fact]
    public void Add_FragmentPastTheLargestDatagram_PingOfDeath_IsMalformed()
    {
        var d = Create();
        var big = new byte[64];

        var r = d.Add(Source, Destination, 9, 1, 65_528, false, big, 0, out _, out _, out var error);

        Assert.Equal(FragmentOutcome.DroppedMalformed, r);
        Assert.Contains("65515", error, StringComparison.Ordinal);
        Assert.Equal(1, _stats.IpFragmentDrops);
    }

    [Fact]
    public void Add_NonFinalFragmentNotMultipleOfEight_IsMalformed()
    {
        var d = Create();

        var r = Add(d, 0, 12, more: true);

        Assert.Equal(FragmentOutcome.DroppedMalformed, r.Outcome);
        Assert.Contains("not a multiple of 8", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_TwoDifferentLastFragments_IsMalformed()
    {
        var d = Create();

        Add(d, 32, 8, more: false);
        var r = Add(d, 16, 8, more: false);

        Assert.Equal(FragmentOutcome.DroppedMalformed, r.Outcome);
        Assert.Equal(1, _stats.IpFragmentDrops);
    }

    [Fact]
    public void Clear_PendingDatagrams_AreCountedAsDropped()
    {
        var d = Create();
        Add(d, 0, 16, more: true, id: 1);
        Add(d, 0, 16, more: true, id: 2);

        d.Clear();

        Assert.Equal(2, _stats.IpFragmentDrops);
        Assert.Equal(0, d.PendingDatagrams);
        Assert.Equal(0, d.BufferedBytes);
    }
}
