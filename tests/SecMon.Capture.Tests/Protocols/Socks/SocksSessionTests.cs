using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Capture.Protocols.Socks;
using SecMon.Core;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Socks;

public sealed class SocksSessionTests
{
    private static readonly byte[] Greeting = [5, 2, 0, 2];
    private static readonly byte[] ChooseLogin = [5, 2];
    private static readonly byte[] Login = [1, 7, .. "gateway"u8, 12, .. "S3cret-socks"u8];
    private static readonly byte[] LoginOk = [1, 0];
    private static readonly byte[] ConnectBroker = [5, 1, 0, 3, 14, .. "broker.example"u8, 0x07, 0x5b]; // port 1883
    private static readonly byte[] Granted = [5, 0, 0, 1, 192, 0, 2, 1, 0x9c, 0x40];

    private sealed class Harness
    {
        private long _packet;

        public Harness(ProtocolServices? services = null)
        {
            Services = services ?? TestFlows.Services(Events, Diagnostics);
            Session = (SocksSession)new SocksProtocol().CreateSession(TestFlows.Flow(1080), Services, midStream: false);
        }

        public ProtocolServices Services { get; }
        public SocksSession Session { get; }
        public RecordingEventSink Events { get; } = new();
        public RecordingDiagnosticSink Diagnostics { get; } = new();

        public void Client(params byte[][] messages) => Session.OnData(FlowDirection.ToServer, [.. messages.SelectMany(m => m)], TestFlows.Meta(++_packet));

        public void Server(params byte[][] messages) => Session.OnData(FlowDirection.ToClient, [.. messages.SelectMany(m => m)], TestFlows.Meta(++_packet));

        public void Close() => Session.OnClose(TestFlows.Meta(++_packet));

        public List<T> Of<T>() => [.. Events.Events.OfType<T>()];
    }

    private static byte[] MqttConnect(string clientId)
    {
        var id = Encoding.UTF8.GetBytes(clientId);
        byte[] body = [0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0x02, 0, 60, 0, (byte)id.Length, .. id];
        return [0x10, (byte)body.Length, .. body];
    }

    [Fact]
    public void Socks5_LoginRequestReply_ThenTheRelayedMqttIsRead()
    {
        var h = new Harness();

        h.Client(Greeting);
        h.Server(ChooseLogin);
        h.Client(Login);
        h.Server(LoginOk);
        h.Client(ConnectBroker);
        h.Server(Granted);
        h.Client(MqttConnect("relayed-meter"));

        var login = Assert.Single(h.Of<SocksLoginEvent>());
        Assert.Equal(("gateway", true, new SecretHasher(new byte[32]).Hash("S3cret-socks"u8)), (login.User, login.Accepted, login.PasswordHash));
        var request = Assert.Single(h.Of<SocksRequestEvent>());
        Assert.Equal(("connect", "broker.example", 1883, "username_password", "broker.example:1883"),
            (request.Target.Command, request.Target.Domain, request.Target.Port, request.AuthMethod, request.Target.Address));
        var reply = Assert.Single(h.Of<SocksReplyEvent>());
        Assert.Equal(("succeeded", true, FlowDirection.ToClient), (reply.Status, reply.Relayed, reply.Flow.Direction));
        Assert.Equal("relayed-meter", Assert.Single(h.Of<MqttConnectEvent>()).ClientId);
        Assert.Empty(h.Diagnostics.Diagnostics);
    }

    [Fact]
    public void Socks5_AllInOneSegmentEachWay_AndClientDataBeforeTheReply_NothingLost()
    {
        // A client that sends its login and request without waiting, and its first relayed bytes before the reply; a
        // proxy that answers everything in one segment.
        var h = new Harness();

        h.Client(Greeting, Login, ConnectBroker, MqttConnect("eager"));
        h.Server(ChooseLogin, LoginOk, Granted);

        Assert.Equal("eager", Assert.Single(h.Of<MqttConnectEvent>()).ClientId);
        Assert.True(Assert.Single(h.Of<SocksLoginEvent>()).Accepted);
        Assert.Single(h.Of<SocksReplyEvent>(), r => r.Relayed);
    }

