using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;
using SecMon.Capture.Protocols;
using SecMon.Core.Findings;
using SecMon.Detection;
using SecMon.Detection.Baselines;
using SecMon.Findings.Spool;
using SecMon.Findings.Store;
using SecMon.Hosting;
using SecMon.Hosting.Sinks;
using SecMon.IntegrationTests.Seams.ToyUdp;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Seams;

/// <summary>
/// The seams of the composition root, proven with parts that exist only in the tests: a protocol over UDP and finding
/// outputs that fail, hang or are slow, each plugged in with one line of <see cref="SensorOptions"/> and run on real
/// captures through the same <see cref="Sensor"/> that analyze, capture and serve use.
/// </summary>
public sealed class PluggableSeamTests : IDisposable
{
    private const long T0 = 1_764_000_000_000_000;
    private readonly TempDirectory _tmp = new("secmon-seams-");

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void DatagramProtocol_PluggedInWithOneLine_JoinsResponsesAndReportsWhatIsLeftWhenFlowsEnd()
    {
        var pcap = new PcapBuilder()
            .Add(T0, Udp("192.0.2.10", 50000, "192.0.2.1", 47000, ToyUdpProtocol.Request(1, "alpha")))
            .Add(T0 + 1_000, Udp("192.0.2.1", 47000, "192.0.2.10", 50000, ToyUdpProtocol.Response(1)))
            .Add(T0 + 2_000, Udp("192.0.2.10", 50000, "192.0.2.1", 47000, ToyUdpProtocol.Request(2, "beta")))
            .Add(T0 + 3_000, Udp("192.0.2.11", 50001, "192.0.2.1", 47000, ToyUdpProtocol.Request(7, "gamma")))
            // Two minutes later both flows have been idle past the UDP timeout (60 s): closed, oldest first, before
            // this datagram is read; its flow is closed by the end of the input.
            .Add(T0 + 120_000_000, Udp("192.0.2.12", 50002, "192.0.2.1", 47000, ToyUdpProtocol.Request(9, "delta")))
            .Add(T0 + 121_000_000, Udp("192.0.2.13", 50003, "192.0.2.1", 9999, "not toy"u8))
            .Save(_tmp.File("toy.pcap"));

        var toy = ToyEvents(Analyze(pcap, ProtocolCatalogue.Shipped.With(new ToyUdpProtocol())));
        var shipped = ToyEvents(Analyze(pcap, ProtocolCatalogue.Shipped));

        Assert.Equal(
        [
            "toy.request 1 alpha 192.0.2.10:50000 to_server",
            "toy.exchange 1 alpha 192.0.2.1:47000 to_client",
            "toy.request 2 beta 192.0.2.10:50000 to_server",
            "toy.request 7 gamma 192.0.2.11:50001 to_server",
            "toy.unanswered 2 beta 192.0.2.10:50000 to_server",
            "toy.unanswered 7 gamma 192.0.2.11:50001 to_server",
            "toy.request 9 delta 192.0.2.12:50002 to_server",
            "toy.unanswered 9 delta 192.0.2.12:50002 to_server",
        ], toy.Select(e => $"{e.GetProperty("type").GetString()} {e.GetProperty("toy.id").GetInt32()} {e.GetProperty("toy.name").GetString()} " +
            $"{e.GetProperty("source.ip").GetString()}:{e.GetProperty("source.port").GetInt32()} {e.GetProperty("flow.direction").GetString()}"));
        Assert.Equal(1_000, toy[1].GetProperty("toy.rtt_us").GetInt64());
        Assert.All(toy, e => Assert.Equal("udp", e.GetProperty("network.transport").GetString()));
        // The idle flow ends at its last packet plus the timeout, not when the sweep noticed it.
        Assert.Equal(Iso(T0 + 2_000 + 60_000_000), toy[4].GetProperty("@timestamp").GetString());
        Assert.Equal(Iso(T0 + 3_000 + 60_000_000), toy[5].GetProperty("@timestamp").GetString());
        Assert.Equal(Iso(T0 + 121_000_000), toy[7].GetProperty("@timestamp").GetString());
        Assert.Empty(shipped);
    }

