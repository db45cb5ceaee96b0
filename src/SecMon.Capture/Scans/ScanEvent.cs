using System.Globalization;
using SecMon.Core.Events;

namespace SecMon.Capture.Scans;

/// <summary>
/// <c>network.scan</c>: one source probed many ports of one host (<c>tcp_syn</c>, <c>tcp_connect</c>, <c>udp</c>), one
/// port on many hosts (<c>sweep</c>), or many hosts by ICMP echo (<c>ping_sweep</c>) or ARP (<c>arp_sweep</c>) within the detector's window. Written once when the threshold is crossed
/// (<c>scan.phase: started</c>, the counts so far) and once when the scan has been quiet for the window, was
/// forgotten to make room, or the input ended (<c>scan.phase: ended</c>, the totals): never one event per probe.
/// The flow fields describe the scan: <c>source.*</c> the scanner (the port and MAC of its first probe),
/// <c>destination.ip</c> the host scanned (a sweep: the first host probed), <c>destination.port</c> the first port
/// probed (a sweep: the port swept), <c>flow.id</c> the scan's own id (the same on both phases),
/// <c>network.community_id</c> that of the first probe.
/// </summary>
internal sealed record ScanEvent : ProtocolEvent
{
    /// <summary>The schema of <c>network.scan</c>.</summary>
    public static EventSchema SchemaInstance { get; } = new("network.scan",
    [
        Text("scan.kind", e => e.Kind, KindDescription),
        Text("scan.phase", e => e.Phase, "started: the threshold was crossed (counts so far); ended: the scan stopped, was forgotten to make room, or the input ended (totals)."),
        Number("scan.probes", e => e.Probes, ProbesDescription),
        Number("scan.ports.count", e => e.PortCount, "Distinct destination ports probed (1 for a sweep); exact up to 24, estimated beyond."),
        Number("scan.ports.low", e => e.PortLow, "Lowest destination port probed."),
        Number("scan.ports.high", e => e.PortHigh, "Highest destination port probed."),
        Number("scan.hosts.count", e => e.HostCount, "Distinct destination hosts probed (1 for a vertical scan); exact up to 24, estimated beyond."),
        Ip("scan.hosts.low", e => e.HostLow, "Lowest destination address probed."),
        Ip("scan.hosts.high", e => e.HostHigh, "Highest destination address probed."),
        Number("scan.open.count", e => e.OpenCount, OpenCountDescription),
        new EventField<ScanEvent>("scan.open.ports", FieldKind.NumberList, e => FieldValue.Of(e.OpenPorts), "Ports that answered, in order (a vertical scan); bounded (32 by default)."),
        new EventField<ScanEvent>("scan.open.hosts", FieldKind.StringList, e => FieldValue.Of(e.OpenHosts), "Hosts that answered (a sweep), in order; bounded (32 by default)."),
        Number("scan.closed.count", e => e.ClosedCount, ClosedCountDescription),
        new EventField<ScanEvent>("scan.closed.ports", FieldKind.NumberList, e => FieldValue.Of(e.ClosedPorts), ClosedPortsDescription),
        Number("scan.unanswered.count", e => e.UnansweredCount, UnansweredDescription),
        Text("scan.window.start", e => Iso(e.WindowStartMicros), "Capture time of the scan's first probe (ISO 8601)."),
        Text("scan.window.end", e => Iso(e.WindowEndMicros), "Capture time of its latest probe (ISO 8601)."),
    ]);

    // Kept beside the schema so that the field definitions (Ecs/custom-fields.yml) can be compared with them.
    internal const string KindDescription = "tcp_syn (half-open: the scanner reset the answered handshakes, or nothing answered), tcp_connect (the scanner completed the answered handshakes), udp, sweep (one port on many hosts; network.transport says tcp or udp), ping_sweep (ICMP or ICMPv6 echo requests to many hosts) or arp_sweep (ARP requests for many addresses of the segment).";
    internal const string ProbesDescription = "Probes seen: TCP SYNs opening a connection, first datagrams of UDP flows, ICMP echo requests, ARP requests.";
    internal const string OpenCountDescription = "Ports (or, in a sweep, hosts) that answered: SYN-ACK (TCP), any reply (UDP), an echo reply (ping_sweep), an ARP reply (arp_sweep); each once while the list holds.";
    internal const string ClosedCountDescription = "Probes refused: a TCP RST, or an ICMP/ICMPv6 port unreachable quoting a UDP probe (each port once while the list holds).";
    internal const string ClosedPortsDescription = "Ports that refused (TCP RST, ICMP port unreachable), in order (a vertical scan); bounded (32 by default).";
    internal const string UnansweredDescription = "Distinct ports (or hosts) probed that neither answered nor refused: filtered, down, or their answer not seen.";

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>tcp_syn, tcp_connect, udp or sweep.</summary>
    public required string Kind { get; init; }
    /// <summary>started or ended.</summary>
    public required string Phase { get; init; }
    /// <summary>Probes seen.</summary>
    public long Probes { get; init; }
    /// <summary>Distinct ports probed.</summary>
    public long PortCount { get; init; }
    /// <summary>Lowest port probed.</summary>
    public long PortLow { get; init; }
    /// <summary>Highest port probed.</summary>
    public long PortHigh { get; init; }
    /// <summary>Distinct hosts probed.</summary>
    public long HostCount { get; init; }
    /// <summary>Lowest host probed.</summary>
    public string? HostLow { get; init; }
    /// <summary>Highest host probed.</summary>
    public string? HostHigh { get; init; }
    /// <summary>Ports or hosts that answered.</summary>
    public long OpenCount { get; init; }
    /// <summary>Ports that answered (vertical scans).</summary>
    public IReadOnlyList<long>? OpenPorts { get; init; }
    /// <summary>Hosts that answered (sweeps).</summary>
    public IReadOnlyList<string>? OpenHosts { get; init; }
    /// <summary>Probes refused.</summary>
    public long ClosedCount { get; init; }
    /// <summary>Ports that refused (vertical scans).</summary>
    public IReadOnlyList<long>? ClosedPorts { get; init; }
    /// <summary>Probed, neither answered nor refused.</summary>
    public long UnansweredCount { get; init; }
    /// <summary>First probe.</summary>
    public long WindowStartMicros { get; init; }
    /// <summary>Latest probe.</summary>
    public long WindowEndMicros { get; init; }

    private static string Iso(long micros) =>
        DateTimeOffset.FromUnixTimeMilliseconds(micros / 1000).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static EventField<ScanEvent> Text(string name, Func<ScanEvent, string?> get, string description) =>
        new EventField<ScanEvent>(name, FieldKind.Text, e => FieldValue.Of(get(e)), description);

    private static EventField<ScanEvent> Ip(string name, Func<ScanEvent, string?> get, string description) =>
        new EventField<ScanEvent>(name, FieldKind.Ip, e => FieldValue.OfIp(get(e)), description);

    private static EventField<ScanEvent> Number(string name, Func<ScanEvent, long> get, string description) =>
        new EventField<ScanEvent>(name, FieldKind.Number, e => FieldValue.Of(get(e)), description);
}
