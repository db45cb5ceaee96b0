using SecMon.Capture.Decoding;
using SecMon.Capture.Tests.Decoding;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Flows;

/// <summary>Reassembly checked against an independent implementation: tshark's "follow tcp" on the same capture.</summary>
public sealed class TsharkReassemblyTests
{
    [RequiresToolTheory("tshark")]
    [InlineData(1000u, 1)]
    [InlineData(0xFFFFF000u, 2)]   // the client's sequence numbers wrap past 2^32 mid-stream
    public async Task Process_ReorderedDuplicatedStream_MatchesTsharkFollowTcp(uint clientIsn, int seed)
    {
        var random = new Random(seed);
        var recorded = new List<(long, byte[])>();
        var factory = new RecordingFactory();
        var processor = new PacketProcessor(new CaptureOptions(), new CaptureStats(), new RecordingDiagnostics(), factory.Create);
        var c = new TcpConversation(processor) { ClientIsn = clientIsn, ServerIsn = 0xFFFFFFF0 };
        var clientData = new byte[6000];
        random.NextBytes(clientData);
        var serverData = "server response bytes"u8.ToArray();

        void Send(bool fromClient, uint seq, ReadOnlySpan<byte> data, TcpFlags flags, uint ack)
        {
            recorded.Add((c.Now + 1000, c.Frame(fromClient, seq, data, flags, ack)));
            c.Send(fromClient, seq, data, flags, ack);
        }

        Send(true, c.ClientIsn, [], TcpFlags.Syn, 0);
        Send(false, c.ServerIsn, [], TcpFlags.Syn | TcpFlags.Ack, c.C(0));
        Send(true, c.C(0), [], TcpFlags.Ack, c.S(0));
        var segments = Enumerable.Range(0, 60).Select(i => i * 100).ToList();
        var order = segments.OrderBy(_ => random.Next()).Concat(segments.OrderBy(_ => random.Next()).Take(8)).ToList();
        foreach (var offset in order)
        {
            Send(true, c.C(offset), clientData.AsSpan(offset, 100), TcpFlags.Ack | TcpFlags.Psh, c.S(0));
        }

        Send(false, c.S(0), serverData, TcpFlags.Ack | TcpFlags.Psh, c.C(clientData.Length));
        Send(true, c.C(clientData.Length), [], TcpFlags.Ack | TcpFlags.Fin, c.S(serverData.Length));
        Send(false, c.S(serverData.Length), [], TcpFlags.Ack | TcpFlags.Fin, c.C(clientData.Length + 1));
        Send(true, c.C(clientData.Length + 1), [], TcpFlags.Ack, c.S(serverData.Length + 1));

        var path = Path.Combine(Path.GetTempPath(), $"secmon-follow-{Guid.NewGuid():N}.pcap");
        try
        {
            TestFrames.WritePcap(path, LinkTypes.Ethernet, recorded);
            var (exit, stdout, stderr) = await Tools.RunAsync("tshark", ["-r", path, "-q", "-z", "follow,tcp,raw,0"]);
            Assert.True(exit == 0, stderr);
            var (toServer, toClient) = ParseFollow(stdout);

            var session = Assert.Single(factory.Sessions);
            Assert.Equal(clientData, toServer);                       // the expected bytes, per tshark
            Assert.Equal(toServer, session.Bytes(FlowDirection.ToServer));
            Assert.Equal(toClient, session.Bytes(FlowDirection.ToClient));
            Assert.Equal(1, session.Closes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>tshark's raw follow output: after the "Node 1:" line, hex lines; the second node's are tab-indented.</summary>
    private static (byte[] First, byte[] Second) ParseFollow(string output)
    {
        var first = new List<byte>();
        var second = new List<byte>();
        var body = false;
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("Node 1:", StringComparison.Ordinal))
            {
                body = true;
                continue;
            }

            if (!body || line.StartsWith("===", StringComparison.Ordinal) || string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            (line.StartsWith('\t') ? second : first).AddRange(Convert.FromHexString(line.Trim()));
        }

        return ([.. first], [.. second]);
    }
}
