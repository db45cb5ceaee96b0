using System.Text.Json;
using SecMon.Testing;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>What one <c>secmon analyze</c> run produced.</summary>
/// <param name="ExitCode">The process exit code (0 clean, 65 damaged input, 66 input not openable).</param>
/// <param name="StdOut">Standard output.</param>
/// <param name="StdErr">Standard error (the summary and error lines).</param>
/// <param name="Events">The events file's lines, parsed (empty when the file was not written).</param>
internal sealed record AnalyzeResult(int ExitCode, string StdOut, string StdErr, IReadOnlyList<SecMonEvent> Events)
{
    /// <summary>The events whose type starts with <paramref name="prefix"/> (e.g. <c>mqtt.</c>).</summary>
    public IReadOnlyList<SecMonEvent> OfPrefix(string prefix) =>
        Events.Where(e => e.Type.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    /// <summary>A description of the run for assertion messages.</summary>
    public string Describe() =>
        $"exit {ExitCode}; stderr:\n{StdErr}" + (StdOut.Length > 0 ? $"\nstdout:\n{(StdOut.Length > 2000 ? StdOut[..2000] + "..." : StdOut)}" : "");
}

/// <summary>Runs the built <c>secmon</c> executable (<see cref="RepoPaths.SecMonDll"/>) as users run it.</summary>
internal static class SecMonRunner
{
    /// <summary>The <c>dotnet</c> arguments that start secmon, failing clearly when it has not been built.</summary>
    public static List<string> Command(params string[] args)
    {
        var dll = RepoPaths.SecMonDll;
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"secmon is not built at {dll}; run: dotnet build tests/SecMon.IntegrationTests", dll);
        }

        var all = new List<string> { dll };
        all.AddRange(args);
        return all;
    }

    /// <summary>
    /// Runs <c>secmon analyze FILE --events EVENTS</c> with the events file in <paramref name="workDir"/> and
    /// returns its exit code, output and parsed events.
    /// </summary>
    public static async Task<AnalyzeResult> AnalyzeAsync(string capture, TempDirectory workDir, CancellationToken cancellationToken = default)
    {
        var events = workDir.File(Path.GetFileName(capture) + ".events.jsonl");
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", Command("analyze", capture, "--events", events, "--data", workDir.File("data")), TimeSpan.FromMinutes(2), cancellationToken: cancellationToken);
        var parsed = File.Exists(events)
            ? SecMonEvent.ParseLines(await File.ReadAllTextAsync(events, cancellationToken), events)
            : [];
        return new AnalyzeResult(exit, stdout, stderr, parsed);
    }

    /// <summary>
    /// Runs <c>secmon analyze FILE --json --data DIR/data</c> plus <paramref name="options"/> and returns its findings
    /// (one JSON object per stdout line), asserting that it exited 0 or 1 (findings made).
    /// </summary>
    public static Task<List<JsonElement>> FindingsAsync(string capture, TempDirectory workDir, params string[] options) =>
        FindingsAsync(capture, workDir, [0, 1], options);

    /// <summary>The same, asserting that the exit code is one of <paramref name="exits"/>.</summary>
    public static async Task<List<JsonElement>> FindingsAsync(string capture, TempDirectory workDir, int[] exits, params string[] options)
    {
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", Command(["analyze", capture, "--json", "--data", workDir.File("data"), .. options]), TimeSpan.FromMinutes(2));
        Xunit.Assert.True(exits.Contains(exit), $"analyze {Path.GetFileName(capture)}: exit {exit}\n{stderr}");
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }
}
