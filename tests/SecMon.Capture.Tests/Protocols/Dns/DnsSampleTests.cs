using System.Globalization;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dns;
using SecMon.Capture.Sources;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Dns;

/// <summary>
/// The recorded samples (Samples/record.sh: dig against dnsmasq over UDP and TCP, a tunnelling-like burst, and mDNS in a
/// network namespace) through the whole capture pipeline, and tshark's dns dissector as the independent verifier: for
/// every DNS frame tshark dissects, SecMon's event of that frame must agree on every field both decode.
/// </summary>
public sealed class DnsSampleTests
{
    internal static (List<ProtocolEvent> Events, CaptureStats Stats, RecordingDiagnosticSink Diagnostics) Run(string sample)
    {
        var events = new RecordingEventSink();
        var diagnostics = new RecordingDiagnosticSink();
        var stats = new CaptureStats();
        var source = PcapFileSource.TryOpen(DnsHarness.SamplePath(sample), out var error);
        Assert.True(source is not null, error);
        using var files = new CaptureFileSet([source]);
        new CaptureEngine(new CaptureOptions(), events, diagnostics, stats, DnsHarness.Hasher).Run(files, null, CancellationToken.None);
        return (events.Events, stats, diagnostics);
    }

    private static readonly string[] TsharkFields =
    [
        "frame.number", "dns.id", "dns.flags.response", "dns.flags.rcode", "dns.qry.name", "dns.qry.type", "dns.count.answers",
        "dns.resp.name", "dns.resp.type", "dns.resp.ttl", "dns.resp.class", "dns.a", "dns.aaaa", "dns.flags.recdesired",
        "dns.flags.recavail", "dns.flags.authoritative", "dns.txt", "dns.mx.preference", "dns.mx.mail_exchange", "dns.srv.port",
        "dns.srv.target", "dns.cname", "dns.count.queries", "dns.flags.opcode",
    ];

