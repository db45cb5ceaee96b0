namespace SecMon.Testing;

/// <summary>Locations in the repository and beside it, found from the test assembly's directory.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecMon.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("SecMon.sln not found above " + AppContext.BaseDirectory);
    });

    /// <summary>The repository root (where SecMon.sln is).</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>samples/ (small real captures).</summary>
    public static string Samples => Path.Combine(Root, "samples");

    /// <summary>rules/ (shipped rule packs).</summary>
    public static string Rules => Path.Combine(Root, "rules");

    /// <summary>../shared beside the clone (design, ECS and Elasticsearch specs), or null when absent.</summary>
    public static string? Shared
    {
        get
        {
            var p = Path.GetFullPath(Path.Combine(Root, "..", "shared"));
            return Directory.Exists(p) ? p : null;
        }
    }

    /// <summary>The built <c>secmon</c> executable's dll (run with <c>dotnet</c>), from the same configuration as the tests.</summary>
    public static string SecMonDll
    {
        get
        {
            var config = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(Root, "src", "SecMon", "bin", config, "net10.0", "secmon.dll");
        }
    }
}
