using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// The data directory's <c>secret-hash.key</c> as the real executable meets it: a key of the wrong size, or a
/// directory in its place, ends <c>analyze</c> with exit 66 and one line naming the file, never a stack trace, and
/// the file is left as it was (a new key would make earlier password tags unmatchable).
/// </summary>
public sealed class SecretKeyFileTests
{
    [Theory]
    [InlineData("short", "--no-detect")]
    [InlineData("short", null)]
    [InlineData("directory", null)]
    public async Task Analyze_UnusableKey_Exits66WithOneLineAndLeavesIt(string kind, string? option)
    {
        using var dir = new TempDirectory();
        var data = Directory.CreateDirectory(dir.File("data")).FullName;
        var key = Path.Combine(data, "secret-hash.key");
        if (kind == "short")
        {
            await File.WriteAllBytesAsync(key, new byte[20]);
        }
        else
        {
            Directory.CreateDirectory(key);
        }

        string[] args = ["analyze", SampleCaptures.PathOf("mqtt-anonymous.pcap"), "--data", data, .. option is null ? Array.Empty<string>() : [option]];
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command(args), TimeSpan.FromMinutes(2));

        Assert.True(exit == 66, $"exit {exit}; stderr: {stderr}");
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"secmon: {key}: ", line, StringComparison.Ordinal);
        Assert.Contains(kind == "short" ? "is 20 bytes, not the 32 of a secret-hash key" : "is a directory", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);
        if (kind == "short")
        {
            Assert.Equal(new byte[20], await File.ReadAllBytesAsync(key));
        }
        else
        {
            Assert.True(Directory.Exists(key));
        }
    }
}
