using System.Net;
using System.Net.Sockets;
using SecMon.Detection;
using SecMon.Detection.Baselines;
using SecMon.Findings.Elasticsearch;
using SecMon.Findings.Spool;
using SecMon.Hosting;
using SecMon.Hosting.Sinks;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;
using SecMon.Testing.FakeElasticsearch;

namespace SecMon.IntegrationTests.Findings;

/// <summary>
/// The Elasticsearch output plugged into the real sensor (the host's runner and durable spool) on the sample captures,
/// against the fake cluster: down for a whole run, then up: every finding arrives once by <c>_id</c>; a capture
/// analysed again stores nothing twice.
/// </summary>
public sealed class ElasticsearchOutputTests : IDisposable
{
    private readonly TempDirectory _tmp = new("secmon-it-es-");

    public void Dispose() => _tmp.Dispose();

    [FakeElasticsearchFact]
    public void ClusterDownForARun_SpoolKeepsTheFindings_TheyArriveOnTheNextRun_NothingStoredTwice()
    {
        using var fake = FakeElasticsearch.Start(RestApiSpec.Shipped!);

        var data = _tmp.File("data");
        var up = new ElasticsearchOptions { Nodes = [fake.Url], RetryDelay = TimeSpan.FromMilliseconds(20) };
        var down = up with { Nodes = [new Uri($"http://127.0.0.1:{FreePort()}")] };

        var (code1, first) = Analyze(data, down, "mqtt-guessing.pcap", new SinkRunOptions { CompleteTimeout = TimeSpan.FromSeconds(1) });
        Assert.Equal(Cli.ExitCodes.CantCreate, code1);
        Assert.NotEmpty(first);
        Assert.Equal(0, fake.Count(up.DataStream));
        Assert.True(SpoolPending(data) > 0, "the findings of the run wait in the spool");

        var (code2, second) = Analyze(data, up, "mqtt-wildcard.pcap");
        Assert.Equal(0, code2);
        Assert.Equal(0, SpoolPending(data));
        var stored = fake.Documents(up.DataStream).Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(first.Concat(second).Distinct().Order(StringComparer.Ordinal), stored.Order(StringComparer.Ordinal));

        // The same capture again (a restart that delivers again): every _id is already there.
        var (code3, third) = Analyze(data, up, "mqtt-guessing.pcap");
        Assert.Equal(0, code3);
        // (Fewer findings than the first time: the data directory has learned these devices.)
        Assert.NotEmpty(third);
        Assert.Subset(stored, third.ToHashSet(StringComparer.Ordinal));
        Assert.Equal(stored.Count, fake.Count(up.DataStream));
        Assert.Empty(fake.Violations);
    }

    private static (int Code, List<string> Ids) Analyze(string data, ElasticsearchOptions options, string capture, SinkRunOptions? run = null)
    {
        var rules = RulePackLoader.Load([RepoPaths.Rules], AnalysisSession.EventSchemas);
        Assert.True(rules.Success);
        var sample = Path.Combine(RepoPaths.Samples, capture);
        var sensor = Sensor.Open(new SensorOptions
        {
            DataDirectory = data,
            Rules = rules.RuleSet,
            Baselines = new BaselineOptions { LearningPeriod = TimeSpan.Zero },
            Outputs = [new ElasticsearchSink(options)],
            OutputRun = run,
            KeepFindings = true, // the run keeps its findings to compare with the index
        }, out var exit);
        Assert.True(sensor is not null, $"exit {exit}");
        using (var files = Sensor.OpenFiles([sample])!)
        {
            sensor.RunFiles(files, CancellationToken.None);
        }

        var code = sensor.Finish(sample);
        var ids = sensor.Detection!.Findings.Select(f => f.Id).Order(StringComparer.Ordinal).ToList();
        sensor.Dispose();
        return (code, ids);
    }

    private static long SpoolPending(string data)
    {
        using var spool = FindingSpool.Open(Path.Combine(data, "spool", "elasticsearch"));
        return spool.PendingBytes;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
