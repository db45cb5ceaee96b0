using SecMon.Core.Findings;
using SecMon.Detection.Baselines;
using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Baselines;

public sealed class BaselineTests
{
    private const long Minute = 60 * Second;

    // Rate buckets are aligned to the epoch; start rate tests on a minute boundary so a test minute is one bucket.
    private const long M0 = ((T0 / Minute) + 1) * Minute;

    private static readonly BaselineOptions TenMinutes = new() { LearningPeriod = TimeSpan.FromMinutes(10) };

    private const string Pack = """
        pack: baseline
        rules:
          - id: BASE-PEER
            name: New peer or port
            description: d
            severity: medium
            events: [mqtt.connect, tls.client_hello]
            where: {flow.direction: to_server}
            baseline: {kind: new_value, entity: client, value: [destination.ip, destination.port]}
            message: "{device.id} talks to {value}"
          - id: BASE-TOPIC
            name: New topic
            description: d
            severity: low
            events: [mqtt.publish]
            where: {flow.direction: to_server}
            baseline: {kind: new_value, entity: client, value: mqtt.topic, normalize: topic_pattern}
            message: "{device.id} publishes to {value}"
          - id: BASE-SUB
            name: New subscription
            description: d
            severity: low
            events: [mqtt.subscribe]
            baseline: {kind: new_value, entity: client, value: mqtt.topic_filters}
            message: "{device.id} subscribes to {value}"
          - id: BASE-RATE
            name: Rate
            description: d
            severity: low
            events: [mqtt.publish]
            where: {flow.direction: to_server}
            baseline: {kind: rate, entity: client, per: 1m, tolerance: 3}
            message: "{device.id} publishes {value}"
        """;

    private static DetectionEngine NewEngine(BaselineModel? model = null) =>
        new(Load(Pack), baselines: model ?? new BaselineModel(TenMinutes));

