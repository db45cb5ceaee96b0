using SecMon.Capture;
using SecMon.Capture.Protocols;
using SecMon.Core;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols;

/// <summary>Builds flow contexts and protocol services for protocol tests.</summary>
internal static class TestFlows
{
    public static FlowContext Flow(int serverPort = 1883)
    {
        var flow = new FlowContext
        {
            FlowId = "00112233445566ff",
            CommunityId = "1:test",
            Transport = "tcp",
            SourceIp = "127.0.0.1",
            SourcePort = 50000,
            DestinationIp = "127.0.0.2",
            DestinationPort = serverPort,
            Direction = FlowDirection.ToServer,
            OpenerSeen = true,
            StartMicros = 1_000_000,
        };
        flow.CreateReverse();
        return flow;
    }

    public static ProtocolServices Services(RecordingEventSink events, RecordingDiagnosticSink? diagnostics = null, CaptureOptions? options = null) => new()
    {
        Events = events,
        Diagnostics = diagnostics ?? new RecordingDiagnosticSink(),
        Stats = new CaptureStats(),
        SecretHasher = new SecretHasher(new byte[32]),
        Options = options ?? new CaptureOptions(),
    };

    public static PacketMeta Meta(long packet = 1) => new(1_000_000 + packet, packet, "test.pcap", packet);
}