    [Fact]
    public void Socks5_LoginRefused_ReportedAndNothingRelayed()
    {
        var h = new Harness();

        h.Client(Greeting);
        h.Server(ChooseLogin);
        h.Client(Login);
        h.Server([1, 1]);
        h.Client(MqttConnect("never"));
        h.Close();

        Assert.False(Assert.Single(h.Of<SocksLoginEvent>()).Accepted);
        Assert.Empty(h.Of<SocksRequestEvent>());
        Assert.Empty(h.Of<MqttConnectEvent>());
    }

    [Fact]
    public void Socks5_LoginWithoutAVerdict_ReportedAtClose()
    {
        var h = new Harness();

        h.Client(Greeting);
        h.Server(ChooseLogin);
        h.Client(Login);
        h.Close();

        var login = Assert.Single(h.Of<SocksLoginEvent>());
        Assert.Equal(("gateway", (bool?)null), (login.User, login.Accepted));
    }

    [Theory]
    [InlineData(new byte[] { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb }, null, "2001:db8::1", 443, "[2001:db8::1]:443")]
    [InlineData(new byte[] { 5, 3, 0, 1, 198, 51, 100, 7, 0x13, 0x89 }, null, "198.51.100.7", 5001, "198.51.100.7:5001")]
    public void Socks5_AddressTypes(byte[] request, string? domain, string ip, int port, string address)
    {
        var h = new Harness();

        h.Client([5, 1, 0]);
        h.Server([5, 0]);
        h.Client(request);
        h.Server([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]); // command not supported

        var r = Assert.Single(h.Of<SocksRequestEvent>());
        Assert.Equal((domain, ip, port, address, "none"), (r.Target.Domain, r.Target.Ip, r.Target.Port, r.Target.Address, r.AuthMethod));
        Assert.Equal(("command_not_supported", false), (h.Of<SocksReplyEvent>().Single().Status, h.Of<SocksReplyEvent>().Single().Relayed));
    }

    [Fact]
    public void Socks5_NoAcceptableMethod_OneReply()
    {
        var h = new Harness();

        h.Client([5, 1, 0]);
        h.Server([5, 0xFF]);

        Assert.Equal(("no_acceptable_methods", (string?)null), (Assert.Single(h.Of<SocksReplyEvent>()).Status, h.Of<SocksReplyEvent>()[0].Target?.Command));
    }

    [Fact]
    public void Socks4And4a_RequestReplyAndUserId()
    {
        var h4 = new Harness();
        h4.Client([4, 1, 0x07, 0x5b, 192, 0, 2, 9, .. "meter7"u8, 0]);
        h4.Server([0, 90, 0, 0, 0, 0, 0, 0]);
        h4.Client(MqttConnect("v4"));

        var r4 = Assert.Single(h4.Of<SocksRequestEvent>());
        Assert.Equal((4, "meter7", "192.0.2.9", 1883), (r4.Version, r4.User, r4.Target.Ip, r4.Target.Port));
        Assert.Equal("succeeded", Assert.Single(h4.Of<SocksReplyEvent>()).Status);
        Assert.Single(h4.Of<MqttConnectEvent>());

        var h4a = new Harness();
        h4a.Client([4, 1, 0x01, 0xbb, 0, 0, 0, 1, 0, .. "Cloud.Example.NET"u8, 0]);
        h4a.Server([0, 91, 0, 0, 0, 0, 0, 0]);
        var r4a = Assert.Single(h4a.Of<SocksRequestEvent>());
        Assert.Equal(("cloud.example.net", null, (string?)null), (r4a.Target.Domain, r4a.Target.Ip, r4a.User));
        Assert.Equal(("rejected", false), (h4a.Of<SocksReplyEvent>().Single().Status, h4a.Of<SocksReplyEvent>().Single().Relayed));
    }

