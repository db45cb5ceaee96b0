using System.Globalization;
using SecMon.Capture.Decoding;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Arp;

/// <summary>
/// The recorded samples (Samples/record.sh: hosts in network namespaces on a bridge, arping and ping) through the whole
/// capture pipeline, with tshark's arp dissector as the independent verifier: every frame tshark decodes as ARP is one
/// event of that frame, equal on the opcode, both hardware and both protocol addresses, and on gratuitous ARP (tshark's
/// arp.isgratuitous is "sender address = target address"; SecMon also calls an unsolicited reply gratuitous, which this
/// test works out from tshark's rows on its own: a reply with no request from its target for its sender within 5 s).
/// </summary>
public sealed class ArpSampleTests
{
    private static readonly string[] TsharkFields =
    [
        "frame.number", "frame.time_epoch", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4",
        "arp.isgratuitous", "eth.src", "sll.src.eth", "sll.ifindex",
    ];

    public static TheoryData<string> Samples => new() { "clean.pcap", "spoof.pcap", "storm.pcap", "newdevice.pcap", "cooked.pcap" };

    internal static string SamplePath(string name) => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Arp", "Samples", name);

    [RequiresToolTheory("tshark")]
    [MemberData(nameof(Samples))]
    public async Task Run_RecordedSample_EveryArpFrameMatchesTshark(string sample)
    {
        var (events, stats) = ArpFrames.RunFile(SamplePath(sample));
        var rows = WithoutCopies(await TsharkAsync(SamplePath(sample)));

        Assert.NotEmpty(rows);
        Assert.Equal(0, stats.MalformedMessages);
        Assert.Equal(rows.Count, events.Count(e => e.Schema.Protocol == "arp"));
        var requests = new List<(double Time, string Requester, string Asked)>();
        var claimant = new Dictionary<string, string>(); // sender address -> its latest claimant, from tshark's rows
        foreach (var r in rows)
        {
            var frame = long.Parse(r["frame.number"], CultureInfo.InvariantCulture);
            var e = Assert.Single(events, e => e.PacketNumber == frame);
            var what = $"{sample} frame {frame}";
            Assert.True(r["arp.opcode"] == ArpFrames.Field(e, "arp.opcode"), what);
            Assert.True(e.Type == (r["arp.opcode"] == "1" ? "arp.request" : "arp.reply"), what);
            Assert.True(Ecs(r["arp.src.hw_mac"]) == ArpFrames.Field(e, "arp.sender.mac"), what);
            Assert.True(r["arp.src.proto_ipv4"] == ArpFrames.Field(e, "arp.sender.ip"), what);
            Assert.True(Ecs(r["arp.dst.hw_mac"]) == ArpFrames.Field(e, "arp.target.mac"), what);
            Assert.True(r["arp.dst.proto_ipv4"] == ArpFrames.Field(e, "arp.target.ip"), what);
            var linkSource = r["eth.src"].Length > 0 ? r["eth.src"] : r["sll.src.eth"];
            Assert.True(Ecs(linkSource) == ArpFrames.Field(e, "source.mac"), what);
            Assert.True((linkSource != r["arp.src.hw_mac"] ? "true" : "false") == ArpFrames.Field(e, "arp.mac_mismatch"), what);

            var time = double.Parse(r["frame.time_epoch"], CultureInfo.InvariantCulture);
            var sender = r["arp.src.proto_ipv4"];
            var target = r["arp.dst.proto_ipv4"];
            var unsolicited = false;
            if (r["arp.opcode"] == "1")
            {
                requests.Add((time, sender, target));
            }
            else
            {
                unsolicited = !requests.Any(q => q.Requester == target && q.Asked == sender && time - q.Time is >= 0 and <= 5.0);
                Assert.True((unsolicited ? "true" : "false") == ArpFrames.Field(e, "arp.unsolicited"), what);
            }

            var gratuitous = r["arp.isgratuitous"] == "1" || unsolicited;
            Assert.True((gratuitous ? "true" : "false") == ArpFrames.Field(e, "arp.gratuitous"), what);

            // The earlier claimant: named when the address's latest claimant was another MAC (probes claim nothing).
            var mac = Ecs(r["arp.src.hw_mac"]);
            var previous = "(missing)";
            if (sender != "0.0.0.0")
            {
                if (claimant.TryGetValue(sender, out var before) && before != mac)
                {
                    previous = before;
                }

                claimant[sender] = mac;
            }

            Assert.True(previous == ArpFrames.Field(e, "arp.sender.previous_mac"), what);
        }
    }

