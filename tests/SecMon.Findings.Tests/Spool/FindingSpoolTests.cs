using System.Diagnostics;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Spool;

namespace SecMon.Findings.Tests.Spool;

public sealed class FindingSpoolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-spool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AppendPeekAcknowledge_Reopened_ResumesAfterTheLastAcknowledgedBatch()
    {
        var findings = TestFindings.Many(30);
        SpoolBatch first;
        using (var spool = FindingSpool.Open(_dir, new SpoolOptions { SegmentBytes = 4096 }))
        {
            Assert.True(spool.TryAppend(findings[..20]));
            Assert.True(spool.TryAppend(findings[20..]));
            first = spool.Peek(12);
            Assert.Equal(findings[..12].Select(f => f.Id), first.Findings.Select(f => f.Id));
            spool.Acknowledge(first);
            Assert.True(Directory.GetFiles(_dir, "*.jsonl").Length > 1, "segments did not roll over at 4 KiB");
        }

        using var reopened = FindingSpool.Open(_dir, new SpoolOptions { SegmentBytes = 4096 });
        var rest = reopened.Peek(100);
        Assert.Equal(findings[12..].Select(f => f.Id), rest.Findings.Select(f => f.Id));
        reopened.Acknowledge(rest);
        Assert.Equal(0, reopened.PendingBytes);
        Assert.Empty(reopened.Peek(100).Findings);
        Assert.True(Directory.GetFiles(_dir, "*.jsonl").Length <= 1, "delivered segments were not deleted");
    }

    [Fact]
    public void TryAppend_ABatchOfMoreDocumentsThanOneGatheredWriteTakes_EveryDocumentOnItsLineInOrder()
    {
        // 700 findings are 1,400 buffers (document, newline): more than one writev takes (IOV_MAX 1024), so the batch
        // goes in several gathered writes, each at the offset the last one ended.
        var findings = TestFindings.Many(700);
        using var spool = FindingSpool.Open(_dir);
        Assert.True(spool.TryAppend(findings[..3]));
        Assert.True(spool.TryAppend(findings[3..]));
        var expected = findings.SelectMany(f => FindingJson.Utf8(f).Append((byte)'\n')).ToArray();
        var segment = Assert.Single(Directory.GetFiles(_dir, "*.jsonl"));
        Assert.Equal(expected, File.ReadAllBytes(segment));
        Assert.Equal(expected.Length, spool.PendingBytes);
        var batch = spool.Peek(1000);
        Assert.Equal(findings.Select(f => f.Id), batch.Findings.Select(f => f.Id));
        spool.Acknowledge(batch);
        Assert.Equal(0, spool.PendingBytes);
    }

    [Fact]
    public void TryAppend_BeyondMaxBytes_RefusesTheNewestAndKeepsWhatItHas()
    {
        using var spool = FindingSpool.Open(_dir, new SpoolOptions { MaxBytes = 6000 });
        var findings = TestFindings.Many(40);
        var accepted = 0;
        foreach (var f in findings)
        {
            if (!spool.TryAppend([f]))
            {
                break;
            }

            accepted++;
        }

        Assert.InRange(accepted, 1, 39);
        Assert.True(spool.PendingBytes <= 6000);
        Assert.Equal(findings[..accepted].Select(f => f.Id), spool.Peek(100).Findings.Select(f => f.Id));
    }

    [Fact]
    public void Open_AfterACrashMidAppend_CutsTheTornLineAndAppendsOnALineOfItsOwn()
    {
        var findings = TestFindings.Many(3);
        using (var spool = FindingSpool.Open(_dir))
        {
            spool.TryAppend(findings[..2]);
        }

        var segment = Directory.GetFiles(_dir, "*.jsonl").Single();
        File.AppendAllText(segment, "{\"@timestamp\":\"2026-11-24T08:00:0"); // the crash

        using var reopened = FindingSpool.Open(_dir);
        reopened.TryAppend(findings[2..]);
        var unreadable = new List<string>();
        Assert.Equal(findings.Select(f => f.Id), reopened.Peek(10, unreadable).Findings.Select(f => f.Id));
        Assert.Empty(unreadable);
    }

    [Fact]
    public void Peek_ALineLongerThanTheReadBuffer_IsReadWhole()
    {
        var big = TestFindings.Many(3);
        big[1] = big[1] with { Message = "long " + new string('m', 200_000) }; // past the 64 KiB read buffer, twice over
        using var spool = FindingSpool.Open(_dir);
        Assert.True(spool.TryAppend(big));
        var batch = spool.Peek(10);
        Assert.Equal(big.Select(f => f.Id), batch.Findings.Select(f => f.Id));
        Assert.Equal(big[1].Message, batch.Findings[1].Message);
    }

    [Fact]
    public void Peek_ReadBack_OutputsGetTheSpooledLineBytesNotANewEncoding()
    {
        // A line as another version of SecMon (or a hand) may have written it: spaces FindingJson never writes. The
        // finding read from it carries exactly those bytes to the outputs (the webhook body, the MQTT payload).
        var finding = TestFindings.Many(1)[0];
        var line = System.Text.Encoding.UTF8.GetString(FindingJson.Utf8(finding)).Replace("\"message\":", "\"message\" :  ", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_dir, "00000001.jsonl"), line + "\n");
        using var spool = FindingSpool.Open(_dir);
        var read = spool.Peek(10).Findings.Single();
        Assert.Equal(finding.Id, read.Id);
        Assert.Equal(line, System.Text.Encoding.UTF8.GetString(FindingJson.Utf8(read)));
    }

    [Fact]
    public void Utf8_SameFindingTwice_EncodedOnceAndTheSameBytesAsWrite()
    {
        var finding = TestFindings.Full();
        var first = FindingJson.Utf8(finding);
        Assert.Same(first, FindingJson.Utf8(finding));
        var fresh = new System.Buffers.ArrayBufferWriter<byte>();
        FindingJson.Write(finding, fresh, ingested: null); // the encoder itself, not the cache
        Assert.Equal(fresh.WrittenSpan.ToArray(), first);
        var changed = finding with { Message = "another message" };
        Assert.NotEqual(first, FindingJson.Utf8(changed)); // a changed finding is a new instance, encoded anew
    }

    [Fact]
    public void SpooledSink_OutputDownThenUp_DeliversEverythingOnceInOrder()
    {
        var output = new Output(failFirst: 3, transient: true);
        var findings = TestFindings.Many(50);
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir), new SpoolDelivery { BatchSize = 7, RetryDelay = TimeSpan.FromMilliseconds(5) });

        for (var i = 0; i < 50; i += 10)
        {
            Assert.True(sink.Write(findings[i..(i + 10)], CancellationToken.None).Succeeded);
        }

        sink.Complete(CancellationToken.None);

        Assert.Equal(findings.Select(f => f.Id), output.Received);
        Assert.Equal(50, sink.Delivered);
        Assert.Equal(0, sink.PendingBytes);
        Assert.Contains("503", sink.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void SpooledSink_OutputRefusesABatchForGood_ItGoesToDeadLettersWithTheReasonAndDeliveryGoesOn()
    {
        var output = new Output(failFirst: 1, transient: false);
        var findings = TestFindings.Many(20);
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir), new SpoolDelivery { BatchSize = 5 });

        sink.Write(findings, CancellationToken.None);
        sink.Complete(CancellationToken.None);

        Assert.Equal(findings[5..].Select(f => f.Id), output.Received);
        Assert.Equal(5, sink.DeadLettered);
        var dead = File.ReadAllLines(Path.Combine(_dir, "dead-letters.jsonl"));
        Assert.Equal(5, dead.Length);
        Assert.All(dead, l => Assert.Contains("mapper_parsing_exception", l, StringComparison.Ordinal));
        Assert.Equal(findings[..5].Select(f => f.Id), dead.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("finding").GetProperty("event").GetProperty("id").GetString()));
    }

    [Fact]
    public void SpooledSink_RunEndsWhileTheOutputIsDown_TheFindingsWaitInTheSpoolAndGoFirstOnTheNextRun()
    {
        var findings = TestFindings.Many(12);
        var down = new Output(failFirst: int.MaxValue, transient: true);
        using (var sink = new SpooledSink(down, FindingSpool.Open(_dir), new SpoolDelivery { RetryDelay = TimeSpan.FromMilliseconds(5) }))
        {
            sink.Write(findings[..8], CancellationToken.None);
            using var stopWaiting = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var left = Assert.Throws<IOException>(() => sink.Complete(stopWaiting.Token));
            Assert.Contains("for the next run", left.Message, StringComparison.Ordinal);
            Assert.Contains("503", left.Message, StringComparison.Ordinal);
        }

        var up = new Output(failFirst: 0, transient: true);
        using (var sink = new SpooledSink(up, FindingSpool.Open(_dir)))
        {
            sink.Write(findings[8..], CancellationToken.None);
            sink.Complete(CancellationToken.None);
        }

        Assert.Empty(down.Received);
        Assert.Equal(findings.Select(f => f.Id), up.Received);
    }

    [Fact]
    public void SpooledSink_RunEndsWhileTheOutputIsDownAndBackingOff_OneMoreTryAtOnceNotTheGrownWait()
    {
        // Down from the start: retries at 0.1, 0.2, 0.4, 0.8, 1.6 s (with jitter), so after six tries the next wait
        // is at least 1.6 s. The run's end cuts that wait short, tries once more and stops (TriesAtEnd 3 is spent).
        var down = new Output(int.MaxValue, transient: true);
        var delivery = new SpoolDelivery { RetryDelay = TimeSpan.FromMilliseconds(100), MaxRetryDelay = TimeSpan.FromMinutes(1), TriesAtEnd = 3 };
        using var sink = new SpooledSink(down, FindingSpool.Open(_dir), delivery);
        Assert.True(sink.Write(TestFindings.Many(3), CancellationToken.None).Succeeded);
        var waited = Stopwatch.StartNew();
        while (down.Calls < 6)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"the output was tried {down.Calls} times in 30 s");
            Thread.Sleep(10);
        }

        var before = down.Calls;
        var ending = Stopwatch.StartNew();
        var error = Assert.Throws<IOException>(() => sink.Complete(CancellationToken.None));

        Assert.Equal(before + 1, down.Calls);
        Assert.True(ending.Elapsed < TimeSpan.FromSeconds(1.5), $"the end waited {ending.Elapsed} for an output that was down");
        Assert.Contains("stay in the spool", error.Message, StringComparison.Ordinal);
    }

    private sealed class Output(int failFirst, bool transient) : IFindingSink
    {
        private int _calls;

        public List<string> Received { get; } = [];

        public int Calls => Volatile.Read(ref _calls);

        public string Name => "test-output";

        public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) <= failFirst)
            {
                return SinkResult.Failed(transient ? "503 Service Unavailable" : "400 mapper_parsing_exception on field x", transient);
            }

            Received.AddRange(findings.Select(f => f.Id));
            return SinkResult.Ok(findings.Count);
        }

        public void Complete(CancellationToken cancellationToken)
        {
        }
    }
}
