using SecMon.Core.Findings;
using SecMon.Findings.Spool;

namespace SecMon.Findings.Tests.Spool;

/// <summary>An output that gets ready before its first findings (<see cref="IConnectingSink"/>) behind the spool: it
/// connects while nothing waits for it, a failure there costs nothing, and the run's end never waits for it.</summary>
public sealed class SpooledConnectingSinkTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-spool-connecting-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void SpooledSink_ConnectingOutputStartsWithAnEmptySpool_ConnectsOnceBeforeTheFirstFindingsThenDeliversEach()
    {
        var output = new ConnectingOutput();
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir), new SpoolDelivery { BatchSize = 4 });

        Assert.True(output.Connected.Wait(Patience), "the output was not connected before any finding came");
        var findings = TestFindings.Many(10);
        Assert.True(sink.Write(findings, CancellationToken.None).Succeeded);
        sink.Complete(CancellationToken.None);

        Assert.Equal(1, output.Connects);
        Assert.Equal(findings.Select(f => f.Id), output.Received);
        Assert.Equal(10, sink.Delivered);
        Assert.Equal(["connect", "write", "write", "write"], output.Calls);
    }

    [Fact]
    public void SpooledSink_FindingsWaitingFromTheLastRun_DeliveredWithoutAConnectBeforeOrAfter()
    {
        var waiting = TestFindings.Many(5);
        using (var spool = FindingSpool.Open(_dir))
        {
            Assert.True(spool.TryAppend(waiting));
        }

        var output = new ConnectingOutput();
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir));
        sink.Complete(CancellationToken.None);

        Assert.Equal(waiting.Select(f => f.Id), output.Received);
        Assert.Equal(0, output.Connects);
    }

    [Fact]
    public void SpooledSink_ConnectFails_TheFirstWriteStillDeliversEverythingOnce()
    {
        var output = new ConnectingOutput { Fail = true };
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir));
        Assert.True(output.Connected.Wait(Patience));

        var findings = TestFindings.Many(7);
        Assert.True(sink.Write(findings, CancellationToken.None).Succeeded);
        sink.Complete(CancellationToken.None);

        Assert.Equal(findings.Select(f => f.Id), output.Received);
        Assert.Equal(0, sink.TransientFailures);
        Assert.Null(sink.LastError);
    }

    [Fact]
    public void SpooledSink_ConnectHangsAndNoFindingCame_TheRunsEndCancelsItAndDoesNotWait()
    {
        var output = new ConnectingOutput { Hang = true };
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir));
        Assert.True(output.Connecting.Wait(Patience));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        sink.Complete(CancellationToken.None);

        Assert.True(clock.Elapsed < Patience, $"Complete waited {clock.Elapsed} for a connect with nothing to deliver");
        Assert.True(output.Cancelled, "the connect was not cancelled");
        Assert.Empty(output.Received);
    }

    private sealed class ConnectingOutput : IFindingSink, IConnectingSink
    {
        private readonly Lock _gate = new();

        public ManualResetEventSlim Connecting { get; } = new();

        public ManualResetEventSlim Connected { get; } = new();

        public bool Fail { get; init; }

        public bool Hang { get; init; }

        public bool Cancelled { get; private set; }

        public int Connects { get; private set; }

        public List<string> Calls { get; } = [];

        public List<string> Received { get; } = [];

        public string Name => "connecting";

        public bool NeedsSpool => true;

        public void Connect(CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                Connects++;
                Calls.Add("connect");
            }

            Connecting.Set();
            try
            {
                if (Hang)
                {
                    Cancelled = cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMinutes(1));
                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (Fail)
                {
                    throw new IOException("the test's output is not there yet");
                }
            }
            finally
            {
                Connected.Set();
            }
        }

        public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                Calls.Add("write");
                Received.AddRange(findings.Select(f => f.Id));
            }

            return SinkResult.Ok(findings.Count);
        }

        public void Complete(CancellationToken cancellationToken)
        {
        }
    }
}
