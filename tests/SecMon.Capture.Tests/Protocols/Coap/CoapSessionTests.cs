using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Coap;
using SecMon.Core.Flows;
using static SecMon.Capture.Tests.Protocols.Coap.CoapTestKit;

namespace SecMon.Capture.Tests.Protocols.Coap;

public sealed class CoapSessionTests
{
    private const int Con = 0, Non = 1, Ack = 2, Rst = 3;
    private static readonly byte[] T1 = [0x01], T2 = [0xBE, 0xEF];

    [Fact]
    public void OnDatagram_PiggybackedResponse_JoinedToTheRequest()
    {
        var h = new Harness()
            .ToServer(Message(Con, 1, 100, T1, [(3, "lamp.local"u8.ToArray()), Path("sensors"), Path("4711"), Path("temp"), Query("unit=C"), Query("n=1"), UInt(17, 50)]))
            .ToClient(Message(Ack, 0x45, 100, T1, [UInt(12, 50)], "{}"u8.ToArray()));

        Assert.Equal(["coap.request", "coap.response"], h.Events.Events.Select(e => e.Type));
        var request = h.Events.Events[0];
        Assert.Equal("GET", Field(request, "coap.method"));
        Assert.Equal("0.01", Field(request, "coap.code"));
        Assert.Equal("CON", Field(request, "coap.type"));
        Assert.Equal("100", Field(request, "coap.message_id"));
        Assert.Equal("01", Field(request, "coap.token"));
        Assert.Equal("lamp.local", Field(request, "url.domain"));
        Assert.Equal("/sensors/4711/temp", Field(request, "url.path"));
        Assert.Equal("unit=C&n=1", Field(request, "url.query"));
        Assert.Equal("50", Field(request, "coap.accept"));
        Assert.Equal(FlowDirection.ToServer, request.Flow.Direction);
        var response = h.Events.Events[1];
        Assert.Equal("2.05", Field(response, "coap.code"));
        Assert.Equal("Content", Field(response, "coap.status"));
        Assert.Equal("2", Field(response, "coap.code_class"));
        Assert.Equal("true", Field(response, "coap.piggybacked"));
        Assert.Equal("GET", Field(response, "coap.method"));
        Assert.Equal("/sensors/4711/temp", Field(response, "url.path"));
        Assert.Equal("50", Field(response, "coap.content_format"));
        Assert.Equal("2", Field(response, "coap.payload.size"));
        Assert.Equal("1", Field(response, "coap.response_time_us")); // TestFlows.Meta: one microsecond per packet
        Assert.Equal(FlowDirection.ToClient, response.Flow.Direction);

        h.Close();
        Assert.Equal(2, h.Events.Events.Count); // answered: nothing left at the end
    }

    [Fact]
    public void OnDatagram_SeparateResponse_EmptyAckThenConJoinedByToken()
    {
        var h = new Harness()
            .ToServer(Message(Con, 1, 523, T2, [Path("async")]))
            .ToClient(Message(Ack, 0, 523))
            .ToClient(Message(Con, 0x45, 33602, T2, null, "done"u8.ToArray()))
            .ToServer(Message(Ack, 0, 33602))
            .Close();

        Assert.Equal(["coap.request", "coap.response"], h.Events.Events.Select(e => e.Type));
        var response = h.Events.Events[1];
        Assert.Equal("false", Field(response, "coap.piggybacked"));
        Assert.Equal("/async", Field(response, "url.path"));
        Assert.Equal("beef", Field(response, "coap.token"));
        Assert.Equal("33602", Field(response, "coap.message_id"));
    }

    [Fact]
    public void OnDatagram_NonRequestNonResponse_JoinedByToken()
    {
        var h = new Harness()
            .ToServer(Message(Non, 2, 7, T1, [Path("cmd")], "on"u8.ToArray()))
            .ToClient(Message(Non, 0x44, 9000, T1))
            .Close();

        var response = Assert.Single(h.Events.Events, e => e.Type == "coap.response");
        Assert.Equal("POST", Field(response, "coap.method"));
        Assert.Equal("Changed", Field(response, "coap.status"));
        Assert.DoesNotContain(h.Events.Events, e => e.Type == "coap.unanswered");
    }

