using System.Globalization;
using SecMon.Capture.Protocols.Http;
using SecMon.Capture.Protocols.Socks;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Socks;

/// <summary>
/// The recorded samples (Samples/record.sh: curl through microsocks and Dante) through the whole capture engine, against tshark's
/// socks dissector: every login (the password tshark shows in clear, compared through the keyed hash SecMon keeps),
/// request (frame, command, target) and reply (frame, status) is one SecMon event, in order.
/// </summary>
public sealed class SocksTsharkComparisonTests
{
    private static readonly SecretHasher Hasher = new(new byte[32]);

    public static string SamplePath(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Socks", "Samples", name);

    [RequiresToolFact("tshark")]
    public async Task Socks5Sample_EveryLoginRequestAndReply_MatchesTshark()
    {
        var path = SamplePath("socks5.pcap");
        var (events, stats) = Analyze(path);
        var (exit, stdout, stderr) = await Tools.RunAsync("tshark",
            ["-r", path, "-Y", "(socks.username or socks.command or socks.results) and tcp.len > 0", "-T", "fields", "-e", "frame.number",
             "-e", "socks.username", "-e", "socks.password", "-e", "socks.command", "-e", "socks.dst", "-e", "socks.remote_name",
             "-e", "socks.port", "-e", "socks.results", "-e", "socks.dstport"],
            TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t')).ToList();

        // tshark shows a login at its frame, SecMon with the proxy's verdict: logins are compared in order, without frame.
        // tshark repeats the request's target on the relayed packets (socks.dstport): those are not requests.
        var theirs = rows.Select(r => r[1].Length > 0 ? $"login {r[1]} {Hasher.Hash(System.Text.Encoding.ASCII.GetBytes(r[2]))}"
            : r[7].Length > 0 ? $"{r[0]} reply {r[7]}"
            : r[3].Length > 0 && r[8].Length == 0 ? $"{r[0]} request {r[3]} {(r[5].Length > 0 ? r[5] : r[4])} {r[6]}"
            : null).OfType<string>().ToList();
        var mine = events.Select(e => e switch
        {
            SocksLoginEvent l => $"login {l.User} {l.PasswordHash}",
            SocksRequestEvent q => $"{q.PacketNumber} request 1 {q.Target.Domain ?? q.Target.Ip} {q.Target.Port}",
            SocksReplyEvent { Target: not null } p => $"{p.PacketNumber} reply {Code(p.Status)}",
            _ => null,
        }).OfType<string>().ToList();
        Assert.Equal(theirs, mine);
        Assert.Equal(0, stats.MalformedMessages);

        // What tshark does not check: the verdicts, the refusal of a client offering no login, and the relayed GET.
        Assert.Equal([true, true, false, true], events.OfType<SocksLoginEvent>().Select(l => l.Accepted));
        Assert.Single(events.OfType<SocksReplyEvent>(), r => r.Status == "no_acceptable_methods");
        Assert.Equal("/status", Assert.Single(events.OfType<HttpRequestEvent>()).Path);
        Assert.Equal([true, false, false], events.OfType<SocksReplyEvent>().Where(r => r.Target is not null).Select(r => r.Relayed));
    }

    [RequiresToolFact("tshark")]
    public async Task Socks4Sample_RequestsAndReplies_MatchTshark()
    {
        // Dante on 10804 (record.sh): SOCKS4 with a user id, relayed; SOCKS4a by host name, rejected. tshark is told the
        // port is SOCKS; it repeats the request's fields on the relayed packets: only each side's first segment is taken.
        var path = SamplePath("socks4.pcap");
        var (events, stats) = Analyze(path);
        var (exit, stdout, stderr) = await Tools.RunAsync("tshark",
            ["-r", path, "-d", "tcp.port==10804,socks", "-Y", "socks and tcp.len > 0 and tcp.seq == 1", "-T", "fields",
             "-e", "frame.number", "-e", "socks.version", "-e", "socks.username", "-e", "socks.dst", "-e", "socks.v4a_dns_name",
             "-e", "socks.dstport", "-e", "socks.results"],
            TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, stderr);

        var theirs = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t'))
            .Select(r => r[1] == "4" ? $"{r[0]} request {r[2]} {(r[4].Length > 0 ? r[4] : r[3])} {r[5]}" : $"{r[0]} reply {r[6]}").ToList();
        var mine = events.Select(e => e switch
        {
            SocksRequestEvent q => $"{q.PacketNumber} request {q.User} {q.Target.Domain ?? q.Target.Ip} {q.Target.Port}",
            SocksReplyEvent p => $"{p.PacketNumber} reply {(p.Status == "succeeded" ? 90 : p.Status == "rejected" ? 91 : -1)}",
            _ => null,
        }).OfType<string>().ToList();
        Assert.Equal(theirs, mine);
        Assert.Equal(4, mine.Count);
        Assert.Equal("/status", Assert.Single(events.OfType<HttpRequestEvent>()).Path); // relayed after the first grant
        Assert.Equal(0, stats.MalformedMessages);
    }

    private static string Code(string status) => status switch
    {
        "succeeded" => "0",
        "connection_refused" => "5",
        _ => status,
    };

    internal static (List<ProtocolEvent> Events, CaptureStats Stats) Analyze(string path)
    {
        var (events, stats, _) = SampleEngine.Run(path, hasher: Hasher);
        return (events, stats);
    }
}