    [Fact]
    public void NewValue_PeerSeenOnlyAfterLearning_ReportedOnce()
    {
        var engine = NewEngine();
        var toA = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");

        var findings = Feed(engine,
        [
            Connect(toA, T0, 1),
            Connect(FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1"), T0 + (11 * Minute), 2),
            Connect(FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.66", serverPort: 8883), T0 + (12 * Minute), 3),
            Connect(FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.66", serverPort: 8883), T0 + (13 * Minute), 4),
            Connect(FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1", serverPort: 1884), T0 + (14 * Minute), 5),
        ]);

        Assert.Equal(["10.0.0.5 talks to 10.0.0.66, 8883", "10.0.0.5 talks to 10.0.0.1, 1884"], findings.Select(Subject));
        Assert.All(findings, f => Assert.Equal("BASE-PEER", f.RuleId));
        Assert.True(engine.Baselines.Learned);
    }

    [Fact]
    public void NewValue_DuringLearning_NothingReported()
    {
        var engine = NewEngine();

        var findings = Feed(engine, Enumerable.Range(0, 20).Select(i => Connect(FakeFlows.Create(serverIp: $"10.0.1.{i}"), T0 + (i * 20 * Second), i)));

        Assert.Empty(findings);
        Assert.False(engine.Baselines.Learned);
    }

    [Fact]
    public void NewValue_TopicPatterns_GeneraliseIdentifierLevels()
    {
        var engine = NewEngine();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5");

        var findings = Feed(engine,
        [
            Publish(flow, T0, 1, "meters/4711/power"),
            Publish(flow, T0 + (11 * Minute), 2, "meters/4712/power"),
            Publish(flow, T0 + (11 * Minute) + 1, 3, "meters/9f1c2a7e33/power"),
            Publish(flow, T0 + (11 * Minute) + 2, 4, "meters/4711/valve"),
        ]);

        var f = Assert.Single(findings, x => x.RuleId == "BASE-TOPIC");
        Assert.Equal("10.0.0.5 publishes to meters/+/valve", Subject(f));
        Assert.Equal("meters/+/valve", f.Evidence["secmon.baseline.value"]);
    }

    [Fact]
    public void NewValue_RepeatedTopicOnOneFlow_EachNewPatternReportedOnce()
    {
        // The flow remembers the last topic it found in the baseline; a repeat of that very string is skipped, so
        // what comes in between (a new pattern, then the known one again) must still be judged afresh.
        var engine = NewEngine();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5");
        const string known = "meters/4711/power";
        const string valve = "meters/4711/valve";

        var findings = Feed(engine,
        [
            Publish(flow, T0, 1, known),
            Publish(flow, T0 + Second, 2, known),
            Publish(flow, T0 + (11 * Minute), 3, known),
            Publish(flow, T0 + (11 * Minute) + 1, 4, valve),
            Publish(flow, T0 + (11 * Minute) + 2, 5, known),
            Publish(flow, T0 + (11 * Minute) + 3, 6, valve),
            Publish(flow, T0 + (11 * Minute) + 4, 7, "meters/4711/relay"),
        ]);

        Assert.Equal(["meters/+/valve", "meters/+/relay"], findings.Where(x => x.RuleId == "BASE-TOPIC").Select(x => x.Evidence["secmon.baseline.value"]));
    }

    [Fact]
    public void NewValue_SameTopicStringFromAnotherDevice_StillNew()
    {
        // One topic string, two devices: what one flow remembers must not vouch for another device.
        var engine = NewEngine();
        const string topic = "plant/valve";

        var findings = Feed(engine,
        [
            Publish(FakeFlows.Create(clientIp: "10.0.0.5"), T0, 1, topic),
            Publish(FakeFlows.Create(clientIp: "10.0.0.6"), T0 + Second, 2, "plant/level"),
            Publish(FakeFlows.Create(clientIp: "10.0.0.5"), T0 + (11 * Minute), 3, topic),
            Publish(FakeFlows.Create(clientIp: "10.0.0.6"), T0 + (11 * Minute) + 1, 4, topic),
        ]);

        var f = Assert.Single(findings, x => x.RuleId == "BASE-TOPIC");
        Assert.Equal("10.0.0.6 publishes to plant/valve", Subject(f));
    }

    [Fact]
    public void NewValue_SubscriptionLists_EachFilterJudged()
    {
        var engine = NewEngine();
        var flow = FakeFlows.Create();

        var findings = Feed(engine,
        [
            Subscribe(flow, T0, 1, "plant/+/temp"),
            Subscribe(flow, T0 + (11 * Minute), 2, "plant/+/temp", "#"),
        ]);

        Assert.Equal("192.0.2.10 subscribes to #", Subject(Assert.Single(findings)));
    }

    private static IEnumerable<TestEvent> Publishes(Core.Flows.FlowContext flow, long fromMinute, long toMinute, int perMinute, long packetBase)
    {
        for (var m = fromMinute; m < toMinute; m++)
        {
            for (var i = 0; i < perMinute; i++)
            {
                yield return Publish(flow, M0 + (m * Minute) + (i * (Minute / perMinute)) + 1, packetBase + (m * 1000) + i, "meters/1/power");
            }
        }
    }

    [Fact]
    public void Rate_AboveLearnedBand_ReportedOncePerPeriod()
    {
        var engine = NewEngine();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5");

        var findings = Feed(engine, Publishes(flow, 0, 12, 10, 0).Concat(Publishes(flow, 12, 14, 40, 100_000)))
            .Where(f => f.RuleId == "BASE-RATE").ToList();

        // Learned 10 per minute; tolerance 3 allows up to 30; two minutes at 40 → one finding each.
        Assert.Equal(2, findings.Count);
        Assert.Equal(31, findings[0].EventCount);
        Assert.Equal("10.0.0.5 publishes 31 per 1m, above the learned 10-10 per 1m", Subject(findings[0]));
        Assert.Equal("above", findings[0].Evidence["secmon.baseline.direction"]);
    }

    [Fact]
    public void Rate_DeviceFallsSilent_ReportedBelowBandOnceWhenPeriodsClose()
    {
        var engine = NewEngine();
        var quiet = FakeFlows.Create(clientIp: "10.0.0.5");
        var busy = FakeFlows.Create(clientIp: "10.0.0.6");

        var events = Publishes(quiet, 0, 12, 10, 0).Concat(Publishes(busy, 0, 20, 10, 500_000)).OrderBy(e => e.TimestampMicros);
        var findings = Feed(engine, events).Where(f => f.RuleId == "BASE-RATE").ToList();

        var f = Assert.Single(findings);
        Assert.Equal("10.0.0.5", f.DeviceId);
        Assert.Equal("below", f.Evidence["secmon.baseline.direction"]);
        Assert.Equal(0, f.EventCount);
    }

    [Fact]
    public void Rate_DeviceReconnectsThenFallsSilent_ReportedOnItsLatestFlow()
    {
        // The quiet device's session ends at minute 6 and it reconnects on a new flow (new source port) until
        // minute 12: the "below" finding is about that latest flow.
        var engine = NewEngine();
        var first = FakeFlows.Create(clientIp: "10.0.0.5", clientPort: 40001, flowId: "first");
        var second = FakeFlows.Create(clientIp: "10.0.0.5", clientPort: 40002, flowId: "second");
        var busy = FakeFlows.Create(clientIp: "10.0.0.6");

        var events = Publishes(first, 0, 6, 10, 0).Concat(Publishes(second, 6, 12, 10, 100_000)).Concat(Publishes(busy, 0, 20, 10, 500_000))
            .OrderBy(e => e.TimestampMicros);
        var findings = Feed(engine, events).Where(f => f.RuleId == "BASE-RATE").ToList();

        var f = Assert.Single(findings);
        Assert.Equal("10.0.0.5", f.DeviceId);
        Assert.Equal("second", f.FlowId);
        Assert.Equal("below", f.Evidence["secmon.baseline.direction"]);
    }

    [Fact]
    public void Rate_WithinBand_NothingReported()
    {
        var engine = NewEngine();

        var findings = Feed(engine, Publishes(FakeFlows.Create(), 0, 30, 10, 0)).Where(f => f.RuleId == "BASE-RATE");

        Assert.Empty(findings);
    }

    [Fact]
    public void ExportImport_LearnedModelCarriesOverAndIsNotRelearned()
    {
        var first = NewEngine();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");
        Feed(first, [Connect(flow, T0, 1), Publish(flow, T0 + 1, 2, "a/b"), Connect(flow, T0 + (11 * Minute), 3)]);
        Assert.True(first.Baselines.Learned);
        var json = first.Baselines.Export();

        var imported = BaselineModel.Import(json, TenMinutes);
        Assert.Equal(json, imported.Export());
        var second = NewEngine(imported);

        // A later run (capture times before the old learning end included) only reports what is new.
        var again = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");
        var findings = Feed(second,
        [
            Connect(again, T0 - Minute, 1),
            Publish(again, T0, 2, "a/b"),
            Publish(again, T0 + 1, 3, "a/c"),
        ]);

        Assert.Equal("10.0.0.5 publishes to a/c", Subject(Assert.Single(findings)));
    }

    [Fact]
    public void Export_ContainsFormatLearningWindowAndValues()
    {
        var engine = NewEngine();
        Feed(engine, [Connect(FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1"), T0, 1)]);

        using var doc = System.Text.Json.JsonDocument.Parse(engine.Baselines.Export());

        Assert.Equal(BaselineModel.Format, doc.RootElement.GetProperty("format").GetString());
        Assert.Equal(T0, doc.RootElement.GetProperty("learningStartMicros").GetInt64());
        Assert.Equal(T0 + (10 * Minute), doc.RootElement.GetProperty("learningEndMicros").GetInt64());
        Assert.Equal("10.0.0.1, 1883", doc.RootElement.GetProperty("newValues").GetProperty("BASE-PEER").GetProperty("10.0.0.5")[0].GetString());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"format\": \"something-else\"}")]
    [InlineData("{\"format\": \"secmon-baseline/1\", \"rates\": {\"R\": {\"perMicros\": 0}}}")]
    [InlineData("{\"format\": \"secmon-baseline/1\", \"rates\": {\"R\": {\"perMicros\": 60000000, \"entities\": {\"d\": {\"min\": 5, \"max\": 1, \"buckets\": 3}}}}}")]
    public void Import_BadInput_ThrowsFormatException(string json)
    {
        Assert.Throws<FormatException>(() => BaselineModel.Import(json));
    }

    [Fact]
    public void LearningEndMicros_FirstPartOfCapture_OverridesPeriod()
    {
        var model = new BaselineModel(new BaselineOptions { LearningEndMicros = T0 + Minute });
        var engine = NewEngine(model);

        var findings = Feed(engine,
        [
            Connect(FakeFlows.Create(serverIp: "10.0.0.1"), T0, 1),
            Connect(FakeFlows.Create(serverIp: "10.0.0.2"), T0 + (2 * Minute), 2),
        ]);

        Assert.Single(findings);
        Assert.Equal(Severity.Medium, findings[0].Severity);
    }

    [Fact]
    public void ApplyLearningOptions_ImportedWhileLearning_ShorterPeriodEndsLearningEarlierKeepingWhatWasLearned()
    {
        // A first run learned for a minute of a 10-minute period; a later run is given 2 minutes.
        var first = NewEngine();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");
        Feed(first, [Connect(flow, T0, 1), Publish(flow, T0 + Minute, 2, "a/b")]);
        Assert.False(first.Baselines.Learned);

        var model = BaselineModel.Import(first.Baselines.Export(), TenMinutes with { LearningPeriod = TimeSpan.FromMinutes(2) });
        Assert.Equal(T0 + (10 * Minute), model.LearningEndMicros);
        Assert.Equal(LearningChange.Changed, model.ApplyLearningOptions());
        Assert.Equal(T0 + (2 * Minute), model.LearningEndMicros);
        Assert.Equal(LearningChange.Unchanged, model.ApplyLearningOptions());

        var again = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1");
        var findings = Feed(NewEngine(model),
        [
            Publish(again, T0 + (90 * Second), 1, "a/c"), // still learning
            Publish(again, T0 + (3 * Minute), 2, "a/b"),  // learned by the first run
            Publish(again, T0 + (3 * Minute) + 1, 3, "a/d"),
        ]);

        Assert.Equal("10.0.0.5 publishes to a/d", Subject(Assert.Single(findings)));
    }

    [Fact]
    public void ApplyLearningOptions_LearnedOrNotStarted_NothingChanges()
    {
        var learned = NewEngine();
        var flow = FakeFlows.Create();
        Feed(learned, [Connect(flow, T0, 1), Connect(flow, T0 + (11 * Minute), 2)]);
        var model = BaselineModel.Import(learned.Baselines.Export(), new BaselineOptions { LearningEndMicros = T0 + (20 * Minute) });

        Assert.Equal(LearningChange.AlreadyLearned, model.ApplyLearningOptions());
        Assert.Equal(T0 + (10 * Minute), model.LearningEndMicros);
        Assert.Equal(LearningChange.NotStarted, new BaselineModel(TenMinutes).ApplyLearningOptions());
    }

    [Fact]
    public void Entries_ValuesAndLearnedRateBandsPerRuleAndDevice_Sorted()
    {
        var model = BaselineModel.Import("""
            {"format": "secmon-baseline/1", "learned": true,
             "newValues": {"R2": {"b": ["y", "x"]}, "R1": {"z": ["1"], "a": ["2"]}},
             "rates": {"R3": {"perMicros": 60000000, "entities": {"d": {"min": 2, "max": 9, "buckets": 4}, "e": {"min": 0, "max": 0, "buckets": 0}}}}}
            """);

        var entries = model.Entries().ToList();

        Assert.Equal(["R1 a", "R1 z", "R2 b", "R3 d"], entries.Select(e => $"{e.RuleId} {e.Entity}"));
        Assert.Equal(["x", "y"], entries[2].Values!);
        Assert.Equal(new RateBand(TimeSpan.FromMinutes(1), 2, 9, 4), entries[3].Rate);
        Assert.Null(entries[3].Values);
    }

    [Fact]
    public void NewValue_BoundedPerEntity_CountsDropped()
    {
        var model = new BaselineModel(TenMinutes with { MaxValuesPerEntity = 3 });
        var engine = NewEngine(model);

        Feed(engine, Enumerable.Range(0, 10).Select(i => Connect(FakeFlows.Create(serverIp: $"10.0.2.{i}"), T0 + i, i)));

        Assert.Equal(7, engine.Baselines.Dropped);
        Assert.Equal(7, engine.Stats.BaselineDropped);
    }

    [Theory]
    [InlineData("meters/4711/power", "meters/+/power")]
    [InlineData("d/0a1b2c3d4e/x", "d/+/x")]
    [InlineData("d/deadbeef/x", "d/deadbeef/x")]
    [InlineData("d/3f2504e0-4f89-11d3-9a0c-0305e82c3301/x", "d/+/x")]
    [InlineData("plant/line1/temp", "plant/line1/temp")]
    [InlineData("", "")]
    public void TopicPattern_Normalise_ReplacesIdentifierLevels(string topic, string expected)
    {
        Assert.Equal(expected, TopicPattern.Normalise(topic));
    }
}
