using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Http;
using SecMon.Core;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Http;

public sealed class HttpSessionTests
{
    private const string Get = "GET /status?verbose=1 HTTP/1.1\r\nHost: Sensor.Local:8080\r\nUser-Agent: sensor-fw/2.1\r\nAccept: */*\r\n\r\n";
    private const string Ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 11\r\n\r\nhello world";

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void Session_KeepAliveRequestsAndResponses_EventsJoinedInOrder(int segment)
    {
        var h = new HttpHarness();
        var chunked = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for (var i = 0; i < 3; i++)
        {
            h.Client(Get.Replace("/status", $"/r{i}", StringComparison.Ordinal), segment);
            h.Server(i == 1 ? chunked : Ok, segment);
        }

        h.Client("POST /upload HTTP/1.1\r\nHost: sensor.local\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\na=1&b=two", segment);
        h.Server("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", segment);
        h.Close();

        Assert.Empty(h.Diagnostics.Diagnostics);
        Assert.Equal(["/r0", "/r1", "/r2", "/upload"], h.Requests.Select(r => r.Path));
        Assert.Equal(["GET", "GET", "GET", "POST"], h.Requests.Select(r => r.Method));
        var first = h.Requests[0];
        Assert.Equal("sensor.local", first.Domain);
        Assert.Equal(8080, first.Port);
        Assert.Equal("verbose=1", first.Query);
        Assert.Equal("sensor-fw/2.1", first.UserAgent);
        Assert.Equal("1.1", first.Version);
        Assert.Null(first.BodyBytes);
        Assert.Equal(9, h.Requests[3].BodyBytes);
        Assert.Equal("application/x-www-form-urlencoded", h.Requests[3].ContentType);
        Assert.Equal([200, 200, 200, 201], h.Responses.Select(r => r.StatusCode));
        Assert.Equal(["/r0", "/r1", "/r2", "/upload"], h.Responses.Select(r => r.Path));
        Assert.All(h.Responses, r => Assert.True(r.Joined));
        Assert.Equal("text/plain", h.Responses[0].ContentType);
        Assert.Equal(11, h.Responses[0].BodyBytes);
        Assert.True(h.Responses[1].Chunked);
        Assert.Null(h.Responses[1].BodyBytes);
        Assert.Equal("application/json", h.Responses[1].ContentType);
        Assert.Equal(FlowDirection.ToClient, h.Responses[0].Flow.Direction);
        Assert.Equal(0, h.Session.PendingRequests);
    }

