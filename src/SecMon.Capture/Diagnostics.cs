using SecMon.Capture.Protocols;

namespace SecMon.Capture;

/// <summary>What was wrong with a piece of input. Every kind is counted in <see cref="CaptureStats"/>.</summary>
internal enum DiagnosticKind
{
    /// <summary>The capture file itself is damaged (truncated record, bad block) or not a capture.</summary>
    DamagedFile,
    /// <summary>The link type is one SecMon cannot decode; the packet is counted and skipped.</summary>
    UnknownLinkType,
    /// <summary>A frame ends before its headers do (snap length, truncation).</summary>
    TruncatedFrame,
    /// <summary>A link, IP or transport header is invalid (bad version, length fields past the frame).</summary>
    MalformedFrame,
    /// <summary>An application protocol message is malformed (bad MQTT varint, invalid UTF-8, reserved flags).</summary>
    MalformedProtocol,
    /// <summary>Bytes of a TCP stream never arrived; the parser resynchronised after them.</summary>
    ReassemblyGap,
    /// <summary>A bound was hit (flow table, reassembly buffer, fragment buffer) and data was dropped.</summary>
    ResourceLimit,
}

/// <summary>One reportable problem: the file, the packet number in that file, and what was wrong.</summary>
internal sealed record CaptureDiagnostic(DiagnosticKind Kind, string Source, long SourcePacketNumber, string Message)
{
    /// <summary>For a malformed application message: the protocol that reported it (<c>mqtt</c>, <c>tls</c>).</summary>
    public string? Protocol { get; init; }

    /// <summary>For a malformed application message: why (<see cref="MalformedReason.None"/> otherwise).</summary>
    public MalformedReason Reason { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Source}: packet {SourcePacketNumber}: {Message}";
}

/// <summary>Receives diagnostics; implementations count, print the first few and summarise the rest.</summary>
internal interface IDiagnosticSink
{
    /// <summary>Reports a problem found at <paramref name="meta"/>'s packet.</summary>
    void Report(DiagnosticKind kind, in PacketMeta meta, string message);

    /// <summary>False when a report of <paramref name="kind"/> would only be counted, not shown: a caller on a path an
    /// attacker can drive (one eviction per packet of a flood) then passes a fixed message instead of formatting one.</summary>
    bool Shows(DiagnosticKind kind) => true;

    /// <summary>Reports a malformed application message with its protocol and reason, so sinks that keep counts can
    /// count by reason; by default it is a <see cref="DiagnosticKind.MalformedProtocol"/> report like any other.</summary>
    void ReportMalformed(in PacketMeta meta, string protocol, MalformedReason reason, string message) =>
        Report(DiagnosticKind.MalformedProtocol, meta, message);
}
