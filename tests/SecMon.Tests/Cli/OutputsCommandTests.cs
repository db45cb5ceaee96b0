using System.Text.Json;
using SecMon.Cli;
using SecMon.Core.Findings;
using SecMon.Findings.Spool;

namespace SecMon.Tests.Cli;

public sealed class OutputsCommandTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("secmon-cli-outputs-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private static Finding Make(int i) => new()
    {
        Id = $"id{i}", TimestampMicros = 1_700_000_000_000_000 + i, RuleId = "SECMON-TEST-0001", RuleName = "test",
        Severity = Severity.Medium, Message = $"finding {i}",
    };

    [Fact]
    public async Task Status_LeftoverSpool_ListedWithWhatWaitsAndExit1()
    {
        using (var spool = FindingSpool.Open(Path.Combine(_data, "spool", "webhook-old")))
        {
            Assert.True(spool.TryAppend([Make(1), Make(2), Make(3)]));
        }

        var (code, stdout, _) = await SecMonRun.Run("outputs", "status", "--data", _data, "--json");

        Assert.Equal(ExitCodes.FindingsFound, code);
        using var doc = JsonDocument.Parse(Assert.Single(SecMonRun.Lines(stdout)));
        var row = doc.RootElement;
        Assert.Equal("webhook-old", row.GetProperty("name").GetString());
        Assert.False(row.GetProperty("configured").GetBoolean());
        Assert.Equal(3, row.GetProperty("pending").GetInt64());
        Assert.False(row.GetProperty("in_use").GetBoolean());
    }

    [Fact]
    public async Task Status_NoSpools_Exit0()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("outputs", "status", "--data", _data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Empty(stdout);
        Assert.Contains("no outputs", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Flush_WithoutConfig_IsAUsageError()
    {
        var (code, _, _) = await SecMonRun.Run("outputs", "flush", "--data", _data);

        Assert.Equal(ExitCodes.Usage, code);
    }
}
