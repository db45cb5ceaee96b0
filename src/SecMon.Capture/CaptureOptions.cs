
namespace SecMon.Capture;

/// <summary>Limits and timeouts of the capture engine. Defaults suit a sensor watching a few thousand devices.</summary>
internal sealed record CaptureOptions
{
    /// <summary>Most flows tracked at once; beyond it the least recently seen flow that carried no payload is evicted,
    /// else the least recently seen flow (counted). A flow costs about 1-2 KB of memory: the default 65,536 (the same
    /// bound as detection's and the inventory's per-flow state) keeps a flood of 1,000,000 new flows under 300 MB of
    /// resident memory (bench/README.md, "A flood of new flows"), where 262,144 took it to 580-650 MB.</summary>
    public int MaxFlows { get; init; } = 65_536;

    /// <summary>The default <see cref="MemoryBudgetBytes"/>: 256 MiB, the budget whose bounds are the defaults above and
    /// in detection and the inventory (65,536 flows).</summary>
    public const long DefaultMemoryBudgetBytes = 256L << 20;

    /// <summary>Smallest and largest budgets accepted (<c>capture.memory_budget</c>).</summary>
    public const long MinMemoryBudgetBytes = 32L << 20, MaxMemoryBudgetBytes = 64L << 30;

    /// <summary>
    /// The memory the analysis may use (configuration key <c>capture.memory_budget</c>). It sets the per-flow bounds
    /// (<see cref="ForMemoryBudget"/>: the flow table here, and the host gives the rules' and the inventory's tables their
    /// share), and the managed heap's share: when the heap measured after a collection exceeds
    /// <see cref="PressureHeapBytes"/>, the least recently seen flows idle for 10 s are evicted (up to an eighth of the
    /// table per collection, counted in <see cref="CaptureStats.PressureFlowEvictions"/>), which ends their state in every
    /// consumer too. Default 256 MiB, which keeps the process's resident memory under about 300 MB (bench/README.md,
    /// "Session 12: memory budget").
    /// </summary>
    public long MemoryBudgetBytes { get; init; } = DefaultMemoryBudgetBytes;

    /// <summary>The managed heap's share of <see cref="MemoryBudgetBytes"/> (five eighths: the rest is the runtime, the
    /// capture ring, SQLite's cache and code).</summary>
    public long PressureHeapBytes => MemoryBudgetBytes / 8 * 5;

    /// <summary>Options whose bounds follow a memory budget: <see cref="MaxFlows"/> one flow per 4 KiB of the budget
    /// (65,536 at the default; a flow with its consumers' state costs 2-4 KB).</summary>
    public static CaptureOptions ForMemoryBudget(long budgetBytes) => new()
    {
        MemoryBudgetBytes = budgetBytes,
        MaxFlows = FlowsFor(budgetBytes),
    };

    /// <summary>The flows a budget holds (see <see cref="ForMemoryBudget"/>), at least 1,024.</summary>
    public static int FlowsFor(long budgetBytes) => (int)Math.Clamp(budgetBytes / 4096, 1024, 16L << 20);

    /// <summary>A bound that is <paramref name="atDefault"/> at the default budget, scaled with <paramref name="budgetBytes"/>
    /// (at least <paramref name="min"/>): the host sizes the other tables that grow per flow, group or device with it.</summary>
    public static int Scaled(int atDefault, long budgetBytes, int min) =>
        (int)Math.Clamp(atDefault * budgetBytes / DefaultMemoryBudgetBytes, min, int.MaxValue / 2);

    /// <summary>A TCP flow with no packet for this long is closed. Default 5 minutes (capture time).</summary>
    public long TcpIdleTimeoutMicros { get; init; } = 300_000_000;

    /// <summary>A UDP flow with no packet for this long is closed. Default 60 seconds (capture time).</summary>
    public long UdpIdleTimeoutMicros { get; init; } = 60_000_000;

    /// <summary>Out-of-order bytes buffered per TCP direction before the hole is declared a gap. Default 256 KiB.</summary>
    public int MaxStreamBufferBytes { get; init; } = 256 * 1024;

    /// <summary>Out-of-order bytes buffered across all streams. Default 128 MiB.</summary>
    public long MaxTotalStreamBufferBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>MACs whose IP addresses the flow table remembers to write <c>ip.host_seen</c> when a MAC sends from an
    /// address not seen before (Hosts/HostTracker: at most 4 addresses each, about 200 bytes per MAC); past it new hosts
    /// are counted, not reported. 0 turns <c>ip.host_seen</c> off. Default 65,536.</summary>
    public int MaxHostMacs { get; init; } = 65_536;

    /// <summary>Bytes of a direction a protocol probe may look at before the stream is left unclassified. Default 256.</summary>
    public int MaxProbeBytes { get; init; } = 256;

    /// <summary>IP fragments (IPv4 and IPv6) buffered at once, all datagrams. Default 4 MiB.</summary>
    public int MaxFragmentBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>An incomplete fragmented datagram is dropped after this long. Default 30 seconds.</summary>
    public long FragmentTimeoutMicros { get; init; } = 30_000_000;

    /// <summary>The scan detector's thresholds, window and bound (<see cref="Scans.ScanOptions"/>); on by default.</summary>
    public Scans.ScanOptions Scans { get; init; } = new();
}
