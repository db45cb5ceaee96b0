using SecMon.Capture.Protocols;
using SecMon.Capture.Sources;
using SecMon.Core;

namespace SecMon.Capture;

/// <summary>
/// Runs packets from a source through decoding, flows, reassembly and the protocol dissectors, on one thread
/// and in capture order (so the same capture always gives the same events and ids).
/// </summary>
internal sealed class CaptureEngine
{
    private readonly CaptureStats _stats;
    private readonly IDiagnosticSink _diagnostics;
    private readonly PacketProcessor _processor;
    private long _packetNumber;
    private PacketMeta _last;

    /// <summary>Creates an engine that sends events to <paramref name="events"/>, dissecting the protocols of
    /// <paramref name="protocols"/> (default: every shipped protocol).</summary>
    public CaptureEngine(CaptureOptions options, IEventSink events, IDiagnosticSink diagnostics, CaptureStats stats, SecretHasher secretHasher,
        ProtocolCatalogue? protocols = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _stats = stats;
        _diagnostics = diagnostics;
        var catalogue = protocols ?? ProtocolCatalogue.Shipped;
        var scans = options.Scans.Enabled ? new Scans.ScanDetector(options.Scans, events, stats) : null;
        var services = new ProtocolServices
        {
            Events = events,
            Diagnostics = diagnostics,
            Stats = stats,
            SecretHasher = secretHasher,
            Options = options,
            Catalogue = catalogue,
            Scans = scans,
        };
        var stream = catalogue.Stream;
        var datagram = catalogue.Datagram;
        _processor = new PacketProcessor(options, stats, diagnostics,
            flow => stream.Count == 0 ? null : new StreamDispatcher(flow, services, stream),
            datagram.Count == 0 ? null : flow => new DatagramDispatcher(flow, services, datagram),
            catalogue.ServicePortRank,
            scans,
            catalogue.Link.Count == 0 ? null : new LinkDispatcher(services, catalogue.Link),
            events,
            options.MaxHostMacs > 0 ? new Hosts.HostTracker(events, stats, options.MaxHostMacs) : null);
    }

    /// <summary>Reads every packet of the merged files. <paramref name="onProgress"/> is called every few
    /// thousand packets with the bytes read so far.</summary>
    public void Run(CaptureFileSet files, Action<long>? onProgress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        long bytesRead = 0;
        while (files.MoveNext())
        {
            var file = files.Current;
            Process(file.LinkType, file.Data, file.OriginalLength, file.TimestampMicros, file.Path, file.FrameNumber, file.CaptureInterface);
            bytesRead += file.DataLength + 16;
            if ((_packetNumber & 0x3FFF) == 0)
            {
                ReportDamage(files);
                onProgress?.Invoke(bytesRead);
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
            }
        }

        ReportDamage(files);
        Complete();
    }

    /// <summary>Processes one packet from any source; <paramref name="captureInterface"/> is the interface the source
    /// names (<see cref="PacketMeta.Interface"/>), 0 when it names none.</summary>
    public void Process(int linkType, ReadOnlySpan<byte> data, int originalLength, long timestampMicros, string source, long sourcePacketNumber,
                        uint captureInterface = 0)
    {
        _packetNumber++;
        _stats.Packets++;
        _stats.Bytes += data.Length;
        _last = new PacketMeta(timestampMicros, _packetNumber, source, sourcePacketNumber) { Interface = captureInterface };
        _processor.Process(linkType, data, originalLength, _last);
    }

    /// <summary>End of input: flushes and closes every flow.</summary>
    public void Complete() => _processor.Complete(_last);

    private void ReportDamage(CaptureFileSet files)
    {
        while (files.TryTakeDamage(out var file, out var error))
        {
            _stats.DamagedFiles++;
            var meta = new PacketMeta(_last.TimestampMicros, _packetNumber, file.Path, file.PacketsRead + 1);
            _diagnostics.Report(DiagnosticKind.DamagedFile, meta,
                $"capture damaged after {file.PacketsRead} good packets ({error}); the packets before it were analysed");
        }
    }
}