    private static async Task<List<Dictionary<string, string[]>>> TsharkAsync(string sample)
    {
        List<string> args = ["-r", DnsHarness.SamplePath(sample), "-d", "udp.port==5300,dns", "-d", "tcp.port==5300,dns", "-Y", "dns || mdns",
            "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"];
        foreach (var f in TsharkFields)
        {
            args.Add("-e");
            args.Add(f);
        }

        var (code, stdout, stderr) = await Tools.RunAsync("tshark", [.. args]);
        Assert.True(code == 0, stderr);
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var values = line.Split('\t');
            return TsharkFields.Select((f, i) => (f, v: i < values.Length && values[i].Length > 0 ? values[i].Split('|') : [])).ToDictionary(x => x.f, x => x.v);
        })];
    }

    private static string[] List(ProtocolEvent e, string field)
    {
        Assert.True(e.Schema.TryGetField(field, out var f));
        var v = f.Read(e);
        return v.IsMissing ? [] : v.Kind == FieldKind.NumberList ? [.. v.Numbers!.Select(n => n.ToString(CultureInfo.InvariantCulture))] : [.. v.Strings!];
    }

    private static bool Flag(string[] v) => v.Length == 1 && v[0] is "1" or "True";

    [RequiresToolTheory("tshark")]
    [InlineData("dns-dnsmasq.pcap")]
    [InlineData("dns-tunnel.pcap")]
    [InlineData("mdns.pcap")]
    public async Task Sample_EveryDnsFrame_MatchesTshark(string sample)
    {
        var (events, stats, diagnostics) = Run(sample);
        var frames = await TsharkAsync(sample);
        Assert.NotEmpty(frames);
        Assert.Empty(diagnostics.Diagnostics);
        Assert.Equal(0, stats.MalformedMessages);
        var compared = 0;
        foreach (var t in frames)
        {
            var frame = long.Parse(t["frame.number"][0], CultureInfo.InvariantCulture);
            var e = Assert.Single(events, e => e.PacketNumber == frame && e.Type is not ("dns.unanswered"));
            var response = Flag(t["dns.flags.response"]);
            Assert.Equal(response ? "answer" : "query", DnsHarness.Field(e, "dns.type"));
            Assert.Equal(Convert.ToInt32(t["dns.id"][0], 16).ToString(CultureInfo.InvariantCulture), DnsHarness.Field(e, "dns.id"));
            Assert.Equal(DnsTypes.OpCode(int.Parse(t["dns.flags.opcode"][0], CultureInfo.InvariantCulture)), DnsHarness.Field(e, "dns.op_code"));
            Assert.Equal(t["dns.count.queries"][0], DnsHarness.Field(e, "dns.question.count"));
            if (t["dns.qry.name"].Length > 0)
            {
                Assert.Equal(t["dns.qry.name"][0] == "<Root>" ? "." : t["dns.qry.name"][0], DnsHarness.Field(e, "dns.question.name"));
                Assert.Equal(DnsTypes.Name(ushort.Parse(t["dns.qry.type"][0], CultureInfo.InvariantCulture)), DnsHarness.Field(e, "dns.question.type"));
            }

            var flags = List(e, "dns.header_flags");
            Assert.Equal(Flag(t["dns.flags.recdesired"]), flags.Contains("RD"));
            Assert.Equal(Flag(t["dns.flags.authoritative"]), flags.Contains("AA"));
            if (!response)
            {
                continue;
            }

            Assert.Equal(Flag(t["dns.flags.recavail"]), flags.Contains("RA"));
            Assert.Equal(DnsTypes.ResponseCode(int.Parse(t["dns.flags.rcode"][0], CultureInfo.InvariantCulture)), DnsHarness.Field(e, "dns.response_code"));
            var answers = int.Parse(t["dns.count.answers"][0], CultureInfo.InvariantCulture);
            Assert.Equal(answers.ToString(CultureInfo.InvariantCulture), DnsHarness.Field(e, "dns.answers_count"));
            // tshark lists every record (answers first); SecMon the answers.
            Assert.Equal(t["dns.resp.type"].Take(answers).Select(n => DnsTypes.Name(ushort.Parse(n, CultureInfo.InvariantCulture))), List(e, "dns.answer.type"));
            Assert.Equal(t["dns.resp.ttl"].Take(answers), List(e, "dns.answer.ttl"));
            Assert.Equal(t["dns.resp.class"].Take(answers).Select(c => DnsTypes.ClassName(Convert.ToUInt16(c, 16), mdns: false)), List(e, "dns.answer.class"));
            if (t["dns.resp.name"].Length == t["dns.resp.type"].Length)
            {
                Assert.Equal(t["dns.resp.name"].Take(answers), List(e, "dns.answer.name"));
            }

            Assert.Equal(t["dns.a"].Concat(t["dns.aaaa"]).Order(), List(e, "dns.resolved_ip").Order());
            var data = List(e, "dns.answer.data");
            var types = List(e, "dns.answer.type");
            Assert.Equal(t["dns.cname"], data.Where((_, i) => types[i] == "CNAME"));
            Assert.Equal(t["dns.mx.preference"].Zip(t["dns.mx.mail_exchange"], (p, x) => $"{p} {x}"), data.Where((_, i) => types[i] == "MX"));
            Assert.Equal(t["dns.srv.port"].Zip(t["dns.srv.target"], (p, x) => (p, x)), data.Where((_, i) => types[i] == "SRV").Select(d => d.Split(' ')).Select(d => (d[2], d[3])));
            // TXT: tshark lists each character-string; SecMon quotes each, space-separated (as dig).
            Assert.Equal(string.Join(" ", t["dns.txt"].Select(s => $"\"{s}\"")), string.Join(" ", data.Where((_, i) => types[i] == "TXT")));
            compared++;
        }

        Assert.True(compared > 0);
    }

    [Fact]
    public void DnsmasqSample_UdpTcpUnansweredAndUnicast5353()
    {
        var (events, _, _) = Run("dns-dnsmasq.pcap");
        Assert.Equal(12, events.Count(e => e.Type == "dns.query"));
        Assert.Equal(11, events.Count(e => e.Type == "dns.answer"));
        Assert.Equal(3, events.Count(e => e.Type == "dns.answer" && e.Flow.Transport == "tcp"));
        var unanswered = Assert.Single(events, e => e.Type == "dns.unanswered");
        Assert.Equal("nobody-home.plant.example", DnsHarness.Field(unanswered, "dns.question.name"));
        Assert.Equal(2, events.Count(e => e.Type == "dns.answer" && DnsHarness.Field(e, "dns.response_code") == "NXDOMAIN"));
        // tshark calls unicast DNS on 5353 mDNS by its port; SecMon by its address: plain DNS.
        Assert.Contains(events, e => e.Type == "dns.answer" && e.Flow.SourcePort == 5353 && DnsHarness.Field(e, "network.protocol") == "dns");
        Assert.DoesNotContain(events, e => e.Type.StartsWith("mdns.", StringComparison.Ordinal));
        Assert.All(events.Where(e => e.Type == "dns.answer"), e => Assert.NotEqual("(missing)", DnsHarness.Field(e, "dns.response_time_us")));
        Assert.Contains(events, e => DnsHarness.Field(e, "dns.header_flags").Contains("AA", StringComparison.Ordinal));
    }

    [Fact]
    public void MdnsSample_QueryAnnouncementAndLegacyQuery()
    {
        var (events, _, _) = Run("mdns.pcap");
        Assert.Equal(["mdns.query", "mdns.answer", "mdns.query"], events.Select(e => e.Type));
        var answer = events[1];
        Mqtt.EventText.AssertFields(answer, "network.protocol=mdns;dns.mdns.hostnames=[sensor-7.local];dns.mdns.services=[sensor-7._mqtt._tcp.local];dns.answer.type=[PTR, SRV, TXT, A];dns.answer.class=[IN, IN, IN, IN]");
        Assert.Equal(["sensor-7._mqtt._tcp.local", "0 0 1883 sensor-7.local", "\"model=SM-1000\" \"fw=2.4.1-rc\"", "10.0.0.7"], List(answer, "dns.answer.data"));
    }

    [Fact]
    public void TunnelSample_MeasuresOnTheEvents()
    {
        var (events, _, _) = Run("dns-tunnel.pcap");
        var queries = events.Where(e => e.Type == "dns.query").ToList();
        Assert.Equal(63, queries.Count);
        var tunnel = queries.Where(e => DnsHarness.Field(e, "dns.question.registered_domain") == "tunnel.example").ToList();
        Assert.Equal(60, tunnel.Count);
        Assert.All(tunnel, e =>
        {
            Assert.InRange(int.Parse(DnsHarness.Field(e, "dns.question.longest_label"), CultureInfo.InvariantCulture), 40, 50);
            Assert.True(int.Parse(DnsHarness.Field(e, "dns.question.subdomain_entropy"), CultureInfo.InvariantCulture) >= 400);
            Assert.Equal("TXT", DnsHarness.Field(e, "dns.question.type"));
        });
        Assert.Equal(60, tunnel.Select(e => DnsHarness.Field(e, "dns.question.name")).Distinct().Count());
        Assert.All(queries.Except(tunnel), e => Assert.True(int.Parse(DnsHarness.Field(e, "dns.question.longest_label"), CultureInfo.InvariantCulture) <= 8));
    }
}
