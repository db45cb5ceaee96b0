using System.Text.Json;
using SecMon.Testing;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>
/// A site recording analysed once for a test class, as a new user would: <c>secmon analyze --json --learning 30s</c>,
/// then <c>secmon devices --json</c> and <c>secmon harden plan --json</c> on the same data directory. A fixture derives
/// from it with the recording's path (under tests/SecMon.IntegrationTests/Detection/).
/// </summary>
public abstract class AnalysedSite(params string[] capture) : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _dir = new();

    /// <summary>The recording.</summary>
    public string Capture { get; } = Path.Combine([RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Detection", .. capture]);

    /// <summary>The findings of the analysis.</summary>
    public List<JsonElement> Findings { get; private set; } = [];

    /// <summary>The devices it left.</summary>
    public List<JsonElement> Devices { get; private set; } = [];

    /// <summary>The hardening plan's lines.</summary>
    public List<JsonElement> Plan { get; private set; } = [];

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Findings = await SecMonRunner.FindingsAsync(Capture, _dir, "--learning", "30s");
        Devices = await JsonLinesAsync("devices", "--json");
        Plan = await JsonLinesAsync("harden", "plan", "--json");
    }

    private async Task<List<JsonElement>> JsonLinesAsync(params string[] command)
    {
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command([.. command, "--data", _dir.File("data")]), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, stderr);
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    /// <inheritdoc />
    public Task DisposeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}
