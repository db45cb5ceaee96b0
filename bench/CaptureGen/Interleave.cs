/// <summary>Writes many conversations interleaved, as a busy segment carries them: one packet of each in turn, 7 µs
/// apart, until each has written its last.</summary>
internal static class Interleave
{
    /// <summary>Runs <paramref name="next"/> (false once a conversation is done) round the live ones from
    /// <paramref name="time"/>; returns the time after the last packet.</summary>
    public static long Run<T>(List<T> live, long time, Func<T, long, bool> next)
    {
        while (live.Count > 0)
        {
            for (var i = live.Count - 1; i >= 0; i--)
            {
                time += 7;
                if (!next(live[i], time))
                {
                    live.RemoveAt(i);
                }
            }
        }

        return time;
    }
}
