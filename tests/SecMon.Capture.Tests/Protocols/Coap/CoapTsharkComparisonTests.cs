using System.Globalization;
using System.Text.Json;
using SecMon.Core.Events;
using SecMon.Testing;
using static SecMon.Capture.Tests.Protocols.Coap.CoapTestKit;

namespace SecMon.Capture.Tests.Protocols.Coap;

/// <summary>
/// tshark's CoAP dissector as an independent verifier of SecMon's, on the captures of real libcoap peers
/// (Samples/record.sh), each run through the whole capture engine with the shipped protocols (so CoAP is found by
/// its probe, also on port 5690 where tshark needs <c>-d udp.port==5690,coap</c>). Every CoAP frame tshark
/// dissects with a code other than 0.00 must be exactly one SecMon event stamped with that frame, and agree on
/// type, code, message id, token, Uri-Host, Uri-Port, Uri-Path, Uri-Query, Content-Format, Observe, Block1, Block2
/// and the payload size.
/// </summary>
public sealed class CoapTsharkComparisonTests
{
    private static readonly string[] TsharkTypes = ["CON", "NON", "ACK", "RST"];

    private static readonly Dictionary<string, string> ContentFormats = new(StringComparer.Ordinal)
    {
        ["text/plain; charset=utf-8"] = "0",
        ["application/link-format"] = "40",
        ["application/octet-stream"] = "42",
        ["application/json"] = "50",
        ["application/cbor"] = "60",
    };

    [RequiresToolTheory("tshark")]
    [InlineData("coap-libcoap.pcap", 73)]
    [InlineData("coap-sweep.pcap", 26)]
    [InlineData("coap-tcp.pcap", 57)] // over TCP (RFC 8323) on 5693: tshark needs -d tcp.port==5693,coap
    public async Task Analyze_RealLibcoapCapture_EveryMessageMatchesTshark(string sample, int frames)
    {
        var pcap = Sample(sample);
        var (events, stats, diagnostics) = Analyze(pcap);
        var tshark = await TsharkAsync(pcap);

        Assert.Equal(frames, tshark.Count);
        Assert.Empty(diagnostics);
        Assert.Equal(0, stats.MalformedMessages);
        // Over TCP: no type or message id, and the signalling messages (class 7: the CSM each side sends first) are not
        // requests or responses.
        var tcp = sample.Contains("tcp", StringComparison.Ordinal);
        var messages = tshark.Where(t => t.Fields["coap.code"][0] != "0" && int.Parse(t.Fields["coap.code"][0], CultureInfo.InvariantCulture) < 224).ToList();
        var perFrame = events.Where(e => e.Type != "coap.unanswered").GroupBy(e => e.PacketNumber).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(messages.Select(m => m.Frame).Order(), perFrame.Keys.Order());
        foreach (var (frame, fields, options) in messages)
        {
            var e = Assert.Single(perFrame[frame]);
            var where = $"{sample} frame {frame} ({e.Type})";
            Same(where, "coap.type", tcp ? "(missing)" : TsharkTypes[int.Parse(fields["coap.type"][0], CultureInfo.InvariantCulture)], e);
            var code = int.Parse(fields["coap.code"][0], CultureInfo.InvariantCulture);
            Same(where, "coap.code", $"{code >> 5}.{code & 0x1F:D2}", e);
            Assert.Equal(code < 32 ? "coap.request" : "coap.response", e.Type);
            Same(where, "coap.message_id", tcp ? "(missing)" : fields["coap.mid"][0], e);
            Assert.Equal(tcp ? "tcp" : "udp", e.Flow.Transport);
            Same(where, "coap.token", fields.TryGetValue("coap.token", out var token) ? token[0].Replace(":", "", StringComparison.Ordinal) : "", e);
            if (e.Type == "coap.request")
            {
                Same(where, "url.domain", Option(options, 3, "coap.opt.uri_host"), e);
                Same(where, "url.port", Option(options, 7, "coap.opt.uri_port"), e);
                var path = options.Where(o => o.Number == 11).Select(o => o.Fields["coap.opt.uri_path"]).ToList();
                Same(where, "url.path", "/" + string.Join('/', path), e);
                var query = options.Where(o => o.Number == 15).Select(o => o.Fields["coap.opt.uri_query"]).ToList();
                Same(where, "url.query", query.Count == 0 ? "(missing)" : string.Join('&', query), e);
            }

            var ctype = Option(options, 12, "coap.opt.ctype");
            Same(where, "coap.content_format", ctype == "(missing)" ? ctype : ContentFormats[ctype], e);
            Same(where, "coap.observe", Option(options, 6, "coap.opt.observe"), e);
            foreach (var (number, name) in new[] { (27, "block1"), (23, "block2") })
            {
                var block = options.FirstOrDefault(o => o.Number == number);
                Same(where, $"coap.{name}.num", block.Fields?["coap.opt.block_number"] ?? "(missing)", e);
                Same(where, $"coap.{name}.more", block.Fields is null ? "(missing)" : block.Fields["coap.opt.block_mflag"] == "1" ? "true" : "false", e);
                Same(where, $"coap.{name}.size", block.Fields is null ? "(missing)" : $"{1 << (int.Parse(block.Fields["coap.opt.block_size"], CultureInfo.InvariantCulture) + 4)}", e);
            }

            Same(where, "coap.option_count", $"{options.Count}", e);
            // A block's own bytes are coap.block_length (coap.payload_length is then the reassembled body).
            var payload = fields.TryGetValue("coap.block_length", out var b) ? b[0]
                : fields.TryGetValue("coap.block_payload", out var bp) ? $"{(bp[0].Length + 1) / 3}"
                : fields.TryGetValue("coap.payload_length", out var p) ? p[0]
                : "0";
            Same(where, "coap.payload.size", payload, e);
        }
    }

