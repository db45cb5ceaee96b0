using System.Text.Json;
using SecMon.Hosting;
using SecMon.Cli;
using SecMon.Core;
using SecMon.Findings.Store;

namespace SecMon.Tests.Cli;

public sealed class BaselinesCommandTests : IDisposable
{
    // What the detection pipeline keeps: a learned model with two new-value rules and one rate band.
    private const string Model = """
        {"format":"secmon-baseline/1","learningStartMicros":1795544390000000,"learningEndMicros":1795544450000000,"learned":true,
         "newValues":{"SECMON-BASE-0001":{"02-00-00-00-00-01":["10.0.0.1, 1883"],"10.0.0.7":["10.0.0.1, 1883","10.0.0.1, 8883"]},
                      "SECMON-BASE-0002":{"02-00-00-00-00-01":["plant/+/temp"]}},
         "rates":{"SECMON-BASE-0004":{"perMicros":60000000,"entities":{"10.0.0.7":{"min":3,"max":12,"buckets":5}}}}}
        """;

    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-baselines-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Fact]
    public async Task Show_Table_LearningPeriodThenOneRowPerRuleAndDevice()
    {
        var data = WithModel("data", Model);

        var (code, stdout, stderr) = await SecMonRun.Run("baselines", "show", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", stderr);
        var lines = SecMonRun.Lines(stdout);
        Assert.Equal("learned from 2026-11-24T18:19:50.000000Z to 2026-11-24T18:20:50.000000Z (capture time)", lines[0]);
        Assert.StartsWith("RULE", lines[1], StringComparison.Ordinal);
        Assert.Matches(@"^SECMON-BASE-0001\s+10\.0\.0\.7\s+2\s+10\.0\.0\.1, 1883; 10\.0\.0\.1, 8883$", lines[3]);
        Assert.Matches(@"^SECMON-BASE-0004\s+10\.0\.0\.7\s+-\s+3-12 per 1m \(5 periods\)$", lines[5]);
        Assert.Equal("4 baselines of 2 devices.", lines[6]);
    }

    [Fact]
    public async Task Show_JsonFilteredByDeviceInAnyMacForm_OneObjectPerBaseline()
    {
        var data = WithModel("data", Model);

        var (code, stdout, _) = await SecMonRun.Run("baselines", "show", "--json", "--device", "02:00:00:00:00:01", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        var docs = SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["SECMON-BASE-0001", "SECMON-BASE-0002"], docs.Select(d => d.GetProperty("rule_id").GetString()));
        Assert.All(docs, d => Assert.Equal("02-00-00-00-00-01", d.GetProperty("device_id").GetString()));
        Assert.Equal(["plant/+/temp"], docs[1].GetProperty("values").EnumerateArray().Select(v => v.GetString()));

        var (_, rate, _) = await SecMonRun.Run("baselines", "show", "--json", "--rule", "secmon-base-0004", "--data", data);
        var band = JsonDocument.Parse(Assert.Single(SecMonRun.Lines(rate))).RootElement.GetProperty("rate");
        Assert.Equal(60, band.GetProperty("per_seconds").GetDouble());
        Assert.Equal(3, band.GetProperty("min").GetInt64());
        Assert.Equal(12, band.GetProperty("max").GetInt64());
        Assert.Equal(5, band.GetProperty("periods").GetInt64());
    }

    [Fact]
    public async Task Show_NoBaselinesYet_SaysHowToLearnThem()
    {
        var data = SecMonRun.Store(Path.Combine(_tmp, "empty"), []);

        var (code, stdout, _) = await SecMonRun.Run("baselines", "show", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("secmon analyze", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExportThenImportElsewhere_SameModelInANewStore()
    {
        var data = WithModel("data", Model);
        var file = Path.Combine(_tmp, "baselines.jsonl");

        var (exported, _, exportErr) = await SecMonRun.Run("baselines", "export", file, "--data", data);
        Assert.Equal(ExitCodes.Ok, exported);
        Assert.Contains(file, exportErr, StringComparison.Ordinal);

        var other = Path.Combine(_tmp, "sensor2"); // no store yet: import creates it
        var (imported, _, importErr) = await SecMonRun.Run("baselines", "import", file, "--data", other);

        Assert.Equal(ExitCodes.Ok, imported);
        Assert.Contains("imported 1 baseline model", importErr, StringComparison.Ordinal);
        Assert.Equal(Canonical(Model), Canonical(StoredModel(other)!));
    }

    [Fact]
    public async Task Export_ToStdout_OnlyTheJsonLine()
    {
        var data = WithModel("data", Model);

        var (code, stdout, _) = await SecMonRun.Run("baselines", "export", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        var line = JsonDocument.Parse(Assert.Single(SecMonRun.Lines(stdout))).RootElement;
        Assert.Equal(DetectionPipeline.BaselineKey, line.GetProperty("device_id").GetString());
        Assert.Equal("secmon-baseline/1", line.GetProperty("baseline").GetProperty("format").GetString());
    }

    [Fact]
    public async Task Import_BadLines_EachWithFileAndLineAndNothingImported()
    {
        var data = WithModel("data", Model);
        var file = Path.Combine(_tmp, "bad.jsonl");
        var good = $"{{\"device_id\":\"{DetectionPipeline.BaselineKey}\",\"updated\":\"2026-11-24T00:00:00Z\",\"baseline\":{{\"format\":\"secmon-baseline/1\"}}}}";
        File.WriteAllLines(file,
        [
            good,
            "not json",
            $"{{\"device_id\":\"{DetectionPipeline.BaselineKey}\",\"updated\":\"2026-11-24T00:00:00Z\",\"baseline\":{{\"format\":\"other/9\"}}}}",
            "{\"device_id\":\"sensor-1\",\"updated\":\"2026-11-24T00:00:00Z\",\"baseline\":{}}",
        ]);

        var (code, _, stderr) = await SecMonRun.Run("baselines", "import", file, "--data", data);

        Assert.Equal(ExitCodes.InputDamaged, code);
        Assert.Contains($"{file}:2: not JSON", stderr, StringComparison.Ordinal);
        Assert.Contains($"{file}:3: The baseline is not in the secmon-baseline/1 format", stderr, StringComparison.Ordinal);
        Assert.Contains($"{file}:4: device_id 'sensor-1' is not a SecMon baseline model", stderr, StringComparison.Ordinal);
        Assert.Contains("3 bad line(s)", stderr, StringComparison.Ordinal);
        Assert.Equal(Canonical(Model), Canonical(StoredModel(data)!));
    }

    [Fact]
    public async Task Import_ReplacesTheStoredModel()
    {
        var data = WithModel("data", Model);
        var file = Path.Combine(_tmp, "fresh.jsonl");
        var fresh = """{"format":"secmon-baseline/1","learned":false}""";
        File.WriteAllText(file, $"{{\"device_id\":\"{DetectionPipeline.BaselineKey}\",\"updated\":\"2026-11-24T00:00:00Z\",\"baseline\":{fresh}}}\n");

        var (code, _, _) = await SecMonRun.Run("baselines", "import", file, "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(Canonical(fresh), Canonical(StoredModel(data)!));
    }

    [Fact]
    public async Task Reset_WithoutYes_RefusesAndKeeps_WithYes_Forgets()
    {
        var data = WithModel("data", Model);

        var (refused, _, why) = await SecMonRun.Run("baselines", "reset", "--data", data);
        Assert.Equal(ExitCodes.Usage, refused);
        Assert.Contains("what 2 devices learned", why, StringComparison.Ordinal);
        Assert.Contains("--yes", why, StringComparison.Ordinal);
        Assert.NotNull(StoredModel(data));

        var (code, _, _) = await SecMonRun.Run("baselines", "reset", "--yes", "--data", data);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Null(StoredModel(data));
    }

    [Fact]
    public async Task Show_UnreadableStoredModel_SaysResetStartsOver_AndResetStillWorks()
    {
        var data = WithModel("data", """{"format":"secmon-baseline/0"}""");

        var (code, _, stderr) = await SecMonRun.Run("baselines", "show", "--data", data);
        Assert.Equal(ExitCodes.InputDamaged, code);
        Assert.Contains("baselines reset --yes", stderr, StringComparison.Ordinal);

        var (reset, _, _) = await SecMonRun.Run("baselines", "reset", "--yes", "--data", data);
        Assert.Equal(ExitCodes.Ok, reset);
        Assert.Null(StoredModel(data));
    }

    [Theory]
    [InlineData("90s", 90.0, null, null)]
    [InlineData("2h", 7200.0, null, null)]
    [InlineData("25%", null, 0.25, null)]
    [InlineData("100%", null, 1.0, null)]
    [InlineData("2026-11-24T08:00:00Z", null, null, "2026-11-24T08:00:00Z")]
    [InlineData("2026-11-24T09:00:00+01:00", null, null, "2026-11-24T08:00:00Z")]
    [InlineData("2026-11-24", null, null, "2026-11-24T00:00:00Z")]
    public void LearningSpec_ThreeForms(string text, double? seconds, double? share, string? until)
    {
        Assert.True(LearningSpec.TryParse(text, out var spec, out var error), error);

        Assert.Equal(seconds, spec!.Duration?.TotalSeconds);
        Assert.Equal(share, spec.Share);
        Assert.Equal(until is null ? null : Time.ToUnixMicros(DateTimeOffset.Parse(until, System.Globalization.CultureInfo.InvariantCulture)), spec.UntilMicros);
    }

    [Theory]
    [InlineData("0%")]
    [InlineData("150%")]
    [InlineData("x%")]
    [InlineData("soon")]
    [InlineData("")]
    public void LearningSpec_BadForms_SayWhatIsAccepted(string text)
    {
        Assert.False(LearningSpec.TryParse(text, out _, out var error));
        Assert.Contains(text.EndsWith('%') ? "share" : "25%", error, StringComparison.Ordinal);
    }

    [Fact]
    public void LearningSpec_Share_EndsThatFarIntoTheInputsSpan()
    {
        Assert.True(LearningSpec.TryParse("25%", out var spec, out _));

        Assert.Equal(1_250_000, spec!.ToOptions((1_000_000, 2_000_000)).LearningEndMicros);
    }

    private string WithModel(string name, string json)
    {
        var dir = SecMonRun.Store(Path.Combine(_tmp, name), []);
        using var store = FindingStore.Open(dir).Store!;
        store.SaveBaselineModel(json);
        return dir;
    }

    private static string? StoredModel(string dir)
    {
        using var store = FindingStore.Open(dir).Store!;
        return store.LoadBaselineModel();
    }

    private static string Canonical(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);
}
