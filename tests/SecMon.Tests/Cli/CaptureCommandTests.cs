using SecMon.Cli;

namespace SecMon.Tests.Cli;

/// <summary>What <c>secmon capture</c> refuses before it opens an interface (so these need no root).</summary>
public sealed class CaptureCommandTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-capture-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Theory]
    [InlineData("--json", "--events", "-")]             // both would write to stdout
    [InlineData("--no-detect", "--json")]                // no rules, so no findings to print
    [InlineData("--no-detect", "--learning", "2h")]
    [InlineData("--learning", "25%")]                   // a share of the input needs files (analyze)
    public async Task Capture_OptionsThatDoNotGoTogether_UsageError(params string[] options)
    {
        var data = Path.Combine(_tmp, "data");

        var (code, _, _) = await SecMonRun.Run(["capture", "--interface", "lo", "--data", data, .. options]);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.False(Directory.Exists(data), "a refused command created its data directory");
    }

    [Fact]
    public async Task Capture_InvalidRulePack_RefusedBeforeTheInterfaceOrTheStoreIsOpened()
    {
        var pack = Directory.CreateDirectory(Path.Combine(_tmp, "rules")).FullName;
        await File.WriteAllTextAsync(Path.Combine(pack, "bad.yaml"), "pack: bad\nversion: \"1\"\nrules:\n  - id: X\n    severity: loud\n");
        var data = Path.Combine(_tmp, "data");

        var (code, _, _) = await SecMonRun.Run("capture", "--interface", "no-such-interface", "--rules", pack, "--data", data);

        Assert.Equal(ExitCodes.NoInput, code);
        Assert.False(Directory.Exists(data), "the store was created although the rules are invalid");
    }
}
