using System.Security.Cryptography;

namespace SecMon.Analysis;

/// <summary>The data directory (<c>--data</c>, default <c>./data</c>): the store, baselines and the per-installation
/// secret-hash key live here.</summary>
internal static class DataDirectory
{
    /// <summary>The default data directory.</summary>
    public const string Default = "data";

    /// <summary>Creates the directory if needed; returns a one-line error (which path, what to do) when it cannot.</summary>
    public static string? TryEnsure(string path)
    {
        try
        {
            Directory.CreateDirectory(path);
            var probe = Path.Combine(path, ".write-test-" + Environment.ProcessId);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"data directory '{path}' is not writable ({ex.Message}); choose another with --data DIR or fix its permissions";
        }
    }

    /// <summary>
    /// The key for hashing secrets seen on the wire (<c>secret-hash.key</c>, 32 random bytes, mode 0600), created on
    /// first use. Per installation, so password tags can be compared across runs but not across installations.
    /// </summary>
    public static byte[] LoadOrCreateSecretKey(string path)
    {
        var file = Path.Combine(path, "secret-hash.key");
        if (File.Exists(file))
        {
            var existing = File.ReadAllBytes(file);
            if (existing.Length >= 16)
            {
                return existing;
            }
        }

        var key = RandomNumberGenerator.GetBytes(32);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var fs = new FileStream(file, options))
        {
            fs.Write(key);
        }

        return key;
    }
}