    [Fact]
    public void FailingOutput_TheStoreStillGetsEveryFinding_TheFailureIsCountedAndTheRunEndsWith73()
    {
        var failing = new ScriptedSink("failing", (_, _) => throw new IOException("connection refused by 192.0.2.99"));

        var (code, sensor, stored) = AnalyzeWithRules(failing);

        Assert.Equal(Cli.ExitCodes.CantCreate, code);
        var runner = sensor.Outputs!.Runners[1];
        Assert.True(runner.Received > 0, "the sample made no findings");
        Assert.Equal(runner.Received, runner.Dropped);
        Assert.Contains("connection refused", runner.Error, StringComparison.Ordinal);
        Assert.Equal(sensor.Detection!.Tally.Total, stored);
        Assert.Equal(1, failing.Calls); // a permanent failure is not tried again, and later batches are not offered
    }

    [Fact]
    public void HungOutput_DoesNotHoldUpTheRun_TheStoreGetsEverything_WhatItMissedIsCounted()
    {
        using var never = new ManualResetEventSlim();
        var hung = new ScriptedSink("hung", (_, _) =>
        {
            never.Wait(); // ignores cancellation, as a stuck socket call would
            return SinkResult.Ok(0);
        });
        var started = DateTime.UtcNow;

        var (code, sensor, stored) = AnalyzeWithRules(hung, new SinkRunOptions { QueuedBatches = 1, StallTimeout = TimeSpan.FromMilliseconds(200), CompleteTimeout = TimeSpan.FromSeconds(2) });

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(60), "the run waited for the hung output");
        Assert.Equal(Cli.ExitCodes.CantCreate, code);
        var runner = sensor.Outputs!.Runners[1];
        Assert.Equal(runner.Received, runner.Dropped);
        Assert.Contains("did not finish", runner.Error, StringComparison.Ordinal);
        Assert.Equal(sensor.Detection!.Tally.Total, stored);
        never.Set();
    }

    [Fact]
    public void HungOutputBeforeAnother_TheOtherStillFinishesWithinTheSharedDeadline()
    {
        using var never = new ManualResetEventSlim();
        var hung = new ScriptedSink("hung", (_, _) =>
        {
            never.Wait();
            return SinkResult.Ok(0);
        });
        var quick = new ScriptedSink("quick", (f, _) => SinkResult.Ok(f.Count));

        var (code, sensor, _) = AnalyzeWithOutputs([hung, quick],
            new SinkRunOptions { QueuedBatches = 1, StallTimeout = TimeSpan.FromMilliseconds(200), CompleteTimeout = TimeSpan.FromSeconds(2) });

        Assert.Equal(Cli.ExitCodes.CantCreate, code);
        var after = sensor.Outputs!.Runners[2];
        Assert.Equal("quick", after.Name);
        Assert.Null(after.Error);
        Assert.Equal(0, after.Dropped);
        Assert.Equal(sensor.Detection!.Tally.Total, after.Delivered);
        never.Set();
    }

    [Fact]
    public void Complete_TheStateSaveRunsOnceTheStoreHasEveryFinding_NotAfterTheWaitForAHungOutput()
    {
        using var never = new ManualResetEventSlim();
        var slowStore = new ScriptedSink("store", (f, _) =>
        {
            Thread.Sleep(300); // the store's last batch is still being written when Complete is called
            return SinkResult.Ok(f.Count);
        });
        var hung = new ScriptedSink("hung", (_, _) =>
        {
            never.Wait(); // ignores cancellation, as a stuck socket call would
            return SinkResult.Ok(0);
        });
        var findings = Enumerable.Range(0, 50).Select(i => new Finding
        {
            Id = $"seam-{i:D4}", TimestampMicros = T0 + i, RuleId = "SECMON-TEST-0001", RuleName = "test", Severity = Severity.Low, Message = "test",
        }).ToList();
        using var outputs = new FindingOutputs([slowStore, hung], new SinkRunOptions { CompleteTimeout = TimeSpan.FromSeconds(3) });
        outputs.Publish(findings[..25]);
        outputs.Publish(findings[25..]);

        long storedWhenSaved = -1;
        var hungWaitedBeforeSave = false;
        outputs.Complete(whenStored: () =>
        {
            storedWhenSaved = outputs.Runners[0].Delivered;
            hungWaitedBeforeSave = outputs.Runners[1].Error is not null; // set when the host stops waiting for it
        });
        never.Set();

        Assert.Equal(50, storedWhenSaved);
        Assert.False(hungWaitedBeforeSave, "the save waited out the hung output's deadline");
        Assert.Contains("did not finish", outputs.Runners[1].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void SpooledOutput_WhileTheStoreFinishesAndTheRunSaves_SendsNothingThenDeliversEverything()
    {
        var store = new ScriptedSink("store", (f, _) => SinkResult.Ok(f.Count));
        var sent = 0;
        var network = new ScriptedSink("network", (f, _) =>
        {
            Thread.Sleep(20); // a round trip per batch: the delivery would span the save below
            Interlocked.Add(ref sent, f.Count);
            return SinkResult.Ok(f.Count);
        }) { NeedsSpool = true };
        var findings = Enumerable.Range(0, 200).Select(i => new Finding
        {
            Id = $"hold-{i:D4}", TimestampMicros = T0 + i, RuleId = "SECMON-TEST-0001", RuleName = "test", Severity = Severity.Low, Message = "test",
        }).ToList();
        using var spooled = new SpooledSink(network, FindingSpool.Open(Path.Combine(_tmp.Path, "spool")), new() { BatchSize = 10 });
        using var outputs = new FindingOutputs([store, spooled]);
        outputs.Publish(findings);

        int sentWhenSaveStarted = -1, sentWhenSaveEnded = -1;
        outputs.Complete(whenStored: () =>
        {
            Thread.Sleep(100); // a batch in flight when the hold came has ended
            sentWhenSaveStarted = Volatile.Read(ref sent);
            Thread.Sleep(400); // devices and baselines saved
            sentWhenSaveEnded = Volatile.Read(ref sent);
        });

        Assert.Equal(sentWhenSaveStarted, sentWhenSaveEnded);
        Assert.Equal(200, spooled.Delivered);
        Assert.Equal(200, Volatile.Read(ref sent));
        Assert.False(outputs.AnyFailed);
    }

    [Fact]
    public void OutputStoppedMidBatch_TheBatchInItsHandsIsCountedAsMissed()
    {
        var (_, sensor, _) = AnalyzeWithRules(new CancellableSink(), new SinkRunOptions { CompleteTimeout = TimeSpan.FromSeconds(1) });

        var runner = sensor.Outputs!.Runners[1];
        Assert.True(runner.Received > 0);
        Assert.Equal(runner.Received, runner.Dropped);
        Assert.Equal(0, runner.Delivered);
    }

    [Fact]
    public void SlowAndFlakyOutput_IsWaitedForAndRetried_NothingLost()
    {
        var seen = new List<string>();
        var flaky = new ScriptedSink("flaky", (findings, call) =>
        {
            Thread.Sleep(50);
            if (call == 1)
            {
                return SinkResult.Failed("429 Too Many Requests", transient: true);
            }

            lock (seen)
            {
                seen.AddRange(findings.Select(f => f.Id));
            }

            return SinkResult.Ok(findings.Count);
        });

        var (code, sensor, stored) = AnalyzeWithRules(flaky, new SinkRunOptions { RetryDelay = TimeSpan.FromMilliseconds(10) });

        var (baseline, _, _) = AnalyzeWithRules(null);
        Assert.Equal(baseline, code);
        var runner = sensor.Outputs!.Runners[1];
        Assert.False(runner.HasFailed, runner.Error);
        Assert.Equal(runner.Received, runner.Delivered);
        Assert.Equal(sensor.Detection!.Findings.Select(f => f.Id), seen);
        Assert.Equal(sensor.Detection.Tally.Total, stored);
        Assert.True(flaky.Calls >= 2);
    }

    [Fact]
    public void FileAnalysis_KeepsNoFindingInMemory_AndStoresAndCountsThemAll()
    {
        var received = new List<string>();
        var counting = Recording(received);

        var (code, sensor, stored) = AnalyzeWithOutputs([counting], keep: false);

        // A file's analysis lets each finding go once the outputs have it (--json prints them as the store takes them):
        // holding every finding until the end (each with its evidence and encoded document, about 2.5 KB) grew with the
        // input.
        Assert.Equal(0, code);
        Assert.Empty(sensor.Detection!.Findings);
        Assert.True(stored > 0, "the sample made no finding");
        Assert.Equal(stored, sensor.Detection.Tally.Total);
        Assert.Equal(stored, received.Count);
        Assert.Equal(received.Count, received.Distinct(StringComparer.Ordinal).Count());

        var (_, kept, _) = AnalyzeWithOutputs([], keep: true);
        Assert.Equal(stored, kept.Detection!.Findings.Count);
    }

    [Fact]
    public void FileAnalysis_Json_PrintsEachFindingOnceAsTheStoreTakesIt_InTheOrderFound_KeepingNone()
    {
        var received = new List<string>();
        using var stdout = new MemoryStream();
        var (code, sensor, stored) = AnalyzeWithOutputs([Recording(received)], keep: false, json: stdout);

        // `analyze --json`: the lines come from the store's thread as it takes each batch, not from a copy of every
        // finding held to the run's end.
        Assert.Equal(0, code);
        Assert.Empty(sensor.Detection!.Findings);
        var lines = Encoding.UTF8.GetString(stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var printed = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event").GetProperty("id").GetString()!).ToList();
        Assert.True(stored > 0, "the sample made no finding");
        Assert.Equal(stored, printed.Count);
        Assert.Equal(received, printed); // every finding once, in the order the outputs got them (the order found)
    }

    [Fact]
    public void OutputThatNeedsTheSpool_DownForARun_GetsThatRunsFindingsFirstOnTheNextRun()
    {
        var data = _tmp.File("data-spooled");
        var down = new ScriptedSink("remote", (_, _) => SinkResult.Failed("503 Service Unavailable", transient: true)) { NeedsSpool = true };
        var (code1, sensor1, _) = AnalyzeWithRules(down, new SinkRunOptions { CompleteTimeout = TimeSpan.FromSeconds(1) }, data, "mqtt-guessing.pcap");
        var firstRun = sensor1.Detection!.Findings.Select(f => f.Id).ToList();
        Assert.Equal(Cli.ExitCodes.CantCreate, code1);
        Assert.Contains("for the next run", sensor1.Outputs!.Runners[1].Error, StringComparison.Ordinal);
        Assert.Contains("503", sensor1.Outputs!.Runners[1].Error, StringComparison.Ordinal);

        var received = new List<string>();
        var up = new ScriptedSink("remote", (findings, _) =>
        {
            received.AddRange(findings.Select(f => f.Id));
            return SinkResult.Ok(findings.Count);
        }) { NeedsSpool = true };
        var (code2, sensor2, _) = AnalyzeWithRules(up, null, data, "mqtt-wildcard.pcap");

        Assert.Equal(0, code2);
        Assert.NotEmpty(firstRun);
        Assert.Equal([.. firstRun, .. sensor2.Detection!.Findings.Select(f => f.Id)], received);
        Assert.False(SpoolHasPending(data), "findings were left in the spool after the output confirmed them");
    }

    private static bool SpoolHasPending(string data)
    {
        using var spool = SecMon.Findings.Spool.FindingSpool.Open(Path.Combine(data, "spool", "remote"));
        return spool.PendingBytes > 0;
    }

    private string Analyze(string pcap, ProtocolCatalogue catalogue)
    {
        var events = _tmp.File($"events-{Guid.NewGuid():N}.jsonl");
        using (var sensor = Sensor.Open(new SensorOptions { DataDirectory = _tmp.File("data"), EventsPath = events, Protocols = catalogue }, out var exit))
        {
            Assert.True(sensor is not null, $"exit {exit}");
            using var files = Sensor.OpenFiles([pcap])!;
            sensor.RunFiles(files, CancellationToken.None);
            Assert.Equal(0, sensor.Finish(pcap));
        }

        return events;
    }

    private (int Code, Sensor Sensor, long Stored) AnalyzeWithRules(IFindingSink? extra, SinkRunOptions? run = null, string? data = null,
        string capture = "mqtt-guessing.pcap") =>
        AnalyzeWithOutputs(extra is null ? [] : [extra], run, data, capture);

    // keep: the run keeps its findings in memory (SensorOptions.KeepFindings), so that a test can compare them with what
    // an output received. json: the findings as ECS JSON lines (analyze --json) go there.
    private (int Code, Sensor Sensor, long Stored) AnalyzeWithOutputs(IReadOnlyList<IFindingSink> extras, SinkRunOptions? run = null, string? data = null,
        string capture = "mqtt-guessing.pcap", bool keep = true, Stream? json = null)
    {
        var rules = RulePackLoader.Load([RepoPaths.Rules], AnalysisSession.EventSchemas);
        Assert.True(rules.Success);
        data ??= _tmp.File($"data-{Guid.NewGuid():N}");
        // The guessing sample makes findings of several rules; learning ends at once so baseline rules report too.
        var sample = Path.Combine(RepoPaths.Samples, capture);
        var sensor = Sensor.Open(new SensorOptions
        {
            DataDirectory = data,
            Rules = rules.RuleSet,
            Baselines = new BaselineOptions { LearningPeriod = TimeSpan.Zero },
            Outputs = extras,
            OutputRun = run,
            KeepFindings = keep,
            JsonFindings = json is not null,
            FindingsOut = json,
        }, out var exit);
        Assert.True(sensor is not null, $"exit {exit}");
        using (var files = Sensor.OpenFiles([sample])!)
        {
            sensor.RunFiles(files, CancellationToken.None);
        }

        var code = sensor.Finish(sample);
        var stored = sensor.Store!.Count();
        sensor.Dispose();
        return (code, sensor, stored);
    }

    private static List<JsonElement> ToyEvents(string eventsFile) =>
    [
        .. File.ReadLines(eventsFile).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString()!.StartsWith("toy.", StringComparison.Ordinal)),
    ];

    private static string Iso(long micros) => SecMon.Core.Time.FormatMicros(micros);

    // Ethernet + IPv4 + UDP (no UDP checksum, as IPv4 allows).
    private static byte[] Udp(string src, ushort srcPort, string dst, ushort dstPort, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[14 + 20 + 8 + payload.Length];
        frame[5] = 1;
        frame[11] = 2;
        frame[12] = 0x08;
        var ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        ip[8] = 64;
        ip[9] = 17;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(ip[12..]);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(ip[16..]);
        uint sum = 0;
        for (var i = 0; i < 20; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        var udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        return frame;
    }

    /// <summary>An output whose write waits until the host stops waiting, then gives up as cancellation asks.</summary>
    private sealed class CancellableSink : IFindingSink
    {
        public string Name => "cancellable";

        public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            cancellationToken.WaitHandle.WaitOne();
            cancellationToken.ThrowIfCancellationRequested();
            return SinkResult.Ok(findings.Count);
        }

        public void Complete(CancellationToken cancellationToken)
        {
        }
    }

    /// <summary>A finding output whose every write runs <c>write(findings, callNumber)</c>.</summary>
    // A sink that takes every finding and records its id, in the order received.
    private static ScriptedSink Recording(List<string> received) => new("counting", (findings, _) =>
    {
        lock (received)
        {
            received.AddRange(findings.Select(f => f.Id));
        }

        return SinkResult.Ok(findings.Count);
    });

    private sealed class ScriptedSink(string name, Func<IReadOnlyList<Finding>, int, SinkResult> write) : IFindingSink
    {
        private int _calls;

        public string Name => name;

        public bool NeedsSpool { get; init; }

        public int Calls => _calls;

        public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken) =>
            write(findings, Interlocked.Increment(ref _calls));

        public void Complete(CancellationToken cancellationToken)
        {
        }
    }
}
