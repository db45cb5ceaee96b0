using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Http;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Http;

public sealed class HttpHandoverAndFuzzTests
{
    private const string Upgrade =
        "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";

    private const string Switching =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    public void Session_WebSocketUpgradeAccepted_HttpEventsThenMqttOverWebSocket(int segment)
    {
        var h = new HttpHarness(catalogue: ProtocolCatalogue.Shipped);
        var frame = MaskedFrame(Connect("ws-dev"));

        // The client sends its first frame right behind the request, in the same segment.
        h.Feed(FlowDirection.ToServer, [.. Encoding.ASCII.GetBytes(Upgrade), .. frame], segment);
        h.Server(Switching, segment);
        h.Feed(FlowDirection.ToServer, MaskedFrame(Connect("again")), segment);

        Assert.True(h.Session.HandedOver);
        var request = h.Requests.Single();
        Assert.Equal(("websocket", "alice", true), (request.Upgrade, request.Username, request.PasswordPresent));
        Assert.Equal(101, h.Responses.Single().StatusCode);
        Assert.Equal(["ws-dev", "again"], h.Events.Events.OfType<MqttConnectEvent>().Select(c => c.ClientId));
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_WebSocketUpgradeRefused_ConnectionGoesOnAsHttp()
    {
        var h = new HttpHarness(catalogue: ProtocolCatalogue.Shipped);

        h.Client(Upgrade);
        h.Server("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"broker\"\r\nContent-Length: 0\r\n\r\n");
        h.Client("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
        h.Server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

        Assert.False(h.Session.HandedOver);
        Assert.Equal(["/mqtt", "/index.html"], h.Requests.Select(r => r.Path));
        Assert.Equal([(401, "/mqtt"), (200, "/index.html")], h.Responses.Select(r => (r.StatusCode, r.Path!)));
        Assert.Empty(h.Events.Events.OfType<MqttConnectEvent>());
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_WebSocketCarriesMqtt_FlowHeldAsMqttAsks()
    {
        // MQTT over WebSocket with a 20-minute keep alive: the flow must be held as MQTT asks (1.5 x keep alive), as it
        // is for MQTT on TCP, although HTTP is the flow's first session.
        var h = new HttpHarness(catalogue: ProtocolCatalogue.Shipped);

        h.Client(Upgrade);
        h.Server(Switching);
        h.Feed(FlowDirection.ToServer, MaskedFrame(Connect("ws-meter", keepAlive: 1200)));

        Assert.Equal(1_800_000_000, h.Session.IdleHoldMicros);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Session_ConnectTunnel_WhatItCarriesIsDissected(int segment)
    {
        var h = new HttpHarness(catalogue: ProtocolCatalogue.Shipped);

        h.Client("CONNECT broker.example:1883 HTTP/1.1\r\nHost: broker.example:1883\r\nProxy-Authorization: Basic Z2F0ZXdheTpTM2NyZXQtcHJveHk=\r\n\r\n", segment);
        h.Server("HTTP/1.1 200 Connection established\r\n\r\n", segment);
        h.Feed(FlowDirection.ToServer, Connect("tunnelled-meter"), segment);

        var connect = h.Requests.Single();
        Assert.Equal(("CONNECT", "broker.example:1883", "gateway", true), (connect.Method, connect.Path, connect.ProxyUsername, connect.ProxyPasswordPresent));
        Assert.Equal("tunnelled-meter", h.Events.Events.OfType<MqttConnectEvent>().Single().ClientId);
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_ConnectTunnel_ServerBytesBehindThe200AreTheTunnels()
    {
        // A proxy may send the origin's first bytes in the segment of its 200: an FTP server's greeting here.
        var h = new HttpHarness(catalogue: ProtocolCatalogue.Shipped);

        h.Client("CONNECT files.example:21 HTTP/1.1\r\nHost: files.example:21\r\n\r\n");
        h.Server("HTTP/1.1 200 OK\r\n\r\n220 (vsFTPd 3.0.3)\r\n");
        h.Client("USER camera\r\n");
        h.Server("331 Please specify the password.\r\n");
        h.Client("PASS cam-secret\r\n");
        h.Server("230 Login successful.\r\n");

        var login = h.Events.Events.OfType<Capture.Protocols.Ftp.FtpLoginEvent>().Single();
        Assert.Equal("camera", login.User);
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_ClientSendsBeforeTheProxyAnswers_HeldForTheTunnel()
    {
        // A client that does not wait for the 200: its ClientHello follows the CONNECT in the same segment.
        var h = new HttpHarness(catalogue: ProtocolCatalogue.Shipped);
        var hello = Tls.TlsWire.Record(1, Tls.TlsWire.ClientHello(0x0303, [0x1301], [(0, Tls.TlsWire.ServerName("iot.example.net"))]));

        h.Feed(FlowDirection.ToServer, [.. Encoding.ASCII.GetBytes("CONNECT iot.example.net:443 HTTP/1.1\r\nHost: iot.example.net:443\r\n\r\n"), .. hello]);
        h.Server("HTTP/1.1 200 Connection established\r\n\r\n");

        Assert.Equal("iot.example.net", Assert.Single(h.Events.Events.OfType<Capture.Protocols.Tls.TlsClientHelloEvent>()).ServerName);
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_ClientSendsBeforeARefusal_ReadAsHttpAgain()
    {
        var h = new HttpHarness(catalogue: ProtocolCatalogue.Shipped);

        h.Client("CONNECT broker.example:8883 HTTP/1.1\r\nHost: broker.example:8883\r\n\r\nGET /status HTTP/1.1\r\nHost: proxy\r\n\r\n");
        h.Server("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n");
        h.Server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal(["CONNECT", "GET"], h.Requests.Select(r => r.Method));
        Assert.Equal([(407, "CONNECT"), (200, "GET")], h.Responses.Select(r => (r.StatusCode, r.Method!)));
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_ConnectRefused_NoTunnelConnectionGoesOnAsHttp()
    {
        var h = new HttpHarness(catalogue: ProtocolCatalogue.Shipped);

        h.Client("CONNECT broker.example:1883 HTTP/1.1\r\nHost: broker.example:1883\r\n\r\n");
        h.Server("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n");
        h.Client("CONNECT broker.example:1883 HTTP/1.1\r\nHost: broker.example:1883\r\nProxy-Authorization: Digest username=\"gateway\", realm=\"proxy\", nonce=\"n\", uri=\"broker.example:1883\", response=\"0\"\r\n\r\n");
        h.Server("HTTP/1.1 200 OK\r\n\r\n");

        Assert.Equal([(407, "Basic"), (200, null)], h.Responses.Select(r => (r.StatusCode, r.ProxyAuthenticateScheme)));
        Assert.Equal([(null, null, null), ("Digest", "gateway", null)], h.Requests.Select(r => (r.ProxyAuthorizationScheme, r.ProxyUsername, r.ProxyPasswordPresent)));
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_NestedConnectTunnels_DissectedToABoundedDepth()
    {
        // A hostile stream of CONNECTs each inside the previous one's tunnel: every level costs a session and a frame of
        // call depth, so only MaxTunnelDepth tunnels are read; the rest is only counted, and nothing throws.
        var h = new HttpHarness(catalogue: ProtocolCatalogue.Shipped);

        for (var level = 0; level < 50; level++)
        {
            h.Client($"CONNECT hop{level}.example:80 HTTP/1.1\r\nHost: hop{level}.example:80\r\n\r\n");
            h.Server("HTTP/1.1 200 OK\r\n\r\n");
        }

        h.Close();
        Assert.Equal(ProtocolServices.MaxTunnelDepth + 1, h.Requests.Count);
        Assert.Equal(ProtocolServices.MaxTunnelDepth + 1, h.Responses.Count);
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Catalogue_HttpProbesBeforeWebSocket()
    {
        var names = ProtocolCatalogue.Shipped.Stream.Select(p => p.Name).ToList();

        Assert.True(names.IndexOf("http") < names.IndexOf("websocket"));
    }

    /// <summary>Mutations of real messages: truncation at every length, bit flips, lengths at 0 and at their maximum.
    /// No exception escapes, the session stays bounded, and every malformed verdict is counted.</summary>
    [Fact]
    public void Session_MutatedRealMessages_NeverThrowBoundedCounted()
    {
        var requests = Encoding.ASCII.GetBytes(
            "POST /cgi-bin/luci?user=a&pwd=b HTTP/1.1\r\nHost: cam:81\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\nContent-Length: 5\r\n\r\nhello" +
            "PUT /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: 1\r\n\r\n" +
            "GET /camera HTTP/1.1\r\nAuthorization: Digest username=\"op\\\"er\", realm=\"camera\", nonce=\"n\", uri=\"/camera\", qop=auth, nc=00000001, " +
            "username*=UTF-8''J%C3%A4s%C3%B8n, response=\"6629fae49393a05397450978507c4ef1\"\r\n\r\nGET / HTTP/1.0\r\n\r\n");
        var responses = Encoding.ASCII.GetBytes(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 3\r\n\r\nabc" +
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.0 404 Not Found\r\n\r\nbody until close");
        var random = new Random(1234);
        var runs = 0;

        foreach (var (original, direction) in new[] { (requests, FlowDirection.ToServer), (responses, FlowDirection.ToClient) })
        {
            // Truncation at every length, then the flow closes.
            for (var n = 0; n <= original.Length; n++)
            {
                Run(original[..n], direction, segment: 1 + (n % 7));
            }

            // Bit flips, one and several.
            for (var i = 0; i < 2000; i++)
            {
                var m = (byte[])original.Clone();
                for (var k = random.Next(1, 4); k > 0; k--)
                {
                    m[random.Next(m.Length)] ^= (byte)(1 << random.Next(8));
                }

                Run(m, direction, segment: random.Next(1, 40));
            }

            // Length fields at their extremes.
            var text = Encoding.ASCII.GetString(original);
            foreach (var (from, to) in new[] { ("Content-Length: 5", "Content-Length: 0"), ("Content-Length: 5", "Content-Length: 999999999999999999"),
                ("Content-Length: 3", "Content-Length: 0"), ("Content-Length: 3", "Content-Length: 999999999999999999"), ("5\r\nhello", "fffffffffffffff\r\nhello"),
                ("3\r\nabc", "0\r\nabc"), ("3\r\nabc", "7fffffffffffffff\r\nabc") })
            {
                Run(Encoding.ASCII.GetBytes(text.Replace(from, to, StringComparison.Ordinal)), direction, segment: 3);
            }
        }

        Assert.True(runs > 4000);

        void Run(byte[] data, FlowDirection direction, int segment)
        {
            runs++;
            var h = new HttpHarness(new HttpOptions { MaxHeaderBytes = 512, MaxHeaders = 8 });
            if (direction == FlowDirection.ToClient)
            {
                h.Client("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
            }

            h.Feed(direction, data, segment);
            h.Session.OnGap(direction, 17, TestFlows.Meta(999));
            h.Feed(direction, data, segment);
            h.Close();
            Assert.True(h.Session.MaxBufferedBytes(direction) <= 512);
            Assert.True(h.Events.Events.Count <= 40, $"{h.Events.Events.Count} events from {data.Length} bytes");
            var malformed = h.Services.Stats.MalformedByReason.Where(kv => kv.Key.Protocol == "http").Sum(kv => kv.Value);
            Assert.Equal(h.Malformed.Count, malformed);
            Assert.All(h.Malformed, m => Assert.StartsWith("http: ", m.ErrorMessage, StringComparison.Ordinal));
        }
    }

    private static byte[] MaskedFrame(byte[] payload)
    {
        byte[] mask = [0x37, 0xfa, 0x21, 0x3d];
        var frame = new List<byte> { 0x82, (byte)(0x80 | payload.Length) };
        frame.AddRange(mask);
        frame.AddRange(payload.Select((b, i) => (byte)(b ^ mask[i & 3])));
        return [.. frame];
    }

    // MQTT 3.1.1 CONNECT (§3.1): level 4, clean session, the keep alive (60 s), the client id only.
    private static byte[] Connect(string clientId, int keepAlive = 60)
    {
        var id = Encoding.UTF8.GetBytes(clientId);
        byte[] body = [0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0x02, (byte)(keepAlive >> 8), (byte)keepAlive, 0, (byte)id.Length, .. id];
        return [0x10, (byte)body.Length, .. body];
    }
}
