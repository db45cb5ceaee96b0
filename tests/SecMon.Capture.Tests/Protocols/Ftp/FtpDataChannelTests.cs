using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Ftp;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Ftp;

/// <summary>Data connections announced by a control session: claimed before any probe, reported as ftp.data, bounded
/// and expiring.</summary>
public sealed class FtpDataChannelTests
{
    private static FlowContext DataFlow(string clientIp, int clientPort, string serverIp, int serverPort, long startMicros = 2_000_000, bool openerSeen = true)
    {
        var flow = new FlowContext
        {
            FlowId = "aabbccddeeff0011",
            CommunityId = "1:data",
            Transport = "tcp",
            SourceIp = clientIp,
            SourcePort = clientPort,
            DestinationIp = serverIp,
            DestinationPort = serverPort,
            Direction = FlowDirection.ToServer,
            OpenerSeen = openerSeen,
            StartMicros = startMicros,
        };
        flow.CreateReverse();
        return flow;
    }

    [Fact]
    public void Dispatcher_PassiveDataFlowLookingLikeHttp_ClaimedAsFtpDataNeverHttp()
    {
        var h = new FtpHarness();
        h.Login("alice", "pw", 230);
        h.Client("PASV\r\n");
        h.Server("227 Entering Passive Mode (127,0,0,2,117,67).\r\n");
        h.Client("RETR page.html\r\n");

        var data = DataFlow("127.0.0.1", 50001, "127.0.0.2", 30019);
        var dispatcher = new StreamDispatcher(data, h.Services, ProtocolCatalogue.Shipped.With(h.Protocol).Stream);
        dispatcher.OnData(FlowDirection.ToServer, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8, TestFlows.Meta(90));
        dispatcher.OnData(FlowDirection.ToClient, "HTTP/1.1 200 OK\r\n\r\n"u8, TestFlows.Meta(91));
        dispatcher.OnClose(TestFlows.Meta(92));

        Assert.Same(h.Protocol, dispatcher.Protocol);
        Assert.DoesNotContain(h.Events.Events, e => e.Type.StartsWith("http.", StringComparison.Ordinal));
        var e = Assert.Single(h.Events.Events.OfType<FtpDataEvent>());
        Assert.Equal((h.Flow.FlowId, "passive", "PASV", "RETR", "page.html", "alice"), (e.ControlFlowId, e.Mode, e.AnnouncedBy, e.Command, e.Argument, e.User));
        Assert.Equal((27L, 19L), (e.BytesToServer, e.BytesToClient));
        Assert.Same(data, e.Flow);
        Assert.Equal(0, h.Protocol.Channels(h.Services).Count); // claimed once
    }

    [Fact]
    public void Claim_ActiveEndpointWhoseOpeningWasMissed_MatchedByEitherEnd()
    {
        var h = new FtpHarness();
        h.Client("PORT 127,0,0,1,121,24\r\n");
        h.Server("200 PORT command successful.\r\n");

        // The sensor missed the SYN and took the client's port 31000 for the server side's.
        var data = DataFlow("127.0.0.1", 31000, "127.0.0.2", 20, openerSeen: false);
        var session = h.Protocol.ClaimAnnounced(data, h.Services);

        Assert.IsType<FtpDataSession>(session);
    }

    [Fact]
    public void Claim_UnannouncedOrOtherRun_Null()
    {
        var h = new FtpHarness();
        h.Client("EPSV\r\n");
        h.Server("229 Entering Extended Passive Mode (|||30082|)\r\n");
        var other = TestFlows.Services(new RecordingEventSink());

        Assert.Null(h.Protocol.ClaimAnnounced(DataFlow("127.0.0.1", 50001, "127.0.0.2", 30083), h.Services));
        Assert.Null(h.Protocol.ClaimAnnounced(DataFlow("127.0.0.1", 50001, "127.0.0.2", 30082), other));
        Assert.NotNull(h.Protocol.ClaimAnnounced(DataFlow("127.0.0.1", 50001, "127.0.0.2", 30082), h.Services));
        Assert.Null(h.Protocol.ClaimAnnounced(DataFlow("127.0.0.1", 50002, "127.0.0.2", 30082), h.Services));
    }

    [Fact]
    public void Claim_AfterTimeout_ExpiredNotClaimed()
    {
        var protocol = new FtpProtocol(new FtpOptions { DataChannelTimeout = TimeSpan.FromSeconds(60) });
        var h = new FtpHarness(protocol: protocol);
        h.Client("EPSV\r\n");
        h.Server("229 Entering Extended Passive Mode (|||30082|)\r\n"); // announced at 1 s + packet

        Assert.Null(protocol.ClaimAnnounced(DataFlow("127.0.0.1", 50001, "127.0.0.2", 30082, startMicros: 62_000_000), h.Services));
        Assert.Equal(1, protocol.Channels(h.Services).Expired);
    }

    [Fact]
    public void Announce_PastCapacity_OldestForgotten()
    {
        var table = new FtpDataChannels(capacity: 3, TimeSpan.FromMinutes(2));
        for (var port = 1; port <= 10; port++)
        {
            table.Announce("192.0.2.1", port, new AnnouncedChannel { ControlFlowId = "c", Mode = "passive", AnnouncedBy = "PASV", AnnouncedMicros = port });
        }

        Assert.Equal(3, table.Count);
        Assert.Equal(7, table.Forgotten);
        Assert.Null(table.Claim(DataFlow("192.0.2.9", 5, "192.0.2.1", 1, startMicros: 20)));
        Assert.NotNull(table.Claim(DataFlow("192.0.2.9", 5, "192.0.2.1", 10, startMicros: 20)));
    }

    [Fact]
    public void Announce_PassiveBehindNat_BothAddressesClaimable()
    {
        var h = new FtpHarness();
        h.Client("PASV\r\n");
        h.Server("227 Entering Passive Mode (10,0,0,5,117,67).\r\n");

        Assert.Equal(2, h.Protocol.Channels(h.Services).Count);
        Assert.NotNull(h.Protocol.ClaimAnnounced(DataFlow("127.0.0.1", 50001, "127.0.0.2", 30019), h.Services));
    }

    [Fact]
    public void DataSession_Gap_CountedAsBytes()
    {
        var h = new FtpHarness();
        h.Client("EPSV\r\n");
        h.Server("229 Entering Extended Passive Mode (|||30082|)\r\n");
        h.Client("STOR up.bin\r\n");
        var session = h.Protocol.ClaimAnnounced(DataFlow("127.0.0.1", 50001, "127.0.0.2", 30082), h.Services)!;
        session.OnData(FlowDirection.ToServer, Encoding.ASCII.GetBytes(new string('x', 1000)), TestFlows.Meta(10));
        session.OnGap(FlowDirection.ToServer, 500, TestFlows.Meta(11));
        session.OnClose(TestFlows.Meta(12));
        session.OnClose(TestFlows.Meta(13));

        var e = Assert.Single(h.Events.Events.OfType<FtpDataEvent>());
        Assert.Equal(("STOR", 1500L, 0L), (e.Command, e.BytesToServer, e.BytesToClient));
    }
}
