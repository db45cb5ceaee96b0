using System.Globalization;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Ftp;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Ftp;

/// <summary>
/// tshark's ftp and ftp-data dissectors as independent verifiers of the recorded samples (Samples/record.sh: curl against
/// vsftpd on 127.0.0.1:2121, a port no hint names; tshark is told it is FTP with -d). The samples go through the whole
/// capture engine. Per control connection, in order: every command tshark shows (ftp.request.command and .arg) is one
/// ftp.command (PASS's argument only as its keyed hash), every reply code (ftp.response.code and .arg, greetings and
/// preliminary 1xx included) is the one SecMon joined, stamped with the same frame; the endpoints tshark reads from
/// PASV/EPSV/PORT/EPRT are SecMon's; every data connection tshark links to a control connection (ftp-data.setup-frame
/// and .setup-method) is an ftp.data event of that control flow with the same method.
/// </summary>
public sealed class FtpTsharkComparisonTests
{
    private static readonly string[] TsharkFields =
    [
        "frame.number", "tcp.stream", "tcp.srcport", "tcp.dstport", "ftp.request.command", "ftp.request.arg", "ftp.response.code",
        "ftp.response.arg", "ftp.passive.ip", "ftp.passive.port", "ftp.epsv.port", "ftp.eprt.ip", "ftp.eprt.port", "ftp.active.cip",
        "ftp.active.port", "ftp-data.setup-frame", "ftp-data.setup-method",
    ];

    private static readonly SecretHasher Hasher = new(new byte[32]);