    /// <summary>What record.sh did, checked on SecMon's events: joins, observe, block-wise, separate and unanswered.</summary>
    [Fact]
    public void Analyze_LibcoapSample_JoinsEveryResponseAndReportsTheLostRequest()
    {
        var (events, _, _) = Analyze(Sample("coap-libcoap.pcap"));

        var requests = events.Where(e => e.Type == "coap.request").ToList();
        var responses = events.Where(e => e.Type == "coap.response").ToList();
        Assert.Equal(["DELETE", "GET", "POST", "PUT"], requests.Select(r => Field(r, "coap.method")).Distinct().Order());
        Assert.All(requests, r => Assert.Equal("127.83.0.1", r.Flow.SourceIp));
        // Every response found its request (method and path), piggybacked or not.
        Assert.All(responses, r => Assert.NotEqual("(missing)", Field(r, "url.path")));
        Assert.Contains(responses, r => Field(r, "url.path") == "/.well-known/core" && Field(r, "coap.content_format") == "40");
        Assert.Contains(responses, r => Field(r, "url.path") == "/sensors/4711/temp" && Field(r, "coap.status") == "Created");
        Assert.Contains(responses, r => Field(r, "coap.method") == "POST" && Field(r, "coap.status") == "Method Not Allowed" && Field(r, "coap.code_class") == "4");
        Assert.Contains(responses, r => Field(r, "coap.method") == "DELETE" && Field(r, "coap.status") == "Deleted");
        // Observe: three CON notifications after the piggybacked first answer, all joined to GET /time.
        Assert.True(responses.Count(r => Field(r, "url.path") == "/time" && Field(r, "coap.observe") != "(missing)" && Field(r, "coap.piggybacked") == "false") >= 2);
        // Block-wise: eleven 64-byte blocks each way.
        Assert.Equal(11, requests.Count(r => Field(r, "coap.method") == "PUT" && Field(r, "coap.block1.size") == "64"));
        Assert.Equal(11, responses.Count(r => Field(r, "coap.method") == "GET" && Field(r, "coap.block2.size") == "64"));
        // /async answers separately after an empty ACK.
        var async = Assert.Single(responses, r => Field(r, "url.path") == "/async");
        Assert.Equal("false", Field(async, "coap.piggybacked"));
        Assert.True(long.Parse(Field(async, "coap.response_time_us"), CultureInfo.InvariantCulture) >= 900_000);
        // Nothing listened on 127.83.0.3:5691.
        var lost = Assert.Single(events, e => e.Type == "coap.unanswered");
        Assert.Equal("/lost", Field(lost, "url.path"));
        Assert.Equal("127.83.0.3", lost.Flow.DestinationIp);
        Assert.Equal("flow_end", Field(lost, "coap.unanswered.reason"));
    }

