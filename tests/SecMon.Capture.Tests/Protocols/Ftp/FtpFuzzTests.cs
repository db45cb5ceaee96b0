using System.Text;
using SecMon.Capture.Protocols.Ftp;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Ftp;

/// <summary>
/// Mutations of a real conversation (the lines of Samples/ftp-anonymous.pcap and ftp-login-failed.pcap): truncation at
/// every length, every single-bit flip of each line, numbers at their extremes in PASV/EPSV/PORT/EPRT, lines at and over
/// the length limit. Nothing may throw; events stay bounded by the lines fed (at most two per line, plus the commands
/// still waiting at close); nothing is buffered past the line limit.
/// </summary>
public sealed class FtpFuzzTests
{
    private static readonly (FlowDirection Direction, string Line)[] Conversation =
    [
        (FlowDirection.ToClient, "220 Welcome to the sensor FTP service.\r\n"),
        (FlowDirection.ToServer, "USER admin\r\n"),
        (FlowDirection.ToClient, "331 Please specify the password.\r\n"),
        (FlowDirection.ToServer, "PASS S3cret-pass\r\n"),
        (FlowDirection.ToClient, "230 Login successful.\r\n"),
        (FlowDirection.ToServer, "EPSV\r\n"),
        (FlowDirection.ToClient, "229 Entering Extended Passive Mode (|||30082|)\r\n"),
        (FlowDirection.ToServer, "PASV\r\n"),
        (FlowDirection.ToClient, "227 Entering Passive Mode (127,0,0,1,117,67).\r\n"),
        (FlowDirection.ToServer, "EPRT |1|127.0.0.1|31000|\r\n"),
        (FlowDirection.ToClient, "200 EPRT command successful. Consider using EPSV.\r\n"),
        (FlowDirection.ToServer, "PORT 127,0,0,1,121,24\r\n"),
        (FlowDirection.ToClient, "200 PORT command successful. Consider using PASV.\r\n"),
        (FlowDirection.ToServer, "RETR readme.txt\r\n"),
        (FlowDirection.ToClient, "150 Opening BINARY mode data connection for readme.txt (22 bytes).\r\n"),
        (FlowDirection.ToClient, "226 Transfer complete.\r\n"),
        (FlowDirection.ToServer, "FEAT\r\n"),
        (FlowDirection.ToClient, "211-Features:\r\n EPRT\r\n EPSV\r\n211 End\r\n"),
        (FlowDirection.ToServer, "AUTH TLS\r\n"),
        (FlowDirection.ToClient, "234 Proceed with negotiation.\r\n"),
    ];

    [Fact]
    public void Session_TruncatedConversations_NeverThrowAndStayBounded()
    {
        var client = Encoding.Latin1.GetBytes(string.Concat(Conversation.Where(c => c.Direction == FlowDirection.ToServer).Select(c => c.Line)));
        var server = Encoding.Latin1.GetBytes(string.Concat(Conversation.Where(c => c.Direction == FlowDirection.ToClient).Select(c => c.Line)));
        for (var n = 0; n <= Math.Max(client.Length, server.Length); n++)
        {
            var h = new FtpHarness();
            h.Feed(FlowDirection.ToServer, client[..Math.Min(n, client.Length)], 7);
            h.Feed(FlowDirection.ToClient, server[..Math.Min(n, server.Length)], 11);
            h.Close();
            AssertBounded(h, client.Length + server.Length);
        }
    }

    [Fact]
    public void Session_BitFlips_NeverThrowAndStayBounded()
    {
        foreach (var (direction, line) in Conversation)
        {
            var bytes = Encoding.Latin1.GetBytes(line);
            for (var bit = 0; bit < bytes.Length * 8; bit++)
            {
                var mutated = (byte[])bytes.Clone();
                mutated[bit / 8] ^= (byte)(1 << (bit % 8));
                var h = new FtpHarness();
                foreach (var (d, l) in Conversation)
                {
                    var b = ReferenceEquals(l, line) ? mutated : Encoding.Latin1.GetBytes(l);
                    h.Feed(d, b, 3);
                }

                h.Close();
                AssertBounded(h, Conversation.Sum(c => c.Line.Length));
            }
        }
    }

    [Theory]
    [InlineData("PASV", "227 Entering Passive Mode (4294967296,0,0,1,99999999999,67).")]
    [InlineData("PASV", "227 Entering Passive Mode (,,,,,).")]
    [InlineData("PASV", "227 (255,255,255,255,255,255)")]
    [InlineData("EPSV", "229 (|||99999999999999999999|)")]
    [InlineData("EPSV", "229 (")]
    [InlineData("EPSV", "229 (|||")]
    [InlineData("EPRT |2|" + "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff|1|", "200 ok")]
    [InlineData("EPRT |||||", "200 ok")]
    [InlineData("EPRT |", "200 ok")]
    [InlineData("PORT 0,0,0,0,0,0", "200 ok")]
    [InlineData("PORT 255,255,255,255,255,255", "200 ok")]
    public void Session_ExtremeEndpoints_ParsedOrIgnored(string command, string reply)
    {
        var h = new FtpHarness();
        h.Client(command + "\r\n");
        h.Server(reply + "\r\n");

        var c = Assert.Single(h.Commands);
        Assert.True(c.DataPort is null or (> 0 and <= 65535));
        Assert.Empty(h.Malformed);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(4096)]
    [InlineData(100_000)]
    public void Session_LinesAroundTheLimit_TooLargeOrRead(int length)
    {
        var h = new FtpHarness(new FtpOptions { MaxLineBytes = 64 });
        var line = "RETR " + new string('a', Math.Max(0, length - 7)) + "\r\n"; // 'length' bytes with CRLF
        h.Client(line, 13);
        h.Client("NOOP\r\n");
        h.Server("550 no\r\n200 ok\r\n");

        Assert.Equal(length - 1 > 64 ? 1 : 0, h.Malformed.Count);
        Assert.Equal("NOOP", h.Commands[^1].Command);
        Assert.True(h.Session.MaxBufferedBytes(FlowDirection.ToServer) <= 64);
    }

    private static void AssertBounded(FtpHarness h, int bytes)
    {
        var lines = bytes; // no more events than bytes fed (each event needs at least one line, each line at least one byte)
        Assert.True(h.Events.Events.Count <= (2 * lines) + 16, $"{h.Events.Events.Count} events");
        Assert.True(h.Session.MaxBufferedBytes(FlowDirection.ToServer) <= 4096);
        Assert.True(h.Session.MaxBufferedBytes(FlowDirection.ToClient) <= 4096);
    }
}
