using SecMon.Core.Findings;
using SecMon.Findings.Spool;

namespace SecMon.Findings.Tests.Spool;

/// <summary>Delivery held while the host finishes its own part of a run: the spool still takes findings, the output gets
/// none until the hold is released, and neither the end of the run nor a stop waits on a hold left in place.</summary>
public sealed class SpooledSinkHoldTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-spool-hold-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void HoldDelivery_FindingsWrittenMeanwhile_SpooledButNotSentUntilReleased()
    {
        var output = new CountingOutput();
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir), new SpoolDelivery { BatchSize = 4 });
        sink.HoldDelivery();

        var findings = TestFindings.Many(10);
        Assert.True(sink.Write(findings, CancellationToken.None).Succeeded);
        Thread.Sleep(500); // a delivery thread that ignored the hold has sent the first batches by now

        Assert.Equal(0, output.Count);
        Assert.True(sink.PendingBytes > 0, "the findings are not in the spool");

        sink.ReleaseDelivery();
        Assert.True(SpinWait.SpinUntil(() => output.Count == 10, Patience), $"{output.Count} of 10 delivered after the release");
        sink.Complete(CancellationToken.None);
        Assert.Equal(10, sink.Delivered);
    }

    [Fact]
    public async Task HoldDelivery_CompleteWhileHeld_WaitsForTheReleaseThenDeliversEverything()
    {
        var output = new CountingOutput();
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir));
        sink.HoldDelivery();
        Assert.True(sink.Write(TestFindings.Many(7), CancellationToken.None).Succeeded);

        var completing = Task.Run(() => sink.Complete(CancellationToken.None));
        await Task.Delay(300);
        Assert.False(completing.IsCompleted, "Complete delivered through the hold");
        Assert.Equal(0, output.Count);

        sink.ReleaseDelivery();
        await completing.WaitAsync(Patience);
        Assert.Equal(7, output.Count);
        Assert.Equal(0, sink.PendingBytes);
    }

    [Fact]
    public async Task HoldDelivery_CompleteWhileHeldIsCancelled_EndsAndKeepsTheFindingsInTheSpool()
    {
        var output = new CountingOutput();
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir));
        sink.HoldDelivery();
        Assert.True(sink.Write(TestFindings.Many(4), CancellationToken.None).Succeeded);
        using var hostStopsWaiting = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        // Times out (a failure) if the cancelled Complete still waits on the hold.
        var error = await Assert.ThrowsAsync<IOException>(() => Task.Run(() => sink.Complete(hostStopsWaiting.Token)).WaitAsync(Patience));

        Assert.Contains("stay in the spool", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, output.Count);
    }

    [Fact]
    public async Task HoldDelivery_DisposedWhileHeld_StopsAndKeepsTheFindingsForTheNextRun()
    {
        var output = new CountingOutput();
        var sink = new SpooledSink(output, FindingSpool.Open(_dir));
        sink.HoldDelivery();
        Assert.True(sink.Write(TestFindings.Many(3), CancellationToken.None).Succeeded);
        Thread.Sleep(200); // the delivery thread has read the batch and waits on the hold

        // Times out (a failure) if Dispose waits on the hold.
        await Task.Run(sink.Dispose).WaitAsync(Patience);

        Assert.Equal(0, output.Count);
        using var spool = FindingSpool.Open(_dir);
        Assert.True(spool.PendingBytes > 0, "the held findings were lost");
    }

    private sealed class CountingOutput : IFindingSink
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public string Name => "counting";

        public bool NeedsSpool => true;

        public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            Interlocked.Add(ref _count, findings.Count);
            return SinkResult.Ok(findings.Count);
        }

        public void Complete(CancellationToken cancellationToken)
        {
        }
    }
}