    [RequiresToolFact("tshark")]
    public void Run_SpoofSample_TwoMacsClaimTheFirstHostsAddress()
    {
        var (events, _) = ArpFrames.RunFile(SamplePath("spoof.pcap"));

        var claims = events.Where(e => ArpFrames.Field(e, "arp.sender.ip") == "192.0.2.1").Select(e => ArpFrames.Field(e, "arp.sender.mac")).Distinct().Order();
        Assert.Equal(["02-00-00-00-00-01", "02-00-00-00-00-03"], claims);
        var firstTaken = events.First(e => ArpFrames.Field(e, "arp.sender.mac") == "02-00-00-00-00-03" && ArpFrames.Field(e, "arp.sender.ip") == "192.0.2.1");
        Assert.Equal("02-00-00-00-00-01", ArpFrames.Field(firstTaken, "arp.sender.previous_mac"));
        // record.sh: h3's three arping -A replies nobody asked for.
        Assert.Equal(3, events.Count(e => ArpFrames.Field(e, "arp.sender.mac") == "02-00-00-00-00-03" && e.Type == "arp.reply" && ArpFrames.Field(e, "arp.unsolicited") == "true"));
    }

    private static string Ecs(string tsharkMac) => tsharkMac.ToUpperInvariant().Replace(':', '-');

    // tcpdump -i any on a bridge (cooked.pcap) sees each frame on several of its ports: a row whose frame was seen on
    // another interface within 5 ms is that frame's copy, analysed once (DuplicateFilter).
    private static List<Dictionary<string, string>> WithoutCopies(List<Dictionary<string, string>> rows)
    {
        var kept = new List<Dictionary<string, string>>();
        foreach (var r in rows)
        {
            var time = double.Parse(r["frame.time_epoch"], CultureInfo.InvariantCulture);
            var copy = r["sll.ifindex"].Length > 0 && kept.Any(k =>
                k["sll.ifindex"] != r["sll.ifindex"] && Math.Abs(double.Parse(k["frame.time_epoch"], CultureInfo.InvariantCulture) - time) <= 0.005 &&
                TsharkFields.Where(f => f is not ("frame.number" or "frame.time_epoch" or "sll.ifindex")).All(f => k[f] == r[f]));
            if (!copy)
            {
                kept.Add(r);
            }
        }

        return kept;
    }

    private static async Task<List<Dictionary<string, string>>> TsharkAsync(string capture)
    {
        List<string> args = ["-r", capture, "-Y", "arp", "-T", "fields"];
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
            return TsharkFields.Select((f, i) => (f, v: i < values.Length ? values[i].Trim() : "")).ToDictionary(x => x.f, x => x.v);
        })];
    }
}

/// <summary>Mutations of the recorded messages: no exception escapes, at most one event per frame, and every rejected
/// message is counted.</summary>
public sealed class ArpFuzzTests
{
    [Fact]
    public void Run_MutatedRealMessages_NeverThrowsEventsBoundedRejectionsCounted()
    {
        var source = Sources.PcapFileSource.TryOpen(ArpSampleTests.SamplePath("clean.pcap"), out var error);
        Assert.True(source is not null, error);
        var frames = new List<byte[]>();
        using (var files = new Sources.CaptureFileSet([source]))
        {
            while (files.MoveNext())
            {
                var f = files.Current;
                if (f.Data.Length > 13 && f.Data[12] == 0x08 && f.Data[13] == 0x06)
                {
                    frames.Add(f.Data.ToArray());
                }
            }
        }

        Assert.NotEmpty(frames);
        var random = new Random(16);
        var mutants = new List<(long, byte[])>();
        foreach (var frame in frames)
        {
            for (var length = 0; length <= frame.Length; length++)
            {
                mutants.Add((mutants.Count, frame[..length]));
            }

            for (var bit = 0; bit < frame.Length * 8; bit += 3)
            {
                var m = (byte[])frame.Clone();
                m[bit / 8] ^= (byte)(1 << (bit % 8));
                mutants.Add((mutants.Count, m));
            }

            foreach (var offset in new[] { 14 + 4, 14 + 5, 14 + 6, 14 + 7 })
            {
                foreach (var value in new byte[] { 0, 0xFF })
                {
                    var m = (byte[])frame.Clone();
                    m[offset] = value;
                    mutants.Add((mutants.Count, m));
                }
            }

            for (var i = 0; i < 50; i++)
            {
                var m = (byte[])frame.Clone();
                random.NextBytes(m.AsSpan(14));
                m[14 + 4] = 6;
                m[14 + 5] = 4;
                mutants.Add((mutants.Count, m));
            }
        }

        var (events, stats, _) = ArpFrames.Run(LinkTypes.Ethernet, [.. mutants]);

        Assert.True(events.Count <= mutants.Count);
        var arpFrames = mutants.Count(m => m.Item2.Length >= 14 && m.Item2[12] == 0x08 && m.Item2[13] == 0x06);
        Assert.Equal(arpFrames, events.Count + stats.MalformedMessages);
        Assert.True(stats.MalformedMessages > 0);
        Assert.All(events, e => Assert.Contains(e.Type, new[] { "arp.request", "arp.reply" }));
    }
}