    public static string SamplePath(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Ftp", "Samples", name);

    [RequiresToolTheory("tshark")]
    [InlineData("ftp-anonymous.pcap", 5, 3)]
    [InlineData("ftp-login-failed.pcap", 1, 0)]
    [InlineData("ftp-guessing.pcap", 6, 0)]
    public async Task Sample_EveryCommandReplyAndDataConnection_MatchesTshark(string name, int controls, int tsharkData)
    {
        var path = SamplePath(name);
        var events = Analyze(path, out var stats);
        var rows = await TsharkAsync(path);
        Assert.Equal(0, stats.MalformedMessages);
        Assert.Empty(events.OfType<FtpMalformedEvent>());

        // Control connections: streams with FTP commands or replies, in order of first appearance as tshark numbers them.
        var controlRows = rows.Where(r => r["ftp.request.command"].Length > 0 || r["ftp.response.code"].Length > 0).ToList();
        var controlStreams = controlRows.Select(r => r["tcp.stream"]).Distinct().ToList();
        var mine = events.OfType<FtpEvent>().Where(e => e is not FtpDataEvent).GroupBy(e => e.Flow.FlowId).ToList();
        Assert.Equal(controls, controlStreams.Count);
        Assert.Equal(controls, mine.Count);
        var flowOfStream = new Dictionary<string, string>();
        for (var i = 0; i < controls; i++)
        {
            var theirs = controlRows.Where(r => r["tcp.stream"] == controlStreams[i]).ToList();
            var flow = mine[i].ToList();
            flowOfStream[controlStreams[i]] = mine[i].Key;
            CompareControl(theirs, flow, $"{name} stream {controlStreams[i]}");
        }

        // Data connections tshark links (it misses an active one from a port other than 20; SecMon finds it, checked below).
        var dataRows = rows.Where(r => r["ftp-data.setup-method"].Length > 0).GroupBy(r => r["tcp.stream"]).Select(g => g.First()).ToList();
        Assert.Equal(tsharkData, dataRows.Count);
        var data = events.OfType<FtpDataEvent>().ToList();
        foreach (var row in dataRows)
        {
            var setup = rows.Single(r => r["frame.number"] == row["ftp-data.setup-frame"]);
            var ports = (int.Parse(row["tcp.srcport"], CultureInfo.InvariantCulture), int.Parse(row["tcp.dstport"], CultureInfo.InvariantCulture));
            var e = Assert.Single(data, d => (d.Flow.SourcePort, d.Flow.DestinationPort) == ports || (d.Flow.DestinationPort, d.Flow.SourcePort) == ports);
            Assert.Equal(flowOfStream[setup["tcp.stream"]], e.ControlFlowId);
            Assert.Equal(row["ftp-data.setup-method"] == "EPASV" ? "EPSV" : row["ftp-data.setup-method"], e.AnnouncedBy);
        }
    }

    [RequiresToolFact("tshark")]
    public async Task Anonymous_FourTransfers_EachDataConnectionLinkedWithItsCommandAndBytes()
    {
        var events = Analyze(SamplePath("ftp-anonymous.pcap"), out _);

        var data = events.OfType<FtpDataEvent>().ToList();
        Assert.Equal(
            new (string, string, string?, string?, long, long)[]
            {
                ("EPSV", "passive", "LIST", null, 0, 129), ("PASV", "passive", "RETR", "readme.txt", 0, 22),
                ("EPRT", "active", "RETR", "version.txt", 7, 0), ("PORT", "active", "RETR", "readme.txt", 22, 0),
            },
            data.Select(d => (d.AnnouncedBy, d.Mode, d.Command, d.Argument, d.BytesToServer, d.BytesToClient)));
        Assert.All(data, d => Assert.Equal("anonymous", d.User));
        // Each data connection's control flow announced its port.
        foreach (var d in data)
        {
            var announcing = events.OfType<FtpCommandEvent>().Single(c => c.Flow.FlowId == d.ControlFlowId && c.DataPort is not null);
            Assert.Contains(announcing.DataPort!.Value, new[] { d.Flow.DestinationPort, d.Flow.SourcePort });
        }

        // The transfers' bytes are never another protocol's events.
        Assert.All(events, e => Assert.StartsWith("ftp.", e.Type, StringComparison.Ordinal));
        await Task.CompletedTask;
    }

    [RequiresToolFact("tshark")]
    public async Task Tls_AuthAccepted_EncryptedThenTlsHandshakeRead()
    {
        var path = SamplePath("ftp-tls.pcap");
        var events = Analyze(path, out var stats);
        var rows = await TsharkAsync(path);

        var auth = Assert.Single(events.OfType<FtpCommandEvent>());
        var tsharkAuth = rows.First(r => r["ftp.request.command"] == "AUTH");
        Assert.Equal((tsharkAuth["ftp.request.command"], tsharkAuth["ftp.request.arg"], 234, true), (auth.Command, auth.Argument, auth.ReplyCode!.Value, auth.Encrypted));
        Assert.Empty(events.OfType<FtpLoginEvent>());
        Assert.Contains(events, e => e.Type == "tls.client_hello" && e.Flow.FlowId == auth.Flow.FlowId);
        Assert.Contains(events, e => e.Type == "tls.server_hello" && e.Flow.FlowId == auth.Flow.FlowId);
        Assert.Equal(0, stats.MalformedMessages);
    }

    [RequiresToolFact("tshark")]
    public async Task Guessing_SixRefusedLogins_SixDistinctKeyedHashesNoPasswords()
    {
        var path = SamplePath("ftp-guessing.pcap");
        var events = Analyze(path, out _);
        var rows = await TsharkAsync(path);

        var passwords = rows.Where(r => r["ftp.request.command"] == "PASS").Select(r => r["ftp.request.arg"]).ToList();
        var logins = events.OfType<FtpLoginEvent>().ToList();
        Assert.Equal(passwords.Select(p => Hasher.Hash(System.Text.Encoding.UTF8.GetBytes(p))), logins.Select(l => l.PasswordHash));
        Assert.All(logins, l => Assert.Equal(("admin", "failure", 530, true), (l.User, l.Outcome, l.ReplyCode, l.PasswordPresent)));
        var all = string.Join("\n", events.SelectMany(e => e.Schema.Fields.Select(f => f.Read(e).ToString())));
        Assert.All(passwords, p => Assert.DoesNotContain("\"" + p + "\"", all, StringComparison.Ordinal));
        Assert.DoesNotContain("qwerty", all, StringComparison.Ordinal);
    }

    internal static List<ProtocolEvent> Analyze(string path, out CaptureStats stats)
    {
        (var events, stats, _) = SampleEngine.Run(path, hasher: Hasher);
        return events;
    }

    private static void CompareControl(List<Dictionary<string, string>> theirs, List<FtpEvent> mine, string where)
    {
        // Commands in order.
        var commands = theirs.Where(r => r["ftp.request.command"].Length > 0).ToList();
        var myCommands = mine.OfType<FtpCommandEvent>().OrderBy(c => c.PacketNumber).ToList();
        Assert.True(commands.Count == myCommands.Count, $"{where}: {commands.Count} commands in tshark, {myCommands.Count} in SecMon");
        for (var i = 0; i < commands.Count; i++)
        {
            var t = commands[i];
            var c = myCommands[i];
            Assert.Equal(t["ftp.request.command"], c.Command);
            if (c.Command == "PASS")
            {
                Assert.Null(c.Argument);
            }
            else
            {
                Assert.Equal(t["ftp.request.arg"], c.Argument ?? "");
            }
        }

        // Replies in order: greeting and unsolicited replies, then each command's preliminary and final reply.
        var replies = theirs.Where(r => r["ftp.response.code"].Length > 0).ToList();
        var myReplies = new List<(long Frame, int Code, string? Text)>();
        foreach (var e in mine)
        {
            switch (e)
            {
                case FtpReplyEvent r:
                    myReplies.Add((r.PacketNumber, r.ReplyCode, r.ReplyText));
                    break;
                case FtpCommandEvent c when c.ReplyCode is not null:
                    if (c.PreliminaryCode is { } p)
                    {
                        myReplies.Add((-1, p, null));
                    }

                    myReplies.Add((c.PacketNumber, c.ReplyCode.Value, c.ReplyText));
                    break;
                default:
                    break;
            }
        }

        Assert.True(replies.Count == myReplies.Count, $"{where}: {replies.Count} replies in tshark, {myReplies.Count} in SecMon");
        for (var i = 0; i < replies.Count; i++)
        {
            var t = replies[i];
            var (frame, code, text) = myReplies[i];
            Assert.Equal(t["ftp.response.code"], code.ToString(CultureInfo.InvariantCulture));
            if (frame >= 0)
            {
                Assert.Equal(t["frame.number"], frame.ToString(CultureInfo.InvariantCulture));
                Assert.Equal(t["ftp.response.arg"], text);
            }
        }

        // Announced endpoints.
        foreach (var t in theirs)
        {
            var (ip, port) = t switch
            {
                _ when t["ftp.passive.port"].Length > 0 => (t["ftp.passive.ip"], t["ftp.passive.port"]),
                _ when t["ftp.epsv.port"].Length > 0 => ((string?)null, t["ftp.epsv.port"]),
                _ when t["ftp.eprt.port"].Length > 0 => (t["ftp.eprt.ip"], t["ftp.eprt.port"]),
                _ when t["ftp.active.port"].Length > 0 => (t["ftp.active.cip"], t["ftp.active.port"]),
                _ => (null, ""),
            };
            if (port.Length == 0)
            {
                continue;
            }

            var frame = long.Parse(t["frame.number"], CultureInfo.InvariantCulture);
            var c = mine.OfType<FtpCommandEvent>().First(c => c.DataPort is not null && c.PacketNumber >= frame);
            Assert.Equal(port, c.DataPort!.Value.ToString(CultureInfo.InvariantCulture));
            if (ip is not null)
            {
                Assert.Equal(ip, c.DataIp);
            }
        }
    }

    private static async Task<List<Dictionary<string, string>>> TsharkAsync(string path)
    {
        var args = new List<string> { "-r", path, "-d", "tcp.port==2121,ftp", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f" };
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
