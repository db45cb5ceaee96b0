
namespace SecMon.Capture;

/// <summary>Limits and timeouts of the capture engine. Defaults suit a sensor watching a few thousand devices.</summary>
internal sealed record CaptureOptions
{
    /// <summary>Most flows tracked at once; beyond it the least recently seen flow is evicted (counted). Default 262,144.</summary>
    public int MaxFlows { get; init; } = 262_144;

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
}
