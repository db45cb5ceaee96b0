using System.Security.Cryptography;
using SecMon.Cli;

namespace SecMon.Hosting;

/// <summary>The data directory (<c>--data</c>, default <c>./data</c>): the store, baselines and the per-installation
/// secret-hash key live here.</summary>
internal static class DataDirectory
{
    /// <summary>The default data directory.</summary>
    public const string Default = "data";

    /// <summary>The name of the secret-hash key file in the data directory.</summary>
    public const string SecretKeyFileName = "secret-hash.key";

    /// <summary>The length of the secret-hash key in bytes (HMAC-SHA256 key, as SecMon writes it).</summary>
    public const int SecretKeyLength = 32;

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
    /// A key file of another length is refused and left untouched, as the store refuses a damaged database: a new
    /// key would silently make every earlier password tag unmatchable.
    /// </summary>
    /// <exception cref="DataDirectoryException">The key is damaged (66), cannot be read (77) or cannot be created (73).</exception>
    public static byte[] LoadOrCreateSecretKey(string path)
    {
        var file = Path.Combine(path, SecretKeyFileName);
        return TryLoad(file) ?? Create(file) ?? TryLoad(file)
            ?? throw new DataDirectoryException($"{file}: vanished while it was being created; run again", ExitCodes.CantCreate);
    }

    // The existing key; null when there is none.
    private static byte[]? TryLoad(string file)
    {
        if (Directory.Exists(file))
        {
            throw new DataDirectoryException(
                $"{file}: is a directory, not the secret-hash key; move it away (a new key is then created) and run again", ExitCodes.NoInput);
        }

        byte[] key;
        try
        {
            key = File.ReadAllBytes(file);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            throw new DataDirectoryException(
                $"{file}: permission denied reading the secret-hash key; run as the user that owns the data directory or fix the file's permissions (chmod 600)",
                ExitCodes.NoPermission);
        }
        catch (IOException ex)
        {
            throw new DataDirectoryException($"{file}: cannot read the secret-hash key ({ex.Message}); check the disk and run again", ExitCodes.NoInput);
        }

        if (key.Length != SecretKeyLength)
        {
            throw new DataDirectoryException(
                $"{file}: is {key.Length} bytes, not the {SecretKeyLength} of a secret-hash key: damaged, so left untouched; restore it from a backup, " +
                "or move it away to start a new key (password tags of earlier runs will then not match new ones)",
                ExitCodes.NoInput);
        }

        return key;
    }

    // Writes a new key beside the final name and moves it into place, so a crash never leaves a short key behind;
    // null when another process created one first.
    private static byte[]? Create(string file)
    {
        var key = RandomNumberGenerator.GetBytes(SecretKeyLength);
        var temp = $"{file}.{Environment.ProcessId}.tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var fs = new FileStream(temp, options))
            {
                fs.Write(key);
                fs.Flush(flushToDisk: true);
            }

            File.Move(temp, file, overwrite: false);
            return key;
        }
        catch (IOException) when (File.Exists(file))
        {
            TryDelete(temp);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new DataDirectoryException(
                $"{file}: cannot create the secret-hash key ({ex.Message}); give a writable --data DIR or fix its permissions", ExitCodes.CantCreate);
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray temporary file is harmless.
        }
    }
}

/// <summary>
/// The data directory cannot be used: its message is one line naming the file and what to do, and
/// <see cref="ExitCode"/> is the process exit code (66 damaged, 73 cannot create, 77 permission denied).
/// </summary>
internal sealed class DataDirectoryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DataDirectoryException(string message, int exitCode)
        : base(message)
    {
        ExitCode = exitCode;
    }

    /// <summary>The process exit code for this failure.</summary>
    public int ExitCode { get; }
}
