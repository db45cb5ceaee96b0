namespace SecMon.IntegrationTests.TestSupport;

/// <summary>A fresh directory under the system temp directory, deleted (with its contents) on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    /// <summary>Creates the directory; <paramref name="prefix"/> names it so leftovers can be traced to a test.</summary>
    public TempDirectory(string prefix = "secmon-it-")
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    /// <summary>The directory's full path.</summary>
    public string Path { get; }

    /// <summary>The full path of <paramref name="name"/> inside the directory.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process that has not let go of a file yet: the directory is in /tmp and harmless.
        }
    }
}
