using System.Runtime.InteropServices;

namespace SecMon.Capture.Sources;

/// <summary>Releases a thread blocked opening a named pipe (FIFO) for reading, when nobody will write to it.</summary>
internal static partial class NamedPipe
{
    private const int WriteOnly = 1; // O_WRONLY

    /// <summary>
    /// Opens <paramref name="path"/> for writing without blocking and closes it again: a reader blocked in open(2)
    /// then returns and reads end-of-file at once (POSIX open(2): O_WRONLY|O_NONBLOCK on a FIFO succeeds when a
    /// reader is waiting and fails with ENXIO, harmlessly, when none is). Regular files are left alone.
    /// </summary>
    public static void ReleaseReader(string path)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()))
        {
            return;
        }

        try
        {
            if (new FileInfo(path).Length > 0)
            {
                return; // a regular file with content: it opens without waiting for anyone
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        var nonBlocking = OperatingSystem.IsLinux() ? 0x800 : 0x4; // O_NONBLOCK (Linux; BSD and macOS)
        var fd = OpenNative(path, WriteOnly | nonBlocking);
        if (fd >= 0)
        {
            _ = CloseNative(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenNative(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseNative(int fd);
}
