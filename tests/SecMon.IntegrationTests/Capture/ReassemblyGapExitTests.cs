using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// A capture whose only irregularity is a TCP reassembly gap (segments the capture missed, common under load) is
/// not damaged input: <c>analyze</c> exits 0 and reports the gap as a gap, as README.md's exit codes say; damage
/// beside a gap still exits 65, and the DAMAGED line names the damage only.
/// </summary>
public sealed class ReassemblyGapExitTests
{
    [Fact]
    public async Task Analyze_OnlyAGap_Exits0AndReportsTheGap()
    {
        using var dir = new TempDirectory();
        var pcap = GapCapture(dir.File("gap.pcap"), damaged: false);

        var result = await SecMonRunner.AnalyzeAsync(pcap, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("5 bytes missing at seq 1006", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("  gaps        1 in TCP streams (5 B the capture missed", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("DAMAGED", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_GapAndATruncatedFrame_Exits65AndTheDamagedLineNamesOnlyTheDamage()
    {
        using var dir = new TempDirectory();
        var pcap = GapCapture(dir.File("gap-and-damage.pcap"), damaged: true);

        var result = await SecMonRunner.AnalyzeAsync(pcap, dir);

        Assert.True(result.ExitCode == 65, result.Describe());
        var damaged = Assert.Single(result.StdErr.Split('\n'), l => l.Contains("DAMAGED", StringComparison.Ordinal));
        Assert.DoesNotContain("gap", damaged, StringComparison.Ordinal);
        Assert.Contains("  gaps        1 in TCP streams", result.StdErr, StringComparison.Ordinal);
    }

    // Client 10.0.0.1:40000 to 10.0.0.2:9 (discard): 5 bytes, 5 bytes never captured, 5 bytes, and the server's
    // ACK of all 15, which tells reassembly the hole will not be filled. Optionally a frame cut inside its IP header.
    private static string GapCapture(string path, bool damaged)
    {
        var pcap = new PcapBuilder();
        var t = 1_764_000_000_000_000L;
        void Add(byte[] frame) => pcap.Add(t += 100, frame);
        const string client = "10.0.0.1", server = "10.0.0.2";
        Add(PcapBuilder.TcpFrame(client, 40000, server, 9, 1000, 0, TcpConversation.Syn, []));
        Add(PcapBuilder.TcpFrame(server, 9, client, 40000, 5000, 1001, TcpConversation.Syn | TcpConversation.Ack, []));
        Add(PcapBuilder.TcpFrame(client, 40000, server, 9, 1001, 5001, TcpConversation.Ack, []));
        Add(PcapBuilder.TcpFrame(client, 40000, server, 9, 1001, 5001, TcpConversation.Psh | TcpConversation.Ack, "AAAAA"u8));
        Add(PcapBuilder.TcpFrame(client, 40000, server, 9, 1011, 5001, TcpConversation.Psh | TcpConversation.Ack, "CCCCC"u8));
        Add(PcapBuilder.TcpFrame(server, 9, client, 40000, 5001, 1016, TcpConversation.Ack, []));
        if (damaged)
        {
            var frame = PcapBuilder.TcpFrame(client, 40001, server, 9, 1, 0, TcpConversation.Syn, []);
            Add(frame[..20]); // Ethernet header and 6 bytes of a 20-byte IPv4 header
        }

        return pcap.Save(path);
    }
}
