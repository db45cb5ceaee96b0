using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Ftp;
using SecMon.Core;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Ftp;

public sealed class FtpSessionTests
{
    private static readonly SecretHasher Hasher = new(new byte[32]);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Session_NamedLoginRefused_LoginFailureWithKeyedHashOnly(int segment)
    {
        var h = new FtpHarness();
        h.Server("220 (vsFTPd 3.0.3)\r\n", segment);
        h.Login("admin", "S3cret-pass", 530, segment);

        var greeting = Assert.Single(h.Replies);
        Assert.Equal((220, "(vsFTPd 3.0.3)"), (greeting.ReplyCode, greeting.Banner));
        var login = Assert.Single(h.Logins);
        Assert.Equal(("admin", "failure", false, 530, true), (login.User, login.Outcome, login.Accepted, login.ReplyCode, login.PasswordPresent));
        Assert.Equal(Hasher.Hash("S3cret-pass"u8), login.PasswordHash);
        Assert.False(login.Anonymous);
        Assert.Equal(FlowDirection.ToServer, login.Flow.Direction);
        var pass = Assert.Single(h.Commands, c => c.Command == "PASS");
        Assert.Null(pass.Argument);
        Assert.Equal(530, pass.ReplyCode);
        var all = string.Join("\n", h.Events.Events.SelectMany(e => e.Schema.Fields.Select(f => f.Read(e).ToString())));
        Assert.DoesNotContain("S3cret", all, StringComparison.Ordinal);
    }

    [Fact]
    public void Session_AnonymousLogin_NoPasswordNoHash()
    {
        var h = new FtpHarness();
        h.Server("220 Welcome\r\n");
        h.Login("anonymous", "guest@example.com", 230);

        var login = Assert.Single(h.Logins);
        Assert.Equal(("anonymous", "success", true, true), (login.User, login.Outcome, login.Accepted, login.Anonymous));
        Assert.Null(login.PasswordPresent);
        Assert.Null(login.PasswordHash);
    }

    [Fact]
    public void Session_UserRefusedAtOnce_LoginFailureWithoutPassword()
    {
        var h = new FtpHarness();
        h.Client("USER root\r\n");
        h.Server("530 This FTP server is anonymous only.\r\n");

        var login = Assert.Single(h.Logins);
        Assert.Equal(("root", "failure", 530), (login.User, login.Outcome, login.ReplyCode));
        Assert.Null(login.PasswordPresent);
    }

