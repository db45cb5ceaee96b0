using SecMon.Capture.Protocols;

namespace SecMon.Capture.Output;

/// <summary>
/// Counts diagnostics by kind and prints the first few of each kind to a writer (stderr), one line each:
/// <c>secmon: FILE: packet N: what was wrong</c>. The rest are only counted, so a damaged capture cannot
/// flood the terminal; the summary gives the totals.
/// </summary>
internal sealed class DiagnosticReporter : IDiagnosticSink
{
    private readonly TextWriter _writer;
    private readonly int _printPerKind;
    private readonly Dictionary<DiagnosticKind, long> _counts = [];
    private readonly List<CaptureDiagnostic> _first = [];
    private readonly Dictionary<(string Protocol, MalformedReason Reason), long> _malformed = [];

    /// <summary>Prints up to <paramref name="printPerKind"/> diagnostics of each kind to <paramref name="writer"/>.</summary>
    public DiagnosticReporter(TextWriter writer, int printPerKind = 10)
    {
        _writer = writer;
        _printPerKind = printPerKind;
    }

    /// <summary>Counts by kind.</summary>
    public IReadOnlyDictionary<DiagnosticKind, long> Counts => _counts;

    /// <summary>The diagnostics that were printed (the first of each kind), in order.</summary>
    public IReadOnlyList<CaptureDiagnostic> First => _first;

    /// <summary>Malformed application messages by protocol and reason (those reported through <see cref="ReportMalformed"/>).</summary>
    public IReadOnlyDictionary<(string Protocol, MalformedReason Reason), long> MalformedCounts => _malformed;

    /// <inheritdoc />
    public bool Shows(DiagnosticKind kind) => !_counts.TryGetValue(kind, out var n) || n < _printPerKind;

    /// <inheritdoc />
    public void Report(DiagnosticKind kind, in PacketMeta meta, string message) => Add(kind, meta, message, null, MalformedReason.None);

    /// <inheritdoc />
    public void ReportMalformed(in PacketMeta meta, string protocol, MalformedReason reason, string message)
    {
        _malformed.TryGetValue((protocol, reason), out var n);
        _malformed[(protocol, reason)] = n + 1;
        Add(DiagnosticKind.MalformedProtocol, meta, message, protocol, reason);
    }

    private void Add(DiagnosticKind kind, in PacketMeta meta, string message, string? protocol, MalformedReason reason)
    {
        _counts.TryGetValue(kind, out var n);
        _counts[kind] = ++n;
        if (n <= _printPerKind)
        {
            var d = new CaptureDiagnostic(kind, meta.Source, meta.SourcePacketNumber, message) { Protocol = protocol, Reason = reason };
            _first.Add(d);
            _writer.WriteLine($"secmon: {d}");
            if (n == _printPerKind)
            {
                _writer.WriteLine($"secmon: (further {Describe(kind)}{(kind == DiagnosticKind.ReassemblyGap ? "s" : " problems")} are counted in the summary, not printed)");
            }
        }
    }

    /// <summary>A short human name for a kind.</summary>
    public static string Describe(DiagnosticKind kind) => kind switch
    {
        DiagnosticKind.DamagedFile => "damaged file",
        DiagnosticKind.UnknownLinkType => "unknown link type",
        DiagnosticKind.TruncatedFrame => "truncated frame",
        DiagnosticKind.MalformedFrame => "malformed frame",
        DiagnosticKind.MalformedProtocol => "malformed message",
        DiagnosticKind.ReassemblyGap => "reassembly gap",
        DiagnosticKind.ResourceLimit => "resource limit",
        _ => kind.ToString(),
    };
}
