using Microsoft.Extensions.Time.Testing;
using SecMon.Capture.Sources;

namespace SecMon.Capture.Tests.Watching;

/// <summary>
/// Which file of a watched directory is read next, and from which packet: files in the order they were written (not
/// by name), the newest only once the writer moved on or it settled, a file read once across restarts, a grown file read
/// on, a name reused by a ring buffer read as a new file, and the state file lagging the reads (a crash reads again
/// rather than skips).
/// </summary>
public sealed class WatchedDirectoryTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-watch-").FullName;
    private readonly string _data = Directory.CreateTempSubdirectory("secmon-watch-data-").FullName;
    private readonly FakeTimeProvider _time = new(Start);

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        Directory.Delete(_data, recursive: true);
    }

    private string Write(string name, int bytes, TimeSpan writtenAgo, byte fill = 1)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, Enumerable.Repeat(fill, bytes).ToArray());
        File.SetLastWriteTimeUtc(path, (_time.GetUtcNow() - writtenAgo).UtcDateTime);
        return path;
    }

    private WatchedDirectory Open(TimeSpan? settle = null)
    {
        var watch = WatchedDirectory.TryOpen(new WatchOptions(_dir) { Settle = settle ?? TimeSpan.FromSeconds(30) }, _data, out var error, _time);
        Assert.True(watch is not null, error);
        return watch;
    }

    [Fact]
    public void Next_TakesFilesInWriteOrder_AndTheNewestOnlyOnceSettled()
    {
        // tcpdump -C names: cap.pcap, cap.pcap1, cap.pcap10, cap.pcap2: the name order is not the write order.
        Write("cap.pcap10", 100, TimeSpan.FromSeconds(40));
        Write("cap.pcap2", 100, TimeSpan.FromSeconds(50));
        Write("cap.pcap", 100, TimeSpan.FromSeconds(60));
        Write("cap.pcap11", 100, TimeSpan.FromSeconds(5)); // being written
        Write(".hidden.pcap", 100, TimeSpan.FromSeconds(70));
        Write("old.pcap.gz", 100, TimeSpan.FromSeconds(70));
        Write("empty.pcap", 10, TimeSpan.FromSeconds(70)); // no header yet
        var watch = Open();

        var order = new List<string>();
        while (watch.Next() is { } file)
        {
            Assert.Equal(0, file.SkipPackets);
            order.Add(file.Name);
            watch.Record(file, packets: 7, toTheEnd: true);
        }

        Assert.Equal(["cap.pcap", "cap.pcap2", "cap.pcap10"], order);

        _time.Advance(TimeSpan.FromSeconds(26)); // 31 s since cap.pcap11 last changed: settled
        var settled = watch.Next();
        Assert.Equal("cap.pcap11", settled?.Name);
        Assert.True(settled!.Newest);
    }

    [Fact]
    public void Next_AfterARestart_ReadsNoFileTwice_AndReadsOnWhereAFileGrewOrARunStopped()
    {
        Write("a.pcap", 100, TimeSpan.FromMinutes(3));
        var b = Write("b.pcap", 100, TimeSpan.FromMinutes(2));
        Write("c.pcap", 100, TimeSpan.FromMinutes(1));
        var first = Open();
        first.Record(first.Next()!, 10, toTheEnd: true); // a
        first.Record(first.Next()!, 4, toTheEnd: false); // b: the run stopped in the middle of it
        first.Save(TimeSpan.Zero);

        var second = Open();
        var next = second.Next()!;
        Assert.Equal(("b.pcap", 4L), (next.Name, next.SkipPackets));
        second.Record(next, 12, toTheEnd: true);
        next = second.Next()!;
        Assert.Equal(("c.pcap", 0L), (next.Name, next.SkipPackets));
        second.Record(next, 3, toTheEnd: true);
        Assert.Null(second.Next());

        // b grows (an idle writer woke up): read on after its 12 packets; the same bytes first, so the same file.
        File.AppendAllText(b, new string('\u0001', 50));
        File.SetLastWriteTimeUtc(b, (_time.GetUtcNow() - TimeSpan.FromMinutes(2)).UtcDateTime);
        next = second.Next()!;
        Assert.Equal(("b.pcap", 12L), (next.Name, next.SkipPackets));
    }

    [Fact]
    public void Next_ANameReusedWithOtherBytes_IsANewFile()
    {
        var ring = Write("ring_00001.pcapng", 100, TimeSpan.FromMinutes(2), fill: 1);
        Write("ring_00002.pcapng", 100, TimeSpan.FromMinutes(1));
        var watch = Open();
        watch.Record(watch.Next()!, 9, toTheEnd: true);
        _time.Advance(TimeSpan.FromSeconds(31));
        watch.Record(watch.Next()!, 9, toTheEnd: true);
        Assert.Null(watch.Next());

        // dumpcap's ring buffer wrote ring_00001 again with new packets (same size, other bytes).
        Write("ring_00001.pcapng", 100, TimeSpan.FromSeconds(45), fill: 2);
        var next = watch.Next()!;
        Assert.Equal(("ring_00001.pcapng", 0L), (next.Name, next.SkipPackets));
        Assert.True(File.Exists(ring));
    }

    [Fact]
    public void Save_WritesOnlyRecordsOldEnough_SoACrashReadsAgainRatherThanSkips()
    {
        Write("a.pcap", 100, TimeSpan.FromMinutes(2));
        Write("b.pcap", 100, TimeSpan.FromMinutes(1));
        var watch = Open();
        watch.Record(watch.Next()!, 10, toTheEnd: true);
        watch.Save(TimeSpan.FromSeconds(5));
        Assert.Equal("b.pcap", watch.Next()!.Name); // this run goes on at once

        // A crash now: the state file does not say a.pcap was read (its findings may not be stored yet).
        Assert.Equal("a.pcap", Open().Next()!.Name);

        _time.Advance(TimeSpan.FromSeconds(6));
        watch.Save(TimeSpan.FromSeconds(5));
        Assert.Equal("b.pcap", Open().Next()!.Name);
    }

    [Fact]
    public void Save_ForgetsFilesRemovedFromTheDirectory()
    {
        var a = Write("a.pcap", 100, TimeSpan.FromMinutes(2));
        Write("b.pcap", 100, TimeSpan.FromMinutes(1));
        var watch = Open();
        watch.Record(watch.Next()!, 10, toTheEnd: true);
        watch.Record(watch.Next()!, 10, toTheEnd: true);
        File.Delete(a);
        watch.Save(TimeSpan.Zero);
        Assert.Equal(1, Open().KnownFiles);
    }

    [Fact]
    public void TryOpen_NoSuchDirectory_OrADamagedState_SaysWhatToDo()
    {
        Assert.Null(WatchedDirectory.TryOpen(new WatchOptions(Path.Combine(_dir, "nope")), _data, out var error));
        Assert.Contains("no such directory", error, StringComparison.Ordinal);

        var watch = Open();
        Directory.CreateDirectory(Path.GetDirectoryName(watch.StatePath)!);
        File.WriteAllText(watch.StatePath, "{ not json");
        Assert.Null(WatchedDirectory.TryOpen(new WatchOptions(_dir), _data, out error));
        Assert.Contains("move it away", error, StringComparison.Ordinal);
    }
}
