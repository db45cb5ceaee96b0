using System.Text;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Telnet;
using SecMon.Capture.Tests.Protocols.Mqtt;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Telnet;

/// <summary>
/// Mutations of a real conversation (inetutils-telnetd's negotiation with the inetutils client, as in
/// Samples/telnet-guessing.pcap, then a refused and an accepted login): the whole conversation cut at every length,
/// every single-bit flip of every segment, IAC inserted at every offset, subnegotiations at and past the bound and
/// never closed. Nothing may throw; events stay bounded (a login per answered prompt at most, MaxLogins at most, one
/// session); lines stay within MaxLineBytes; the password never reaches an event.
/// </summary>
public sealed class TelnetFuzzTests
{
    private const string Password = "S3cret-telnet";

    private static readonly (FlowDirection Direction, byte[] Data)[] Conversation =
    [
        (FlowDirection.ToClient, Hex("fffb25fffb26fffd18fffd20fffd23fffd27fffd24")),
        (FlowDirection.ToServer, Hex("fffd25fffd26fffa2601fff0fffb18fffb20fffc23fffb27fffc24")),
        (FlowDirection.ToClient, Hex("fffa2001fff0fffa2701fff0fffa1801fff0")),
        (FlowDirection.ToServer, Hex("fffa200033383430302c3338343030fff0fffa2700fff0fffa1800585445524dfff0")),
        (FlowDirection.ToClient, Hex("fffb03fffd01fffd22fffd1ffffb05fffd21")),
        (FlowDirection.ToServer, Hex("fffd03fffc01fffb22fffa220301000003620304020f05000007621c08020409421a0a027f0b02150c02170d02120e02160f0211100213110000120000fff0fffb1ffffa1f00000000fff0fffd05fffb21")),
        (FlowDirection.ToClient, Hex("fffa2103fff000fffb01fffd00fffe22")),
        (FlowDirection.ToServer, Hex("fffd01fffb00fffc22")),
        (FlowDirection.ToClient, Text("\r\nSecMon test camera (BusyBox v1.36 built-in shell)\r\n\r\ncamera login: ")),
        (FlowDirection.ToServer, Text("a")), (FlowDirection.ToClient, Text("a")),
        (FlowDirection.ToServer, Text("d")), (FlowDirection.ToClient, Text("d")),
        (FlowDirection.ToServer, Text("min\r\0")), (FlowDirection.ToClient, Text("min\r\n")),
        (FlowDirection.ToClient, Text("Password: ")),
        (FlowDirection.ToServer, Text("wrong1\r\0")),
        (FlowDirection.ToClient, Text("\r\n")),
        (FlowDirection.ToClient, Text("Login incorrect\r\ncamera login: ")),
        (FlowDirection.ToServer, Text("admin\r\0")), (FlowDirection.ToClient, Text("admin\r\n")),
        (FlowDirection.ToClient, Text("Password: ")),
        (FlowDirection.ToServer, Text(Password[..4])), (FlowDirection.ToServer, Text(Password[4..] + "\r\0")),
        (FlowDirection.ToClient, Text("\r\n\r\nBusyBox v1.36 built-in shell (ash)\r\n\r\n$ ")),
        (FlowDirection.ToServer, Text("id\r\0")), (FlowDirection.ToClient, Text("id\r\nuid=0(admin) gid=0(admin)\r\n$ ")),
    ];

    private static readonly TelnetOptions Options = new() { MaxLineBytes = 64, MaxSubnegotiationBytes = 64, MaxLogins = 4 };

    [Fact]
    public void Conversation_AsRecorded_OneFailureOneSuccess()
    {
        var h = Run(Conversation);

        Assert.Equal(["failure", "success"], h.Logins.Select(e => EventText.Field(e, "telnet.login.outcome")));
        Assert.Equal(h.Hash(Password), EventText.Field(h.Logins[1], "telnet.password.hash"));
        Assert.DoesNotContain(h.Events, e => e.Type == "telnet.malformed");
    }

    [Fact]
    public void Conversation_CutAtEveryLength_NeverThrowsAndStaysBounded()
    {
        var total = Conversation.Sum(s => s.Data.Length);
        for (var cut = 0; cut <= total; cut++)
        {
            var left = cut;
            var segments = new List<(FlowDirection, byte[])>();
            foreach (var (d, data) in Conversation)
            {
                if (left == 0)
                {
                    break;
                }

                var n = Math.Min(left, data.Length);
                segments.Add((d, data[..n]));
                left -= n;
            }

            Run(segments);
        }
    }

    [Fact]
    public void Conversation_EveryBitFlip_NeverThrowsAndStaysBounded()
    {
        for (var s = 0; s < Conversation.Length; s++)
        {
            for (var bit = 0; bit < Conversation[s].Data.Length * 8; bit++)
            {
                var mutated = Conversation.Select(x => (x.Direction, (byte[])x.Data.Clone())).ToArray();
                mutated[s].Item2[bit / 8] ^= (byte)(1 << (bit % 8));
                Run(mutated);
            }
        }
    }

    [Fact]
    public void Conversation_IacInsertedAnywhere_NeverThrowsAndStaysBounded()
    {
        for (var s = 0; s < Conversation.Length; s++)
        {
            for (var at = 0; at <= Conversation[s].Data.Length; at++)
            {
                foreach (var inserted in new[] { new byte[] { 0xFF }, [0xFF, 0xFA], [0xFF, 0xF0], [0xFF, 0x05] })
                {
                    var mutated = Conversation.Select(x => (x.Direction, x.Data)).ToArray();
                    var data = mutated[s].Data;
                    mutated[s].Data = [.. data[..at], .. inserted, .. data[at..]];
                    Run(mutated);
                }
            }
        }
    }

    [Fact]
    public void Subnegotiation_AtAndPastTheBoundAndUnclosed_CountedNeverBuffered()
    {
        foreach (var length in new[] { 0, 1, 63, 64, 65, 10_000 })
        {
            var sb = (FlowDirection.ToServer, (byte[])[0xFF, 0xFA, 0x18, .. new byte[length], 0xFF, 0xF0]);
            var h = Run([sb, .. Conversation]);
            Assert.Equal(length > 64 ? 1 : 0, h.Services.Stats.MalformedByReason.GetValueOrDefault(("telnet", MalformedReason.TooLarge)));

            var open = (FlowDirection.ToClient, (byte[])[0xFF, 0xFA, 0x18, .. new byte[length]]);
            Run([.. Conversation, open]);
        }
    }

    private static TelnetHarness Run(IEnumerable<(FlowDirection Direction, byte[] Data)> segments)
    {
        var h = new TelnetHarness(Options);
        var bytes = 0;
        foreach (var (d, data) in segments)
        {
            bytes += data.Length;
            h.Send(d, data);
        }

        h.Close();
        Assert.True(h.Logins.Count <= 4, $"{h.Logins.Count} logins");
        Assert.Single(h.Events, e => e.Type == "telnet.session");
        Assert.True(h.Events.Count <= 2 + 4 + (bytes / 2), $"{h.Events.Count} events for {bytes} bytes");
        Assert.True(h.Session.MaxBuffered(FlowDirection.ToServer) <= 64);
        Assert.True(h.Session.MaxBuffered(FlowDirection.ToClient) <= 64);
        foreach (var e in h.Events)
        {
            Assert.DoesNotContain(Password, EventText.Describe(e), StringComparison.Ordinal);
        }

        return h;
    }

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);

    private static byte[] Text(string text) => Encoding.Latin1.GetBytes(text);
}
