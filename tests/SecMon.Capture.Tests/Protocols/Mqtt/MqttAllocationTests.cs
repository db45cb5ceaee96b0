using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Mqtt;

/// <summary>
/// Per PUBLISH the session may allocate the event record and (on a topic-cache miss) the topic string, nothing
/// else. Measured with the thread's allocation counter: deterministic, not a timing.
/// </summary>
public sealed class MqttAllocationTests
{
    [Theory]
    [InlineData(false, 1_000_000)] // whole packets in one call: parsed in place
    [InlineData(true, 1_000_000)]
    [InlineData(false, 7)] // packets split across calls take the buffered path
    [InlineData(true, 1)]
    public void OnData_PublishesToKnownTopics_AllocateOnlyTheEvent(bool v5, int chunk)
    {
        var sink = new CountingEventSink();
        var session = CreateSession(sink);
        var connect = Hex.Bytes(v5 ? MqttSessionDecodeTests.Connect5 : MqttSessionDecodeTests.Connect311);
        var publishes = Enumerable.Range(0, 4).SelectMany(i => MqttSessionTests.Publish($"site/1/sensor/{i}", qos: 1, packetId: i + 1, payloadSize: 40, v5)).ToArray();
        var meta = new PacketMeta(1, 1, "test", 1);
        session.OnData(FlowDirection.ToServer, connect, meta);
        Feed(session, publishes, chunk, meta); // warm up: topics cached, buffer sized

        const int Rounds = 250;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var r = 0; r < Rounds; r++)
        {
            Feed(session, publishes, chunk, meta);
        }

        var perPublish = (GC.GetAllocatedBytesForCurrentThread() - before) / (Rounds * 4.0);
        var eventSize = MeasureEventSize();

        Assert.Equal(1 + (Rounds + 1) * 4, sink.Count);
        Assert.Equal("mqtt.publish", sink.Last!.Type);
        Assert.True(perPublish <= eventSize, $"{perPublish} bytes per PUBLISH, the event alone is {eventSize}");
    }

    private static void Feed(IStreamSession session, byte[] data, int chunk, in PacketMeta meta)
    {
        for (var i = 0; i < data.Length; i += chunk)
        {
            session.OnData(FlowDirection.ToServer, data.AsSpan(i, Math.Min(chunk, data.Length - i)), meta);
        }
    }

    private static long MeasureEventSize()
    {
        var flow = new MqttHarness().Flow;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = new MqttPublishEvent { Flow = flow, TimestampMicros = 1, PacketNumber = 1, Topic = "t" };
        var size = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(e);
        return size;
    }

    private static IStreamSession CreateSession(CountingEventSink sink)
    {
        var h = new MqttHarness();
        var services = new ProtocolServices
        {
            Events = sink,
            Diagnostics = new RecordingDiagnosticSink(),
            Stats = new CaptureStats(),
            SecretHasher = new SecretHasher(new byte[32]),
            Options = new CaptureOptions(),
        };
        return new MqttProtocol().CreateSession(h.Flow, services, midStream: false);
    }
}
