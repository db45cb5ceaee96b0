using System.Runtime.Versioning;
using Microsoft.Extensions.Time.Testing;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Log;
using SecMon.Testing;

namespace SecMon.Findings.Tests.Log;

[UnsupportedOSPlatform("windows")]
public sealed class FindingsLogSinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-log-test-").FullName;

    private string LogPath => Path.Combine(_dir, "findings.jsonl");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public void Write_Batches_OneEcsDocumentPerLineInOrder()
    {
        var findings = TestFindings.Many(25);
        using var sink = new FindingsLogSink(new FindingsLogOptions { Path = LogPath });

        foreach (var batch in findings.Chunk(10))
        {
            Assert.Equal(SinkResult.Ok(batch.Length), sink.Write(batch, CancellationToken.None));
        }

        sink.Complete(CancellationToken.None);
        var lines = File.ReadAllLines(LogPath);
        Assert.Equal(findings.Select(f => f.Id), lines.Select(l => FindingJson.Read(l).Id));
        Assert.Equal(findings.Select(FindingJson.Write), lines);
        Assert.EndsWith("\n", File.ReadAllText(LogPath), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_SizeLimit_RotatesBetweenLinesAndKeepsTheNewestFiles()
    {
        var findings = TestFindings.Many(300);
        const long max = 8 * 1024;
        using var sink = new FindingsLogSink(new FindingsLogOptions { Path = LogPath, MaxSize = max, Keep = 3 });

        foreach (var batch in findings.Chunk(7))
        {
            Assert.True(sink.Write(batch, CancellationToken.None).Succeeded);
        }

        sink.Complete(CancellationToken.None);
        var files = new[] { LogPath + ".3", LogPath + ".2", LogPath + ".1", LogPath }; // oldest first
        Assert.All(files, f => Assert.True(File.Exists(f), f));
        Assert.False(File.Exists(LogPath + ".4"));
        var ids = new List<string>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            Assert.True(new FileInfo(file).Length <= max, $"{file} is {new FileInfo(file).Length} bytes");
            Assert.EndsWith("\n", text, StringComparison.Ordinal);
            ids.AddRange(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => FindingJson.Read(l).Id));
        }

        // The kept files hold the newest findings, each once, in order, ending with the last one written.
        Assert.Equal(findings.TakeLast(ids.Count).Select(f => f.Id), ids);
        Assert.True(ids.Count > 3 * (max / 2000), $"only {ids.Count} findings in four files of {max} bytes");
    }

    [Fact]
    public void Write_SizeLimitWithLargeKeep_EveryFindingOnceAcrossTheFiles()
    {
        var findings = TestFindings.Many(500);
        using var sink = new FindingsLogSink(new FindingsLogOptions { Path = LogPath, MaxSize = 16 * 1024, Keep = 1000 });

        foreach (var batch in findings.Chunk(64))
        {
            Assert.True(sink.Write(batch, CancellationToken.None).Succeeded);
        }

        sink.Complete(CancellationToken.None);
        var rotated = Rotated();
        Assert.True(rotated >= 10, $"{rotated} rotated files");
        var ids = ReadAll(rotated);
        Assert.Equal(findings.Select(f => f.Id), ids);
    }

    [Fact]
    public void Write_RotateEvery_RotatesWhenTheClockEntersANewPeriod()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 10, 10, 0, TimeSpan.Zero));
        var findings = TestFindings.Many(9);
        using var sink = new FindingsLogSink(new FindingsLogOptions { Path = LogPath, RotateEvery = TimeSpan.FromHours(1), MaxSize = 0 }, time);

        sink.Write(findings[0..3], CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(45)); // 10:55, same hour
        sink.Write(findings[3..6], CancellationToken.None);
        Assert.False(File.Exists(LogPath + ".1"));
        time.Advance(TimeSpan.FromMinutes(10)); // 11:05
        sink.Write(findings[6..9], CancellationToken.None);
        time.Advance(TimeSpan.FromHours(5)); // nothing written in these hours: nothing rotated
        sink.Complete(CancellationToken.None);

        Assert.Equal(findings[0..6].Select(f => f.Id), Ids(LogPath + ".1"));
        Assert.Equal(findings[6..9].Select(f => f.Id), Ids(LogPath));
        Assert.False(File.Exists(LogPath + ".2"));
    }

    [Fact]
    public void Write_FailureHalfWayThroughABatch_RetryWritesEachLineOnce()
    {
        var findings = TestFindings.Many(40);
        using var sink = new FindingsLogSink(new FindingsLogOptions { Path = LogPath, MaxSize = 6 * 1024, Keep = 10 });
        Assert.True(sink.Write(findings[0..2], CancellationToken.None).Succeeded);

        // The rotation the batch needs half-way fails: findings.jsonl.1 is a directory the file cannot be renamed onto.
        Directory.CreateDirectory(LogPath + ".1");
        File.WriteAllText(Path.Combine(LogPath + ".1", "x"), "x");
        var failed = sink.Write(findings[2..40], CancellationToken.None);
        Assert.False(failed.Succeeded);
        Assert.Contains(LogPath, failed.Error, StringComparison.Ordinal);
        var before = Ids(LogPath);
        Assert.True(before.Count > 2, "the batch failed before its first lines were written: the test shows nothing");

        Directory.Delete(LogPath + ".1", recursive: true);
        Assert.True(sink.Write(findings[2..40], CancellationToken.None).Succeeded);
        sink.Complete(CancellationToken.None);

        Assert.Equal(findings.Select(f => f.Id), ReadAll(Rotated()));
    }

    [Fact]
    public void Write_FileEndingInAPartialLine_CutBackToTheLastWholeLine()
    {
        var old = TestFindings.Many(2);
        File.WriteAllText(LogPath, FindingJson.Write(old[0]) + "\n" + FindingJson.Write(old[1])[..40]);
        var findings = TestFindings.Many(5)[2..];
        using var sink = new FindingsLogSink(new FindingsLogOptions { Path = LogPath });

        Assert.True(sink.Write(findings, CancellationToken.None).Succeeded);
        sink.Complete(CancellationToken.None);

        Assert.Equal(new[] { old[0].Id }.Concat(findings.Select(f => f.Id)), Ids(LogPath));
    }

    [Fact]
    public void Write_NewFile_CreatedWithTheConfiguredMode()
    {
        using var sink = new FindingsLogSink(new FindingsLogOptions { Path = Path.Combine(_dir, "sub", "findings.jsonl") });
        Assert.True(sink.Write(TestFindings.Many(1), CancellationToken.None).Succeeded);
        sink.Complete(CancellationToken.None);

        var mode = File.GetUnixFileMode(Path.Combine(_dir, "sub", "findings.jsonl"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, mode);
    }

    [Fact]
    public async Task Write_ReadOnlyDirectory_PermanentFailureNamingThePath()
    {
        var readOnly = Path.Combine(_dir, "ro");
        Directory.CreateDirectory(readOnly);
        await using var guard = await ReadOnlyDirectory.MakeAsync(readOnly);
        var path = Path.Combine(readOnly, "findings.jsonl");
        using var sink = new FindingsLogSink(new FindingsLogOptions { Path = path });

        var result = sink.Write(TestFindings.Many(3), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.False(result.Transient, result.Error);
        Assert.Contains($"'{path}'", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    private List<string> ReadAll(int rotated)
    {
        var ids = new List<string>();
        for (var n = rotated; n >= 1; n--)
        {
            ids.AddRange(Ids($"{LogPath}.{n}"));
        }

        ids.AddRange(Ids(LogPath));
        return ids;
    }

    // Directory.GetFiles(dir, "findings.jsonl.*") also matches findings.jsonl itself (a ".*" ending matches no extension).
    private int Rotated() => Directory.GetFiles(_dir).Count(f => Path.GetFileName(f).StartsWith("findings.jsonl.", StringComparison.Ordinal));

    private static List<string> Ids(string file) =>
        File.ReadAllText(file).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => FindingJson.Read(l).Id).ToList();

    /// <summary>Makes a directory read-only for this process: mode 0555 for a normal user; root ignores modes, so as
    /// root a read-only tmpfs is mounted on it (or, where mounting is not allowed, the directory is made immutable).</summary>
    private sealed class ReadOnlyDirectory : IAsyncDisposable
    {
        private readonly string _path;
        private readonly string _undo;

        private ReadOnlyDirectory(string path, string undo)
        {
            _path = path;
            _undo = undo;
        }

        public static async Task<ReadOnlyDirectory> MakeAsync(string path)
        {
            if (!Tools.IsRoot)
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                return new ReadOnlyDirectory(path, "chmod");
            }

            var (mounted, _, mountErr) = await Tools.RunAsync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", path]);
            if (mounted == 0)
            {
                return new ReadOnlyDirectory(path, "umount");
            }

            var (immutable, _, chattrErr) = await Tools.RunAsync("chattr", ["+i", path]);
            Assert.True(immutable == 0, $"as root, neither a read-only mount ({mountErr.Trim()}) nor chattr +i ({chattrErr.Trim()}) worked");
            return new ReadOnlyDirectory(path, "chattr");
        }

        public async ValueTask DisposeAsync()
        {
            switch (_undo)
            {
                case "chmod":
                    File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    break;
                case "umount":
                    await Tools.RunAsync("umount", [_path]);
                    break;
                default:
                    await Tools.RunAsync("chattr", ["-i", _path]);
                    break;
            }
        }
    }
}
