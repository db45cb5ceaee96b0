using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Telnet;
using SecMon.Capture.Tests.Protocols.Mqtt;
using SecMon.Core.Devices;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Telnet;

public sealed class TelnetSessionTests
{
    // inetutils-telnetd's opening: WILL AUTHENTICATION, WILL ENCRYPTION, DO TTYPE, DO TSPEED, DO XDISPLOC, DO NEW-ENVIRON, DO ENVIRON.
    private const string TelnetdOpening = "fffb25fffb26fffd18fffd20fffd23fffd27fffd24";

    [Theory]
    [InlineData(TelnetdOpening, "Mine")]
    [InlineData("fffb01fffb03", "Mine")]
    [InlineData("fffd18", "Mine")]
    [InlineData("fffa1801fff0", "Mine")] // SB TTYPE SEND first
    [InlineData("fffb0141", "Mine")] // a negotiation then data
    [InlineData("ff", "NeedMoreData")]
    [InlineData("fffb", "NeedMoreData")]
    [InlineData("fffa18", "NeedMoreData")]
    [InlineData("fffb63", "NotMine")] // option 99 is unassigned
    [InlineData("ff00", "NotMine")]
    [InlineData("ff41", "NotMine")]
    [InlineData("474554202f20485454502f312e310d0a", "NotMine")] // GET / HTTP/1.1
    [InlineData("6c6f67696e3a20", "NotMine")] // a bare "login: " banner: the port hint decides
    [InlineData("", "NeedMoreData")]
    public void Probe_FirstBytes_Verdict(string hex, string expected)
    {
        Assert.Equal(Enum.Parse<ProbeResult>(expected), TelnetProtocol.ProbeBytes(TelnetHarness.Bytes(hex)));
    }

    [Fact]
    public void Login_LineModeSuccess_UserPasswordHashAndSuccess()
    {
        var h = new TelnetHarness();
        h.Server("\r\nBusyBox v1.36\r\ncamera login: ");
        h.Client("admin\r\n");
        h.Server("admin\r\nPassword: ");
        h.Client("S3cret\r\0");
        h.Server("\r\n\r\nBusyBox v1.36 built-in shell (ash)\r\n# ");
        h.Close();

        var login = Assert.Single(h.Logins);
        EventText.AssertFields(login, $"telnet.username=admin;telnet.password.present=true;telnet.password.hash={h.Hash("S3cret")};telnet.password.echoed=false;telnet.login.outcome=success;telnet.login.success=true;telnet.login.attempt=1");
        Assert.Equal(FlowDirection.ToServer, login.Flow.Direction);
        Assert.Equal(5, login.PacketNumber); // the shell prompt's packet
        EventText.AssertFields(h.SessionEvent, "telnet.username=admin;telnet.login.attempts=1;telnet.login.failures=0;telnet.login.outcome=success");
        Assert.DoesNotContain(h.Events, e => EventText.Describe(e).Contains("S3cret", StringComparison.Ordinal));
    }

    [Fact]
    public void Login_IncorrectThenPromptAgain_OneFailureNotTwo()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("root\r\n");
        h.Server("root\r\nPassword: ");
        h.Client("root\r\n");
        h.Server("\r\nLogin incorrect\r\nlogin: ");
        h.Close();

