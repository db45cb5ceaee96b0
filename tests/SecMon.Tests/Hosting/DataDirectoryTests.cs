using SecMon.Hosting;
using SecMon.Cli;
using SecMon.Testing;
using SecMon.Tests.Cli;

namespace SecMon.Tests.Hosting;

/// <summary>The secret-hash key: created once, refused (and left untouched) when damaged, one line and an exit code
/// when it cannot be read or created, never a stack trace. File modes are POSIX: no Windows.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-datadir-").FullName;

    public void Dispose()
    {
        foreach (var dir in Directory.EnumerateDirectories(_tmp, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Directory.Delete(_tmp, recursive: true);
    }

    private string KeyFile => Path.Combine(_tmp, DataDirectory.SecretKeyFileName);

    [Fact]
    public void LoadOrCreateSecretKey_None_Creates32PrivateBytesAndReadsThemBack()
    {
        var key = DataDirectory.LoadOrCreateSecretKey(_tmp);

        Assert.Equal(32, key.Length);
        Assert.Equal(key, File.ReadAllBytes(KeyFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        Assert.Equal(key, DataDirectory.LoadOrCreateSecretKey(_tmp));
        Assert.Equal([DataDirectory.SecretKeyFileName], Directory.GetFiles(_tmp).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(4096)]
    public void LoadOrCreateSecretKey_WrongLength_RefusedAndLeftUntouched(int length)
    {
        var damaged = new byte[length];
        Random.Shared.NextBytes(damaged);
        File.WriteAllBytes(KeyFile, damaged);

        var ex = Assert.Throws<DataDirectoryException>(() => DataDirectory.LoadOrCreateSecretKey(_tmp));

        Assert.Equal(ExitCodes.NoInput, ex.ExitCode);
        Assert.Contains(KeyFile, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"is {length} bytes, not the 32", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Equal(damaged, File.ReadAllBytes(KeyFile));
    }

    [Fact]
    public void LoadOrCreateSecretKey_DirectoryInItsPlace_NoInput()
    {
        Directory.CreateDirectory(KeyFile);

        var ex = Assert.Throws<DataDirectoryException>(() => DataDirectory.LoadOrCreateSecretKey(_tmp));

        Assert.Equal(ExitCodes.NoInput, ex.ExitCode);
        Assert.Contains("is a directory", ex.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(KeyFile));
    }

    [Fact]
    public void LoadOrCreateSecretKey_DataDirectoryMissing_CantCreate()
    {
        var ex = Assert.Throws<DataDirectoryException>(() => DataDirectory.LoadOrCreateSecretKey(Path.Combine(_tmp, "not-there")));

        Assert.Equal(ExitCodes.CantCreate, ex.ExitCode);
        Assert.Contains("cannot create the secret-hash key", ex.Message, StringComparison.Ordinal);
    }

    [NonRootFact]
    public void LoadOrCreateSecretKey_Unreadable_NoPermission()
    {
        File.WriteAllBytes(KeyFile, new byte[32]);
        File.SetUnixFileMode(KeyFile, UnixFileMode.None);

        var ex = Assert.Throws<DataDirectoryException>(() => DataDirectory.LoadOrCreateSecretKey(_tmp));

        Assert.Equal(ExitCodes.NoPermission, ex.ExitCode);
        Assert.Contains("permission denied", ex.Message, StringComparison.Ordinal);
    }

    [NonRootFact]
    public void LoadOrCreateSecretKey_ReadOnlyDirectory_CantCreate()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_tmp, "read-only")).FullName;
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);

        var ex = Assert.Throws<DataDirectoryException>(() => DataDirectory.LoadOrCreateSecretKey(dir));

        Assert.Equal(ExitCodes.CantCreate, ex.ExitCode);
    }

    [Theory]
    [InlineData("--no-detect")]
    [InlineData(null)]
    public async Task Analyze_DamagedKey_Exits66AndLeavesItUntouched(string? option)
    {
        File.WriteAllBytes(KeyFile, new byte[5]);
        var sample = Path.Combine(RepoPaths.Samples, "mqtt-anonymous.pcap");
        string[] args = option is null ? ["analyze", sample, "--data", _tmp] : ["analyze", sample, option, "--data", _tmp];

        // The message goes to the process's stderr (SecMon.IntegrationTests checks it on the real executable).
        var (code, stdout, _) = await SecMonRun.Run(args);

        Assert.Equal(ExitCodes.NoInput, code);
        Assert.Equal("", stdout);
        Assert.Equal(new byte[5], File.ReadAllBytes(KeyFile));
    }
}

/// <summary>A fact that needs an unprivileged user: root reads and writes files whatever their mode.</summary>
internal sealed class NonRootFactAttribute : FactAttribute
{
    public NonRootFactAttribute()
    {
        if (Environment.IsPrivilegedProcess)
        {
            Skip = "runs as root, which permissions do not stop; the directory-in-place test covers the unreadable key";
        }
    }
}
