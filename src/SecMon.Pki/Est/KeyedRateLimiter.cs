using System.Collections.Concurrent;

namespace SecMon.Pki.Est;

/// <summary>
/// A token bucket per key (client address, token id): <c>burst</c> requests at once, refilled at
/// <c>perSecond</c>. Memory is bounded: past <c>maxKeys</c> keys the table is cleared (everyone gets a fresh
/// bucket, which errs on the side of serving).
/// </summary>
public sealed class KeyedRateLimiter(TimeProvider time, double perSecond, double burst, int maxKeys = 100_000)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes one permit for <paramref name="key"/>; false (with how long to wait) when the bucket is empty.</summary>
    public bool TryAcquire(string key, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (perSecond <= 0)
        {
            return true;
        }

        if (_buckets.Count >= maxKeys)
        {
            _buckets.Clear();
        }

        var now = time.GetTimestamp();
        var bucket = _buckets.GetOrAdd(key, _ => new Bucket(burst, now));
        lock (bucket)
        {
            var elapsed = time.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
            bucket.Tokens = Math.Min(burst, bucket.Tokens + (elapsed * perSecond));
            bucket.Stamp = now;
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                return true;
            }

            retryAfter = TimeSpan.FromSeconds(Math.Ceiling((1 - bucket.Tokens) / perSecond));
            return false;
        }
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens { get; set; } = tokens;

        public long Stamp { get; set; } = stamp;
    }
}
