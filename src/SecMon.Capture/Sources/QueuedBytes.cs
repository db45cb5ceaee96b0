namespace SecMon.Capture.Sources;

/// <summary>
/// The bytes held by packets waiting between the capture threads and the analysis, against a bound. The channel is
/// bounded in packets (65,536) and each waiting packet holds a pooled buffer of its captured length rounded up to a power
/// of two: 128 bytes for a small MQTT packet, 2 KiB for a full Ethernet frame, up to 256 KiB for what segmentation
/// offload hands a capture on the sending host. So a full channel holds from 8 MiB to many GiB; this bound keeps it to a
/// share of the memory budget whatever the packets' sizes. Several capture threads take and the analysis thread releases.
/// </summary>
internal sealed class QueuedBytes
{
    private long _bytes;

    /// <summary>A bound of <paramref name="limit"/> bytes (at least 1).</summary>
    public QueuedBytes(long limit) => Limit = Math.Max(1, limit);

    /// <summary>The most bytes held at once (a single packet larger than this is still taken when nothing waits).</summary>
    public long Limit { get; }

    /// <summary>Bytes held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Takes room for <paramref name="bytes"/>; false (nothing taken) when that would go past <see cref="Limit"/>
    /// while other packets wait.</summary>
    public bool TryTake(int bytes)
    {
        var now = Interlocked.Add(ref _bytes, bytes);
        if (now > Limit && now != bytes)
        {
            Interlocked.Add(ref _bytes, -bytes);
            return false;
        }

        return true;
    }

    /// <summary>Gives back the room of a packet taken with <see cref="TryTake"/>.</summary>
    public void Release(int bytes) => Interlocked.Add(ref _bytes, -bytes);
}
