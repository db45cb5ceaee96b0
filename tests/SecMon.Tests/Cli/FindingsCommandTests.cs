using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using SecMon.Cli;
using SecMon.Core;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Store;

namespace SecMon.Tests.Cli;

/// <summary>Runs the secmon command tree in-process as Program.cs does (usage errors included), with captured stdout and stderr.</summary>
internal static class SecMonRun
{
    public static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await SecMonCli.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>A data directory holding a store with <paramref name="findings"/>.</summary>
    public static string Store(string dir, IReadOnlyList<Finding> findings)
    {
        var opened = FindingStore.Open(dir);
        Assert.True(opened.Error is null, opened.Error?.Message);
        using var store = opened.Store!;
        store.Write(findings);
        return dir;
    }
}

public sealed class FindingsCommandTests : IDisposable
{
    private static readonly long Now = Time.ToUnixMicros(DateTimeOffset.UtcNow);
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-findings-").FullName;
    private readonly List<Finding> _findings;
    private readonly string _data;

    public FindingsCommandTests()
    {
        // 60 findings over the last 60 hours (one per hour), three rules, four devices.
        _findings = [.. Enumerable.Range(0, 60).Select(i => Make(i))];
        _data = SecMonRun.Store(Path.Combine(_tmp, "data"), _findings);
    }

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Theory]
    [InlineData(0L, "1970-01-01 00:00:00")]
    [InlineData(920246399999999L, "1999-02-28 23:59:59")]
    [InlineData(1796531415123456L, "2026-12-06 04:30:15")]
    public void ShortTime_Micros_UtcDateAndSecondsWithASpace(long micros, string expected) =>
        Assert.Equal(expected, FindingsCommand.ShortTime(micros));

    [Fact]
    public async Task Search_Json_OneEcsDocumentPerLineNewestFirstAndNothingElse()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("findings", "search", "--json", "--limit", "25", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        var lines = SecMonRun.Lines(stdout);
        Assert.Equal(25, lines.Length);
        var docs = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(docs, d => Assert.Equal("alert", d.GetProperty("event").GetProperty("kind").GetString()));
        var expected = _findings.OrderByDescending(f => f.TimestampMicros).Take(25).Select(FindingJson.Write);
        Assert.Equal(expected, lines);
        Assert.Matches("^next page: --after [A-Za-z0-9_-]{11}\n$", stderr);
    }

    [Fact]
    public async Task Search_JsonPages_FollowingTheCursorVisitsEveryFindingOnce()
    {
        var ids = new List<string>();
        string? cursor = null;
        for (var pages = 0; pages < 20; pages++)
        {
            string[] args = cursor is null
                ? ["findings", "search", "--json", "--limit", "7", "--data", _data]
                : ["findings", "search", "--json", "--limit", "7", "--after", cursor, "--data", _data];
            var (code, stdout, stderr) = await SecMonRun.Run(args);
            Assert.Equal(ExitCodes.Ok, code);
            ids.AddRange(SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event").GetProperty("id").GetString()!));
            cursor = stderr.StartsWith("next page: --after ", StringComparison.Ordinal) ? stderr["next page: --after ".Length..].Trim() : null;
            if (cursor is null)
            {
                break;
            }
        }

        Assert.Equal(_findings.OrderByDescending(f => f.TimestampMicros).Select(f => f.Id), ids);
    }

    [Fact]
    public async Task Search_Table_ShowsFindingsAndTheNextPageHint()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("findings", "search", "guessing", "--limit", "3", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", stderr);
        var lines = SecMonRun.Lines(stdout);
        Assert.StartsWith("TIME (UTC)", lines[0], StringComparison.Ordinal);
        Assert.Equal(5, lines.Length);
        var newestGuessing = _findings.Where(f => f.RuleName.Contains("guessing", StringComparison.Ordinal)).MaxBy(f => f.TimestampMicros)!;
        Assert.Contains(newestGuessing.Id[..12], lines[1], StringComparison.Ordinal);
        Assert.Contains(newestGuessing.Message, lines[1], StringComparison.Ordinal);
        Assert.Matches("^3 findings; next page: --after ", lines[4]);
    }

    [Fact]
    public async Task Search_Filters_ApplyTogether()
    {
        var (code, stdout, _) = await SecMonRun.Run(
            "findings", "search", "--since", "30h", "--severity", "high", "--device", "02:00:00:00:00:01", "--json", "--limit", "100", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        var cutoff = Now - (30 * 3_600_000_000L);
        var expected = _findings
            .Where(f => f.TimestampMicros >= cutoff && f.Severity >= Severity.High && f.DeviceId == "02-00-00-00-00-01")
            .OrderByDescending(f => f.TimestampMicros)
            .Select(f => f.Id)
            .ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event").GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Search_RuleSourceIpAndUntil_Filter()
    {
        var until = Time.FormatMicros(Now - (10 * 3_600_000_000L));
        var (code, stdout, _) = await SecMonRun.Run(
            "findings", "search", "--rule", "SECMON-MQTT-0001", "--source-ip", "10.9.0.2", "--until", until, "--json", "--limit", "100", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        var expected = _findings
            .Where(f => f.RuleId == "SECMON-MQTT-0001" && f.SourceIp == "10.9.0.2" && f.TimestampMicros <= Now - (10 * 3_600_000_000L))
            .Select(f => f.Id).ToHashSet();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event").GetProperty("id").GetString()!).ToHashSet());
    }

    [Fact]
    public async Task Search_NoMatch_SaysSo()
    {
        var (code, stdout, _) = await SecMonRun.Run("findings", "search", "zebra", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("No findings match.", stdout.Trim());
    }

    [Theory]
    [InlineData("--severity", "severe", "--severity")]
    [InlineData("--since", "yesterday", "--since")]
    [InlineData("--until", "soon", "--until")]
    [InlineData("--after", "nonsense", "cursor")]
    [InlineData("--source-ip", "10.0.0", "IP address")]
    [InlineData("--limit", "0", "page size")]
    public async Task Search_BadOption_UsageErrorOnOneLine(string option, string value, string mentions)
    {
        var (code, stdout, stderr) = await SecMonRun.Run("findings", "search", option, value, "--data", _data);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
        Assert.Single(SecMonRun.Lines(stderr));
        Assert.Contains(mentions, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_SinceAfterUntil_UsageError()
    {
        var (code, _, stderr) = await SecMonRun.Run("findings", "search", "--since", "1h", "--until", "2d", "--data", _data);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("is after --until", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_NoStore_NoInputAndNothingCreated()
    {
        var dir = Path.Combine(_tmp, "not-there");

        var (code, stdout, stderr) = await SecMonRun.Run("findings", "search", "--data", dir);

        Assert.Equal(ExitCodes.NoInput, code);
        Assert.Equal("", stdout);
        Assert.Contains("secmon analyze", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public async Task Search_CorruptStore_NoInputAndFileUntouched()
    {
        var dir = Path.Combine(_tmp, "corrupt");
        Directory.CreateDirectory(dir);
        var db = Path.Combine(dir, "secmon.db");
        await File.WriteAllBytesAsync(db, RandomNumberGenerator.GetBytes(8192));
        var before = await File.ReadAllBytesAsync(db);

        var (code, _, stderr) = await SecMonRun.Run("findings", "search", "--data", dir);

        Assert.Equal(ExitCodes.NoInput, code);
        Assert.Contains("left untouched", stderr, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(db));
    }

    [Fact]
    public async Task Search_DataPathIsAFile_CantCreate()
    {
        var file = Path.Combine(_tmp, "a-file");
        await File.WriteAllTextAsync(file, "x");

        var (code, _, stderr) = await SecMonRun.Run("findings", "search", "--data", file);

        Assert.Equal(ExitCodes.CantCreate, code);
        Assert.Contains(file, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_FullIdOrUniquePrefix_PrintsTheDocument()
    {
        var f = _findings[17];

        var (code, stdout, _) = await SecMonRun.Run("findings", "show", f.Id, "--data", _data);
        var (prefixCode, prefixOut, _) = await SecMonRun.Run("findings", "show", f.Id[..16], "--json", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        // The indented document, then (human output only) what SecMon knows of the finding's device.
        var end = stdout.IndexOf("\n}\n", StringComparison.Ordinal);
        Assert.True(end > 0, stdout);
        using var pretty = JsonDocument.Parse(stdout[..(end + 2)]);
        Assert.StartsWith("\nDevice ", stdout[(end + 3)..], StringComparison.Ordinal);
        Assert.Equal(f.Id, pretty.RootElement.GetProperty("event").GetProperty("id").GetString());
        Assert.Contains("\n  \"event\": {", stdout, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Ok, prefixCode);
        Assert.Equal(FindingJson.Write(f), prefixOut.TrimEnd('\n'));
    }

    [Fact]
    public async Task Show_UnknownOrAmbiguous_ClearErrors()
    {
        var (unknown, _, unknownErr) = await SecMonRun.Run("findings", "show", "ffffffffffffffff", "--data", _data);
        var (ambiguous, _, ambiguousErr) = await SecMonRun.Run("findings", "show", "cli-id", "--data", _data);

        Assert.Equal(ExitCodes.NoInput, unknown);
        Assert.Contains("no finding with id 'ffffffffffffffff'", unknownErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, ambiguous);
        Assert.Contains("several finding ids", ambiguousErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prune_WithoutYes_SaysHowManyAndDeletesNothing()
    {
        var (code, _, stderr) = await SecMonRun.Run("findings", "prune", "--before", "30h", "--data", _data);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("would delete 30 findings older than", stderr, StringComparison.Ordinal);
        Assert.Equal(60, SearchCount());
    }

    [Fact]
    public async Task Prune_WithYes_DeletesTheOlderOnesOnly()
    {
        var (code, _, stderr) = await SecMonRun.Run("findings", "prune", "--before", "30h", "--yes", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("deleted 30 findings", stderr, StringComparison.Ordinal);
        Assert.Equal(30, SearchCount());
        var (again, _, nothing) = await SecMonRun.Run("findings", "prune", "--before", "30h", "--yes", "--data", _data);
        Assert.Equal(ExitCodes.Ok, again);
        Assert.Contains("no findings older than", nothing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prune_BadTime_UsageError()
    {
        var (code, _, stderr) = await SecMonRun.Run("findings", "prune", "--before", "last tuesday", "--yes", "--data", _data);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--before", stderr, StringComparison.Ordinal);
        Assert.Equal(60, SearchCount());
    }

    private int SearchCount()
    {
        using var store = FindingStore.Open(_data).Store!;
        return (int)store.Count();
    }

    [Fact]
    public async Task Stats_Table_CountsPerRule()
    {
        var (code, stdout, _) = await SecMonRun.Run("findings", "stats", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        var lines = SecMonRun.Lines(stdout);
        Assert.StartsWith("RULE", lines[0], StringComparison.Ordinal);
        foreach (var g in _findings.GroupBy(f => f.RuleId))
        {
            var row = Assert.Single(lines, l => l.StartsWith(g.Key, StringComparison.Ordinal));
            var cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(g.Count().ToString(), cells[^2]);
            Assert.Equal(g.Select(f => f.DeviceId).Distinct().Count().ToString(), cells[^1]);
        }

        Assert.Contains("60 findings from 3 rules.", stdout, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("DEVICE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stats_Json_ObjectsByRuleSeverityAndDevice()
    {
        var (code, stdout, _) = await SecMonRun.Run("findings", "stats", "--since", "24h", "--json", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        var docs = SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var cutoff = Now - (24 * 3_600_000_000L);
        var recent = _findings.Where(f => f.TimestampMicros >= cutoff).ToList();
        Assert.Equal(recent.Count, docs.Where(d => d.GetProperty("by").GetString() == "rule").Sum(d => d.GetProperty("count").GetInt64()));
        Assert.Equal(recent.Count, docs.Where(d => d.GetProperty("by").GetString() == "severity").Sum(d => d.GetProperty("count").GetInt64()));
        Assert.Equal(recent.Select(f => f.DeviceId).Distinct().Count(), docs.Count(d => d.GetProperty("by").GetString() == "device"));
    }

    [Theory]
    [InlineData("findings")]
    [InlineData("search")]
    [InlineData("show")]
    [InlineData("stats")]
    public async Task Help_TeachesWithExamples(string sub)
    {
        string[] args = sub == "findings" ? ["findings", "--help"] : ["findings", sub, "--help"];

        var (code, stdout, _) = await SecMonRun.Run(args);

        Assert.Equal(0, code);
        Assert.Contains("Examples:", stdout, StringComparison.Ordinal);
        Assert.Contains("secmon findings", stdout, StringComparison.Ordinal);
    }

    private static Finding Make(int i)
    {
        var rule = (i % 3) switch
        {
            0 => ("SECMON-MQTT-0001", "MQTT anonymous login accepted", Severity.Medium),
            1 => ("SECMON-MQTT-0002", "MQTT password guessing", Severity.High),
            _ => ("SECMON-MQTT-0003", "MQTT login after guessing", Severity.Critical),
        };
        var device = i % 4;
        return new Finding
        {
            Id = $"cli-id-{i:D4}-{Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)))[..20]}",
            TimestampMicros = Now - ((i + 1) * 3_600_000_000L) + 1_800_000_017, // half past: far from "--since 30h" boundaries
            RuleId = rule.Item1,
            RuleName = rule.Item2,
            Severity = rule.Item3,
            Category = ["authentication"],
            EventType = ["info"],
            Message = $"Device dev-{device} (10.9.0.{device}) finding {i}",
            SourceIp = $"10.9.0.{device}",
            DeviceId = $"02-00-00-00-00-{device:X2}",
            Evidence = new Dictionary<string, object> { ["mqtt.client_id"] = $"dev-{device}" },
        };
    }
}
