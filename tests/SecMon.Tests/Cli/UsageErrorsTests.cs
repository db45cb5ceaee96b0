using SecMon.Cli;

namespace SecMon.Tests.Cli;

/// <summary>
/// A command line that cannot be used exits 64 with what was expected in words on stderr, and nothing on stdout:
/// unknown commands and options (with the closest real one), values of the wrong kind, missing parts.
/// </summary>
public sealed class UsageErrorsTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-usage-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Theory]
    [InlineData(new[] { "nosuch" }, "'nosuch' is not a secmon command")]
    [InlineData(new[] { "anlyze", "x.pcap" }, "did you mean 'secmon analyze'?")]
    [InlineData(new[] { "findings", "serch" }, "did you mean 'secmon findings search'?")]
    [InlineData(new[] { "findings", "search", "--limit", "abc" }, "--limit takes a whole number, e.g. 50, not 'abc'")]
    [InlineData(new[] { "findings", "search", "--limit" }, "--limit needs a value: a whole number")]
    [InlineData(new[] { "findings", "search", "--limit", "99999999999" }, "--limit takes a whole number from -2147483648 to 2147483647, not '99999999999'")]
    [InlineData(new[] { "findings", "search", "--limit", "5", "--limit", "6" }, "--limit takes one value")]
    [InlineData(new[] { "findings", "search", "--limt", "5" }, "unknown option '--limt'; did you mean --limit?")]
    [InlineData(new[] { "findings", "search", "--josn" }, "unknown option '--josn'; did you mean --json?")]
    [InlineData(new[] { "findings", "search", "one", "two" }, "takes one QUERY")]
    [InlineData(new[] { "capture", "-i", "lo", "--duration", "xyz" }, "--duration takes a duration: a whole number and a unit (ms, s, m, h, d, w), such as 30s, 10m, 2h, 1d, 1w, not 'xyz'")]
    [InlineData(new[] { "capture", "-i", "lo", "--duration", "30" }, "--duration takes a duration")]
    [InlineData(new[] { "capture", "-i", "lo", "--duration", "0s" }, "--duration takes a duration")]
    [InlineData(new[] { "capture", "-i", "lo", "--retention", "1.5d" }, "--retention takes a duration")]
    [InlineData(new[] { "capture", "--duration", "10s" }, "nothing to capture: give --interface IF (or several), --watch DIR")]
    [InlineData(new[] { "capture", "-i", "lo", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "analyze" }, "secmon analyze needs at least one FILE")]
    [InlineData(new[] { "analyze", "-r", "x.pcap" }, "unknown option '-r': capture files are given without an option (secmon analyze x.pcap)")]
    [InlineData(new[] { "analyze", "x.pcap", "--evnts", "e.jsonl" }, "unknown option '--evnts'; did you mean --events?")]
    [InlineData(new[] { "capture", "-i", "lo", "-r", "x.pcap" }, "unknown option '-r': secmon capture reads no files; capture files are read by 'secmon analyze FILE...'")]
    [InlineData(new[] { "analyze", "--learning", "1.5h", "x.pcap" }, "--learning: '1.5h' is not a learning period")]
    [InlineData(new[] { "ca", "approve", "abc" }, "ID takes a whole number, not 'abc'")]
    [InlineData(new[] { "findings" }, "secmon findings needs a command: search, show, stats, prune")]
    public async Task Run_UnusableCommandLine_Exits64WithWordsOnStderrOnly(string[] args, string expected)
    {
        var (code, stdout, stderr) = await SecMonRun.Run(args);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("secmon: ", stderr, StringComparison.Ordinal);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", stderr, StringComparison.Ordinal);   // never a .NET type name
        Assert.DoesNotContain("Int32", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unrecognized command or argument", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_JsonWithABadValue_NothingOnStdout()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("findings", "search", "--json", "--limit", "abc", "--data", _tmp);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            "secmon: --limit takes a whole number, e.g. 50, not 'abc'\nsecmon: 'secmon findings search --help' lists the options, with examples\n",
            stderr.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("nosuch")]
    [InlineData("findings")]
    public async Task Run_MissingOrUnknownCommand_TheCommandListOnStderr(string args)
    {
        var (code, stdout, stderr) = await SecMonRun.Run(args.Split(' '));

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
        Assert.Contains("Commands:", stderr, StringComparison.Ordinal);
        Assert.Contains(args == "findings" ? "search" : "analyze", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NoCommand_Exits64WithTheCommandListOnStderr()
    {
        var (code, stdout, stderr) = await SecMonRun.Run();

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("secmon: secmon needs a command: analyze, capture,", stderr, StringComparison.Ordinal);
        Assert.Contains("Commands:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AnOptionLikeFileAfterDoubleDash_IsAFile()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("analyze", "--no-detect", "--data", Path.Combine(_tmp, "data"), "--", "-r");

        // Past the command line: the file is looked for (and missing), not taken for an unknown option.
        Assert.Equal(ExitCodes.NoInput, code);
        Assert.Equal("", stdout);
        Assert.DoesNotContain("unknown option", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_HelpBesideJson_OnStderrAndStdoutEmpty()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("findings", "search", "--json", "--help");

        Assert.Equal(0, code);
        Assert.Equal("", stdout);
        Assert.Contains("Examples:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_PlainHelp_OnStdout()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("analyze", "--help");

        Assert.Equal(0, code);
        Assert.Contains("Examples:", stdout, StringComparison.Ordinal);
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task Run_HelpWinsOverABadValue()
    {
        var (code, stdout, _) = await SecMonRun.Run("findings", "search", "--limit", "abc", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--limit", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-l", new[] { "--limit", "--json" }, "--limit")]
    [InlineData("-r", new[] { "--rules", "--data", "--events" }, "--rules")]
    [InlineData("-e", new[] { "--events", "--evidence" }, null)]     // two long forms: no guess
    [InlineData("--lim", new[] { "--limit", "--json" }, "--limit")]  // a unique prefix
    [InlineData("--jsno", new[] { "--limit", "--json" }, "--json")]  // a transposition
    [InlineData("--colour", new[] { "--limit", "--json" }, null)]    // nothing close
    public void Closest_Typo_TheRealOptionOrNone(string typed, string[] candidates, string? expected)
    {
        Assert.Equal(expected, UsageErrors.Closest(typed, candidates));
    }
}
