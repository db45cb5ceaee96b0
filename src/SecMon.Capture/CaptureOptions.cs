
namespace SecMon.Capture;

/// <summary>Limits and timeouts of the capture engine. Defaults suit a sensor watching a few thousand devices.</summary>
internal sealed record CaptureOptions
{
    /// <summary>Most flows tracked at once; beyond it the least recently seen flow that carried no payload is evicted,
    /// else the least recently seen flow (counted). A flow costs about 1-2 KB of memory: the default 65,536 (the same
    /// bound as detection's and the inventory's per-flow state) keeps a flood of 1,000,000 new flows under 300 MB of
    /// resident memory (bench/README.md, "A flood of new flows"), where 262,144 took it to 580-650 MB.</summary>
    public int MaxFlows { get; init; } = 65_536;

    /// <summary>A TCP flow with no packet for this long is closed. Default 5 minutes (capture time).</summary>
    public long TcpIdleTimeoutMicros { get; init; } = 300_000_000;

    /// <summary>A UDP flow with no packet for this long is closed. Default 60 seconds (capture time).</summary>
    public long UdpIdleTimeoutMicros { get; init; } = 60_000_000;

    /// <summary>Out-of-order bytes buffered per TCP direction before the hole is declared a gap. Default 256 KiB.</summary>
    public int MaxStreamBufferBytes { get; init; } = 256 * 1024;

    /// <summary>Out-of-order bytes buffered across all streams. Default 128 MiB.</summary>
    public long MaxTotalStreamBufferBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>Bytes of a direction a protocol probe may look at before the stream is left unclassified. Default 256.</summary>
    public int MaxProbeBytes { get; init; } = 256;

    /// <summary>IPv4 fragments buffered at once (all datagrams). Default 4 MiB.</summary>
    public int MaxFragmentBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>An incomplete fragmented datagram is dropped after this long. Default 30 seconds.</summary>
    public long FragmentTimeoutMicros { get; init; } = 30_000_000;

    /// <summary>The scan detector's thresholds, window and bound (<see cref="Scans.ScanOptions"/>); on by default.</summary>
    public Scans.ScanOptions Scans { get; init; } = new();
}
