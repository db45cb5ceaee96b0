using SecMon.Findings.Elasticsearch;
using SecMon.Testing;
using SecMon.Testing.FakeElasticsearch;

namespace SecMon.Findings.Tests.Elasticsearch;

/// <summary>
/// A cluster with security on (https, its own CA, as Elasticsearch 9 sets itself up): reached when the output names
/// its CA (<c>ca_certificate</c>) or pins a fingerprint, and refused, with nothing sent, without either, with another CA
/// or with another fingerprint.
/// </summary>
public sealed class ElasticsearchTlsTests : IDisposable
{
    private readonly LoopbackPki _pki = new("Elasticsearch security auto-configuration HTTP CA");
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-es-tls-").FullName;
    private readonly FakeElasticsearch? _fake;

    public ElasticsearchTlsTests()
    {
        if (RestApiSpec.Shipped is { } spec)
        {
            _fake = FakeElasticsearch.Start(spec, _pki.Server);
        }
    }

    public void Dispose()
    {
        _fake?.Dispose();
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [FakeElasticsearchFact]
    public void Write_CaCertificateNamesTheClustersCa_Stored()
    {
        var ca = Path.Combine(_dir, "http_ca.crt");
        File.WriteAllText(ca, _pki.CaPem);
        using var sink = new ElasticsearchSink(Options() with { CaCertificate = ca });

        var result = sink.Write(TestFindings.Many(3), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(3, _fake!.Count(ElasticsearchOptions.DefaultDataStream));
    }

    // Elasticsearch prints its CA's fingerprint and sends that CA in its chain; the client's transport accepts a pinned
    // fingerprint of any certificate of the presented chain. Kestrel does not send a self-signed root, so the pin here
    // is the server certificate's own: what is checked is that the setting reaches the handshake, both ways.
    [FakeElasticsearchFact]
    public void Write_FingerprintPinned_StoredAndAnotherFingerprintRefused()
    {
        using var pinned = new ElasticsearchSink(Options() with { Fingerprint = _pki.ServerFingerprint });
        using var wrong = new ElasticsearchSink(Options() with { Fingerprint = new string('A', 64) });

        var result = pinned.Write(TestFindings.Many(2), CancellationToken.None);
        var refused = wrong.Write(TestFindings.Many(2), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.False(refused.Succeeded);
        Assert.Equal(2, _fake!.Count(ElasticsearchOptions.DefaultDataStream));
    }

    [FakeElasticsearchFact]
    public void Write_NoCaAndNoFingerprint_RefusedAsUntrustedWithNothingSent()
    {
        using var sink = new ElasticsearchSink(Options());

        var result = sink.Write(TestFindings.Many(2), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.True(result.Transient, result.Error);
        Assert.Empty(_fake!.Requests);
    }

    [FakeElasticsearchFact]
    public void Write_AnotherCa_RefusedWithNothingSent()
    {
        using var other = new LoopbackPki("Another CA");
        var ca = Path.Combine(_dir, "other.crt");
        File.WriteAllText(ca, other.CaPem);
        using var sink = new ElasticsearchSink(Options() with { CaCertificate = ca });

        var result = sink.Write(TestFindings.Many(2), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Empty(_fake!.Requests);
    }

    private ElasticsearchOptions Options() => new()
    {
        Nodes = [_fake!.Url],
        RetryDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromMilliseconds(100),
        Retries = 1,
        RequestTimeout = TimeSpan.FromSeconds(10),
    };
}
