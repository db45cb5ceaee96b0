using SecMon.Findings.Elasticsearch;
using SecMon.Testing.FakeElasticsearch;
using HttpMethod = Elastic.Transport.HttpMethod;

namespace SecMon.Findings.Tests.Elasticsearch;

/// <summary>
/// The cluster a test writes to: the fake (always there when ../shared holds the REST API specification) or a real
/// cluster named by <c>SECMON_TEST_ES_URL</c> (with <c>SECMON_TEST_ES_API_KEY</c> and <c>SECMON_TEST_ES_FINGERPRINT</c>
/// when it needs them). Each target gets a data stream of its own (a unique dataset), removed afterwards.
/// </summary>
internal sealed class EsTarget : IDisposable
{
    public const string UrlVariable = "SECMON_TEST_ES_URL";

    private static int s_next;

    private EsTarget(FakeElasticsearch? fake, ElasticsearchOptions options)
    {
        Fake = fake;
        Options = options;
    }

    /// <summary>The fake, or null on a real cluster.</summary>
    public FakeElasticsearch? Fake { get; }

    /// <summary>Options pointing at the target, with a unique data stream and short retry delays.</summary>
    public ElasticsearchOptions Options { get; }

    public string DataStream => Options.DataStream;

    public static string? RealUrl => Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } u ? u : null;

    /// <summary>A fresh fake; null with the reason when the specification is absent.</summary>
    public static EsTarget? StartFake(out string? skip)
    {
        var fake = FakeElasticsearch.TryStart(out skip);
        return fake is null ? null : new EsTarget(fake, OptionsFor(fake.Url, null, null));
    }

    /// <summary>The real cluster of SECMON_TEST_ES_URL.</summary>
    public static EsTarget Real() => new(null, OptionsFor(new Uri(RealUrl!),
        Environment.GetEnvironmentVariable("SECMON_TEST_ES_API_KEY"), Environment.GetEnvironmentVariable("SECMON_TEST_ES_FINGERPRINT")));

    private static ElasticsearchOptions OptionsFor(Uri url, string? apiKey, string? fingerprint) => new()
    {
        Nodes = [url],
        ApiKey = apiKey is { Length: > 0 } ? apiKey : null,
        Fingerprint = fingerprint is { Length: > 0 } ? fingerprint.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant() : null,
        DataStream = $"logs-secmon.test{Environment.ProcessId}x{Interlocked.Increment(ref s_next)}-default",
        RetryDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromMilliseconds(200),
        RequestTimeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>Makes what was written searchable (a real cluster refreshes about once a second).</summary>
    public void Refresh()
    {
        using var connection = new ElasticsearchConnection(Options);
        var r = connection.Send(HttpMethod.POST, $"/{DataStream}/_refresh", null, CancellationToken.None);
        Assert.True(r.Ok, "refresh: " + r.Describe());
    }

    public void Dispose()
    {
        if (Fake is not null)
        {
            Assert.Empty(Fake.Violations); // every request SecMon sent keeps the documented contract
            Fake.Dispose();
            return;
        }

        using var connection = new ElasticsearchConnection(Options);
        connection.Send(HttpMethod.DELETE, $"/_data_stream/{DataStream}", null, CancellationToken.None);
        connection.Send(HttpMethod.DELETE, $"/_index_template/{Options.TemplateName}", null, CancellationToken.None);
        connection.Send(HttpMethod.DELETE, $"/_component_template/{IndexTemplate.ComponentName(Options)}", null, CancellationToken.None);
    }
}

/// <summary>A fact that runs only against a real cluster (<c>SECMON_TEST_ES_URL</c>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RealClusterFactAttribute : FactAttribute
{
    public RealClusterFactAttribute()
    {
        if (EsTarget.RealUrl is null)
        {
            Skip = $"needs a real Elasticsearch 9 cluster: set {EsTarget.UrlVariable} (and SECMON_TEST_ES_API_KEY, SECMON_TEST_ES_FINGERPRINT as it needs)";
        }
    }
}