    [Theory]
    [InlineData(new byte[] { 5, 1, 0 }, "Mine")]
    [InlineData(new byte[] { 5, 2, 0, 2 }, "Mine")]
    [InlineData(new byte[] { 5, 2, 0 }, "NeedMoreData")]
    [InlineData(new byte[] { 5 }, "NeedMoreData")]
    [InlineData(new byte[] { 5, 1, 0, 0x10 }, "NotMine")] // more than the greeting: not a SOCKS client, which waits for the answer
    [InlineData(new byte[] { 5, 2, 0, 0 }, "NotMine")] // a method offered twice
    [InlineData(new byte[] { 5, 0 }, "NotMine")] // no method
    [InlineData(new byte[] { 0x05, 0x01, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10 }, "NotMine")] // Modbus with transaction id 0x0501
    [InlineData(new byte[] { 4, 1, 0, 80, 10, 0, 0, 1, 0 }, "Mine")]
    [InlineData(new byte[] { 4, 1, 0, 80, 0, 0, 0, 1, 0, (byte)'a', 0 }, "Mine")] // 4a
    [InlineData(new byte[] { 4, 1, 0, 80, 0, 0, 0, 1, 0, (byte)'a' }, "NeedMoreData")]
    [InlineData(new byte[] { 4, 9, 0, 80, 10, 0, 0, 1, 0 }, "NotMine")]
    [InlineData(new byte[] { 0x10, 0x0c, 0, 4 }, "NotMine")] // MQTT
    public void Probe_OnlyAWholeFirstMessage(byte[] data, string verdict)
    {
        Assert.Equal(Enum.Parse<ProbeResult>(verdict), new SocksProtocol().Probe(data, FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, new SocksProtocol().Probe(data, FlowDirection.ToClient));
    }

    [Fact]
    public void NestedTunnels_DissectedToABoundedDepth()
    {
        // SOCKS inside SOCKS inside SOCKS...: every granted CONNECT opens a tunnel whose bytes are probed again.
        var h = new Harness();
        for (var level = 0; level < 20; level++)
        {
            h.Client([5, 1, 0]);
            h.Server([5, 0]);
            h.Client([5, 1, 0, 1, 192, 0, 2, (byte)level, 0x04, 0x38]);
            h.Server(Granted);
        }

        h.Close();
        Assert.Equal(ProtocolServices.MaxTunnelDepth + 1, h.Of<SocksRequestEvent>().Count);
        Assert.Empty(h.Diagnostics.Diagnostics);
    }

    [Fact]
    public void MalformedNegotiation_CountedNotThrown()
    {
        var h = new Harness();

        h.Client(Greeting);
        h.Server([5, 2]);
        h.Client([9, 9, 9, 9]); // neither a login nor a request

        Assert.Equal(1, h.Services.Stats.MalformedMessages);
        Assert.Contains(h.Diagnostics.Diagnostics, d => d.Message.StartsWith("socks: ", StringComparison.Ordinal));
    }

    /// <summary>Random cuts, flips and extreme bytes in a whole negotiation, fed in random segment sizes: no exception
    /// leaves the session, and at most one login, request and reply come out.</summary>
    [Fact]
    public void MutatedNegotiations_NeverThrowBounded()
    {
        var random = new Random(1928);
        byte[][] client = [Greeting, Login, ConnectBroker, MqttConnect("m")];
        byte[][] server = [ChooseLogin, LoginOk, Granted];
        for (var run = 0; run < 5000; run++)
        {
            var c = client.SelectMany(m => m).ToArray();
            var s = server.SelectMany(m => m).ToArray();
            var target = random.Next(2) == 0 ? c : s;
            for (var n = random.Next(1, 4); n > 0; n--)
            {
                var i = random.Next(target.Length);
                target[i] = random.Next(3) switch { 0 => 0x00, 1 => 0xFF, _ => (byte)(target[i] ^ (1 << random.Next(8))) };
            }

            var h = new Harness();
            int ca = 0, sa = 0;
            while (ca < c.Length || sa < s.Length)
            {
                if (ca < c.Length)
                {
                    var k = Math.Min(c.Length - ca, random.Next(1, 20));
                    h.Session.OnData(FlowDirection.ToServer, c.AsSpan(ca, k), TestFlows.Meta(1));
                    ca += k;
                }

                if (sa < s.Length)
                {
                    var k = Math.Min(s.Length - sa, random.Next(1, 20));
                    h.Session.OnData(FlowDirection.ToClient, s.AsSpan(sa, k), TestFlows.Meta(2));
                    sa += k;
                }
            }

            h.Close();
            Assert.True(h.Of<SocksLoginEvent>().Count <= 2 && h.Of<SocksRequestEvent>().Count <= 1 && h.Of<SocksReplyEvent>().Count <= 1);
        }
    }
}
