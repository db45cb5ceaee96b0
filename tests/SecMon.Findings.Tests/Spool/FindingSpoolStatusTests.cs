using SecMon.Findings.Spool;

namespace SecMon.Findings.Tests.Spool;

public sealed class FindingSpoolStatusTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-spool-status-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Inspect_AfterPartialDelivery_CountsWhatWaitsFromTheCursorOn()
    {
        var findings = TestFindings.Many(30);
        using (var spool = FindingSpool.Open(_dir, new SpoolOptions { SegmentBytes = 4096 }))
        {
            Assert.True(spool.TryAppend(findings[..20]));
            Assert.True(spool.TryAppend(findings[20..]));
            spool.Acknowledge(spool.Peek(12));
            Assert.True(Directory.GetFiles(_dir, "*.jsonl").Length > 1, "the test wants several segments");

            var live = FindingSpool.Inspect(_dir);
            Assert.True(live.InUse);
            Assert.Equal(18, live.PendingFindings);
            Assert.Equal(spool.PendingBytes, live.PendingBytes);
        }

        var status = FindingSpool.Inspect(_dir);
        Assert.False(status.InUse);
        Assert.Equal(18, status.PendingFindings);
        Assert.Equal(findings[12].TimestampMicros, status.OldestPendingMicros);
        Assert.Equal(0, status.DeadLetters);
    }

    [Fact]
    public void Open_SpoolHeldByAnotherOpener_RefusedAsInUse()
    {
        using var first = FindingSpool.Open(_dir);

        var ex = Assert.Throws<SpoolInUseException>(() => FindingSpool.Open(_dir));
        Assert.Contains(_dir, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_AfterTheHolderClosed_Succeeds()
    {
        FindingSpool.Open(_dir).Dispose();

        using var again = FindingSpool.Open(_dir);
        Assert.Equal(0, again.PendingBytes);
    }

    [Fact]
    public void Inspect_DeadLetters_AreCounted()
    {
        FindingSpool.Open(_dir).Dispose();
        File.WriteAllLines(Path.Combine(_dir, FindingSpool.DeadLetterFile), ["{\"reason\":\"a\"}", "{\"reason\":\"b\"}"]);

        var status = FindingSpool.Inspect(_dir);

        Assert.Equal(2, status.DeadLetters);
        Assert.Equal(0, status.PendingFindings);
        Assert.Null(status.OldestPendingMicros);
    }
}
