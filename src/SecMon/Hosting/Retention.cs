using SecMon.Core;
using SecMon.Findings.Store;
using static SecMon.Cli.CliHelpers;

namespace SecMon.Hosting;

/// <summary>Retention while a live sensor runs (<c>--retention</c>).</summary>
internal static class Retention
{
    /// <summary>Deletes findings older than <paramref name="keep"/> at the start and every hour, beside the writers (the
    /// store takes turns between them, a few thousand deletions per transaction), until cancelled.</summary>
    public static async Task PruneEveryHourAsync(FindingStore store, TimeSpan keep, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var bound = Time.ToUnixMicros(DateTimeOffset.UtcNow - keep);
            try
            {
                var deleted = await Task.Run(() => store.Prune(bound, cancellationToken: ct), CancellationToken.None).ConfigureAwait(false);
                if (deleted > 0)
                {
                    Error($"retention: deleted {N(deleted)} finding{(deleted == 1 ? "" : "s")} older than {Time.FormatMicros(bound)}");
                }
            }
            catch (FindingStoreException ex)
            {
                Error($"retention: {ex.Message}; the capture goes on, old findings stay until the next try");
            }

            try
            {
                await Task.Delay(TimeSpan.FromHours(1), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
