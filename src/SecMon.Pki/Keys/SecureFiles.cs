using System.Text;

namespace SecMon.Pki.Keys;

/// <summary>Writes key and certificate files: keys are created with mode 0600 before any byte is written.</summary>
public static class SecureFiles
{
    /// <summary>Owner read/write only.</summary>
    public const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Owner read/write, everyone read (certificates, CRLs).</summary>
    public const UnixFileMode PublicMode = PrivateMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>
    /// Writes a secret file (a private key, a token) atomically: a temporary file created 0600 in the same
    /// directory, then renamed over <paramref name="path"/>. The secret never sits in a wider-mode file.
    /// </summary>
    public static void WritePrivate(string path, string text) => Write(path, Encoding.ASCII.GetBytes(text), PrivateMode);

    /// <summary>Writes a public file (certificate, chain, CRL) atomically with mode 0644.</summary>
    public static void WritePublic(string path, string text) => Write(path, Encoding.ASCII.GetBytes(text), PublicMode);

    /// <summary>Writes a public binary file atomically with mode 0644.</summary>
    public static void WritePublic(string path, byte[] bytes) => Write(path, bytes, PublicMode);

    private static void Write(string path, byte[] bytes, UnixFileMode mode)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        try
        {
            using (var fs = new FileStream(tmp, options))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }
}
