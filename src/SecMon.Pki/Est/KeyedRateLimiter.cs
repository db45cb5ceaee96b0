namespace SecMon.Pki.Est;

/// <summary>
/// A token bucket per key (client address, token id): <c>burst</c> requests at once, refilled at
/// <c>perSecond</c>. Memory is bounded by <c>maxKeys</c> buckets without ever resetting a limit: when the table is
/// full, a new key takes the place of the bucket that holds the least state, chosen among the least recently used.
/// </summary>
/// <remarks>
/// <para>
/// Why not clear the table when it fills (what this did before): an attacker rotating source addresses (an IPv6
/// /64 holds 2^64) filled it and every limit, including the ones it was meant to hold, started afresh.
/// </para>
/// <para>
/// Eviction: the candidates are the <see cref="EvictionSample"/> least recently used buckets; of those, the one with
/// the most tokens after refill goes (a full bucket is the same as no bucket, so evicting it loses nothing; a bucket
/// that took one request loses one request). A limited bucket (empty) is evicted only when every candidate is
/// limited too, and then the one idle longest. So a key stays limited while anyone keeps using it, and flooding
/// the table with fresh keys, each of which keeps most of its tokens, cannot push it out.
/// </para>
/// <para>
/// Why not System.Threading.RateLimiting's <c>PartitionedRateLimiter</c>: it has no bound on partitions (it drops
/// idle ones from a 100 ms timer) and reads its own clock, not the injected <see cref="TimeProvider"/> that the
/// tests control. One lock guards the table: EST runs at most thousands of requests per second, and each holds
/// it for a dictionary look-up and a few arithmetic operations.
/// </para>
/// </remarks>
public sealed class KeyedRateLimiter(TimeProvider time, double perSecond, double burst, int maxKeys = 100_000)
{
    /// <summary>How many least recently used buckets are looked at to choose one to evict.</summary>
    public const int EvictionSample = 32;

    private readonly Dictionary<string, LinkedListNode<Bucket>> _buckets = new(StringComparer.Ordinal);

    // Most recently used first.
    private readonly LinkedList<Bucket> _order = new();
    private readonly Lock _lock = new();

    /// <summary>Keys held now (at most <c>maxKeys</c>).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>Takes one permit for <paramref name="key"/>; false (with how long to wait) when the bucket is empty.</summary>
    public bool TryAcquire(string key, out TimeSpan retryAfter) => Take(key, consume: true, out retryAfter);

    /// <summary>
    /// True when <paramref name="key"/> has a permit left, without taking it (and without adding a bucket for an
    /// unknown key); false with how long to wait. For limits that count only some outcomes (failures): check
    /// first, then <see cref="TryAcquire"/> when the outcome is one that counts.
    /// </summary>
    public bool HasPermit(string key, out TimeSpan retryAfter) => Take(key, consume: false, out retryAfter);

    private bool Take(string key, bool consume, out TimeSpan retryAfter)
    {
        ArgumentNullException.ThrowIfNull(key);
        retryAfter = TimeSpan.Zero;
        if (perSecond <= 0)
        {
            return true;
        }

        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (!_buckets.TryGetValue(key, out var node))
            {
                if (!consume)
                {
                    return true;
                }

                if (_buckets.Count >= Math.Max(1, maxKeys))
                {
                    EvictOne(now);
                }

                node = _order.AddFirst(new Bucket(key, burst, now));
                _buckets[key] = node;
            }
            else
            {
                _order.Remove(node);
                _order.AddFirst(node);
            }

            var bucket = node.Value;
            bucket.Tokens = Refilled(bucket, now);
            bucket.Stamp = now;
            if (bucket.Tokens >= 1)
            {
                if (consume)
                {
                    bucket.Tokens -= 1;
                }

                return true;
            }

            retryAfter = TimeSpan.FromSeconds(Math.Ceiling((1 - bucket.Tokens) / perSecond));
            return false;
        }
    }

    private double Refilled(Bucket bucket, long now) =>
        Math.Min(burst, bucket.Tokens + (time.GetElapsedTime(bucket.Stamp, now).TotalSeconds * perSecond));

    private void EvictOne(long now)
    {
        LinkedListNode<Bucket>? victim = null;
        var most = double.NegativeInfinity;
        var node = _order.Last;
        for (var i = 0; i < EvictionSample && node is not null; i++, node = node.Previous)
        {
            // Strictly more: among equals the least recently used (seen first) goes.
            var tokens = Refilled(node.Value, now);
            if (tokens > most)
            {
                most = tokens;
                victim = node;
            }

            if (tokens >= burst)
            {
                break; // a full bucket: nothing is lost by evicting it
            }
        }

        if (victim is not null)
        {
            _order.Remove(victim);
            _buckets.Remove(victim.Value.Key);
        }
    }

    private sealed class Bucket(string key, double tokens, long stamp)
    {
        public string Key { get; } = key;

        public double Tokens { get; set; } = tokens;

        public long Stamp { get; set; } = stamp;
    }
}
