using SecMon.Capture.Decoding;
using SecMon.Capture.Tests.Decoding;
using SecMon.Capture.Tests.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Flows;

/// <summary>Once a protocol claims a flow, the flow holds the protocol's session in its dispatcher's place, and every
/// later message still reaches it.</summary>
public sealed class DispatcherHandOffTests
{
    private readonly CaptureStats _stats = new();
    private readonly RecordingDiagnostics _diagnostics = new();
    private readonly RecordingEventSink _events = new();

    private PacketProcessor Create()
    {
        var services = TestFlows.Services(_events);
        return new PacketProcessor(new CaptureOptions(), _stats, _diagnostics,
            flow => new SecMon.Capture.Protocols.StreamDispatcher(flow, services, SecMon.Capture.Protocols.ProtocolCatalogue.Shipped.Stream),
            flow => new SecMon.Capture.Protocols.DatagramDispatcher(flow, services, SecMon.Capture.Protocols.ProtocolCatalogue.Shipped.Datagram));
    }

    [Fact]
    public void Udp_AfterTheFirstDatagramClaimed_FlowHoldsTheProtocolsSession_LaterDatagramsStillDissected()
    {
        var p = Create();
        SendUdp(p, 1_000_000, Query(0x1111, "sensor.example"));
        var flow = Assert.Single(p.Flows.All);
        Assert.NotNull(flow.DatagramSession);
        Assert.IsNotType<SecMon.Capture.Protocols.DatagramDispatcher>(flow.DatagramSession);

        SendUdp(p, 1_001_000, Query(0x2222, "camera.example"));
        Assert.Equal(["sensor.example", "camera.example"], _events.Events.OfType<SecMon.Capture.Protocols.Dns.DnsQueryEvent>().Select(e => e.QuestionName));
    }

    [Fact]
    public void Udp_NoProtocolClaimsIt_TheDispatcherStaysAndKeepsProbing()
    {
        var p = Create();
        SendUdp(p, 1_000_000, [0xFF, 0xFE, 0xFD], destinationPort: 40_000);
        Assert.IsType<SecMon.Capture.Protocols.DatagramDispatcher>(Assert.Single(p.Flows.All).DatagramSession);
    }

    [Fact]
    public void Tcp_AfterTheProbesClaimedTheStream_FlowHoldsTheProtocolsSession_LaterSegmentsStillDissected()
    {
        var p = Create();
        var c = new TcpConversation(p, serverPort: 1883);
        c.Handshake();
        byte[] connect = [0x10, 0x0C, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x00];
        c.Send(fromClient: true, c.C(0), connect);
        var flow = Assert.Single(p.Flows.All);
        Assert.NotNull(flow.Session);
        Assert.IsNotType<SecMon.Capture.Protocols.StreamDispatcher>(flow.Session);

        byte[] connack = [0x20, 0x02, 0x00, 0x00];
        c.Send(fromClient: false, c.S(0), connack, ack: c.C(connect.Length));
        Assert.Single(_events.Events.OfType<SecMon.Capture.Protocols.Mqtt.MqttConnAckEvent>());
    }

    private static byte[] Query(ushort id, string name)
    {
        var message = new List<byte> { (byte)(id >> 8), (byte)id, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
        foreach (var label in name.Split('.'))
        {
            message.Add((byte)label.Length);
            message.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }

        message.AddRange([0x00, 0x00, 0x01, 0x00, 0x01]);
        return [.. message];
    }

    private static void SendUdp(PacketProcessor p, long micros, byte[] payload, ushort destinationPort = 53)
    {
        var frame = TestFrames.Ethernet(TestFrames.Ipv4("10.0.0.2", "10.0.0.1", 17, TestFrames.Udp(40_001, destinationPort, payload)));
        p.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, 1, "udp.pcap", 1));
    }
}