        var login = Assert.Single(h.Logins);
        EventText.AssertFields(login, "telnet.username=root;telnet.login.outcome=failure;telnet.login.success=false");
        EventText.AssertFields(h.SessionEvent, "telnet.login.attempts=1;telnet.login.failures=1;telnet.login.outcome=failure");
    }

    [Theory]
    [InlineData("Access denied\r\n")]
    [InlineData("% Authentication failed\r\n")]
    [InlineData("Invalid password\r\n")]
    [InlineData("LOGIN INCORRECT\r\n")]
    [InlineData("\r\nUsername: ")] // a new prompt with no message
    [InlineData("\r\nPassword: ")] // asked for the password again
    public void Login_FailureCues_Failure(string answer)
    {
        var h = new TelnetHarness();
        h.Server("User Name: ");
        h.Client("admin\r\n");
        h.Server("PASSWORD: ");
        h.Client("guess\r\n");
        h.Server(answer);
        h.Close();

        Assert.Equal("failure", EventText.Field(h.Logins[0], "telnet.login.outcome"));
    }

    [Fact]
    public void Login_LastFailedLoginNotice_NotAFailure()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("pi\r\n");
        h.Server("Password: ");
        h.Client("raspberry\r\n");
        h.Server("\r\nLast failed login: Tue Dec  1 10:00:00 from 10.0.0.9\r\nThere were 3 failed login attempts since the last successful login.\r\npi@gw:~ $ ");
        h.Close();

        EventText.AssertFields(Assert.Single(h.Logins), "telnet.username=pi;telnet.login.outcome=success");
    }

    [Fact]
    public void Login_CharacterModeWithEchoAndBackspace_UserEditedPasswordNotEchoed()
    {
        var h = new TelnetHarness();
        h.ServerHex("fffb01fffb03"); // WILL ECHO, WILL SGA
        h.ClientHex("fffd01fffd03");
        h.Server("camera login: ");
        h.Keystrokes("admim\u007fn\r", echo: true);
        h.Server("Password: ");
        h.Keystrokes("S3cret-telnet\r", echo: false);
        h.Send(FlowDirection.ToServer, [0]); // the NUL of CR NUL, in its own segment
        h.Server("\r\n");
        h.Server("\r\nBusyBox v1.36 built-in shell (ash)\r\n\r\n$ ");
        h.Keystrokes("id\r", echo: true);
        h.Close();

        EventText.AssertFields(Assert.Single(h.Logins), $"telnet.username=admin;telnet.password.hash={h.Hash("S3cret-telnet")};telnet.password.echoed=false;telnet.login.outcome=success");
        EventText.AssertFields(h.SessionEvent, "telnet.echo=true;telnet.server.options=[echo, suppress_go_ahead];telnet.client.options=[]");
    }

    [Fact]
    public void Login_ServerEchoesPassword_EchoSkippedAndFlagged()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Keystrokes("admin\r", echo: true);
        h.Server("Password: ");
        h.Keystrokes("echo-me#\r", echo: true); // the echo ends with '#': never taken for a shell prompt
        h.Server("\r\nLogin incorrect\r\nlogin: ");
        h.Close();

        var login = Assert.Single(h.Logins);
        EventText.AssertFields(login, $"telnet.login.outcome=failure;telnet.password.echoed=true;telnet.password.hash={h.Hash("echo-me#")}");
        Assert.DoesNotContain(h.Events, e => EventText.Describe(e).Contains("echo-me", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("pw#1\r\n", true)] // a line-mode answer echoed whole (ending with '#': no shell prompt)
    [InlineData("****\r\n", false)] // masked
    public void Login_LineModeEcho_DroppedNotAPrompt(string echo, bool echoed)
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("admin\r\n");
        h.Server("Password: ");
        h.Client("pw#1\r\n");
        h.Server(echo);
        h.Server("Login incorrect\r\n");
        h.Close();

        EventText.AssertFields(Assert.Single(h.Logins), $"telnet.login.outcome=failure;telnet.password.echoed={(echoed ? "true" : "false")}");
    }

    [Fact]
    public void Login_ShellPromptRightAfterPassword_Success()
    {
        var h = new TelnetHarness();
        h.Server("Password: ");
        h.Client("pw\r\n");
        h.Server("$ "); // no line end first: as short as the password, but not its echo
        h.Server("\r\n");
        h.Close();

        Assert.Equal("success", EventText.Field(Assert.Single(h.Logins), "telnet.login.outcome"));
    }

    [Fact]
    public void Login_PasswordBytes_ZeroedAfterHashing()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("admin\r\n");
        h.Server("Password: ");
        h.Keystrokes("hunter2", echo: false);
        var buffer = h.Session.LineBuffer(FlowDirection.ToServer)!;
        Assert.Equal("hunter2", Encoding.ASCII.GetString(buffer, 0, 7)); // held while typed...
        h.Client("\r\n");

        Assert.All(buffer, b => Assert.Equal(0, b)); // ...and zeroed once hashed
    }

    [Fact]
    public void Login_PasswordOnlyDevice_NoUserName()
    {
        var h = new TelnetHarness();
        h.Server("\r\nPassword: ");
        h.Client("1234\r\n");
        h.Server("\r\nrouter> ");
        h.Close();

        var login = Assert.Single(h.Logins);
        EventText.AssertFields(login, "telnet.username=(missing);telnet.password.present=true;telnet.login.outcome=success");
    }

    [Fact]
    public void Login_UserNameOnlyThenShell_SuccessWithoutPassword()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("guest\r\n");
        h.Server("\r\nWelcome\r\n> ");
        h.Close();

        EventText.AssertFields(Assert.Single(h.Logins), "telnet.username=guest;telnet.password.present=false;telnet.password.echoed=(missing);telnet.login.outcome=success");
    }

    [Fact]
    public void Login_EmptyUserAnswer_NoAttempt()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("\r\n");
        h.Server("\r\nlogin: ");
        h.Close();

        Assert.Empty(h.Logins);
        EventText.AssertFields(h.SessionEvent, "telnet.login.attempts=0;telnet.login.outcome=none");
    }

    [Fact]
    public void Login_ConnectionEndsBeforeVerdict_Unknown()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("admin\r\n");
        h.Server("Password: ");
        h.Client("x\r\n");
        h.Close();

        EventText.AssertFields(Assert.Single(h.Logins), "telnet.login.outcome=unknown;telnet.login.success=false");
    }

    [Fact]
    public void Gap_DuringLogin_UnknownThenNextLoginTracked()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("admin\r\n");
        h.Gap(FlowDirection.ToClient, 100);
        h.Server("\r\nlogin: ");
        h.Client("root\r\n");
        h.Server("Password: ");
        h.Client("pw\r\n");
        h.Server("\r\n$ ");
        h.Close();

        Assert.Equal(["unknown", "success"], h.Logins.Select(e => EventText.Field(e, "telnet.login.outcome")));
        Assert.Contains(h.Diagnostics.Diagnostics, d => d.Kind == DiagnosticKind.ReassemblyGap);
    }

    [Fact]
    public void Login_AfterSuccess_LinesNoLongerReadNorBuffered()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("admin\r\n");
        h.Server("Password: ");
        h.Client("pw\r\n");
        h.Server("\r\n# ");
        h.Server("Login incorrect\r\nlogin: "); // a program's output, not a login
        h.Client("root\r\n");
        h.Close();

        Assert.Single(h.Logins);
        Assert.Null(h.Session.LineBuffer(FlowDirection.ToServer));
        Assert.Null(h.Session.LineBuffer(FlowDirection.ToClient));
    }

    [Fact]
    public void Login_ManyAttempts_EventsBoundedCountsKept()
    {
        var h = new TelnetHarness(new TelnetOptions { MaxLogins = 3 });
        for (var i = 0; i < 10; i++)
        {
            h.Server("login: ");
            h.Client("admin\r\n");
            h.Server("Password: ");
            h.Client($"guess{i}\r\n");
            h.Server("\r\nLogin incorrect\r\n");
        }

        h.Close();

        Assert.Equal(3, h.Logins.Count);
        EventText.AssertFields(h.SessionEvent, "telnet.login.attempts=10;telnet.login.failures=10");
    }

    [Fact]
    public void Negotiation_TelnetdAndClient_OptionsAgreedTerminalTypeRead()
    {
        var h = new TelnetHarness();
        h.ServerHex(TelnetdOpening);
        h.ClientHex("fffd25fffd26fffa2601fff0fffb18fffb20fffc23fffb27fffc24"); // DO AUTH, DO ENCRYPT, SB..., WILL TTYPE, WILL TSPEED, WONT XDISPLOC, WILL NEW-ENVIRON, WONT ENVIRON
        h.ServerHex("fffa2001fff0fffa2701fff0fffa1801fff0"); // SB TSPEED SEND, SB NEW-ENVIRON SEND, SB TTYPE SEND
        h.ClientHex("fffa200033383430302c3338343030fff0fffa2700fff0fffa1800585445524dfff0"); // ... SB TTYPE IS XTERM
        h.ServerHex("fffb03fffd01fffd22fffd1ffffb05fffd21");
        h.ClientHex("fffd03fffc01fffb22fffb1ffffd05fffb21");
        h.ServerHex("fffe22"); // DONT LINEMODE: withdrawn
        h.ServerHex("fffb01"); // WILL ECHO
        h.ClientHex("fffd01");
        h.Close();

        EventText.AssertFields(h.SessionEvent,
            "telnet.terminal_type=XTERM;telnet.echo=true;" +
            "telnet.server.options=[echo, suppress_go_ahead, status, authentication, encryption];" +
            "telnet.client.options=[terminal_type, window_size, terminal_speed, remote_flow_control, new_environ]");
        Assert.DoesNotContain(h.Events, e => e.Type == "telnet.malformed");
    }

    [Fact]
    public void Negotiation_SplitAcrossSegmentsAndIacIac_DataIntact()
    {
        var h = new TelnetHarness();
        foreach (var b in TelnetHarness.Bytes("fffb01fffa1800414e5349fff0"))
        {
            h.Send(FlowDirection.ToClient, [b]);
        }

        foreach (var b in TelnetHarness.Bytes("fffd01fffa1800414e5349fff0")) // a client naming ANSI one byte at a time
        {
            h.Send(FlowDirection.ToServer, [b]);
        }

        h.Server("us\u00ff\u00ffer: ");
        h.Client("x\u00ff\u00ff\r\n");
        h.Close();

        EventText.AssertFields(h.SessionEvent, "telnet.terminal_type=ANSI;telnet.echo=true;telnet.server.bytes=7;telnet.client.bytes=4");
    }

    [Fact]
    public void Malformed_ManyInOneSegment_EachReportsItsOwnOffset()
    {
        // tcpdump's telnet-iac-check-oobr.pcap: one 65,469-byte segment repeating IAC SB 123 ... IAC DONT 36, each report
        // said "near stream offset 65469" (the segment's end).
        var h = new TelnetHarness();
        h.ServerHex("41fffa7b00fffe24" + "fffa7b00fffe24" + "ff11");
        h.Close();

        var messages = h.Events.Where(e => e.Type == "telnet.malformed").Select(e => EventText.Field(e, "error.message")).ToList();
        Assert.Equal(3, messages.Count);
        Assert.EndsWith("from the server near stream offset 6", messages[0]);
        Assert.EndsWith("from the server near stream offset 13", messages[1]);
        Assert.EndsWith("from the server near stream offset 16", messages[2]);
    }

    [Fact]
    public void Malformed_BadCommandAndOverlongSubnegotiation_CountedAndLoginStillRead()
    {
        var h = new TelnetHarness(new TelnetOptions { MaxSubnegotiationBytes = 16 });
        h.ServerHex("ff11"); // IAC 17: no command
        h.ClientHex("fffa18" + string.Concat(Enumerable.Repeat("41", 40))); // SB without IAC SE, past the bound
        h.Server("\r\nlogin: ");
        h.Client("admin\r\n");
        h.Server("Password: ");
        h.Client("pw\r\n");
        h.Server("\r\n$ ");
        h.ServerHex("fffa18"); // cut by the end of the connection
        h.Close();

        Assert.Equal("success", EventText.Field(Assert.Single(h.Logins), "telnet.login.outcome"));
        var stats = h.Services.Stats.MalformedByReason;
        Assert.Equal(1, stats[("telnet", MalformedReason.UnknownType)]);
        Assert.Equal(1, stats[("telnet", MalformedReason.TooLarge)]);
        Assert.Equal(1, stats[("telnet", MalformedReason.Truncated)]);
        Assert.Equal(3, h.Events.Count(e => e.Type == "telnet.malformed"));
        Assert.Contains(h.Events, e => e.Type == "telnet.malformed" && EventText.Field(e, "error.message").Contains("from the client", StringComparison.Ordinal));
    }

    [Fact]
    public void Bounds_LongLines_BufferedUpToTheLimitPromptStillFound()
    {
        var h = new TelnetHarness(new TelnetOptions { MaxLineBytes = 64 });
        h.Server(new string('=', 100_000) + " login: "); // a banner with no line end, then the prompt
        h.Client(new string('u', 10_000) + "\r\n");
        h.Server("\r\nPassword: ");
        h.Client(new string('p', 10_000) + "\r\n");
        h.Server("\r\n$ ");
        h.Close();

        Assert.True(h.Session.MaxBuffered(FlowDirection.ToClient) <= 64);
        Assert.True(h.Session.MaxBuffered(FlowDirection.ToServer) <= 64);
        var login = Assert.Single(h.Logins);
        Assert.Equal(new string('u', 64), EventText.Field(login, "telnet.username"));
        Assert.Equal(h.Hash(new string('p', 64)), EventText.Field(login, "telnet.password.hash"));
    }

    [Fact]
    public void Dispatcher_TelnetdOnAnyPort_ClaimedByContent()
    {
        var catalogue = ProtocolCatalogue.Shipped;
        var telnet = Assert.Single(catalogue.Stream, p => p.Name == "telnet");
        var claimed = catalogue.Stream.Where(p => p.Probe(TelnetHarness.Bytes(TelnetdOpening), FlowDirection.ToClient) == ProbeResult.Mine).ToList();

        Assert.Equal([telnet], claimed);
        Assert.Equal([23, 2323], telnet.PortHints);
    }

    [Fact]
    public void Shell_KeystrokesAfterLogin_NoAllocationPerSegment()
    {
        var h = new TelnetHarness();
        h.Server("login: ");
        h.Client("admin\r\n");
        h.Server("Password: ");
        h.Client("pw\r\n");
        h.Server("\r\n$ ");
        h.Keystrokes("warm-up\r", echo: true);
        byte[] key = [(byte)'l'];
        byte[] echo = [(byte)'l'];
        var meta = h.NextMeta();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            h.Session.OnData(FlowDirection.ToServer, key, meta);
            h.Session.OnData(FlowDirection.ToClient, echo, meta);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 20,000 segments");
        Assert.Single(h.Logins);
    }

    [Fact]
    public void Facts_LoginEvent_UserNameCleartextLoginAndAcceptedNeverThePassword()
    {
        var login = TelnetLoginEvent.SchemaInstance.Facts;
        Assert.Contains(login, f => f is { Kind: DeviceFactKind.Username, Field: "telnet.username" });
        Assert.Equal(["telnet.password.present"], Assert.Single(login, f => f.Kind == DeviceFactKind.Login).Credentials);
        Assert.Equal("telnet.login.success", Assert.Single(login, f => f.Kind == DeviceFactKind.Accepted).Field);
        Assert.DoesNotContain(login.Concat(TelnetSessionEvent.SchemaInstance.Facts), f => f.Kind != DeviceFactKind.Accepted && f.Field?.Contains("password", StringComparison.Ordinal) == true);
    }
}
