namespace SecMon.Capture.Scans;

/// <summary>
/// Limits of the scan detector (<see cref="ScanDetector"/>). A probe is a new flow: a TCP SYN that opens a connection,
/// or the first datagram of a UDP flow. A vertical scan is one source probing many ports of one host; a sweep is one
/// source probing one port on many hosts. Only probes that were not answered (a SYN-ACK, any UDP reply) count towards a
/// threshold, so an ordinary client whose connections succeed is never a scan, however many it opens.
/// </summary>
internal sealed record ScanOptions
{
    /// <summary>Set false to switch the detector off (no state, no events). Default true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>A source that probed at least this many distinct ports of one host within <see cref="WindowMicros"/>,
    /// not counting the ports that answered, is scanning that host (<c>tcp_syn</c>, <c>tcp_connect</c>, <c>udp</c>).
    /// Default 20 (nmap's fastest scan, <c>-F</c>, probes 100 ports; an ordinary client uses a handful of ports of a
    /// server, and its connections are answered).</summary>
    public int PortThreshold { get; init; } = 20;

    /// <summary>A source that probed one port on at least this many distinct hosts within <see cref="WindowMicros"/>,
    /// not counting the hosts that answered, is sweeping that port (<c>sweep</c>). Default 20.</summary>
    public int HostThreshold { get; init; } = 20;

    /// <summary>The window of a threshold, from the first probe (capture time); a scan that crossed its threshold lasts
    /// while probes keep coming less than this apart, and its summary is written when it has been quiet this long.
    /// Default 60 seconds.</summary>
    public long WindowMicros { get; init; } = 60_000_000;

    /// <summary>How long after a probe its answer may still come: a threshold crossed by probes this recent is confirmed
    /// only once this much capture time has passed (so a client opening 20 connections at once, all answered a few
    /// milliseconds later, is not taken for a scan). Default 1 second (checked once per second of capture time).</summary>
    public long AnswerGraceMicros { get; init; } = 1_000_000;

    /// <summary>Most (source, host) and (source, port) pairs tracked at once; beyond it the least recently probing pair
    /// is forgotten (counted in <see cref="CaptureStats.ScanTrackerEvictions"/>; a scan already reported gets its summary
    /// at once). A pair of one port or host that answered (most) takes about 430 bytes, a scanner's up to about 1.7 KB
    /// with its lists full: the default 8,192 keeps the detector at 3.5 MB in ordinary traffic and about 14 MB at most.</summary>
    public int MaxTrackers { get; init; } = 8_192;

    /// <summary>Open ports (or, for a sweep, answering hosts) listed in an event; beyond it they are only counted.
    /// Default 32.</summary>
    public int MaxOpenListed { get; init; } = 32;
}
