using System.Diagnostics;

namespace SecMon.Cli;

/// <summary>A one-line progress bar on stderr, drawn only when stderr is a terminal and the input is big enough
/// to be worth it (more than a few MB); never when output is piped or logged.</summary>
internal sealed class Progress
{
    private const long MinimumBytes = 4L * 1024 * 1024;
    private readonly long _total;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastDraw;

    private Progress(long total) => _total = total;

    /// <summary>A progress bar for <paramref name="totalBytes"/> of input, or null when none should be drawn.</summary>
    public static Progress? Create(long totalBytes) =>
        CliHelpers.StderrIsTerminal && totalBytes > MinimumBytes ? new Progress(totalBytes) : null;

    /// <summary>Redraws (at most ten times a second).</summary>
    public void Report(long bytesRead, long packets)
    {
        var now = _clock.ElapsedMilliseconds;
        if (now - _lastDraw < 100)
        {
            return;
        }

        _lastDraw = now;
        var fraction = Math.Clamp((double)bytesRead / _total, 0, 1);
        var width = 30;
        var filled = (int)(fraction * width);
        var rate = packets / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        Console.Error.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {fraction * 100,5:F1}%  {CliHelpers.N(packets)} packets  {CliHelpers.N((long)rate)}/s ");
    }

    /// <summary>Clears the line.</summary>
    public void Done()
    {
        _clock.Stop();
        Console.Error.Write("\r" + new string(' ', 79) + "\r");
    }
}
