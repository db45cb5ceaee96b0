namespace SecMon.Ops;

/// <summary>
/// What a second SIGINT or SIGTERM does while a command drains after the first (Program.cs): the process ends at once
/// with <see cref="Cli.ExitCodes.Interrupted"/> (130) after one line on stderr saying what was not flushed, as told by
/// the running command (<see cref="Tell"/>: serve's sensor names the findings still queued in memory, which are lost, and
/// the spools, which stay on disk and are delivered at the next start). Process-wide, as signals are.
/// </summary>
internal static class SecondSignal
{
    private static Func<string>? s_pending;

    /// <summary>Says what would be left unflushed now (null: nothing to say).</summary>
    public static void Tell(Func<string>? pending) => Volatile.Write(ref s_pending, pending);

    /// <summary>The line written before the process ends.</summary>
    public static string Line()
    {
        string? pending;
        try
        {
            pending = Volatile.Read(ref s_pending)?.Invoke();
        }
#pragma warning disable CA1031 // the process is about to end: a failure to describe must not stop it from ending
        catch (Exception ex)
#pragma warning restore CA1031
        {
            pending = $"(what was pending could not be read: {ex.Message})";
        }

        return "secmon: second signal: exiting at once without finishing the drain (exit 130); " + (pending ?? "this command does not tell what was not flushed");
    }
}
