using SecMon.Core.Findings;
using SecMon.Detection;
using SecMon.Detection.Baselines;
using SecMon.Hosting;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Hosting;

/// <summary>When a file's findings reach the outputs: with an output beside the store, every 1,000 (the outputs deliver
/// while the analysis goes on), not in one batch at the end (bench/README.md, issue 13, session 14).</summary>
public sealed class FindingHandOverTests : IDisposable
{
    private const int Devices = 1_500;
    private readonly TempDirectory _tmp = new("secmon-handover-");

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Analyze_MoreFindingsThanOneHandOverWithAnOutput_TheOutputGetsThemInBatchesOfAtMost1000AndEveryOneOnce()
    {
        var pcap = AnonymousSessions(Devices);
        var rules = RulePackLoader.Load([RepoPaths.Rules], AnalysisSession.EventSchemas);
        Assert.True(rules.Success);
        var output = new Recording();
        var sensor = Sensor.Open(new SensorOptions
        {
            DataDirectory = _tmp.File("data"),
            Rules = rules.RuleSet,
            Baselines = new BaselineOptions { LearningPeriod = TimeSpan.Zero },
            Outputs = [output],
        }, out var exit);
        Assert.True(sensor is not null, $"exit {exit}");
        using (var files = Sensor.OpenFiles([pcap])!)
        {
            sensor.RunFiles(files, CancellationToken.None);
        }

        Assert.Equal(0, sensor.Finish(pcap));
        var stored = sensor.Store!.Count();
        sensor.Dispose();

        var all = output.Batches.SelectMany(b => b).ToList();
        Assert.True(stored > 1_000, $"{stored} findings ({string.Join(", ", all.GroupBy(f => f.RuleId).Select(g => $"{g.Key} {g.Count()}"))}): too few for two hand-overs");
        Assert.Equal(stored, output.Batches.Sum(b => b.Count));
        Assert.Equal(stored, output.Batches.SelectMany(b => b).Select(f => f.Id).Distinct().Count());
        Assert.True(output.Batches.Count >= 2, $"{output.Batches.Count} batch(es) of {string.Join(", ", output.Batches.Select(b => b.Count))}");
        Assert.All(output.Batches, b => Assert.InRange(b.Count, 1, 1_000));
    }

    // Each device (its own address) connects to one broker without a user name, which accepts it: one anonymous session each.
    private string AnonymousSessions(int devices)
    {
        var pcap = new PcapBuilder();
        var time = 1_764_000_000_000_000L;
        for (var i = 0; i < devices; i++)
        {
            var clientId = System.Text.Encoding.ASCII.GetBytes($"dev{i:D5}");
            // MQTT 3.1.1 CONNECT (§3.1): protocol name, level 4, flags: clean session only, keep alive 60, the client id.
            var connect = new List<byte> { 0x10, (byte)(10 + 2 + clientId.Length), 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0x02, 0x00, 0x3C, 0x00, (byte)clientId.Length };
            connect.AddRange(clientId);
            var conversation = new TcpConversation(pcap, $"10.{1 + (i / 60_000)}.{i / 250 % 240}.{1 + (i % 250)}", (ushort)(40000 + (i % 20000)), "10.0.0.254", 1883) { Time = time };
            conversation.Handshake().Client(connect.ToArray()).Server([0x20, 0x02, 0x00, 0x00]).Close();
            time = conversation.Time + 1000;
        }

        return pcap.Save(_tmp.File("anonymous.pcap"));
    }

    private sealed class Recording : IFindingSink
    {
        public List<List<Finding>> Batches { get; } = [];

        public string Name => "recording";

        public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            Batches.Add([.. findings]);
            return SinkResult.Ok(findings.Count);
        }

        public void Complete(CancellationToken cancellationToken)
        {
        }
    }
}