    [Fact]
    public void OnDatagram_Observe_NotificationsJoinedUntilDeregistered_NotUnanswered()
    {
        var h = new Harness()
            .ToServer(Message(Con, 1, 1, T1, [UInt(6, 0), Path("time")]))
            .ToClient(Message(Ack, 0x45, 1, T1, [UInt(6, 2)], "1"u8.ToArray()))
            .ToClient(Message(Con, 0x45, 50, T1, [UInt(6, 3)], "2"u8.ToArray()))
            .ToServer(Message(Ack, 0, 50))
            .ToClient(Message(Con, 0x45, 51, T1, [UInt(6, 4)], "3"u8.ToArray()))
            .ToServer(Message(Ack, 0, 51))
            .ToServer(Message(Non, 1, 2, T1, [UInt(6, 1), Path("time")])) // deregister, same token
            .ToClient(Message(Non, 0x45, 52, T1, null, "4"u8.ToArray()))
            .Close();

        var responses = h.Events.Events.Where(e => e.Type == "coap.response").ToList();
        Assert.Equal(4, responses.Count);
        Assert.All(responses, r => Assert.Equal("/time", Field(r, "url.path")));
        Assert.Equal(["2", "3", "4", "(missing)"], responses.Select(r => Field(r, "coap.observe")));
        Assert.DoesNotContain(h.Events.Events, e => e.Type == "coap.unanswered");
    }

    [Fact]
    public void OnDatagram_ConRetransmitted_OneRequestEventAndTheCountInUnanswered()
    {
        var get = Message(Con, 1, 41461, T1, [Path("lost")]);
        var h = new Harness().ToServer(get).ToServer(get).ToServer(get).Close();

        Assert.Single(h.Events.Events, e => e.Type == "coap.request");
        var unanswered = Assert.Single(h.Events.Events, e => e.Type == "coap.unanswered");
        Assert.Equal("3", Field(unanswered, "coap.transmissions"));
        Assert.Equal("flow_end", Field(unanswered, "coap.unanswered.reason"));
        Assert.Equal("/lost", Field(unanswered, "url.path"));
        Assert.Equal("1", Field(unanswered, "coap.request_sequence"));
        Assert.Equal(4, unanswered.PacketNumber);
        Assert.Equal(FlowDirection.ToServer, unanswered.Flow.Direction);
    }

    [Fact]
    public void OnDatagram_EmptyAckButNoSeparateResponse_UnansweredAndAcknowledged()
    {
        var h = new Harness()
            .ToServer(Message(Con, 4, 5, T1, [Path("x")]))
            .ToClient(Message(Ack, 0, 5))
            .Close();

        var unanswered = Assert.Single(h.Events.Events, e => e.Type == "coap.unanswered");
        Assert.Equal("true", Field(unanswered, "coap.acknowledged"));
        Assert.Equal("DELETE", Field(unanswered, "coap.method"));
    }

    [Fact]
    public void OnDatagram_ResetAnswersTheRequest_ReportedAsItsResponse()
    {
        var h = new Harness()
            .ToServer(Message(Con, 3, 77, T1, [Path("valve")], "1"u8.ToArray()))
            .ToClient(Message(Rst, 0, 77))
            .Close();

        var response = Assert.Single(h.Events.Events, e => e.Type == "coap.response");
        Assert.Equal("RST", Field(response, "coap.type"));
        Assert.Equal("Reset", Field(response, "coap.status"));
        Assert.Equal("PUT", Field(response, "coap.method"));
        Assert.DoesNotContain(h.Events.Events, e => e.Type == "coap.unanswered");
    }

    [Fact]
    public void OnDatagram_ResponseWithoutItsRequest_ReportedWithoutMethodOrPath()
    {
        var h = new Harness().ToClient(Message(Ack, 0x84, 9, T1)).Close();

        var response = Assert.Single(h.Events.Events);
        Assert.Equal("4.04", Field(response, "coap.code"));
        Assert.Equal("Not Found", Field(response, "coap.status"));
        Assert.Equal("(missing)", Field(response, "coap.method"));
        Assert.Equal("(missing)", Field(response, "url.path"));
        Assert.Equal("(missing)", Field(response, "coap.response_time_us"));
    }

    [Fact]
    public void OnDatagram_NoUriPath_PathIsRoot()
    {
        var h = new Harness().ToServer(Message(Con, 1, 1, T1));

        Assert.Equal("/", Field(h.Events.Events[0], "url.path"));
        Assert.Equal("(missing)", Field(h.Events.Events[0], "url.query"));
        Assert.Equal("(missing)", Field(h.Events.Events[0], "url.domain"));
    }

    [Fact]
    public void OnDatagram_SegmentsWithSlashAndControls_PercentEncodedSoThePathSplitsBack()
    {
        var h = new Harness().ToServer(Message(Con, 1, 1, T1, [Path("a/b"), Path("c d\n"), Query("q=1?")]));

        Assert.Equal("/a%2Fb/c%20d%0A", Field(h.Events.Events[0], "url.path"));
        Assert.Equal("q=1%3F", Field(h.Events.Events[0], "url.query"));
    }

