using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols;

public sealed class StreamDispatcherTests
{
    [Fact]
    public void OnData_FirstSegmentClaimed_SessionGetsEveryByteWithoutMidStream()
    {
        var (dispatcher, protocol) = Create(serverPort: 5555);

        dispatcher.OnData(FlowDirection.ToServer, Bytes("AB hello"), TestFlows.Meta(1));
        dispatcher.OnData(FlowDirection.ToClient, Bytes("reply"), TestFlows.Meta(2));

        var session = Assert.Single(protocol.Sessions);
        Assert.False(session.MidStream);
        Assert.Equal("AB hello", session.Text(FlowDirection.ToServer));
        Assert.Equal("reply", session.Text(FlowDirection.ToClient));
    }

    [Fact]
    public void OnData_OneByteSegments_ProbeWaitsThenReplaysExactly()
    {
        var (dispatcher, protocol) = Create(serverPort: 5555);
        var n = 0;
        foreach (var b in Bytes("AB payload"))
        {
            dispatcher.OnData(FlowDirection.ToServer, [b], TestFlows.Meta(++n));
        }

        Assert.Equal("AB payload", Assert.Single(protocol.Sessions).Text(FlowDirection.ToServer));
    }

    [Fact]
    public void OnData_ServerSpokeFirst_ReplayKeepsBothDirectionsComplete()
    {
        var (dispatcher, protocol) = Create(serverPort: 5555);

        dispatcher.OnData(FlowDirection.ToClient, Bytes("A"), TestFlows.Meta(1)); // need more
        dispatcher.OnData(FlowDirection.ToServer, Bytes("AB go"), TestFlows.Meta(2));
        dispatcher.OnData(FlowDirection.ToClient, Bytes("ck"), TestFlows.Meta(3));

        var session = Assert.Single(protocol.Sessions);
        Assert.Equal("AB go", session.Text(FlowDirection.ToServer));
        Assert.Equal("Ack", session.Text(FlowDirection.ToClient));
    }

    [Fact]
    public void OnData_NotClaimedButPortHint_StartsMidStreamSession()
    {
        var (dispatcher, protocol) = Create(serverPort: 9999);

        dispatcher.OnData(FlowDirection.ToServer, Bytes("zz middle of a stream"), TestFlows.Meta(1));

        var session = Assert.Single(protocol.Sessions);
        Assert.True(session.MidStream);
        Assert.Equal("zz middle of a stream", session.Text(FlowDirection.ToServer));
    }

    [Fact]
    public void OnData_NotClaimedNoHint_StaysUnclassified()
    {
        var (dispatcher, protocol) = Create(serverPort: 5555);

        dispatcher.OnData(FlowDirection.ToServer, Bytes("zz other protocol"), TestFlows.Meta(1));
        dispatcher.OnData(FlowDirection.ToServer, Bytes("AB too late"), TestFlows.Meta(2));

        Assert.Empty(protocol.Sessions);
        Assert.Null(dispatcher.Protocol);
    }

    [Fact]
    public void OnGap_BeforeClassification_FallsBackToPortHintAndForwardsGap()
    {
        var (dispatcher, protocol) = Create(serverPort: 9999);

        dispatcher.OnData(FlowDirection.ToServer, Bytes("A"), TestFlows.Meta(1));
        dispatcher.OnGap(FlowDirection.ToServer, 100, TestFlows.Meta(2));
        dispatcher.OnData(FlowDirection.ToServer, Bytes("after"), TestFlows.Meta(3));

        var session = Assert.Single(protocol.Sessions);
        Assert.True(session.MidStream);
        Assert.Equal("A<gap 100>after", session.Text(FlowDirection.ToServer));
    }

    [Fact]
    public void OnData_ProbeNeverDecides_BytesPastProbeLimitAreNotLost()
    {
        var (dispatcher, protocol) = Create(serverPort: 9999, alwaysNeedMore: true);
        var big = new string('x', 300);

        dispatcher.OnData(FlowDirection.ToServer, Bytes("A"), TestFlows.Meta(1));
        dispatcher.OnData(FlowDirection.ToServer, Bytes(big), TestFlows.Meta(2));

        Assert.Equal("A" + big, Assert.Single(protocol.Sessions).Text(FlowDirection.ToServer));
    }

    [Fact]
    public void OnClose_ShortStreamUndecided_GetsPortHintChanceThenCloses()
    {
        var (dispatcher, protocol) = Create(serverPort: 9999);

        dispatcher.OnData(FlowDirection.ToServer, Bytes("A"), TestFlows.Meta(1));
        dispatcher.OnClose(TestFlows.Meta(2));

        var session = Assert.Single(protocol.Sessions);
        Assert.Equal("A", session.Text(FlowDirection.ToServer));
        Assert.True(session.Closed);
    }

    private static byte[] Bytes(string s) => Encoding.ASCII.GetBytes(s);

    private static (StreamDispatcher Dispatcher, FakeProtocol Protocol) Create(int serverPort, bool alwaysNeedMore = false)
    {
        var protocol = new FakeProtocol(alwaysNeedMore);
        var dispatcher = new StreamDispatcher(TestFlows.Flow(serverPort), TestFlows.Services(new RecordingEventSink()), [protocol]);
        return (dispatcher, protocol);
    }

    // Claims streams whose client side starts with "AB"; port hint 9999.
    private sealed class FakeProtocol(bool alwaysNeedMore) : IStreamProtocol
    {
        public List<FakeSession> Sessions { get; } = [];

        public string Name => "fake";

        public IReadOnlyList<int> PortHints { get; } = [9999];

        public IReadOnlyList<EventSchema> EventSchemas { get; } = [];

        public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction)
        {
            if (alwaysNeedMore || data.Length < 2)
            {
                return ProbeResult.NeedMoreData;
            }

            return direction == FlowDirection.ToServer && data[0] == 'A' && data[1] == 'B' ? ProbeResult.Mine : ProbeResult.NotMine;
        }

        public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream)
        {
            var s = new FakeSession(midStream);
            Sessions.Add(s);
            return s;
        }
    }

    private sealed class FakeSession(bool midStream) : IStreamSession
    {
        private readonly StringBuilder _toServer = new();
        private readonly StringBuilder _toClient = new();

        public bool MidStream => midStream;

        public bool Closed { get; private set; }

        public string Text(FlowDirection d) => (d == FlowDirection.ToServer ? _toServer : _toClient).ToString();

        public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta) =>
            (direction == FlowDirection.ToServer ? _toServer : _toClient).Append(Encoding.ASCII.GetString(data));

        public void OnGap(FlowDirection direction, long length, in PacketMeta meta) =>
            (direction == FlowDirection.ToServer ? _toServer : _toClient).Append($"<gap {length}>");

        public void OnClose(in PacketMeta meta) => Closed = true;
    }
}
