using System.Text;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Spool;

namespace SecMon.Findings.Tests.Spool;

/// <summary>An output that sends documents (<see cref="IDocumentSink"/>) behind the spool: it is given the routing fields
/// and the spool lines' bytes, and what it refuses reaches the dead letters whole.</summary>
public sealed class SpooledDocumentSinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-spool-documents-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void SpooledSink_DocumentOutput_GetsEachFindingsRoutingFieldsAndItsStoredDocumentBytes()
    {
        var findings = TestFindings.Many(9).Append(TestFindings.Full()).ToList();
        var output = new DocumentOutput(refuse: null);
        using (var sink = new SpooledSink(output, FindingSpool.Open(_dir), new SpoolDelivery { BatchSize = 4 }))
        {
            Assert.True(sink.Write(findings, CancellationToken.None).Succeeded);
            sink.Complete(CancellationToken.None);
            Assert.Equal(findings.Count, sink.Delivered);
        }

        Assert.Equal(findings.Select(f => (f.Id, f.RuleId, f.Severity, f.DeviceId, f.Message)),
            output.Received.Select(r => (r.Finding.Id, r.Finding.RuleId, r.Finding.Severity, r.Finding.DeviceId, r.Finding.Message)));
        Assert.Equal(findings.Select(f => Encoding.UTF8.GetString(FindingJson.Utf8(f))), output.Received.Select(r => r.Document));
        // Not the whole finding: the evidence stays in the document, unread.
        Assert.All(output.Received, r => Assert.Empty(r.Finding.Evidence));
    }

    [Fact]
    public void SpooledSink_DocumentOutputRefusesOne_DeadLetterHoldsTheWholeDocument()
    {
        var full = TestFindings.Full();
        var output = new DocumentOutput(refuse: full.Id);
        using var sink = new SpooledSink(output, FindingSpool.Open(_dir));
        Assert.True(sink.Write([TestFindings.Minimal(), full], CancellationToken.None).Succeeded);
        sink.Complete(CancellationToken.None);

        var dead = File.ReadAllLines(Path.Combine(_dir, "dead-letters.jsonl"));
        var letter = Assert.Single(dead);
        Assert.Contains(FindingJson.Write(full), letter, StringComparison.Ordinal);
        using var parsed = System.Text.Json.JsonDocument.Parse(letter);
        var back = FindingJson.Read(parsed.RootElement.GetProperty("finding"));
        Assert.NotEmpty(back.Evidence);
        Assert.Equal(full.Evidence.Keys.Order(StringComparer.Ordinal), back.Evidence.Keys.Order(StringComparer.Ordinal));
    }

    private sealed class DocumentOutput(string? refuse) : IDocumentSink
    {
        public List<(Finding Finding, string Document)> Received { get; } = [];

        public string Name => "documents";

        public bool NeedsSpool => true;

        public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            var refused = new List<RejectedFinding>();
            foreach (var f in findings)
            {
                if (f.Id == refuse)
                {
                    refused.Add(new RejectedFinding(f, "refused by the test"));
                }
                else
                {
                    Received.Add((f, Encoding.UTF8.GetString(FindingJson.Utf8(f))));
                }
            }

            return refused.Count == 0 ? SinkResult.Ok(findings.Count) : SinkResult.Partial(findings.Count - refused.Count, refused);
        }

        public void Complete(CancellationToken cancellationToken)
        {
        }
    }
}
