using SecMon.Core.Configuration;
using SecMon.Findings.Elasticsearch;
using SecMon.Hosting.Configuration;

namespace SecMon.Hosting;

/// <summary>
/// Where findings are read when the configuration says <c>store: elasticsearch</c> (the data stream every sensor
/// writes to), for <c>secmon findings</c> and the API of <c>secmon serve</c> alike; otherwise they read the data
/// directory's SQLite store.
/// </summary>
internal static class FindingReaders
{
    /// <summary>The Elasticsearch reader <paramref name="config"/> asks for; null with <paramref name="error"/> when
    /// <c>store: elasticsearch</c> has no valid <c>outputs.elasticsearch</c>, null without an error when the store is
    /// SQLite.</summary>
    public static ElasticsearchFindingReader? OpenElasticsearch(SecMonConfig config, out string? error)
    {
        ArgumentNullException.ThrowIfNull(config);
        error = null;
        if (config.Store != "elasticsearch")
        {
            return null;
        }

        var options = ElasticsearchOutputFactory.Bind(new ConfigSection(config.Root, "", new ConfigErrors()).Section("outputs"));
        if (options is null)
        {
            error = $"{config.Path}: store: elasticsearch needs outputs.elasticsearch enabled and valid (secmon config check {config.Path})";
            return null;
        }

        return new ElasticsearchFindingReader(options);
    }
}
