using SecMon.Core.Findings;
using SecMon.Findings.Spool;

namespace SecMon.Findings.Tests.Spool;

/// <summary>An output that delivers a batch but refuses some of its findings one by one (<see cref="SinkResult.Rejected"/>).</summary>
public sealed class SpooledSinkRejectedTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "secmon-spool-refused-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void SpooledSink_OutputRefusesSomeFindingsOfADeliveredBatch_OnlyThoseGoToDeadLettersEachWithItsReason()
    {
        var findings = TestFindings.Many(12);
        var output = new PickyOutput(f => f.Id == findings[2].Id ? "400 from the receiver" : f.Id == findings[9].Id ? "gave up after 10 tries" : null);
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir), new SpoolDelivery { BatchSize = 5 });

        Assert.True(sink.Write(findings, CancellationToken.None).Succeeded);
        sink.Complete(CancellationToken.None);

        Assert.Equal(10, sink.Delivered);
        Assert.Equal(2, sink.DeadLettered);
        Assert.Equal(0, sink.PendingBytes);
        var dead = File.ReadAllLines(Path.Combine(_dir, "dead-letters.jsonl"));
        Assert.Equal(2, dead.Length);
        Assert.Contains(findings[2].Id, dead[0], StringComparison.Ordinal);
        Assert.Contains("400 from the receiver", dead[0], StringComparison.Ordinal);
        Assert.Contains(findings[9].Id, dead[1], StringComparison.Ordinal);
        Assert.Contains("gave up after 10 tries", dead[1], StringComparison.Ordinal);
    }

    private sealed class PickyOutput(Func<Finding, string?> refuse) : IFindingSink
    {
        public string Name => "picky";

        public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            var refused = findings.Select(f => (f, why: refuse(f))).Where(x => x.why is not null).Select(x => new RejectedFinding(x.f, x.why!)).ToList();
            return SinkResult.Partial(findings.Count - refused.Count, refused);
        }

        public void Complete(CancellationToken cancellationToken)
        {
        }
    }
}
