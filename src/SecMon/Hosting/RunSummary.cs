using System.Diagnostics;
using SecMon.Capture;
using SecMon.Capture.Output;
using static SecMon.Cli.CliHelpers;

namespace SecMon.Hosting;

/// <summary>The end-of-run summary every analysis prints (to stderr): what was read, what came out, what was wrong.</summary>
internal static class RunSummary
{
    /// <summary>Writes the summary.</summary>
    public static void Write(TextWriter w, string what, CaptureStats s, EventCounter events, DiagnosticReporter diagnostics, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-6);
        w.WriteLine($"secmon: {what}: {N(s.Packets)} packets, {FormatBytes(s.Bytes)} in {elapsed.TotalSeconds:F2} s ({N((long)(s.Packets / seconds))} packets/s)");
        w.WriteLine($"  flows       {N(s.Flows)} (tcp {N(s.TcpFlows)}, udp {N(s.UdpFlows)}; started mid-stream {N(s.MidStreamFlows)}; evicted {N(s.FlowEvictions)}{(s.QuietFlowEvictions > 0 ? $" ({N(s.QuietFlowEvictions)} that carried no payload)" : "")}{(s.PressureFlowEvictions > 0 ? $" ({N(s.PressureFlowEvictions)} under memory pressure: capture.memory_budget)" : "")}; idle-closed {N(s.FlowTimeouts)}){(s.ScanTrackerEvictions > 0 ? $"; scan trackers evicted {N(s.ScanTrackerEvictions)}" : "")}{(s.HostsNotTracked > 0 ? $"; hosts not tracked {N(s.HostsNotTracked)}" : "")}");
        var byType = events.ByType;
        w.WriteLine($"  events      {N(events.Total)}" + (byType.Count == 0 ? "" : ": " + string.Join(", ", byType.Select(kv => $"{kv.Key} {N(kv.Value)}"))));
        w.WriteLine($"  malformed   frames {N(s.MalformedFrames)}, truncated frames {N(s.TruncatedFrames)}, messages {N(s.MalformedMessages)}, unknown link type {N(s.UnknownLinkType)}, damaged files {N(s.DamagedFiles)}");
        if (s.MalformedByReason.Count > 0)
        {
            // Which protocol and why, most frequent first: e.g. "mqtt truncated 12, tls length_overflow 1".
            w.WriteLine("  malformed   by protocol and reason: " + string.Join(", ", s.MalformedByReason
                .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Protocol, StringComparer.Ordinal).ThenBy(kv => kv.Key.Reason)
                .Select(kv => $"{kv.Key.Protocol} {ReasonName(kv.Key.Reason)} {N(kv.Value)}")));
        }

        w.WriteLine($"  reassembly  gaps {N(s.ReassemblyGaps)} ({FormatBytes(s.ReassemblyGapBytes)}), out-of-order {N(s.OutOfOrderSegments)}, retransmissions {N(s.Retransmissions)}, overlaps {N(s.Overlaps)} (conflicting {N(s.OverlapConflicts)}), buffer overflows {N(s.ReassemblyOverflows)}");
        w.WriteLine($"  drops       kernel {N(s.KernelDrops)}, channel {N(s.ChannelDrops)}, ip fragments {N(s.IpFragmentDrops)} (reassembled {N(s.IpReassembled)}); not IP {N(s.NonIpFrames)}, other transport {N(s.OtherTransport)}" +
                    (s.Decapsulated > 0 ? $"; read inside a tunnel (VXLAN, GRE, ERSPAN) {N(s.Decapsulated)}" : ""));
        using var self = Process.GetCurrentProcess();
        w.WriteLine($"  resources   peak memory {FormatBytes(self.PeakWorkingSet64)}, GC gen0 {GC.CollectionCount(0)}, gen1 {GC.CollectionCount(1)}, gen2 {GC.CollectionCount(2)} (paused {GC.GetTotalPauseDuration().TotalSeconds:F2} s)");
        if (s.InputDamaged)
        {
            var kinds = string.Join(", ", diagnostics.Counts.Where(kv => IsDamage(kv.Key)).OrderBy(kv => kv.Key)
                .Select(kv => $"{DiagnosticReporter.Describe(kv.Key)} {N(kv.Value)}"));
            // Frames of a link type SecMon does not decode (802.11 radio, IEEE 802.15.4, token ring...) are not damage: the
            // file is fine, SecMon cannot read those frames. The exit code is 65 either way (README: exit codes).
            var unsupportedOnly = diagnostics.Counts.Where(kv => IsDamage(kv.Key) && kv.Value > 0).All(kv => kv.Key == DiagnosticKind.UnknownLinkType);
            w.WriteLine(unsupportedOnly
                ? $"  input       UNSUPPORTED ({kinds}): frames of a link type SecMon does not decode were counted, not analysed (the first are listed above); everything else was analysed"
                : $"  input       DAMAGED ({kinds}); the first problems are listed above; everything readable was analysed");
        }

        if (s.MalformedMessages > 0)
        {
            // Not damage: messages as the peers sent them (a scanner's probes, faulty firmware, the wrong protocol on a
            // port); the capture holds them intact. The exit code does not change for them (README: exit codes).
            w.WriteLine($"  messages    {N(s.MalformedMessages)} malformed as sent (the first are listed above; by protocol and reason on the " +
                "malformed line): the traffic's, not damage to the capture");
        }

        if (s.OneSidedTcpFlows > 0)
        {
            // Not damage either: the capture point sees one direction (a SPAN session copying rx or tx only, asymmetric
            // routing). What needs the answers cannot be judged; the exit code does not change (README: exit codes).
            w.WriteLine($"  one-sided   {N(s.OneSidedTcpFlows)} TCP connection(s) carried data one way with no packet back: the capture sees one " +
                "direction of them (a mirror copying only received or only sent frames, or asymmetric routing), so one side of each " +
                "exchange is missing and what needs both (an anonymous session accepted, a failed login) cannot be judged; " +
                "mirror both directions of the port");
        }

        if (s.ReassemblyGaps > 0)
        {
            // Not damage: segments the capture missed (kernel or switch drops under load, a capture started late).
            // The streams resynchronised after each gap; the exit code does not change for them (README: exit codes).
            w.WriteLine($"  gaps        {N(s.ReassemblyGaps)} in TCP streams ({FormatBytes(s.ReassemblyGapBytes)} the capture missed; the first are listed above " +
                "as 'bytes missing'); not damage: parsing resumed after each");
        }

        if (s.DuplicateFrames + s.TranslatedCopies > 0)
        {
            // Copies made by the capture (tcpdump -i any on a bridge or router, a SPAN of several ports): one is analysed.
            w.WriteLine($"  duplicates  {N(s.DuplicateFrames)} packets were captured twice within {SecMon.Capture.Decoding.DuplicateFilter.WindowMicros / 1000} ms (on several interfaces of one host, " +
                "or at several mirrored switch ports) and analysed once" +
                (s.TranslatedCopies > 0 ? $"; {N(s.TranslatedCopies)} more were the capturing host's NAT sending its LAN's packets on under its own address, analysed on the LAN side only" : ""));
        }

        if (s.SnapCutFrames > 0)
        {
            // Not damage either: the capture was taken with a short snap length (tcpdump -s N), so payloads are cut and
            // what the protocols say is partly or wholly missing. Say so, and how to record whole frames.
            w.WriteLine($"  snap length {N(s.SnapCutFrames)} frames were cut short by the capture ({FormatBytes(s.SnapCutBytes)} not kept): " +
                "protocol content past the cut was not seen; record whole frames (tcpdump without -s, or -s 0)");
        }
    }

    // MalformedReason.LengthOverflow -> length_overflow (the names users grep for).
    internal static string ReasonName(SecMon.Capture.Protocols.MalformedReason reason) =>
        string.Concat(reason.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary>True for the kinds that make the input damaged (exit 65): what <see cref="CaptureStats.InputDamaged"/> counts.
    /// Reassembly gaps (packets the capture missed), malformed application messages (the traffic's, not the capture's)
    /// and SecMon's own resource limits are reported, not damage.</summary>
    public static bool IsDamage(DiagnosticKind kind) =>
        kind is DiagnosticKind.DamagedFile or DiagnosticKind.UnknownLinkType or DiagnosticKind.TruncatedFrame
            or DiagnosticKind.MalformedFrame;

    /// <summary>Formats a byte count (B, KB, MB, GB; powers of 1024).</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:F1} KB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):F1} MB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):F2} GB",
    };
}
