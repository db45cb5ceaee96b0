using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Http;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Http;

/// <summary>
/// tshark's http dissector as an independent verifier of the recorded samples (Samples/record.sh: curl, nc and a node
/// server on 127.0.0.2:18080, a port no hint names). The samples go through the whole capture engine; every HTTP message
/// tshark shows must be one SecMon event, in order per TCP stream, with the same value in every field both decode.
/// </summary>
public sealed partial class HttpTsharkComparisonTests
{
    private static readonly string[] TsharkFields =
    [
        "frame.number", "tcp.stream", "http.request.method", "http.request.uri", "http.host", "http.user_agent",
        "http.request.version", "http.response.code", "http.response.version", "http.content_type",
        "http.content_length_header", "http.transfer_encoding", "http.authbasic", "http.authorization", "http.www_authenticate", "http.response_for.uri",
    ];

    public static string SamplePath(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Http", "Samples", name);

    [RequiresToolTheory("tshark")]
    [InlineData("http-curl.pcap", 22)]
    [InlineData("http-default.pcap", 4)]
    [InlineData("http-admin.pcap", 8)]
    [InlineData("http-digest.pcap", 12)]
    [InlineData("http-bearer.pcap", 8)]
    public async Task Sample_EveryMessage_MatchesTsharkFieldByField(string name, int messages)
    {
        var path = SamplePath(name);
        var events = Analyze(path, new HttpOptions { Query = HttpQueryMode.Full }, out var stats);
        var rows = await TsharkAsync(path);

        // tshark puts pipelined requests of one segment in one row, their values joined by '|'.
        var expected = rows.SelectMany(Split).ToList();
        var http = events.OfType<HttpEvent>().ToList();
        Assert.Equal(messages, expected.Count);
        Assert.Empty(http.OfType<HttpMalformedEvent>());
        Assert.Equal(0, stats.MalformedMessages);

        // Streams in order of first appearance, as tshark numbers them.
        var streams = http.Select(e => e.Flow.FlowId).Distinct().ToList();
        Assert.Equal(expected.Select(r => r["tcp.stream"]).Distinct().Count(), streams.Count);
        foreach (var (stream, index) in streams.Select((s, i) => (s, i)))
        {
            var mine = http.Where(e => e.Flow.FlowId == stream).ToList();
            var theirs = expected.Where(r => r["tcp.stream"] == index.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(theirs.Count, mine.Count);
            var pipelined = theirs.Count(r => r["http.request.method"].Length > 0) > 1 && rows.Any(r => r["tcp.stream"] == index.ToString(System.Globalization.CultureInfo.InvariantCulture) && r["http.request.method"].Contains('|', StringComparison.Ordinal));
            for (var i = 0; i < mine.Count; i++)
            {
                Compare(theirs[i], mine[i], $"{name} stream {index} message {i}", pipelined);
            }
        }
    }

    [RequiresToolFact("tshark")]
    public async Task Sample_DefaultOptions_QuerySecretRedactedBasicPasswordNeverInAnEvent()
    {
        var events = Analyze(SamplePath("http-curl.pcap"), null, out _);

        var status = events.OfType<HttpRequestEvent>().Single(r => r.Path == "/status");
        Assert.Equal("verbose=1&token=REDACTED", status.Query);
        var basic = events.OfType<HttpRequestEvent>().Single(r => r.Username is not null);
        Assert.Equal(("alice", true, false), (basic.Username, basic.PasswordPresent, basic.DefaultCredentials));
        var all = string.Join("\n", events.SelectMany(e => e.Schema.Fields.Select(f => f.Read(e).ToString())));
        Assert.DoesNotContain("S3cret", all, StringComparison.Ordinal);
        Assert.DoesNotContain("abc123", all, StringComparison.Ordinal);

        // Pipelined: tshark joins both responses to the last request (its response_for.uri says /second twice); SecMon
        // joins them in order (RFC 9112 §9.3.2).
        var pipelined = events.OfType<HttpResponseEvent>().Where(r => r.Path is "/first" or "/second").Select(r => r.Path);
        Assert.Equal(["/first", "/second"], pipelined);
        await Task.CompletedTask;
    }

    [RequiresToolFact("tshark")]
    public async Task Sample_Digest_UserNamesKeptNoPasswordNoHash()
    {
        // curl --digest against server.js (record.sh): operator with a wrong password (401), then the right one (200),
        // then the UTF-8 user name Jäsøn (200). Digest sends a response hash, never the password.
        var events = Analyze(SamplePath("http-digest.pcap"), null, out _);

        var answered = events.OfType<HttpResponseEvent>().Where(r => r.AuthorizationScheme == "Digest").Select(r => (r.Username, r.StatusCode));
        Assert.Equal([("operator", 401), ("operator", 200), ("Jäsøn", 200)], answered);
        var requests = events.OfType<HttpRequestEvent>().Where(r => r.AuthorizationScheme == "Digest").ToList();
        Assert.All(requests, r => Assert.Equal((null, null, null), (r.PasswordPresent, r.PasswordHash, r.DefaultCredentials)));
        var all = string.Join("\n", events.SelectMany(e => e.Schema.Fields.Select(f => f.Read(e).ToString())));
        Assert.DoesNotContain("0per4tor", all, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [RequiresToolFact("tshark")]
    public async Task Sample_DefaultCredentials_FlaggedWithoutThePassword()
    {
        var events = Analyze(SamplePath("http-default.pcap"), null, out _);

        var requests = events.OfType<HttpRequestEvent>().ToList();
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal(("admin", true), (r.Username, r.DefaultCredentials)));
        Assert.Equal(new SecretHasher(new byte[32]).Hash("admin"u8), requests[0].PasswordHash);
        await Task.CompletedTask;
    }

    [RequiresToolFact("tshark")]
    public async Task ProxySample_CredentialsAndTunnels_MatchTshark()
    {
        // The client's side of tinyproxy (record.sh): a 407 without the credential, an absolute-form GET with it, HTTPS
        // through CONNECT, and plain HTTP with Basic (alice) inside a CONNECT tunnel (curl -p). tshark (told that
        // 18080 is HTTP, as the tunnel's port) decodes the same messages and the tunnelled ClientHello. Requests are
        // compared with their frame; a response's frame is where tshark's reassembly of its body ended, SecMon's where
        // its head did.
        var path = SamplePath("http-proxy.pcap");
        var events = Analyze(path, null, out var stats);
        var (exit, stdout, stderr) = await Tools.RunAsync("tshark",
            ["-r", path, "-d", "tcp.port==18080,http", "-Y", "http.request or http.response or tls.handshake.type==1", "-T", "fields",
             "-e", "frame.number", "-e", "http.request.method", "-e", "http.request.uri", "-e", "http.response.code",
             "-e", "http.proxy_authorization", "-e", "http.proxy_authenticate", "-e", "tls.handshake.extensions_server_name"],
            TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t')).ToList();

        static string Frame(ProtocolEvent e) => e.PacketNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
        static string ProxyUser(string header) => header.Length == 0 ? "" :
            System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..])).Split(':')[0];
        var mine = events.Select(e => e switch
        {
            HttpRequestEvent r => string.Join('/', Frame(r), r.Method, r.Path, r.ProxyUsername ?? ""),
            HttpResponseEvent r => string.Join('/', "response", r.StatusCode, r.ProxyAuthenticateScheme ?? ""),
            Capture.Protocols.Tls.TlsClientHelloEvent h => string.Join('/', Frame(h), h.ServerName),
            _ => $"{Frame(e)} {e.Type}",
        }).Where(s => !s.Contains(' ', StringComparison.Ordinal)).ToList();
        var theirs = rows.Select(r => r[1].Length > 0
                ? string.Join('/', r[0], r[1], r[2].StartsWith("http://", StringComparison.Ordinal) ? new Uri(r[2]).AbsolutePath : r[2], ProxyUser(r[4]))
                : r[3].Length > 0 ? string.Join('/', "response", r[3], r[5].Split(' ')[0])
                : string.Join('/', r[0], r[6])).ToList();
        Assert.Equal(theirs, mine);
        Assert.Equal(11, mine.Count);
        Assert.Equal(0, stats.MalformedMessages);

        // Inside the second tunnel: alice's Basic credential to the origin, joined to its response; the proxy's password
        // only as its keyed hash, never in clear.
        var inner = events.OfType<HttpResponseEvent>().Single(r => r.Path == "/private");
        Assert.Equal(("alice", 200, true), (inner.Username, inner.StatusCode, inner.Joined));
        var proxied = events.OfType<HttpRequestEvent>().Where(r => r.ProxyPasswordPresent == true).ToList();
        Assert.Equal(3, proxied.Count);
        Assert.All(proxied, r => Assert.Equal(("Basic", "gateway", new SecretHasher(new byte[32]).Hash("S3cret-proxy"u8)),
            (r.ProxyAuthorizationScheme, r.ProxyUsername, r.ProxyPasswordHash)));
        var all = string.Join("\n", events.SelectMany(e => e.Schema.Fields.Select(f => f.Read(e).ToString())));
        Assert.DoesNotContain("S3cret", all, StringComparison.Ordinal);
    }

    [RequiresToolFact("tshark")]
    public async Task ProxyGuessSample_RefusalsJoinedToTheProxyCredentials_MatchTshark()
    {
        // Squid (record.sh): six wrong proxy passwords for gateway, each refused with 407, then the right one. Every
        // response carries its request's proxy user and the keyed hash of the password tried; tshark's status codes.
        var path = SamplePath("http-proxy-guess.pcap");
        var events = Analyze(path, null, out var stats);
        var (exit, stdout, stderr) = await Tools.RunAsync("tshark",
            ["-r", path, "-Y", "http.response", "-T", "fields", "-e", "http.response.code", "-e", "http.proxy_authenticate"], TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, stderr);

        var responses = events.OfType<HttpResponseEvent>().ToList();
        Assert.Equal(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')[0]),
            responses.Select(r => r.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.All(responses, r => Assert.Equal(("gateway", true), (r.ProxyUsername, r.ProxyPasswordPresent)));
        Assert.Equal(7, responses.Select(r => r.ProxyPasswordHash).Distinct().Count());
        var hasher = new SecretHasher(new byte[32]);
        Assert.Equal(hasher.Hash("S3cret-proxy"u8), responses[^1].ProxyPasswordHash);
        Assert.All(responses.Take(6), r => Assert.Equal("Basic", r.ProxyAuthenticateScheme));
        Assert.Equal(0, stats.MalformedMessages);
    }

    internal static List<ProtocolEvent> Analyze(string path, HttpOptions? options, out CaptureStats stats)
    {
        var catalogue = options is null ? null
            : new ProtocolCatalogue(ProtocolCatalogue.Shipped.All.Select(p => p is HttpProtocol ? new HttpProtocol(options) : p));
        (var events, stats, _) = SampleEngine.Run(path, catalogue);
        return events;
    }

    private static void Compare(Dictionary<string, string> t, HttpEvent e, string where, bool pipelined)
    {
        var request = t["http.request.method"].Length > 0;
        switch (e)
        {
            case HttpRequestEvent r:
                Assert.True(request, $"{where}: tshark shows a response, SecMon a request");
                Assert.Equal(t["frame.number"], r.PacketNumber.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal(t["http.request.method"], r.Method);
                Assert.Equal(t["http.request.uri"], r.Query is null ? r.Path : $"{r.Path}?{r.Query}");
                Assert.Equal(t["http.host"], r.Domain is null ? "" : r.Port is null ? r.Domain : $"{r.Domain}:{r.Port}");
                Assert.Equal(t["http.user_agent"], r.UserAgent ?? "");
                Assert.Equal(t["http.request.version"], "HTTP/" + r.Version);
                Assert.Equal(MediaType(t["http.content_type"]), r.ContentType ?? "");
                Assert.Equal(t["http.content_length_header"], r.BodyBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
                Assert.Equal(t["http.transfer_encoding"].Contains("chunked", StringComparison.OrdinalIgnoreCase), r.Chunked);
                var user = t["http.authbasic"];
                var digest = DigestUser().Match(t["http.authorization"]);
                if (user.Length > 0 || !digest.Success)
                {
                    Assert.Equal(user.Length == 0 ? null : user[..user.IndexOf(':', StringComparison.Ordinal)], r.Username);
                }
                else if (!digest.Groups[1].Value.Contains('\uFFFD', StringComparison.Ordinal))
                {
                    // tshark shows a non-ASCII user name's bytes as replacement characters: those are checked on their own.
                    Assert.Equal(digest.Groups[1].Value, r.Username);
                }

                Assert.Equal(user.Length > 0 ? true : null, r.PasswordPresent);
                break;
            case HttpResponseEvent s:
                Assert.False(request, $"{where}: tshark shows a request, SecMon a response");
                Assert.Equal(t["http.response.code"], s.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal(t["http.response.version"], "HTTP/" + s.Version);
                Assert.Equal(MediaType(t["http.content_type"]), s.ContentType ?? "");
                Assert.Equal(t["http.content_length_header"], s.BodyBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
                Assert.Equal(t["http.transfer_encoding"].Contains("chunked", StringComparison.OrdinalIgnoreCase), s.Chunked);
                var challenge = t["http.www_authenticate"];
                Assert.Equal(challenge.Length == 0 ? null : challenge.Split(' ')[0], s.AuthenticateScheme);
                if (!pipelined && t["http.response_for.uri"] is { Length: > 0 } uri)
                {
                    Assert.Equal(new Uri(uri).AbsolutePath, s.Path);
                }

                break;
            default:
                Assert.Fail($"{where}: unexpected {e.Type}");
                break;
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^Digest .*\\busername=\"([^\"]*)\"")]
    private static partial System.Text.RegularExpressions.Regex DigestUser();

    private static string MediaType(string contentType)
    {
        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim().ToLowerInvariant();
    }

    private static IEnumerable<Dictionary<string, string>> Split(Dictionary<string, string> row)
    {
        var n = Math.Max(1, row["http.request.method"].Split('|').Length);
        for (var i = 0; i < n; i++)
        {
            yield return row.ToDictionary(kv => kv.Key, kv => kv.Value.Split('|') is var parts && parts.Length == n ? parts[i] : kv.Value);
        }
    }

    private static async Task<List<Dictionary<string, string>>> TsharkAsync(string path)
    {
        var args = new List<string> { "-r", path, "-d", "tcp.port==18080,http", "-Y", "http", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|" };
        foreach (var f in TsharkFields)
        {
            args.Add("-e");
            args.Add(f);
        }

        var (exit, stdout, stderr) = await Tools.RunAsync("tshark", args, TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, stderr);
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var values = line.TrimEnd('\r').Split('\t');
            return TsharkFields.Select((f, i) => (f, i < values.Length ? values[i] : "")).ToDictionary(x => x.f, x => x.Item2);
        })];
    }
}
