using System.Diagnostics.CodeAnalysis;
using SecMon.Core.Flows;

namespace SecMon.Capture.Flows;

/// <summary>
/// What every <see cref="TcpStream"/> of one processor shares: counters, diagnostics, the global reassembly
/// budget, and the hand-off to the flow's <see cref="Protocols.IStreamSession"/>. A session that throws is a bug
/// in a dissector, possibly triggered by hostile bytes: it is reported, detached from its flow, and capture goes on.
/// </summary>
internal sealed class ReassemblyContext
{
    /// <summary>Creates the context from the options' bounds.</summary>
    public ReassemblyContext(CaptureOptions options, CaptureStats stats, IDiagnosticSink diagnostics)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(diagnostics);
        Stats = stats;
        Diagnostics = diagnostics;
        MaxStreamBufferBytes = Math.Max(0, options.MaxStreamBufferBytes);
        MaxTotalBufferBytes = Math.Max(0, options.MaxTotalStreamBufferBytes);
    }

    /// <summary>Counters.</summary>
    public CaptureStats Stats { get; }

    /// <summary>Where gaps and limits are reported.</summary>
    public IDiagnosticSink Diagnostics { get; }

    /// <summary>Bound on one direction's buffered out-of-order bytes (charged, see <see cref="TcpStream"/>).</summary>
    public int MaxStreamBufferBytes { get; }

    /// <summary>Bound on all directions' buffered bytes together.</summary>
    public long MaxTotalBufferBytes { get; }

    /// <summary>Bytes currently charged by every stream together.</summary>
    public long BufferedBytes { get; set; }

    /// <summary>Hands in-order bytes to the flow's session.</summary>
    public void Data(Flow flow, FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        var session = flow.Session;
        if (session is null)
        {
            return;
        }

        try
        {
            session.OnData(direction, data, meta);
        }
        catch (Exception ex) when (IsRecoverable(ex))
        {
            Detach(flow, ex, "data", meta);
            return;
        }

        if (session is Protocols.StreamDispatcher { Claimed: { } claimed } && flow.Session == session)
        {
            // A protocol claimed the stream: the flow holds its session itself, one object fewer to reach per segment
            // (and the dispatcher, no longer referenced, is collected young).
            flow.Session = claimed;
        }
    }

    /// <summary>Tells the session that <paramref name="length"/> bytes will never arrive, and reports it.</summary>
    public void Gap(Flow flow, FlowDirection direction, long length, uint sequence, string reason, in PacketMeta meta)
    {
        Diagnostics.Report(DiagnosticKind.ReassemblyGap, meta,
            $"TCP {direction switch { FlowDirection.ToServer => "to_server", _ => "to_client" }} stream of flow {Describe(flow)}: " +
            $"{length} bytes missing at seq {sequence} ({reason})");
        var session = flow.Session;
        if (session is null)
        {
            return;
        }

        try
        {
            session.OnGap(direction, length, meta);
        }
        catch (Exception ex) when (IsRecoverable(ex))
        {
            Detach(flow, ex, "gap", meta);
        }
    }

    /// <summary>Tells the session the flow ended.</summary>
    public void Close(Flow flow, in PacketMeta meta)
    {
        var session = flow.Session;
        if (session is null)
        {
            return;
        }

        flow.Session = null;
        try
        {
            session.OnClose(meta);
        }
        catch (Exception ex) when (IsRecoverable(ex))
        {
            Report(flow, ex, "close", meta);
        }
    }

    /// <summary>A short human description of a flow for diagnostics: id and client→server tuple.</summary>
    public static string Describe(Flow flow)
    {
        var c = flow.ToServer;
        return $"{c.FlowId} ({c.Transport} {c.SourceIp}:{c.SourcePort} -> {c.DestinationIp}:{c.DestinationPort})";
    }

    private void Detach(Flow flow, Exception ex, string what, in PacketMeta meta)
    {
        flow.Session = null;
        Report(flow, ex, what, meta);
    }

    private void Report(Flow flow, Exception ex, string what, in PacketMeta meta)
    {
        // The exception message is not logged: a parser's message may quote payload bytes.
        Stats.MalformedMessages++;
        Diagnostics.Report(DiagnosticKind.MalformedProtocol, meta,
            $"the protocol session of flow {Describe(flow)} failed with {ex.GetType().Name} on {what}; the rest of the flow is not dissected");
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types",
        Justification = "Isolation boundary: one dissector's bug on hostile input must not stop the capture of every other flow.")]
    private static bool IsRecoverable(Exception ex) => ex is not (OutOfMemoryException or StackOverflowException);
}