    [Fact]
    public void Session_MultiLineReplyAndPreliminary_JoinedToTheirCommands()
    {
        var h = new FtpHarness();
        h.Server("220-Welcome\r\n220-to the\r\n220 server\r\n");
        h.Client("FEAT\r\n");
        h.Server("211-Features:\r\n EPRT\r\n EPSV\r\n 211 not the end: indented\r\n211 End\r\n");
        h.Client("RETR a.bin\r\n");
        h.Server("150 Opening BINARY mode data connection.\r\n", 7);
        h.Server("226 Transfer complete.\r\n", 5);

        Assert.Equal("Welcome", Assert.Single(h.Replies).Banner);
        Assert.Equal(
            new (string, string?, int?, int?, string?)[] { ("FEAT", null, 211, null, "Features:"), ("RETR", "a.bin", 226, 150, "Transfer complete.") },
            h.Commands.Select(c => (c.Command, c.Argument, c.ReplyCode, c.PreliminaryCode, c.ReplyText)));
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_LowerCaseVerbAndTelnetSynch_Normalised()
    {
        var h = new FtpHarness();
        h.Client("user bob\r\n");
        h.Server("331 ok\r\n");
        h.Feed(FlowDirection.ToServer, [0xFF, 0xF4, 0xFF, 0xF2, .. "ABOR\r\n"u8]);
        h.Server("226 aborted\r\n");

        Assert.Equal(["USER", "ABOR"], h.Commands.Select(c => c.Command));
        Assert.Equal("bob", h.Commands[0].User);
    }

    [Fact]
    public void Session_PipelinedCommands_RepliesJoinedInOrder()
    {
        var h = new FtpHarness();
        h.Client("TYPE I\r\nSIZE a\r\nMDTM a\r\n");
        h.Server("200 Switching to Binary mode.\r\n213 22\r\n550 Could not get file modification time.\r\n");

        Assert.Equal([("TYPE", 200), ("SIZE", 213), ("MDTM", 550)], h.Commands.Select(c => (c.Command, c.ReplyCode!.Value)));
    }

    [Fact]
    public void Session_CloseWithCommandsWaiting_ReportedWithoutReply()
    {
        var h = new FtpHarness();
        h.Client("NOOP\r\nQUIT\r\n");
        h.Server("200 NOOP ok.\r\n");
        h.Close();

        Assert.Equal(new (string, int?)[] { ("NOOP", 200), ("QUIT", null) }, h.Commands.Select(c => (c.Command, c.ReplyCode)));
    }

    [Fact]
    public void Session_AuthTlsAccepted_EncryptedAndHandedToTls()
    {
        var h = new FtpHarness();
        h.Server("220 ready\r\n");
        h.Client("AUTH TLS\r\n");
        h.Server("234 Proceed with negotiation.\r\n");
        // A TLS 1.2 ClientHello record header and a few bytes: FTP must not read them as a command.
        h.Feed(FlowDirection.ToServer, [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00, (byte)'\n', 0x41]);
        h.Client("USER admin\r\nPASS secret\r\n");

        var auth = Assert.Single(h.Commands);
        Assert.Equal(("AUTH", "TLS", 234, true), (auth.Command, auth.Argument, auth.ReplyCode, auth.Encrypted));
        Assert.True(h.Session.Encrypted);
        Assert.Empty(h.Logins);
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_AuthRefused_GoesOnInClear()
    {
        var h = new FtpHarness();
        h.Client("AUTH TLS\r\n");
        h.Server("530 Please login with USER and PASS.\r\n");
        h.Login("admin", "x", 230);

        Assert.False(h.Session.Encrypted);
        Assert.Null(h.Commands[0].Encrypted);
        Assert.Equal("success", Assert.Single(h.Logins).Outcome);
    }

    [Theory]
    [InlineData("PASV", "227 Entering Passive Mode (127,0,0,2,117,67).", "127.0.0.2", 30019)]
    [InlineData("PASV", "227 =127,0,0,2,4,1", "127.0.0.2", 1025)]
    [InlineData("EPSV", "229 Entering Extended Passive Mode (|||30082|)", "127.0.0.2", 30082)]
    [InlineData("PORT 192,0,2,10,121,24", "200 PORT command successful.", "192.0.2.10", 31000)]
    [InlineData("EPRT |1|192.0.2.10|31000|", "200 EPRT command successful.", "192.0.2.10", 31000)]
    [InlineData("EPRT |2|2001:DB8::1|31000|", "200 EPRT command successful.", "2001:db8::1", 31000)]
    public void Session_DataChannelAnnounced_EndpointOnTheCommand(string command, string reply, string ip, int port)
    {
        var h = new FtpHarness(flow: TestFlows.Flow(serverPort: 21));
        h.Client(command + "\r\n");
        h.Server(reply + "\r\n");

        var c = Assert.Single(h.Commands);
        Assert.Equal((ip, (int?)port), (c.DataIp, c.DataPort));
        Assert.Equal(1, h.Protocol.Channels(h.Services).Count);
    }

    [Theory]
    [InlineData("PASV", "227 Entering Passive Mode (192,0,2,1,256,67).")]
    [InlineData("PASV", "227 Entering Passive Mode (192,0,2,1,0,0).")]
    [InlineData("PASV", "500 no")]
    [InlineData("EPSV", "229 Entering Extended Passive Mode (|||0|)")]
    [InlineData("EPSV", "229 Entering Extended Passive Mode (|||70000|)")]
    [InlineData("PORT 192,0,2,10,121", "200 ok")]
    [InlineData("PORT 192,0,2,10,121,24", "500 Illegal PORT command.")]
    [InlineData("EPRT |1|2001:db8::1|31000|", "200 ok")]
    [InlineData("EPRT |3|192.0.2.10|31000|", "200 ok")]
    public void Session_DataChannelBadOrRefused_NothingAnnounced(string command, string reply)
    {
        var h = new FtpHarness();
        h.Client(command + "\r\n");
        h.Server(reply + "\r\n");

        var c = Assert.Single(h.Commands);
        Assert.Null(c.DataPort);
        Assert.Equal(0, h.Protocol.Channels(h.Services).Count);
    }

    [Fact]
    public void Session_BadLines_MalformedCountedThenDirectionGivenUp()
    {
        var h = new FtpHarness(new FtpOptions { MaxMalformedInARow = 3 });
        h.Client("12345 x\r\nUSER alice\r\n");
        h.Server("hello\r\n331 ok\r\n");
        Assert.Equal(2, h.Malformed.Count);
        Assert.Equal("USER", Assert.Single(h.Commands).Command);

        h.Client("@@\r\n##\r\n$$\r\nPASS x\r\n");
        Assert.Equal(5, h.Malformed.Count);
        Assert.Single(h.Commands); // the client direction is no longer read
        Assert.Equal(5, h.Diagnostics.Diagnostics.Count(r => r.Kind == DiagnosticKind.MalformedProtocol && r.Message.Contains("ftp:", StringComparison.Ordinal) && !r.Message.Contains("no longer", StringComparison.Ordinal)));
    }

    [Fact]
    public void Session_OverlongLine_TooLargeAndNotBuffered()
    {
        var h = new FtpHarness(new FtpOptions { MaxLineBytes = 64 });
        h.Client("RETR " + new string('a', 5000) + "\r\nNOOP\r\n", 100);
        h.Server("200 ok\r\n");

        var m = Assert.Single(h.Malformed);
        Assert.Contains("longer than 64 bytes", m.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("NOOP", Assert.Single(h.Commands).Command);
        Assert.True(h.Session.MaxBufferedBytes(FlowDirection.ToServer) <= 64);
    }

    [Fact]
    public void Session_PendingLimit_OldestReportedUnanswered()
    {
        var h = new FtpHarness(new FtpOptions { MaxPendingCommands = 2 });
        h.Client("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n");

        Assert.Equal(2, h.Commands.Count);
        Assert.All(h.Commands, c => Assert.Null(c.ReplyCode));
        Assert.Equal(2, h.Session.PendingCommands);
    }

    [Fact]
    public void Session_GapOnClientSide_WaitingCommandsFlushedNextLinesRead()
    {
        var h = new FtpHarness();
        h.Client("NOOP\r\nRETR par");
        h.Session.OnGap(FlowDirection.ToServer, 100, TestFlows.Meta(50));
        h.Client("tial\r\nSTAT\r\n");
        h.Server("211 status\r\n");

        Assert.Equal(new (string, int?)[] { ("NOOP", null), ("STAT", 211) }, h.Commands.Select(c => (c.Command, c.ReplyCode)));
        Assert.Empty(h.Malformed);
        Assert.Contains(h.Diagnostics.Diagnostics, r => r.Kind == DiagnosticKind.ReassemblyGap);
    }

    [Fact]
    public void Session_MidStream_RepliesWithoutCommandsAreNotGreetings()
    {
        var h = new FtpHarness(midStream: true);
        h.Server("226 Transfer complete.\r\n");

        var r = Assert.Single(h.Replies);
        Assert.Equal(226, r.ReplyCode);
        Assert.Null(r.Banner);
    }

    [Fact]
    public void Session_ReinAfterLogin_UserForgotten()
    {
        var h = new FtpHarness();
        h.Login("alice", "pw", 230);
        h.Client("REIN\r\nNOOP\r\n");
        h.Server("220 ready\r\n200 ok\r\n");

        Assert.Null(h.Commands[^1].User);
    }

    [Theory]
    [InlineData("220 (vsFTPd 3.0.3)\r\n", FlowDirection.ToClient, "Mine")]
    [InlineData("220-FileZilla Server\r\n", FlowDirection.ToClient, "Mine")]
    [InlineData("120 ready in 5 minutes\r\n", FlowDirection.ToClient, "Mine")]
    [InlineData("220 mail.example.com ESMTP Postfix\r\n", FlowDirection.ToClient, "NotMine")]
    [InlineData("220 ready", FlowDirection.ToClient, "NeedMoreData")]
    [InlineData("22", FlowDirection.ToClient, "NeedMoreData")]
    [InlineData("221 bye\r\n", FlowDirection.ToClient, "NotMine")]
    [InlineData("HTTP/1.1 200 OK\r\n", FlowDirection.ToClient, "NotMine")]
    [InlineData("220\u0001\r\n", FlowDirection.ToClient, "NotMine")]
    [InlineData("USER anonymous\r\n", FlowDirection.ToServer, "Mine")]
    [InlineData("user admin\r\n", FlowDirection.ToServer, "Mine")]
    [InlineData("AUTH TLS\r\n", FlowDirection.ToServer, "Mine")]
    [InlineData("AUTH PLAIN dGVzdA==\r\n", FlowDirection.ToServer, "NotMine")]
    [InlineData("USER a b c\r\n", FlowDirection.ToServer, "NotMine")]
    [InlineData("USE", FlowDirection.ToServer, "NeedMoreData")]
    [InlineData("GET / HTTP/1.1\r\n", FlowDirection.ToServer, "NotMine")]
    public void Probe_FirstBytes_Verdict(string text, FlowDirection direction, string expected)
    {
        Assert.Equal(Enum.Parse<ProbeResult>(expected), new FtpProtocol().Probe(System.Text.Encoding.Latin1.GetBytes(text), direction));
    }
}
