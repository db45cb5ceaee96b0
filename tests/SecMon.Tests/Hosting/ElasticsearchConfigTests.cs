using SecMon.Core.Configuration;
using SecMon.Core.Findings;
using SecMon.Findings.Elasticsearch;
using SecMon.Hosting.Configuration;

namespace SecMon.Tests.Hosting;

/// <summary>Binding <c>outputs.elasticsearch</c> from a YAML file: values, located errors, secrets kept out of errors.</summary>
public sealed class ElasticsearchConfigTests
{
    private static (IReadOnlyList<IFindingSink> Sinks, ConfigErrors Errors, ElasticsearchOptions? Options) Bind(string yaml, Dictionary<string, string>? env = null)
    {
        var errors = new ConfigErrors();
        var root = ConfigFile.Parse(yaml, "secmon.yml", errors);
        Assert.NotNull(root);
        string? Env(string name) => env is not null && env.TryGetValue(name, out var v) ? v : null;
        var outputs = new ConfigSection(root, "", errors, Env).Section("outputs");
        var sinks = new ElasticsearchOutputFactory().Create(outputs, new OutputContext("/tmp/secmon-data", TimeProvider.System));
        var options = ElasticsearchOutputFactory.Bind(new ConfigSection(root, "", new ConfigErrors(), Env).Section("outputs"));
        return (sinks, errors, options);
    }

    [Fact]
    public void Create_FullSection_BoundWithEveryValue()
    {
        var (sinks, errors, options) = Bind("""
            outputs:
              elasticsearch:
                nodes: [https://es1:9200, https://es2:9200]
                api_key: ${ES_KEY}
                fingerprint: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
                data_stream: logs-secmon.alert-plant3
                ilm_policy: { rollover_age: 7d, rollover_size: 10GiB, delete_after: 90d }
                request_timeout: 10s
                batch_size: 2000
                compression: false
            """, new() { ["ES_KEY"] = "a2V5LWZyb20tZW52" });

        Assert.False(errors.HasErrors, string.Join("\n", errors.Items));
        var sink = Assert.Single(sinks);
        Assert.Equal("elasticsearch", sink.Name);
        Assert.True(sink.NeedsSpool);
        Assert.NotNull(options);
        Assert.Equal([new Uri("https://es1:9200"), new Uri("https://es2:9200")], options.Nodes);
        Assert.Equal("a2V5LWZyb20tZW52", options.ApiKey);
        Assert.Equal("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789", options.Fingerprint);
        Assert.Equal("logs-secmon.alert-plant3", options.DataStream);
        Assert.Equal("logs-secmon.alert", options.TemplateName);
        Assert.Equal(TimeSpan.FromDays(7), options.IlmPolicy!.RolloverAge);
        Assert.Equal(10L << 30, options.IlmPolicy.RolloverSize);
        Assert.Equal(TimeSpan.FromDays(90), options.IlmPolicy.DeleteAfter);
        Assert.Equal(TimeSpan.FromSeconds(10), options.RequestTimeout);
        Assert.Equal(2000, options.BatchSize);
        Assert.False(options.Compression);
    }

    [Fact]
    public void Create_Absent_NoSink()
    {
        var (sinks, errors, _) = Bind("outputs: {}\n");
        Assert.Empty(sinks);
        Assert.Empty(errors.Items);
    }

    [Fact]
    public void Create_Disabled_NoSink()
    {
        var (sinks, errors, _) = Bind("outputs:\n  elasticsearch:\n    enabled: false\n    nodes: [http://127.0.0.1:9200]\n");
        Assert.Empty(sinks);
        Assert.False(errors.HasErrors);
    }

    [Theory]
    [InlineData("logs-secmon-alert-default", 4)]
    [InlineData("logs-SecMon.alert-default", 4)]
    [InlineData("metrics-secmon.alert-default", 4)]
    [InlineData("logs-secmon.alert", 4)]
    public void Create_DataStreamOutsideElasticsNamingScheme_ErrorOnItsLine(string name, int line)
    {
        var (sinks, errors, _) = Bind($"outputs:\n  elasticsearch:\n    nodes: [http://127.0.0.1:9200]\n    data_stream: {name}\n");

        Assert.Empty(sinks);
        var error = Assert.Single(errors.Items, e => !e.IsWarning);
        Assert.Equal(line, error.Location.Line);
        Assert.Equal("outputs.elasticsearch.data_stream", error.Path);
        Assert.Contains("logs-<dataset>-<namespace>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_SeveralMistakes_EveryOneListedWithItsLine()
    {
        var (sinks, errors, _) = Bind("""
            outputs:
              elasticsearch:
                nodes: [ftp://es1:9200]
                fingerprint: nothex
                batch_size: 0
                request_timout: 10s
            """);

        Assert.Empty(sinks);
        var byPath = errors.Items.Where(e => !e.IsWarning).ToDictionary(e => e.Path, e => e.Location.Line);
        Assert.Equal(3, byPath["outputs.elasticsearch.nodes"]);
        Assert.Equal(4, byPath["outputs.elasticsearch.fingerprint"]);
        Assert.Equal(5, byPath["outputs.elasticsearch.batch_size"]);
        Assert.Equal(6, byPath["outputs.elasticsearch.request_timout"]);
    }

    [Fact]
    public void Create_NoNodes_ErrorAtTheSection()
    {
        var (sinks, errors, _) = Bind("outputs:\n  elasticsearch:\n    data_stream: logs-secmon.alert-default\n");
        Assert.Empty(sinks);
        Assert.Contains(errors.Items, e => e.Path == "outputs.elasticsearch.nodes" && e.Location.Line == 3 && e.Message.Contains("at least one node", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_SecretsInWrongPlaces_NeverRepeatedInErrorsOrWarnings()
    {
        const string Key = "bGl0ZXJhbC1zZWNyZXQta2V5";
        const string Password = "hunter2-literal-password";
        var (sinks, errors, _) = Bind($"""
            outputs:
              elasticsearch:
                nodes: [http://127.0.0.1:9200]
                api_key: {Key}
                username: secmon
                password: {Password}
            """);

        Assert.Empty(sinks);
        Assert.Contains(errors.Items, e => !e.IsWarning && e.Message.Contains("not both", StringComparison.Ordinal));
        Assert.Contains(errors.Items, e => e.IsWarning && e.Path == "outputs.elasticsearch.password");
        Assert.Contains(errors.Items, e => e.IsWarning && e.Message.Contains("clear text", StringComparison.Ordinal));
        var all = string.Join("\n", errors.Items);
        Assert.DoesNotContain(Key, all, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, all, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_PasswordFromAMissingVariable_ErrorNamesTheVariableNotAValue()
    {
        var (sinks, errors, _) = Bind("outputs:\n  elasticsearch:\n    nodes: [https://es1:9200]\n    username: secmon\n    password: ${SECMON_TEST_NO_SUCH_VAR}\n");
        Assert.Empty(sinks);
        var error = Assert.Single(errors.Items, e => !e.IsWarning);
        Assert.Equal(5, error.Location.Line);
        Assert.Contains("SECMON_TEST_NO_SUCH_VAR", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_CaCertificateMissing_ErrorOnItsLine()
    {
        var (sinks, errors, _) = Bind("outputs:\n  elasticsearch:\n    nodes: [https://es1:9200]\n    ca_certificate: /nonexistent/es-ca.pem\n");
        Assert.Empty(sinks);
        var error = Assert.Single(errors.Items, e => !e.IsWarning);
        Assert.Equal(4, error.Location.Line);
        Assert.Contains("/nonexistent/es-ca.pem", error.Message, StringComparison.Ordinal);
    }
}