    [Fact]
    public void OnDatagram_PathLongerThanTheLimit_CutAtTheLimit()
    {
        var h = new Harness(new CoapOptions { MaxUriChars = 32 })
            .ToServer(Message(Con, 1, 1, T1, [Path(new string('a', 20)), Path(new string('b', 20)), Path(new string('c', 20))]));

        Assert.Equal(32, Field(h.Events.Events[0], "url.path").Length);
    }

    [Fact]
    public void OnDatagram_MorePendingThanTheLimit_OldestReportedEvicted_MemoryBounded()
    {
        var h = new Harness(new CoapOptions { MaxPendingRequestsPerFlow = 4 });
        for (var i = 0; i < 10; i++)
        {
            h.ToServer(Message(Non, 1, (ushort)i, [(byte)i], [Path("p" + i)]));
        }

        var evicted = h.Events.Events.Where(e => e.Type == "coap.unanswered").ToList();
        Assert.Equal(6, evicted.Count);
        Assert.All(evicted, e => Assert.Equal("evicted", Field(e, "coap.unanswered.reason")));
        Assert.Equal("/p0", Field(evicted[0], "url.path"));

        h.Close();
        Assert.Equal(10, h.Events.Events.Count(e => e.Type == "coap.unanswered"));
    }

    [Fact]
    public void OnDatagram_NewRequestOnAnUnansweredToken_OldOneReportedTokenReused()
    {
        var h = new Harness()
            .ToServer(Message(Non, 1, 1, T1, [Path("a")]))
            .ToServer(Message(Non, 1, 2, T1, [Path("b")]))
            .ToClient(Message(Non, 0x45, 3, T1))
            .Close();

        var unanswered = Assert.Single(h.Events.Events, e => e.Type == "coap.unanswered");
        Assert.Equal("/a", Field(unanswered, "url.path"));
        Assert.Equal("token_reused", Field(unanswered, "coap.unanswered.reason"));
        Assert.Equal("/b", Field(h.Events.Events.Single(e => e.Type == "coap.response"), "url.path"));
    }

    [Fact]
    public void OnDatagram_RequestsFromTheServerSide_AnsweredFromTheClientSide()
    {
        // A CoAP server may also be a client (a device posting to its controller over the same addresses and ports).
        var h = new Harness()
            .ToClient(Message(Con, 2, 10, T1, [Path("rd")]))
            .ToServer(Message(Ack, 0x41, 10, T1))
            .Close();

        Assert.Equal(["coap.request", "coap.response"], h.Events.Events.Select(e => e.Type));
        Assert.Equal(FlowDirection.ToClient, h.Events.Events[0].Flow.Direction);
        Assert.Equal("/rd", Field(h.Events.Events[1], "url.path"));
        Assert.Equal("Created", Field(h.Events.Events[1], "coap.status"));
    }

    [Fact]
    public void OnDatagram_Malformed_CountedWithReasonAndLocation_NoEvent()
    {
        var h = new Harness().ToServer(Hex("40010001f0")).ToServer(Hex("49010001"));

        Assert.Empty(h.Events.Events);
        Assert.Equal(2, h.Services.Stats.MalformedMessages);
        Assert.Equal(1, h.Services.Stats.MalformedByReason[("coap", MalformedReason.BadValue)]);
        Assert.Equal(1, h.Services.Stats.MalformedByReason[("coap", MalformedReason.BadLength)]);
        Assert.Contains("option delta", h.Diagnostics.Diagnostics[0].Message, StringComparison.Ordinal);
        Assert.Contains("byte 4 of a 5-byte datagram", h.Diagnostics.Diagnostics[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnDatagram_Block1Put_EachBlockARequestWithItsBlockFields()
    {
        var h = new Harness()
            .ToServer(Message(Con, 3, 1, [1], [Path("fw"), UInt(27, 0x0A)], new byte[64])) // num 0, more, 64
            .ToClient(Message(Ack, 0x5F, 1, [1], [UInt(27, 0x0A)])) // 2.31 Continue
            .ToServer(Message(Con, 3, 2, [2], [Path("fw"), UInt(27, 0x12)], new byte[10])) // num 1, last
            .ToClient(Message(Ack, 0x44, 2, [2]));

        var requests = h.Events.Events.Where(e => e.Type == "coap.request").ToList();
        Assert.Equal(["0", "1"], requests.Select(r => Field(r, "coap.block1.num")));
        Assert.Equal(["true", "false"], requests.Select(r => Field(r, "coap.block1.more")));
        Assert.All(requests, r => Assert.Equal("64", Field(r, "coap.block1.size")));
        Assert.Equal(["Continue", "Changed"], h.Events.Events.Where(e => e.Type == "coap.response").Select(r => Field(r, "coap.status")));
    }

    private static byte[] Hex(string hex) => Mqtt.Hex.Bytes(hex);
}
