using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SecMon.Core.Findings;
using SecMon.Findings.Elasticsearch;
using SecMon.Findings.Spool;
using SecMon.Findings.Store;
using SecMon.Testing.FakeElasticsearch;
using HttpMethod = Elastic.Transport.HttpMethod;

namespace SecMon.Findings.Tests.Elasticsearch;

/// <summary>The Elasticsearch output against the fake cluster (faults on demand); every request it sends is checked
/// against the REST API specification (<see cref="EsTarget.Dispose"/>).</summary>
public sealed class ElasticsearchSinkTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly EsTarget? _target = EsTarget.StartFake(out _);

    public void Dispose()
    {
        _target?.Dispose();
        _tmp.Dispose();
    }

    private EsTarget Target => _target!;

    private FakeElasticsearch Fake => _target!.Fake!;

    [FakeElasticsearchFact]
    public void Write_FirstTime_TemplateInstalledAbovePriority100() => SinkScenarios.TemplateInstalled_DataStreamTemplateAbovePriority100_WithGeneratedMappings(Target);

    [FakeElasticsearchFact]
    public void Write_Findings_StoredUnderEventIdAsFindingJson() => SinkScenarios.BulkCreate_StoresEachFindingUnderItsEventId_AsFindingJsonWroteIt(Target);

    [FakeElasticsearchFact]
    public void Write_SameFindingsAgain_NothingStoredTwice() => SinkScenarios.SameFindingsAgain_NothingStoredTwice_CountedAsDeliveredNotNew(Target);

    [FakeElasticsearchFact]
    public void Write_MappingError_DeadLetteredRestDelivered() => SinkScenarios.MappingError_DeadLetteredWithTheReason_TheRestOfTheBatchDelivered(Target, _tmp);

    [FakeElasticsearchFact]
    public void Write_FirstTime_DataStreamMappedFromTheGeneratedComponentTemplate()
    {
        using var sink = new ElasticsearchSink(Target.Options);
        Assert.True(sink.Write([TestFindings.Full()], CancellationToken.None).Succeeded);

        Assert.True(Fake.IsDataStream(Target.DataStream));
        var component = Fake.ComponentTemplate(IndexTemplate.ComponentName(Target.Options))!;
        Assert.Equal(IndexTemplate.Text(IndexTemplate.ComponentTemplate(IndexTemplate.Fields)), component.ToJsonString());
        var types = Fake.FieldTypes(Target.DataStream);
        foreach (var field in IndexTemplate.Fields)
        {
            Assert.True(types.TryGetValue(field.Name, out var type), field.Name + " is not mapped");
            Assert.Equal(field.Type, type);
        }

        Assert.Equal("ip", types["source.ip"]);
        Assert.Equal("keyword", types["mqtt.client_id"]);
        Assert.Equal("long", types["secmon.event_count"]);
    }

    [FakeElasticsearchFact]
    public void Write_IlmPolicyConfigured_PolicyInstalledAndNamedInTheTemplate()
    {
        var options = Target.Options with { IlmPolicy = new IlmPolicyOptions { Name = "secmon-test", RolloverAge = TimeSpan.FromDays(7), DeleteAfter = TimeSpan.FromDays(90) } };
        using var sink = new ElasticsearchSink(options);
        Assert.True(sink.Write([TestFindings.Minimal()], CancellationToken.None).Succeeded);

        var policy = Fake.Policy("secmon-test")!;
        Assert.Equal("7d", policy["policy"]!["phases"]!["hot"]!["actions"]!["rollover"]!["max_age"]!.GetValue<string>());
        Assert.Equal("90d", policy["policy"]!["phases"]!["delete"]!["min_age"]!.GetValue<string>());
        Assert.Equal("secmon-test", Fake.IndexTemplate(options.TemplateName)!["template"]!["settings"]!["index.lifecycle.name"]!.GetValue<string>());
    }

    [FakeElasticsearchFact]
    public void Write_BulkAnswered429Twice_RetriedThenDelivered()
    {
        using var sink = new ElasticsearchSink(Target.Options);
        Fake.FailNextRequests(2, 429, api: "bulk");

        var result = sink.Write(TestFindings.Many(10), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(10, result.Stored);
        Assert.Equal(3, Fake.Requests.Count(r => r.Api == "bulk"));
        Assert.Equal(10, Fake.Count(Target.DataStream));
    }

    [FakeElasticsearchFact]
    public void Write_SomeItemsRefusedWith429_OnlyThoseSentAgain()
    {
        using var sink = new ElasticsearchSink(Target.Options);
        Assert.True(sink.Write([TestFindings.Minimal()], CancellationToken.None).Succeeded);
        Fake.RejectNextItems(3);

        var result = sink.Write(TestFindings.Many(10), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(10, result.Stored);
        Assert.Equal(11, Fake.Count(Target.DataStream));
        Assert.Equal(3, Fake.Requests.Count(r => r.Api == "bulk"));
    }

    [FakeElasticsearchFact]
    public void Write_RetryAfterSent_NotRetriedSooner()
    {
        using var sink = new ElasticsearchSink(Target.Options);
        Assert.True(sink.Write([TestFindings.Minimal()], CancellationToken.None).Succeeded);
        Fake.FailNextRequests(1, 429, retryAfter: "1", api: "bulk");

        var clock = Stopwatch.StartNew();
        var result = sink.Write(TestFindings.Many(3), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(950), $"retried after {clock.ElapsedMilliseconds} ms; Retry-After said 1 s (retry_delay is 20 ms)");
    }

    [FakeElasticsearchFact]
    public void Write_503BeyondTheRetries_TransientFailureThenRecovers()
    {
        using var sink = new ElasticsearchSink(Target.Options);
        Fake.FailNextRequests(Target.Options.Retries + 1, 503, api: "bulk");

        var down = sink.Write(TestFindings.Many(4), CancellationToken.None);
        var up = sink.Write(TestFindings.Many(4), CancellationToken.None);

        Assert.False(down.Succeeded);
        Assert.True(down.Transient);
        Assert.Contains("503", down.Error, StringComparison.Ordinal);
        Assert.True(up.Succeeded, up.Error);
        Assert.Equal(4, up.Stored);
    }

    [FakeElasticsearchFact]
    public void Write_DataStreamAndTemplatesGone_TransientFailureThenInstalledAgainAndDelivered()
    {
        using var sink = new ElasticsearchSink(Target.Options);
        Assert.True(sink.Write([TestFindings.Minimal()], CancellationToken.None).Succeeded);
        using (var connection = new ElasticsearchConnection(Target.Options))
        {
            // An operator removes the data stream and every template that could make it (the built-in logs one too).
            Assert.True(connection.Send(HttpMethod.DELETE, "/_data_stream/" + Target.DataStream, null, CancellationToken.None).Ok);
            Assert.True(connection.Send(HttpMethod.DELETE, "/_index_template/" + Target.Options.TemplateName, null, CancellationToken.None).Ok);
            Assert.True(connection.Send(HttpMethod.DELETE, "/_index_template/logs", null, CancellationToken.None).Ok);
        }

        var missing = sink.Write(TestFindings.Many(3), CancellationToken.None);
        var again = sink.Write(TestFindings.Many(3), CancellationToken.None);

        Assert.False(missing.Succeeded);
        Assert.True(missing.Transient);
        Assert.Contains("index_not_found_exception", missing.Error, StringComparison.Ordinal);
        Assert.True(again.Succeeded, again.Error);
        Assert.Equal(3, Fake.Count(Target.DataStream));
        Assert.True(Fake.IsDataStream(Target.DataStream));
    }

    [FakeElasticsearchFact]
    public void Write_Elasticsearch8_RefusedUntilTheClusterChangesSayingWhatWasFoundAndWhatIsNeeded()
    {
        Fake.Version = "8.17.0";
        using var sink = new ElasticsearchSink(Target.Options);

        var result = sink.Write([TestFindings.Minimal()], CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.True(result.Transient, "the findings would go to dead letters for the cluster's version");
        Assert.Contains("Elasticsearch 8.17.0", result.Error, StringComparison.Ordinal);
        Assert.Contains("9.0 or later", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Fake.Requests, r => r.Api is "bulk" or "indices.put_index_template");
    }

    [FakeElasticsearchFact]
    public void Write_ClusterRefusesTheTemplate_FindingsKeptForTheNextTryWhichStoresThem()
    {
        Fake.FailNextRequests(1, 400, api: "indices.put_index_template");
        using var sink = new ElasticsearchSink(Target.Options);
        var findings = TestFindings.Many(3);

        var refused = sink.Write(findings, CancellationToken.None);
        var again = sink.Write(findings, CancellationToken.None);

        Assert.False(refused.Succeeded);
        Assert.True(refused.Transient, "the findings would go to dead letters for the cluster's template");
        Assert.Contains("cannot install the index template", refused.Error, StringComparison.Ordinal);
        Assert.Contains("illegal_argument_exception", refused.Error, StringComparison.Ordinal);
        Assert.True(again.Succeeded, again.Error);
        Assert.Equal(3, Fake.Count(Target.DataStream));
    }

    [FakeElasticsearchFact]
    public void Fake_Elasticsearch8_RefusesThe9xClientsMediaTypes()
    {
        Fake.Version = "8.17.0";
        using var connection = new ElasticsearchConnection(Target.Options);

        var typed = connection.Send(HttpMethod.GET, "/", null, CancellationToken.None);

        Assert.Equal(400, typed.Status);
        Assert.Contains("media_type_header_exception", typed.Describe(), StringComparison.Ordinal);
    }

    [FakeElasticsearchFact]
    public void Write_ClusterUnreachable_TransientFailureNamingTheNode()
    {
        var port = FreePort();
        using var sink = new ElasticsearchSink(Target.Options with { Nodes = [new Uri($"http://127.0.0.1:{port}")] });

        var result = sink.Write([TestFindings.Minimal()], CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.True(result.Transient);
        Assert.Contains($"127.0.0.1:{port}", result.Error, StringComparison.Ordinal);
    }

    [FakeElasticsearchFact]
    public void Write_FirstNodeDown_FailsOverToTheNext()
    {
        var down = new Uri($"http://127.0.0.1:{FreePort()}");
        using var sink = new ElasticsearchSink(Target.Options with { Nodes = [down, Fake.Url] });

        var result = sink.Write(TestFindings.Many(5), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(5, Fake.Count(Target.DataStream));
    }

    [FakeElasticsearchFact]
    public void Write_WrongApiKey_TransientFailureWithoutTheKey()
    {
        Fake.RequiredApiKey = "the-right-key";
        using var sink = new ElasticsearchSink(Target.Options with { ApiKey = "c2VjcmV0LWtleS12YWx1ZS05ODc2" });

        var result = sink.Write([TestFindings.Minimal()], CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.True(result.Transient, "findings wait in the spool until the credentials are fixed");
        Assert.Contains("credentials", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0LWtleS12YWx1ZS05ODc2", result.Error, StringComparison.Ordinal);
    }

    [FakeElasticsearchFact]
    public void Write_RightApiKey_Delivered()
    {
        Fake.RequiredApiKey = "dGhlLXJpZ2h0LWtleQ==";
        using var sink = new ElasticsearchSink(Target.Options with { ApiKey = "dGhlLXJpZ2h0LWtleQ==" });

        var result = sink.Write([TestFindings.Minimal()], CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
    }

    [FakeElasticsearchFact]
    public void Spool_StartsEmpty_ClusterCheckedAndTemplateInstalledBeforeTheFirstFindingsThenEachStoredOnce()
    {
        using var spooled = new SpooledSink(new ElasticsearchSink(Target.Options), FindingSpool.Open(_tmp.Sub("spool-connect")));
        Assert.True(SpinWait.SpinUntil(() => Fake.Requests.Any(r => r.Api == "indices.put_index_template"), TimeSpan.FromSeconds(10)),
            "the template was not installed before the first findings came");
        Assert.DoesNotContain(Fake.Requests, r => r.Api == "bulk");

        Assert.True(spooled.Write(TestFindings.Many(6), CancellationToken.None).Succeeded);
        spooled.Complete(CancellationToken.None);

        Assert.Equal(6, spooled.Delivered);
        Assert.Equal(6, Fake.Count(Target.DataStream));
        Assert.Single(Fake.Requests, r => r.Api == "indices.put_index_template");
    }

    [FakeElasticsearchFact]
    public void Spool_ClusterDownThenUp_FindingsKeptThenDeliveredOnce()
    {
        var findings = TestFindings.Many(12);
        var spoolDir = _tmp.Sub("spool-down");
        var downOptions = Target.Options with { Nodes = [new Uri($"http://127.0.0.1:{FreePort()}")] };
        using (var spool = FindingSpool.Open(spoolDir))
        using (var spooled = new SpooledSink(new ElasticsearchSink(downOptions), spool, new SpoolDelivery { RetryDelay = TimeSpan.FromMilliseconds(20) }))
        {
            Assert.True(spooled.Write(findings, CancellationToken.None).Succeeded);
            // Long enough for the sink's first failure (its own retries from 500 ms) to reach the spool on a loaded machine.
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var ex = Assert.Throws<IOException>(() => spooled.Complete(stop.Token));
            Assert.True(ex.Message.Contains("cannot reach Elasticsearch", StringComparison.Ordinal), ex.Message);
            Assert.Equal(0, spooled.Delivered);
        }

        // The next run: the cluster is up; what waited goes first, then the new findings; a repeat stores nothing twice.
        using (var spool = FindingSpool.Open(spoolDir))
        using (var spooled = new SpooledSink(new ElasticsearchSink(Target.Options), spool, new SpoolDelivery { RetryDelay = TimeSpan.FromMilliseconds(20) }))
        {
            Assert.True(spooled.Write([.. findings.Take(3), .. TestFindings.Many(15).Skip(12)], CancellationToken.None).Succeeded);
            spooled.Complete(CancellationToken.None);
            Assert.Equal(0, spool.PendingBytes);
        }

        Assert.Equal(15, Fake.Count(Target.DataStream));
    }

    [FakeElasticsearchFact]
    public void Fake_WriteToANameWithoutADataStreamTemplate_RefusedWhenADataStreamIsRequired()
    {
        using var connection = new ElasticsearchConnection(Target.Options);
        var body = "{\"create\":{\"_id\":\"x1\"}}\n{\"@timestamp\":\"2026-01-01T00:00:00Z\"}\n"u8.ToArray();

        var r = connection.Send(HttpMethod.POST, "/secmon-plain/_bulk?require_data_stream=true", body, CancellationToken.None, contentType: "application/x-ndjson");

        Assert.True(r.Ok, r.Describe());
        Assert.Contains("\"status\":404", System.Text.Encoding.UTF8.GetString(r.Body), StringComparison.Ordinal);
        Assert.Contains("index_not_found_exception", System.Text.Encoding.UTF8.GetString(r.Body), StringComparison.Ordinal);
    }

    [FakeElasticsearchFact]
    public void Fake_TemplateWithTheBuiltInLogsPriority_Refused()
    {
        using var connection = new ElasticsearchConnection(Target.Options);
        var body = """{"index_patterns":["logs-secmon.x-*"],"data_stream":{},"priority":100}"""u8.ToArray();

        var r = connection.Send(HttpMethod.PUT, "/_index_template/clash", body, CancellationToken.None);

        Assert.Equal(400, r.Status);
        Assert.Contains("same priority [100]", r.Describe(), StringComparison.Ordinal);
    }

    [FakeElasticsearchFact]
    public void Fake_UndocumentedParameter_RecordedAsAContractViolation()
    {
        // A fake of its own: the shared one must end this class's tests with no violation.
        using var fake = FakeElasticsearch.Start(RestApiSpec.Shipped!);
        using var connection = new ElasticsearchConnection(Target.Options with { Nodes = [fake.Url] });

        var r = connection.Send(HttpMethod.POST, $"/{Target.DataStream}/_search?no_such_param=1", "{}"u8.ToArray(), CancellationToken.None);

        Assert.Equal(400, r.Status);
        var violation = Assert.Single(fake.Violations);
        Assert.Contains("no_such_param", violation, StringComparison.Ordinal);
        Assert.Contains("(search)", violation, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
