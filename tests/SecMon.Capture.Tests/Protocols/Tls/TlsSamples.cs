using SecMon.Capture.Sources;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Tls;

/// <summary>The recorded TLS/DTLS samples (Samples/record.sh) and a way to dissect one through the whole capture engine.</summary>
internal static class TlsSamples
{
    public static string Directory => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Tls", "Samples");

    public static string PathOf(string name) => Path.Combine(Directory, name);

    public static IEnumerable<string> All => System.IO.Directory.GetFiles(Directory, "*.pcap").Order(StringComparer.Ordinal);

    /// <summary>UDP ports of record.sh's DTLS peers, for tshark's decode-as.</summary>
    public static readonly int[] DtlsPorts = [15684, 15685, 15686, 5684];

    /// <summary>Every event and diagnostic of one capture, dissected by the shipped protocols.</summary>
    public static (List<ProtocolEvent> Events, List<CaptureDiagnostic> Diagnostics, CaptureStats Stats) Decode(string path)
    {
        var events = new Protocols.RecordingEventSink();
        var diagnostics = new Protocols.RecordingDiagnosticSink();
        var stats = new CaptureStats();
        var engine = new CaptureEngine(new CaptureOptions(), events, diagnostics, stats, SecretHasher.CreateRandom());
        var source = PcapFileSource.TryOpen(path, out var error) ?? throw new InvalidOperationException(error);
        using var files = new CaptureFileSet([source]);
        engine.Run(files, null, CancellationToken.None);
        return (events.Events, diagnostics.Diagnostics, stats);
    }

    /// <summary>The text of a field of an event ("" when missing; lists joined by ',').</summary>
    public static string Field(ProtocolEvent e, string name)
    {
        var f = e.Schema.Fields.FirstOrDefault(x => x.Name == name);
        if (f is null)
        {
            return "";
        }

        var v = f.Read(e);
        return v.IsMissing ? "" : v.ToString() ?? "";
    }
}