    [Fact]
    public void Session_PipelinedRequestsInOneSegment_ResponsesJoinedToEachInOrder()
    {
        var h = new HttpHarness();

        h.Client("GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
        // HEAD's response declares a length but has no body (RFC 9112 §6.3 item 1): /c's response must follow at once.
        h.Server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\naa" + "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal([("GET", "/a", 200), ("HEAD", "/b", 200), ("GET", "/c", 404)], h.Responses.Select(r => (r.Method!, r.Path!, r.StatusCode)));
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_InterimAndNoBodyStatuses_FramedCorrectly()
    {
        var h = new HttpHarness();

        h.Client("PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
        h.Server("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n");
        h.Client("GET /g HTTP/1.1\r\nHost: x\r\n\r\n");
        h.Server("HTTP/1.1 304 Not Modified\r\n\r\n");
        h.Client("GET /h HTTP/1.1\r\nHost: x\r\n\r\n");
        h.Server("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz");

        Assert.Equal([(100, "/f"), (204, "/f"), (304, "/g"), (200, "/h")], h.Responses.Select(r => (r.StatusCode, r.Path!)));
        Assert.Empty(h.Malformed);
    }

    [Fact]
    public void Session_BasicCredentials_UserNameAndKeyedHashOnlyNeverThePassword()
    {
        var h = new HttpHarness();
        var hasher = new SecretHasher(new byte[32]); // TestFlows.Services' key

        h.Client("GET /private HTTP/1.1\r\nHost: x\r\n\r\n");
        h.Server("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"device\"\r\nContent-Length: 0\r\n\r\n");
        h.Client($"GET /private HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {B64("alice:S3cret-pass")}\r\n\r\n");
        h.Server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

        var anonymous = h.Requests[0];
        Assert.Null(anonymous.AuthorizationScheme);
        Assert.Null(anonymous.PasswordPresent);
        Assert.Equal("Basic", h.Responses[0].AuthenticateScheme);
        var basic = h.Requests[1];
        Assert.Equal("Basic", basic.AuthorizationScheme);
        Assert.Equal("alice", basic.Username);
        Assert.True(basic.PasswordPresent);
        Assert.Equal(hasher.Hash("S3cret-pass"u8), basic.PasswordHash);
        Assert.False(basic.DefaultCredentials);
        Assert.Equal(("alice", "Basic", 200), (h.Responses[1].Username!, h.Responses[1].AuthorizationScheme!, h.Responses[1].StatusCode));
        // Neither the password nor its base64 form is in any field of any event.
        var everything = string.Join("\n", h.Events.Events.SelectMany(e => e.Schema.Fields.Select(f => f.Read(e).ToString())));
        Assert.DoesNotContain("S3cret", everything, StringComparison.Ordinal);
        Assert.DoesNotContain(B64("alice:S3cret-pass"), everything, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Digest username=\"operator\", realm=\"camera\", nonce=\"n\", uri=\"/camera\", response=\"0a1b\"", "operator")]
    [InlineData("digest realm=\"a, b\" ,username = \"op\\\"er\\\\ator\" , qop=auth", "op\"er\\ator")]
    [InlineData("Digest username=operator, realm=camera", "operator")]
    [InlineData("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"camera\"", "Jäsøn Doe")]
    [InlineData("Digest username*=utf-8'en'caf%c3%a9", "café")]
    [InlineData("Digest username=\"488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec\", userhash=true", null)]
    [InlineData("Digest userhash=TRUE, username=\"4888\"", null)]
    [InlineData("Digest username*=ISO-8859-1''caf%E9", null)]
    [InlineData("Digest username*=UTF-8''%C3", null)]
    [InlineData("Digest username*=UTF-8''%G1", null)]
    [InlineData("Digest username*=UTF-8''%4", null)]
    [InlineData("Digest username=\"unterminated, realm=x", null)]
    [InlineData("Digest username=\"a\\", null)]
    [InlineData("Digest username=\"\", realm=x", null)]
    [InlineData("Digest realm=\"camera\"", null)]
    [InlineData("Digest =x, username=a", null)]
    [InlineData("Digest", null)]
    [InlineData("Basic b3BlcmF0b3I6eA==", null)]
    [InlineData("Digestion username=a", null)]
    public void DigestUser_AuthorizationHeader_UserNameOrNull(string header, string? expected)
    {
        string? last = null;
        Assert.Equal(expected, HttpValues.DigestUser(Encoding.UTF8.GetBytes(header), ref last));
    }

    [Fact]
    public void DigestUser_LongUserName_NotReportedAndNothingBeyondItsBytesRead()
    {
        string? last = null;
        var fits = new string('u', HttpValues.MaxDigestUserBytes);
        Assert.Equal(fits, HttpValues.DigestUser(Encoding.ASCII.GetBytes($"Digest username=\"{fits}\""), ref last));
        Assert.Null(HttpValues.DigestUser(Encoding.ASCII.GetBytes($"Digest username=\"{fits}u\", realm=x"), ref last));
        Assert.Null(HttpValues.DigestUser(Encoding.ASCII.GetBytes($"Digest username={fits}u"), ref last));
        Assert.Null(HttpValues.DigestUser(Encoding.ASCII.GetBytes($"Digest username*=UTF-8''{fits}u"), ref last));
    }

    [Fact]
    public void Session_DigestCredentials_UserNameOnlyOnRequestAndResponse()
    {
        var h = new HttpHarness();

        h.Client("GET /camera HTTP/1.1\r\nHost: x\r\n\r\n");
        h.Server("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"camera\", qop=\"auth\", nonce=\"abc\"\r\nContent-Length: 0\r\n\r\n");
        h.Client("GET /camera HTTP/1.1\r\nHost: x\r\nAuthorization: Digest username=\"operator\", realm=\"camera\", nonce=\"abc\", uri=\"/camera\", " +
                 "cnonce=\"c\", nc=00000001, qop=auth, response=\"6629fae49393a05397450978507c4ef1\"\r\n\r\n");
        h.Server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal("Digest", h.Responses[0].AuthenticateScheme);
        var digest = h.Requests[1];
        Assert.Equal(("Digest", "operator"), (digest.AuthorizationScheme!, digest.Username!));
        Assert.Equal((null, null, null), (digest.PasswordPresent, digest.PasswordHash, digest.DefaultCredentials));
        Assert.Equal(("operator", 200), (h.Responses[1].Username!, h.Responses[1].StatusCode));
    }

    [Theory]
    [InlineData("admin:admin", true)]
    [InlineData("ubnt:ubnt", true)]
    [InlineData("pi:raspberry", true)]
    [InlineData("admin:", true)]
    [InlineData("admin:admin2", false)]
    [InlineData("Admin:admin", false)]
    [InlineData("alice:admin", false)]
    public void Session_BasicDefaultCredentials_FlaggedByKeyedHash(string pair, bool expected)
    {
        var h = new HttpHarness();

        h.Client($"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: basic {B64(pair)}\r\n\r\n");

        Assert.Equal(expected, h.Requests.Single().DefaultCredentials);
    }

    [Fact]
    public void Session_KeepAliveRepeatedPathsUsersAndQueries_EachEventCarriesItsOwnValues()
    {
        // A flow remembers recent paths (eight, up to 64 bytes), its last query and Basic user name: reused values must
        // still be the ones of each request, with long and non-ASCII values and more distinct paths than are remembered.
        var h = new HttpHarness();
        var hasher = h.Services.SecretHasher;
        var longPath = "/" + new string('p', 100);
        string[] paths = ["/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h", "/i", "/a", longPath, "/caf\u00e9", "/caf\u00e8", longPath, "/i", "/a"];
        string[] users = ["alice", "alice", "bob", "alice", "j\u00f6rg", "j\u00f6rg", "alice", "alice"];
        for (var i = 0; i < paths.Length; i++)
        {
            var user = users[i % users.Length];
            var password = i % 3 == 0 ? "pw-a" : "pw-b";
            var pair = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
            var query = i % 4 == 0 ? "?since=120" : i % 4 == 1 ? "?since=121" : "";
            h.Client($"GET {paths[i]}{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {pair}\r\n\r\n");
            h.Server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }

        var requests = h.Requests;
        Assert.Equal(paths.Length, requests.Count);
        for (var i = 0; i < paths.Length; i++)
        {
            Assert.Equal(paths[i], requests[i].Path); // the harness sends Latin-1: é is the one octet E9, read back as é
            Assert.Equal(paths[i], h.Responses[i].Path);
            Assert.Equal(users[i % users.Length], requests[i].Username);
            Assert.Equal(hasher.Hash(Encoding.UTF8.GetBytes(i % 3 == 0 ? "pw-a" : "pw-b")), requests[i].PasswordHash);
            Assert.Equal(i % 4 == 0 ? "since=120" : i % 4 == 1 ? "since=121" : null, requests[i].Query);
            Assert.False(requests[i].DefaultCredentials);
        }
    }

    [Fact]
    public void Session_DefaultCredentialsFromOptions_ReplaceTheShippedList()
    {
        var h = new HttpHarness(new HttpOptions { DefaultCredentials = ["meter:meter"] });

        h.Client($"GET / HTTP/1.1\r\nAuthorization: Basic {B64("meter:meter")}\r\n\r\nGET / HTTP/1.1\r\nAuthorization: Basic {B64("admin:admin")}\r\n\r\n");

        Assert.Equal([true, false], h.Requests.Select(r => r.DefaultCredentials));
    }

    [Theory]
    [InlineData("Bearer eyJhbGciOi.x.y", "Bearer", null)]
    [InlineData("Digest username=\"bob\", realm=\"r\"", "Digest", "bob")] // the user name only: Digest never sends the password
    [InlineData("Basic !!!notbase64", "Basic", null)]
    [InlineData("Basic bm9jb2xvbg==", "Basic", null)] // "nocolon": not a user-pass (RFC 7617 §2)
    [InlineData("Basic OnNlY3JldA==", "Basic", null)] // ":secret": no user name, a password
    public void Session_OtherAuthorization_SchemeAndAtMostAUserName(string authorization, string scheme, string? user)
    {
        var h = new HttpHarness();

        h.Client($"GET / HTTP/1.1\r\nAuthorization: {authorization}\r\n\r\n");

        var r = h.Requests.Single();
        Assert.Equal(scheme, r.AuthorizationScheme);
        Assert.Equal(user, r.Username);
        Assert.DoesNotContain("eyJ", string.Join(",", r.Schema.Fields.Select(f => f.Read(r).ToString())), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RedactSecrets", "user=admin&password=REDACTED&apiKey=REDACTED&page=2&pin=REDACTED&spin=3")]
    [InlineData("NamesOnly", "user=REDACTED&password=REDACTED&apiKey=REDACTED&page=REDACTED&pin=REDACTED&spin=REDACTED")]
    [InlineData("Full", "user=admin&password=hunter2&apiKey=k1&page=2&pin=1234&spin=3")]
    [InlineData("Omit", null)]
    public void Session_QueryWithSecrets_AsTheOptionSays(string mode, string? expected)
    {
        var h = new HttpHarness(new HttpOptions { Query = Enum.Parse<HttpQueryMode>(mode) });

        h.Client("GET /login.cgi?user=admin&password=hunter2&apiKey=k1&page=2&pin=1234&spin=3#frag HTTP/1.1\r\n\r\n");

        Assert.Equal(expected, h.Requests.Single().Query);
        Assert.Equal("/login.cgi", h.Requests.Single().Path);
    }

    [Theory]
    [InlineData("GET http://Camera.example:81/cgi-bin/x?a=1 HTTP/1.1\r\nHost: proxy\r\n\r\n", "/cgi-bin/x", "camera.example", 81, "a=1")]
    [InlineData("CONNECT broker.example:8883 HTTP/1.1\r\nHost: broker.example:8883\r\n\r\n", "broker.example:8883", "broker.example", 8883, null)]
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: [fd00::1]:8080\r\n\r\n", "*", "[fd00::1]", 8080, null)]
    [InlineData("GET / HTTP/1.0\r\n\r\n", "/", null, null, null)]
    [InlineData("GET /a HTTP/1.1\nHost: lf-only\n\n", "/a", "lf-only", null, null)]
    public void Session_RequestTargetForms_PathDomainPortQuery(string request, string path, string? domain, int? port, string? query)
    {
        var h = new HttpHarness();

        h.Client(request);

        var r = h.Requests.Single();
        Assert.Equal((path, domain, port, query), (r.Path!, r.Domain, r.Port, r.Query));
        Assert.Empty(h.Malformed);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost : x\r\n\r\n", "BadValue", "header field name")]
    [InlineData("GET / HTTP/1.1\r\nno colon here\r\n\r\n", "Missing", "header field")]
    [InlineData("GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "BadValue", "Content-Length")]
    [InlineData("GET / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", "BadValue", "Content-Length")]
    [InlineData("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "BadValue", "Content-Length")]
    [InlineData("GET / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", "LengthOverflow", "Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "BadValue", "Transfer-Encoding")]
    [InlineData("GET / HTTP/2.0\r\n\r\n", "BadValue", "HTTP version")]
    [InlineData("GET /a b HTTP/1.1\r\n\r\n", "BadValue", "request target")]
    [InlineData("G@T / HTTP/1.1\r\n\r\n", "BadValue", "method")]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "BadValue", "chunk size")]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n", "LengthOverflow", "chunk size")]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n", "BadLength", "chunk data")]
    public void Session_MalformedRequest_CountedWithReasonThenResyncsToTheNextRequest(string bad, string reason, string field)
    {
        var h = new HttpHarness();

        h.Client(bad + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        h.Close();

        var m = Assert.Single(h.Malformed);
        Assert.StartsWith($"http: {field}", m.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, h.Services.Stats.MalformedByReason[("http", Enum.Parse<MalformedReason>(reason))]);
        Assert.Equal("/next", h.Requests.Last().Path);
    }

    [Fact]
    public void Session_HeadBeyondTheLimits_TooLargeNeverBufferedPastTheLimit()
    {
        var h = new HttpHarness(new HttpOptions { MaxHeaderBytes = 1024, MaxHeaders = 10 });
        var many = string.Concat(Enumerable.Range(0, 11).Select(i => $"X-{i}: v\r\n"));

        h.Client("GET /a HTTP/1.1\r\n" + many + "\r\n");
        h.Client("GET /b HTTP/1.1\r\nX-Big: " + new string('a', 5000) + "\r\n\r\n", segment: 100);
        h.Client("GET /c HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(2, h.Malformed.Count);
        Assert.All(h.Malformed, m => Assert.Contains("exceeds", m.ErrorMessage + " exceeds", StringComparison.Ordinal));
        Assert.Equal(2, h.Services.Stats.MalformedByReason[("http", MalformedReason.TooLarge)]);
        Assert.True(h.Session.MaxBufferedBytes(FlowDirection.ToServer) <= 1024);
        Assert.Equal(["/c"], h.Requests.Select(r => r.Path));
    }

    [Fact]
    public void Session_LargeBodies_SkippedNeverBuffered()
    {
        var h = new HttpHarness();
        var body = new string('b', 1_000_000);

        h.Client($"POST /fw HTTP/1.1\r\nContent-Length: {body.Length}\r\n\r\n" + body + "GET /after HTTP/1.1\r\n\r\n", segment: 1460);
        h.Server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + $"{body.Length:x}\r\n{body}\r\n0\r\n\r\n" + Ok, segment: 1460);

        Assert.Equal(["/fw", "/after"], h.Requests.Select(r => r.Path));
        Assert.Equal([200, 200], h.Responses.Select(r => r.StatusCode));
        Assert.True(h.Session.MaxBufferedBytes(FlowDirection.ToServer) < 200);
        Assert.True(h.Session.MaxBufferedBytes(FlowDirection.ToClient) < 200);
    }

    [Fact]
    public void Session_GapInsideABody_FramingKept_GapInAHead_Resyncs()
    {
        var h = new HttpHarness();

        h.Client("POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789");
        h.Session.OnGap(FlowDirection.ToServer, 50, TestFlows.Meta(50));
        h.Client(new string('z', 40) + "GET /b HTTP/1.1\r\n\r\n");
        h.Client("GET /c HTTP/1.1\r\nHo");
        h.Session.OnGap(FlowDirection.ToServer, 30, TestFlows.Meta(51));
        h.Client("rest of a lost header\r\n\r\nGET /d HTTP/1.1\r\n\r\n");

        Assert.Equal(["/a", "/b", "/d"], h.Requests.Select(r => r.Path));
        Assert.Empty(h.Malformed);
        Assert.Equal(2, h.Diagnostics.Diagnostics.Count(d => d.Kind == DiagnosticKind.ReassemblyGap));
    }

    [Fact]
    public void Session_GapInResponses_LaterResponsesNotJoinedUntilIdle()
    {
        var h = new HttpHarness();

        h.Client("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
        h.Session.OnGap(FlowDirection.ToClient, 100, TestFlows.Meta(9)); // /a's response lost
        h.Server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        h.Client("GET /c HTTP/1.1\r\n\r\n");
        h.Server("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal([false, true], h.Responses.Select(r => r.Joined));
        Assert.Equal([null, "/c"], h.Responses.Select(r => r.Path));
    }

    [Fact]
    public void Session_MidStreamStart_FindsTheNextMessagesSilently()
    {
        var h = new HttpHarness(midStream: true);

        h.Client("dy of an earlier request\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n");
        h.Server("\u0000\u0001binary tail\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal("/x", h.Requests.Single().Path);
        Assert.Equal(200, h.Responses.Single().StatusCode);
        Assert.Empty(h.Malformed);
        Assert.True(h.Session.ResyncSkippedBytes > 0);
    }

    [Fact]
    public void Session_TruncatedHeadAtClose_ReportedTruncated()
    {
        var h = new HttpHarness();

        h.Client("GET / HTTP/1.1\r\nHost: x\r\n");
        h.Close();

        Assert.Contains("header block", Assert.Single(h.Malformed).ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, h.Services.Stats.MalformedByReason[("http", MalformedReason.Truncated)]);
    }

    [Fact]
    public void Session_SwitchingProtocolsOrConnectTunnel_StopsReadingHttp()
    {
        var h = new HttpHarness();
        h.Client("GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n");
        h.Server("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\u0000\u0000\u0012\u0004garbage");
        h.Client("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET /not-http1 HTTP/1.1\r\n\r\n");

        var t = new HttpHarness();
        t.Client("CONNECT b:8883 HTTP/1.1\r\n\r\n");
        t.Server("HTTP/1.1 200 Connection established\r\n\r\n\u0016\u0003\u0001");
        t.Client("\u0016\u0003\u0001\u0002\u0000GET /x HTTP/1.1\r\n\r\n");

        Assert.Equal("h2c", h.Requests.Single().Upgrade);
        Assert.Equal(101, h.Responses.Single().StatusCode);
        Assert.Empty(h.Malformed);
        Assert.Single(t.Requests);
        Assert.Empty(t.Malformed);
    }

    [Fact]
    public void Probe_RequestAndStatusLines()
    {
        var p = new HttpProtocol();
        ProbeResult Req(string s) => p.Probe(Encoding.Latin1.GetBytes(s), FlowDirection.ToServer);
        ProbeResult Resp(string s) => p.Probe(Encoding.Latin1.GetBytes(s), FlowDirection.ToClient);

        Assert.Equal(ProbeResult.Mine, Req("GET / HTTP/1.1\r\n"));
        Assert.Equal(ProbeResult.Mine, Req("POST /api HTTP/1.0\n"));
        Assert.Equal(ProbeResult.Mine, Req("PROPFIND /dav HTTP/1.1\r\n"));
        Assert.Equal(ProbeResult.NeedMoreData, Req("GE"));
        Assert.Equal(ProbeResult.Mine, Req("GET /very/long")); // a registered method and an origin-form target
        Assert.Equal(ProbeResult.NeedMoreData, Req("SUBSCRIBE /very/long"));
        Assert.Equal(ProbeResult.Mine, Req("VERSION-CONTROL /x HTTP/1.1\r\n"));
        Assert.Equal(ProbeResult.NeedMoreData, Req("SUBSCRIBE / HTTP/1.1\r")); // not a registered method: the whole line decides
        Assert.Equal(ProbeResult.NotMine, Req("get / HTTP/1.1\r\n"));
        Assert.Equal(ProbeResult.NotMine, Req("PRI * HTTP/2.0\r\n"));
        Assert.Equal(ProbeResult.NotMine, Req("GET  / HTTP/1.1\r\n"));
        Assert.Equal(ProbeResult.NotMine, Req("\u0010\u0012\u0000\u0004MQTT"));
        Assert.Equal(ProbeResult.NotMine, Req("\u0016\u0003\u0001"));
        Assert.Equal(ProbeResult.Mine, Resp("HTTP/1.1 200 OK\r\n"));
        Assert.Equal(ProbeResult.NeedMoreData, Resp("HTTP/1.1 20"));
        Assert.Equal(ProbeResult.NotMine, Resp("HTTP/2 200"));
        Assert.Equal(ProbeResult.NotMine, Resp("SSH-2.0-OpenSSH"));
    }

    [Fact]
    public void Dispatcher_RequestTargetLongerThanTheProbeMaySee_StillHttpOnAnyPort()
    {
        var events = new RecordingEventSink();
        var dispatcher = new StreamDispatcher(TestFlows.Flow(serverPort: 18080), TestFlows.Services(events), ProtocolCatalogue.Shipped.Stream);
        var path = "/api/" + new string('a', 1000);

        dispatcher.OnData(FlowDirection.ToServer, Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"), TestFlows.Meta(1));

        Assert.Equal("http", dispatcher.Protocol!.Name);
        Assert.Equal(path, Assert.IsType<HttpRequestEvent>(Assert.Single(events.Events)).Path);
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
}
