using System.Globalization;
using SecMon.Capture.Tests.Protocols.Mqtt;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Telnet;

/// <summary>
/// tshark's telnet dissector as an independent verifier on the recorded samples (Samples/record.sh: the inetutils
/// client scripted with expect against inetutils-telnetd on 127.0.0.1:2323). Every TCP segment of each stream is fed to
/// its own session. From tshark's commands (telnet.cmd, telnet.subcmd) per direction the options each side agreed to
/// perform are worked out independently (a WILL met by the other side's DO, withdrawn by WONT or DONT) and must equal
/// telnet.session's; the terminal type must be tshark's TERMINAL-TYPE value; every server segment whose telnet.data holds
/// "Login incorrect" must be the packet of a failed telnet.login, and the first one ending with the "$ " prompt after a
/// password that of the successful one.
/// </summary>
public sealed class TelnetTsharkComparisonTests
{
    private const int Port = 2323;

    public static TheoryData<string> Samples => new() { "telnet-guessing.pcap", "telnet-login.pcap", "telnet-echo.pcap" };

    private static string SamplePath(string name) => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Telnet", "Samples", name);

    [RequiresToolTheory("tshark")]
    [MemberData(nameof(Samples))]
    public async Task Session_RecordedSample_MatchesTshark(string sample)
    {
        var sessions = await CompareWithTsharkAsync(SamplePath(sample));

        Assert.All(sessions.Values, h => Assert.DoesNotContain(h.Events, e => e.Type == "telnet.malformed"));
        Assert.All(sessions.Values, h => EventText.AssertFields(h.SessionEvent, "telnet.terminal_type=XTERM;telnet.echo=true"));
    }

    [RequiresToolFact("tshark")]
    public async Task Session_GuessingSample_FiveFailuresThenSuccessKeystrokeByKeystroke()
    {
        var sessions = await CompareWithTsharkAsync(SamplePath("telnet-guessing.pcap"));
        var logins = sessions.OrderBy(s => s.Key).SelectMany(s => s.Value.Logins).ToList();

        Assert.Equal(["failure", "failure", "failure", "failure", "failure", "success"], logins.Select(e => EventText.Field(e, "telnet.login.outcome")));
        Assert.Equal(["admin", "root", "admin", "admin", "admin", "admin"], logins.Select(e => EventText.Field(e, "telnet.username")));
        var h = sessions.Values.First();
        string[] passwords = ["wrong1", "root", "admin123", "guess4", "guess5", "S3cret-telnet"];
        Assert.Equal(passwords.Select(h.Hash), logins.Select(e => EventText.Field(e, "telnet.password.hash")));
        Assert.All(logins, e => Assert.Equal("false", EventText.Field(e, "telnet.password.echoed")));
        Assert.Equal(["1", "2", "3", "1", "2", "3"], logins.Select(e => EventText.Field(e, "telnet.login.attempt")));
    }

    [RequiresToolFact("tshark")]
    public async Task Session_EchoSample_PasswordEchoedButNeverRead()
    {
        var sessions = await CompareWithTsharkAsync(SamplePath("telnet-echo.pcap"));
        var h = Assert.Single(sessions.Values);

        Assert.Equal(["failure", "success"], h.Logins.Select(e => EventText.Field(e, "telnet.login.outcome")));
        Assert.All(h.Logins, e => Assert.Equal("true", EventText.Field(e, "telnet.password.echoed")));
        Assert.Equal(h.Hash("echo-me"), EventText.Field(h.Logins[0], "telnet.password.hash"));
        Assert.DoesNotContain(h.Events, e => EventText.Describe(e).Contains("echo-me", StringComparison.Ordinal));
    }