    /// <summary>What record.sh did over TCP, checked on SecMon's events: every response joined by token.</summary>
    [Fact]
    public void Analyze_TcpSample_EveryResponseJoinedByToken_ObserveAndBlockwise()
    {
        var (events, stats, diagnostics) = Analyze(Sample("coap-tcp.pcap"));

        Assert.Empty(diagnostics);
        Assert.Equal(0, stats.MalformedMessages);
        var requests = events.Where(e => e.Type == "coap.request").ToList();
        var responses = events.Where(e => e.Type == "coap.response").ToList();
        Assert.Equal(19, requests.Count);
        Assert.Equal(22, responses.Count);
        Assert.DoesNotContain(events, e => e.Type == "coap.unanswered");
        Assert.All(events, e => Assert.Equal("tcp", e.Flow.Transport));
        Assert.All(requests, r => Assert.Equal("127.83.0.1", r.Flow.SourceIp));
        Assert.All(responses, r => Assert.NotEqual("(missing)", Field(r, "url.path")));
        Assert.All(responses, r => Assert.NotEqual("(missing)", Field(r, "coap.response_time_us")));
        Assert.Equal(["DELETE", "GET", "POST", "PUT"], requests.Select(r => Field(r, "coap.method")).Distinct().Order());
        Assert.Contains(responses, r => Field(r, "coap.method") == "POST" && Field(r, "coap.status") == "Method Not Allowed");
        // Observe of /time: notifications after the first answer, all joined to the GET.
        Assert.True(responses.Count(r => Field(r, "url.path") == "/time" && Field(r, "coap.observe") != "(missing)") >= 3);
        // Block-wise GET: eleven 64-byte blocks.
        Assert.Equal(11, responses.Count(r => Field(r, "coap.block2.size") == "64"));
    }

    private static void Same(string where, string field, string expected, ProtocolEvent e)
    {
        var actual = Field(e, field);
        Assert.True(expected == actual, $"{where}: tshark {expected}, SecMon {field}={actual}");
    }

    private static string Option(List<(int Number, Dictionary<string, string> Fields)> options, int number, string field)
    {
        var o = options.FirstOrDefault(o => o.Number == number);
        return o.Fields is not null && o.Fields.TryGetValue(field, out var v) ? v : "(missing)";
    }

    /// <summary>Each CoAP frame: its number, its top-level coap.* fields, and its options in order (number from the
    /// option's "Type N" description, with that option's own fields).</summary>
    private static async Task<List<(long Frame, Dictionary<string, List<string>> Fields, List<(int Number, Dictionary<string, string> Fields)> Options)>> TsharkAsync(string pcap)
    {
        var (code, stdout, stderr) = await Tools.RunAsync("tshark",
            ["-r", pcap, "-d", "udp.port==5690,coap", "-d", "udp.port==5691,coap", "-d", "tcp.port==5693,coap", "-Y", "coap", "-T", "json", "--no-duplicate-keys", "-J", "frame coap"]);
        Assert.True(code == 0, stderr);
        var result = new List<(long, Dictionary<string, List<string>>, List<(int, Dictionary<string, string>)>)>();
        using var doc = JsonDocument.Parse(stdout);
        foreach (var packet in doc.RootElement.EnumerateArray())
        {
            var layers = packet.GetProperty("_source").GetProperty("layers");
            var frame = long.Parse(layers.GetProperty("frame").GetProperty("frame.number").GetString()!, CultureInfo.InvariantCulture);
            var coap = layers.GetProperty("coap");
            var fields = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            var options = new List<(int, Dictionary<string, string>)>();
            foreach (var p in coap.EnumerateObject())
            {
                if (p.Name == "coap.opt.name_tree")
                {
                    foreach (var o in p.Value.ValueKind == JsonValueKind.Array ? p.Value.EnumerateArray().ToArray() : [p.Value])
                    {
                        var own = o.EnumerateObject().Where(f => f.Value.ValueKind == JsonValueKind.String).ToDictionary(f => f.Name, f => f.Value.GetString()!, StringComparer.Ordinal);
                        var desc = own["coap.opt.desc"]; // "Type 11, Critical, Unsafe"
                        options.Add((int.Parse(desc[5..desc.IndexOf(',', StringComparison.Ordinal)], CultureInfo.InvariantCulture), own));
                    }
                }
                else if (p.Name == "coap.payload_tree")
                {
                    foreach (var f in p.Value.EnumerateObject())
                    {
                        fields[f.Name] = [f.Value.GetString()!];
                    }
                }
                else if (p.Value.ValueKind == JsonValueKind.String)
                {
                    fields[p.Name] = [p.Value.GetString()!];
                }
            }

            result.Add((frame, fields, options));
        }

        return result;
    }
}
