using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Protocols;
using SecMon.Core;
using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Fuzz;

/// <summary>
/// One target per protocol of <see cref="ProtocolCatalogue.Shipped"/>, named as the protocol (<c>mqtt</c>, <c>dns</c>,
/// <c>arp</c>...): a new protocol is a target with no edit here. A run feeds one input (<see cref="FuzzInput"/>) through
/// the protocol's own entry points, as the capture engine does: every record to its probe, then to a fresh session
/// (<see cref="IStreamSession.OnData"/>/<see cref="IStreamSession.OnGap"/>, <see cref="IDatagramSession.OnDatagram"/>
/// or <see cref="ILinkSession.OnFrame"/>), then the session is closed, and every event it emitted is written as JSON
/// (which reads every field, lazily decoded ones too). Any exception leaves the run: that is the crash the fuzzer
/// looks for.
/// </summary>
internal static class FuzzTargets
{
    private static readonly byte[] HasherKey = new byte[32];

    /// <summary>The target names, in the catalogue's order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. ProtocolCatalogue.Shipped.All.Select(p => p.Name)];

    /// <summary>The protocol of target <paramref name="name"/> (case-insensitive), or null.</summary>
    public static IProtocol? Find(string name) =>
        ProtocolCatalogue.Shipped.All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Runs target <paramref name="protocol"/> over one input.</summary>
    public static FuzzRun Run(IProtocol protocol, ReadOnlySpan<byte> input)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        var run = new FuzzRun();
        using var json = new EventJsonWriter(Stream.Null, ownsStream: false);
        var sink = new Sink(json, run);
        var services = new ProtocolServices
        {
            Events = sink,
            Diagnostics = sink,
            Stats = new CaptureStats(),
            SecretHasher = new SecretHasher(HasherKey),
            Options = new CaptureOptions(),
        };

        switch (protocol)
        {
            case IStreamProtocol stream:
                RunStream(stream, services, input, run);
                break;
            case IDatagramProtocol datagram:
                RunDatagram(datagram, services, input, run);
                break;
            case ILinkProtocol link:
                RunLink(link, services, input, run);
                break;
            default:
                throw new ArgumentException($"protocol '{protocol.Name}' has no entry point the harness knows", nameof(protocol));
        }

        json.Flush();
        run.Malformed = services.Stats.MalformedMessages;
        return run;
    }

    private static void RunStream(IStreamProtocol p, ProtocolServices services, ReadOnlySpan<byte> input, FuzzRun run)
    {
        var offset = 0;
        IStreamSession? session = null;
        var packet = 0L;
        while (FuzzInput.TryNext(input, ref offset, out var flags, out var payload))
        {
            var meta = Meta(++packet);
            var direction = Direction(flags);
            _ = p.Probe(payload, direction);
            session ??= p.CreateSession(Flow("tcp", p), services, midStream: (flags & FuzzInput.MidStream) != 0);
            if ((flags & FuzzInput.Gap) != 0)
            {
                session.OnGap(direction, payload.Length + 1, meta);
            }
            else
            {
                session.OnData(direction, payload, meta);
            }

            run.Records++;
        }

        session?.OnClose(Meta(++packet));
    }

    private static void RunDatagram(IDatagramProtocol p, ProtocolServices services, ReadOnlySpan<byte> input, FuzzRun run)
    {
        var offset = 0;
        IDatagramSession? session = null;
        var packet = 0L;
        while (FuzzInput.TryNext(input, ref offset, out var flags, out var payload))
        {
            var direction = Direction(flags);
            _ = p.Probe(payload, direction);
            session ??= p.CreateSession(Flow("udp", p), services);
            session.OnDatagram(direction, payload, Meta(++packet));
            run.Records++;
        }

        session?.OnClose(Meta(++packet));
    }

    private static void RunLink(ILinkProtocol p, ProtocolServices services, ReadOnlySpan<byte> input, FuzzRun run)
    {
        var session = p.CreateSession(services);
        var offset = 0;
        var packet = 0L;
        Span<byte> mac = [0x02, 0x53, 0x4d, 0, 0, 0x10];
        while (FuzzInput.TryNext(input, ref offset, out var flags, out var payload))
        {
            // The link addresses come from the flags byte, so a mismatch between frame and payload is fuzzed too.
            mac[5] = flags;
            var frame = new LinkFrame
            {
                EtherType = p.EtherTypes[0],
                SourceMac = MacAddress.Read(mac),
                HasSourceMac = (flags & 0x40) == 0,
                DestinationMac = (flags & 0x20) == 0 ? MacAddress.Read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) : MacAddress.Read(mac),
                HasDestinationMac = (flags & 0x10) == 0,
                Payload = payload,
                MissingBytes = (flags & 0x08) == 0 ? 0 : 4,
            };
            session.OnFrame(frame, Meta(++packet));
            run.Records++;
        }
    }

    private static FlowDirection Direction(byte flags) =>
        (flags & FuzzInput.ToClient) == 0 ? FlowDirection.ToServer : FlowDirection.ToClient;

    private static PacketMeta Meta(long packet) => new(1_700_000_000_000_000 + (packet * 1000), packet, "fuzz", packet);

    private static FlowContext Flow(string transport, IProtocol p)
    {
        var flow = new FlowContext
        {
            FlowId = "f0f0f0f0f0f0f0f0",
            CommunityId = "1:fuzz",
            Transport = transport,
            SourceIp = "192.0.2.10",
            SourcePort = 49152,
            SourceMac = "02-53-4D-00-00-10",
            DestinationIp = "192.0.2.1",
            DestinationPort = p.PortHints.Count > 0 ? p.PortHints[0] : 9,
            DestinationMac = "02-53-4D-00-00-01",
            Direction = FlowDirection.ToServer,
            OpenerSeen = true,
            StartMicros = 1_700_000_000_000_000,
        };
        flow.CreateReverse();
        return flow;
    }

    // Events are written as JSON (every field read) and counted; diagnostics are counted.
    private sealed class Sink(EventJsonWriter json, FuzzRun run) : IEventSink, IDiagnosticSink
    {
        public void Emit(ProtocolEvent e)
        {
            json.Emit(e);
            run.Events++;
        }

        public void Report(DiagnosticKind kind, in PacketMeta meta, string message) => run.Diagnostics++;
    }
}

/// <summary>What one run of a target saw: records fed, events emitted, diagnostics and malformed messages counted.</summary>
internal sealed class FuzzRun
{
    /// <summary>Records fed to the session.</summary>
    public int Records { get; set; }

    /// <summary>Events the session emitted.</summary>
    public int Events { get; set; }

    /// <summary>Diagnostics reported.</summary>
    public int Diagnostics { get; set; }

    /// <summary>Malformed messages counted.</summary>
    public long Malformed { get; set; }
}