    private static async Task<Dictionary<int, TelnetHarness>> CompareWithTsharkAsync(string pcap)
    {
        string[] decode = ["-d", $"tcp.port=={Port},telnet"];
        var (code, stdout, stderr) = await Tools.RunAsync("tshark", ["-r", pcap, .. decode, "-Y", "tcp.len>0", "-T", "fields", "-E", "aggregator=|",
            "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.dstport", "-e", "frame.time_epoch", "-e", "tcp.payload",
            "-e", "telnet.cmd", "-e", "telnet.subcmd", "-e", "telnet.string_subopt.value", "-e", "telnet.data"]);
        Assert.True(code == 0, stderr);
        var sessions = new Dictionary<int, TelnetHarness>();
        var expected = new Dictionary<int, Expected>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            var stream = int.Parse(f[1], CultureInfo.InvariantCulture);
            if (!sessions.TryGetValue(stream, out var h))
            {
                sessions[stream] = h = new TelnetHarness(serverPort: Port);
                expected[stream] = new Expected();
            }

            var x = expected[stream];
            var frame = long.Parse(f[0], CultureInfo.InvariantCulture);
            var direction = int.Parse(f[2], CultureInfo.InvariantCulture) == Port ? FlowDirection.ToServer : FlowDirection.ToClient;
            var micros = (long)(decimal.Parse(f[3], CultureInfo.InvariantCulture) * 1_000_000m);
            h.SendAt(direction, Convert.FromHexString(f[4]), frame, micros);

            x.Negotiate(direction, f[5], f[6]);
            if (direction == FlowDirection.ToServer && f[7].Length > 0)
            {
                x.TerminalType = f[7].Split('|')[^1];
            }

            var data = f[8];
            if (direction == FlowDirection.ToServer && data.Length > 0)
            {
                x.ClientTyped = true;
            }
            else if (direction == FlowDirection.ToClient && data.Contains("Password: ", StringComparison.Ordinal))
            {
                x.AfterPassword = true;
            }
            else if (direction == FlowDirection.ToClient && data.Contains("Login incorrect", StringComparison.Ordinal))
            {
                x.Failures.Add(frame);
                x.AfterPassword = false;
            }
            else if (direction == FlowDirection.ToClient && x.AfterPassword && data.EndsWith("$ ", StringComparison.Ordinal))
            {
                x.Success ??= frame;
                x.AfterPassword = false;
            }
        }

        foreach (var h in sessions.Values)
        {
            h.Close();
        }

        foreach (var (stream, h) in sessions)
        {
            var x = expected[stream];
            var where = $"{Path.GetFileName(pcap)} stream {stream}";
            var session = h.SessionEvent;
            Assert.True(x.ServerOptions == EventText.Field(session, "telnet.server.options"), $"{where}: tshark server options {x.ServerOptions}, SecMon {EventText.Field(session, "telnet.server.options")}");
            Assert.True(x.ClientOptions == EventText.Field(session, "telnet.client.options"), $"{where}: tshark client options {x.ClientOptions}, SecMon {EventText.Field(session, "telnet.client.options")}");
            Assert.Equal(x.TerminalType ?? "(missing)", EventText.Field(session, "telnet.terminal_type"));
            Assert.Equal(x.Failures, h.Logins.Where(e => EventText.Field(e, "telnet.login.outcome") == "failure").Select(e => e.PacketNumber));
            Assert.Equal(x.Success is { } s ? [s] : (long[])[], h.Logins.Where(e => EventText.Field(e, "telnet.login.outcome") == "success").Select(e => e.PacketNumber));
            Assert.True(x.ClientTyped);
        }

        return sessions;
    }

    /// <summary>What tshark's fields say, worked out independently of the dissector.</summary>
    private sealed class Expected
    {
        private readonly HashSet<int>[] _will = [[], []];
        private readonly HashSet<int>[] _do = [[], []];

        public string? TerminalType { get; set; }
        public List<long> Failures { get; } = [];
        public long? Success { get; set; }
        public bool AfterPassword { get; set; }
        public bool ClientTyped { get; set; }

        public string ServerOptions => Agreed(_will[1], _do[0]);
        public string ClientOptions => Agreed(_will[0], _do[1]);

        public void Negotiate(FlowDirection direction, string commands, string options)
        {
            if (commands.Length == 0)
            {
                return;
            }

            var side = direction == FlowDirection.ToServer ? 0 : 1;
            var opts = new Queue<int>(options.Split('|', StringSplitOptions.RemoveEmptyEntries).Select(o => int.Parse(o, CultureInfo.InvariantCulture)));
            foreach (var c in commands.Split('|').Select(c => int.Parse(c, CultureInfo.InvariantCulture)))
            {
                if (c is < 250 or > 254)
                {
                    continue; // SE and the option-less commands carry no subcmd
                }

                var option = opts.Dequeue();
                _ = c switch
                {
                    251 => _will[side].Add(option),
                    252 => _will[side].Remove(option),
                    253 => _do[side].Add(option),
                    254 => _do[side].Remove(option),
                    _ => false,
                };
            }
        }

        private static string Agreed(HashSet<int> will, HashSet<int> @do) =>
            "[" + string.Join(", ", will.Intersect(@do).Order().Select(o => Capture.Protocols.Telnet.TelnetCodes.OptionName((byte)o))) + "]";
    }
}
